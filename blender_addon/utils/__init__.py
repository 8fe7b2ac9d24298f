"""bpy-free helpers of the add-on, tested with plain pytest."""
