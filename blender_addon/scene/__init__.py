"""Work on the open scene (bpy): the answer for the active object, its arrows and overlay, selected
meshes.
"""
