"""``python -m nnutils`` is ``nncourse``."""

import sys

from .cli import main

sys.exit(main())
