"""``python -m exercises``: the exercise runner (see ``exercises/cli.py``)."""

import sys

from .cli import main

sys.exit(main())
