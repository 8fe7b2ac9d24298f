"""`python -m trainer`: see cli.py."""

import sys

from trainer.cli import main

sys.exit(main())
