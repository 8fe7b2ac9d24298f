"""Batch rendering of part folders into datasets, bpy-free: jobs, workers, Ray, shards,
corrections.
"""
