"""``python -m harmsim.cli``: the harmsim command."""

import sys

from harmsim.cli import main

sys.exit(main())
