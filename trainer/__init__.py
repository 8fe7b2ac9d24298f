"""The learning half of Milling Directions: `python -m trainer COMMAND` (see cli/main.py)."""
