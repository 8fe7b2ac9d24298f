"""`python -m blender_addon`: see cli.py."""

import sys

from blender_addon.cli import main

sys.exit(main())
