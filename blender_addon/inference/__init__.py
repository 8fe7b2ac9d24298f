"""Asking a model (bpy-free): the built-in numpy model, the champion over HTTP or a subprocess, the
setup analysis.
"""
