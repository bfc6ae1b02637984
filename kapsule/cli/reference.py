"""docs/cli.md: every command of `python -m kapsule`, its arguments and what each means, from the parser itself."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..generated.reference import GENERATED
from ..names import ROOT

CLI_REFERENCE = ROOT / "docs" / "cli.md"
#: The help is wrapped at this width, whatever the terminal that runs `make generate`.
WIDTH = "100"


def documents(top: argparse.ArgumentParser, commands: dict[str, argparse.ArgumentParser]) -> dict[Path, str]:
    """The command-line reference, as `make generate` writes it, from the parser and each command's own."""
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH  # argparse wraps its help at the terminal's width
    try:
        sections = [("python -m kapsule", top.format_help())]
        seen: set[int] = set()  # an alias (`docs` for `generate`) is the same parser: shown once
        for name, command in commands.items():
            if id(command) not in seen:
                seen.add(id(command))
                sections.append((f"python -m kapsule {name}", command.format_help()))
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before
    lines = [GENERATED, "", "# The command line", ""]
    lines += ["Every command's `--help`, as the parser writes it. Exit codes mean one thing each (see the top).", ""]
    for title, text in sections:
        lines += [f"## `{title}`", "", "```text", text.rstrip(), "```", ""]
    return {CLI_REFERENCE: "\n".join(lines)}
