"""`python -m trainer`: see trainer/cli/main.py."""

import sys

from trainer.cli.main import main

sys.exit(main())
