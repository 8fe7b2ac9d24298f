"""What Blender shows: the sidebar panel, preferences, scene properties and the operators behind
the buttons.
"""
