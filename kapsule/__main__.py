"""`python -m kapsule plan --stack NAME`: what `pulumi up` would do, offline, with no credentials."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import StackConfigError
from .plan import format_json, format_text, plan_stack
from .render import ROOT


def stacks(root: Path) -> list[str]:
    """Every stack with a file under `stacks/`, in name order."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (root / "stacks").glob("Pulumi.*.yaml"))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m kapsule", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="render a stack offline and show what `pulumi up` would do")
    which = plan.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", help="the stack name: stacks/Pulumi.<stack>.yaml")
    which.add_argument("--all", action="store_true", help="plan every stack under stacks/")
    plan.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    args = parser.parse_args(argv)

    names = stacks(ROOT) if args.all else [args.stack]
    plans = []
    for name in names:
        try:
            plans.append(plan_stack(name, ROOT))
        except StackConfigError as error:
            print(error, file=sys.stderr)
            return 1
    if args.format == "json":
        sys.stdout.write(format_json(plans))
    else:
        sys.stdout.write("\n".join(format_text(p) for p in plans))
    return 0


if __name__ == "__main__":
    sys.exit(main())
