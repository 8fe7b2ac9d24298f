"""Files that are complete or absent, just enough PNG for Blender's Python, progress lines."""
