"""Using a tracked model: predict files, the scoring server and UI, the team server, the built-in
export.
"""
