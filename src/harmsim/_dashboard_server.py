"""The dashboard's server process: Solara's command line, ended when ``harmsim dashboard`` is gone.

``harmsim dashboard`` starts this module as a process of its own. A terminated command stops it (a signal
handler there), but a killed one (SIGKILL, an out-of-memory kill) runs no handler: the server would go on
listening, re-parented to init. So the server watches its parent, as the sweeps' workers do, and exits
within a second of losing it.
"""

from __future__ import annotations

import os
import sys

from harmsim._workers import _exit_with_parent


def main() -> None:
    _exit_with_parent(os.getppid())
    from solara.__main__ import main as solara_main

    sys.argv = ["solara", *sys.argv[1:]]
    solara_main()


if __name__ == "__main__":
    main()
