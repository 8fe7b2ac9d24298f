"""Meta-image renderers: Embree ray casting (no bpy) and Cycles (bpy), and the choice between
them.
"""
