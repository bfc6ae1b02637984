"""The exit codes, each with one meaning, and the command-line parser every command of the project uses.

At the bottom of the package: everything may import it, and it imports nothing of the project.
- `python -m kapsule plan`: 0 no changes, 1 invalid input (a bad command line included), 2 changes, 3 destructive.
- `python -m kapsule.engine`: 0 the command worked, 1 it did not (a bad command line included).
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_NO_CHANGES, EXIT_INVALID, EXIT_CHANGES, EXIT_DESTRUCTIVE = 0, 1, 2, 3


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line exits 1 (argparse's own 2 means "changes" to the plan)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID)
