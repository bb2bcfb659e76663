"""``python -m harmsim.cli``: the harmsim command."""

import sys

from . import main

sys.exit(main())
