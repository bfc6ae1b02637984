"""`python -m kapsule.drift.issue --stack NAME --code N --report FILE`: the scheduled drift check's one issue per
stack, kept with the GitHub CLI (`gh`, as the workflow's token allows: `issues: write`).

- code 2 (drift): open the stack's issue, or update the open one's body; never a second issue.
- code 0 (no drift): close the open issue, if any, with a comment saying the stack is clean again.
- code 1 (the check did not work): no issue is touched, and this exits 1 so that the job fails visibly.

The stack's issue is the open issue titled `Drift in stack NAME` whose body starts with the report's marker.
Exit codes: 0 done, 1 the check failed or `gh` did.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..exits import Parser
from ..files import FileProblem, read_text
from ..stackfile.stacks import stack_name_problem
from .report import MARKER

#: A drift report is well under GitHub's 65,536-character body.
MAX_REPORT_BYTES = 64 * 1024
MAX_GH_OUTPUT = 8 * 1024 * 1024


class GhError(RuntimeError):
    """A `gh` call failed: the message says which, and gh's own first line (never the token)."""


def title(stack: str) -> str:
    return f"Drift in stack {stack}"


def gh(*args: str) -> str:
    """Run `gh` with arguments (never through a shell); its standard output."""
    program = shutil.which("gh")
    if program is None:
        raise GhError("the GitHub CLI (gh) is not on PATH")
    result = subprocess.run([program, *args], capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise GhError(
            f"gh {args[0]} {args[1]} failed: {(result.stderr.strip().splitlines() or ['no message'])[0][:300]}"
        )
    return result.stdout[:MAX_GH_OUTPUT]


def open_issue(stack: str) -> int | None:
    """The number of the stack's open drift issue, if there is one."""
    listed: Any = json.loads(
        gh(
            "issue",
            "list",
            "--state",
            "open",
            "--search",
            f'"{title(stack)}" in:title',
            "--json",
            "number,title,body",
            "--limit",
            "100",
        )
        or "[]"
    )
    marker = MARKER.format(stack=stack)
    mine = [
        i
        for i in listed
        if isinstance(i, dict) and i.get("title") == title(stack) and str(i.get("body", "")).startswith(marker)
    ]
    return min(int(i["number"]) for i in mine) if mine else None


def keep(stack: str, code: int, report: Path | None, run_url: str = "") -> str:
    """Act on the stack's issue for a check's exit code; return what was done, in one line."""
    if code == 1:
        raise GhError(
            f"the drift check of stack {stack} did not work (exit 1): no issue was changed; see the job's log"
        )
    if code not in (0, 2):
        raise GhError(f"--code {code}: the drift check exits 0, 1 or 2")
    number = open_issue(stack)
    seen = f" ({run_url})" if run_url else ""
    if code == 0:
        if number is None:
            return f"stack {stack}: no drift, no open issue"
        gh(
            "issue",
            "close",
            str(number),
            "--comment",
            f"No drift in stack {stack} any more: closed by the scheduled check{seen}.",
        )
        return f"stack {stack}: no drift; issue #{number} closed"
    if report is None:
        raise GhError("--report is needed with --code 2")
    try:
        body = read_text(report, MAX_REPORT_BYTES, "a drift report is under GitHub's body limit")
    except FileProblem as error:
        raise GhError(f"--report {report}: {error}") from None
    if not body.startswith(MARKER.format(stack=stack)):
        raise GhError(f"--report {report}: not the markdown drift report of stack {stack} (`drift --format markdown`)")
    if run_url:
        body += f"\n_Last checked by {run_url}._\n"
    if number is None:
        url = gh("issue", "create", "--title", title(stack), "--body", body).strip()
        return f"stack {stack}: drift; issue opened {url}"
    gh("issue", "edit", str(number), "--body", body)
    return f"stack {stack}: drift still there; issue #{number} updated"


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="python -m kapsule.drift.issue", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", required=True, help="the stack checked")
    parser.add_argument("--code", required=True, type=int, help="the drift check's exit code: 0, 1 or 2")
    parser.add_argument("--report", type=Path, help="the check's markdown report (with --code 2)")
    parser.add_argument("--run-url", default="", help="the workflow run, linked from the issue")
    args = parser.parse_args(argv)
    problem = stack_name_problem(args.stack)
    if problem:
        print(f"python -m kapsule.drift.issue: {problem}", file=sys.stderr)
        return 1
    try:
        print(keep(args.stack, args.code, args.report, args.run_url))
    except (GhError, json.JSONDecodeError, ValueError, subprocess.TimeoutExpired) as error:
        print(f"python -m kapsule.drift.issue: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
