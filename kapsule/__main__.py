"""`python -m kapsule`: the command line, in `kapsule/cli/`.

The collector pauses before the first import: the command is a short process that loads a few hundred
thousand objects and frees almost none, so they load uncollected and the loaded heap is then frozen out
of every later collection (`kapsule/cli/main.py`, `_loaded`). Ctrl-C, imports included, is one line and
exit 1, never a traceback.
"""

import gc
import os
import signal
import sys


def _interrupted(signum: int, frame: object) -> None:
    """Ctrl-C, at any point (imports included): one line, exit 1, never a traceback."""
    os.write(2, b"interrupted\n")
    os._exit(1)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _interrupted)
    gc.disable()
    from kapsule.cli.main import run

    sys.exit(run())
