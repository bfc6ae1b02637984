"""`python -m kapsule.drift.issue --stack NAME --code N --report FILE`: the scheduled drift check's one issue per
stack, kept with the GitHub CLI (`gh`, as the workflow's token allows: `issues: write`).

- code 2 (drift): open the stack's issue, or update the open one's body; never a second issue.
- code 0 (no drift): close the open issue, if any, with a comment saying the stack is clean again.
- code 1 (the check did not work): no issue is touched, and this exits 1 so that the job fails visibly.

The stack's issue is recognised by what only the workflow can produce: its author is the workflow's own
account (`github-actions[bot]`, the token's), it carries the label the workflow owns (`kapsule-drift`), its
title is `Drift in stack NAME` and its body starts with the report's marker. Anyone can open an issue with
that title and marker (and triagers can add the label), so title and marker alone never decide: an issue
someone else opened is never written to and never closed, and look-alikes never hide the real one (the
listing asks GitHub for the label and the author, page by page, within a bound).

A report longer than an issue holds is cut at a row boundary, with a line saying how much was left out and
where the whole of it is (the job's summary and the run's `drift-<stack>` artifact).
Exit codes: 0 done, 1 the check failed or `gh` did.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..exits import Parser
from ..files import FileProblem, read_text
from ..stackfile.stacks import stack_name_problem
from .report import MARKER

#: The report file is read up to this; the issue's body holds at most MAX_BODY_CHARACTERS of it.
MAX_REPORT_BYTES = 4 * 1024 * 1024
#: GitHub refuses a body over 65,536 characters; the cut line and the run's link fit in what is left.
MAX_BODY_CHARACTERS = 60_000
MAX_GH_OUTPUT = 8 * 1024 * 1024
#: One `gh` call, its whole answer included.
GH_SECONDS = 120.0
#: The workflow's own account (the GITHUB_TOKEN's) and the label only the workflow puts on its issues.
OWN_AUTHOR = "github-actions[bot]"
LABEL = "kapsule-drift"
#: Pages of 100 open issues with the label and the author: far more than the one per stack there should be.
MAX_PAGES = 10


class GhError(RuntimeError):
    """A `gh` call failed: the message says which, and gh's own first line (never the token)."""


def title(stack: str) -> str:
    return f"Drift in stack {stack}"


def gh(*args: str) -> str:
    """Run `gh` with arguments (never through a shell); its standard output, read as it comes: at most
    MAX_GH_OUTPUT bytes within GH_SECONDS, or GhError (an answer cut short is never read as JSON)."""
    program = shutil.which("gh")
    if program is None:
        raise GhError("the GitHub CLI (gh) is not on PATH")
    what = f"gh {args[0]} {args[1]}"
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen([program, *args], stdout=subprocess.PIPE, stderr=errors) as process,
    ):
        assert process.stdout is not None
        chunks, size, ends = [], 0, time.monotonic() + GH_SECONDS
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while True:
                left = ends - time.monotonic()
                if left <= 0 or not selector.select(left):
                    process.kill()
                    raise GhError(f"{what} did not finish within {GH_SECONDS:g} s")
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_GH_OUTPUT:
                    process.kill()
                    raise GhError(f"{what} answered more than {MAX_GH_OUTPUT // 2**20} MiB")
                chunks.append(chunk)
        code = process.wait(timeout=max(1.0, ends - time.monotonic()))
        if code != 0:
            errors.seek(0)
            message = errors.read(4096).decode("utf-8", "replace").strip().splitlines() or ["no message"]
            raise GhError(f"{what} failed: {message[0][:300]}")
    return b"".join(chunks).decode("utf-8", "replace")


def open_issue(stack: str) -> int | None:
    """The number of the stack's open drift issue, if there is one: opened by the workflow's own account, with
    the workflow's label, the stack's title and the report's marker. GitHub filters by label and author (the
    REST issues listing), so issues anyone else opened never crowd it out of a page."""
    marker = MARKER.format(stack=stack)
    mine = []
    for page in range(1, MAX_PAGES + 1):
        listed: Any = json.loads(
            gh(
                "api",
                "--method",
                "GET",
                "repos/{owner}/{repo}/issues",
                "-f",
                "state=open",
                "-f",
                f"labels={LABEL}",
                "-f",
                f"creator={OWN_AUTHOR}",
                "-f",
                "per_page=100",
                "-f",
                f"page={page}",
            )
            or "[]"
        )
        if not isinstance(listed, list):
            raise GhError("gh api repos/{owner}/{repo}/issues did not answer with a list of issues")
        mine += [i for i in listed if isinstance(i, dict) and _ours(i, stack, marker)]
        if len(listed) < 100:
            break
    return min(int(i["number"]) for i in mine) if mine else None


def _ours(issue: dict[str, Any], stack: str, marker: str) -> bool:
    """Whether an issue is the workflow's own drift issue of this stack (checked here too, whatever GitHub filtered)."""
    author = issue.get("user")
    user = author if isinstance(author, dict) else {}
    labels = [label.get("name") for label in issue.get("labels") or [] if isinstance(label, dict)]
    return (
        user.get("login") == OWN_AUTHOR
        and user.get("type") == "Bot"
        and LABEL in labels
        and "pull_request" not in issue
        and isinstance(issue.get("number"), int)
        and issue.get("title") == title(stack)
        and str(issue.get("body") or "").startswith(marker)
    )


def bounded(body: str, whole: str) -> str:
    """`body` as an issue holds it: whole when it fits, else cut after the last full line (a table row) that
    fits, with a line saying how much was left out and where `whole` is."""
    if len(body) <= MAX_BODY_CHARACTERS:
        return body
    kept = body[: body.rfind("\n", 0, MAX_BODY_CHARACTERS) + 1]
    left = body[len(kept) :]
    rows = sum(1 for line in left.splitlines() if line.startswith("|"))
    return kept + (
        f"\n**The report was cut here:** {rows} more table row(s) and {len(left):,} characters were left out; "
        f"the whole report is in {whole}.\n"
    )


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
        body = read_text(report, MAX_REPORT_BYTES, "a drift report is far smaller")
    except FileProblem as error:
        raise GhError(f"--report {report}: {error}") from None
    if not body.startswith(MARKER.format(stack=stack)):
        raise GhError(f"--report {report}: not the markdown drift report of stack {stack} (`drift --format markdown`)")
    whole = f"the job's summary and the `drift-{stack}` artifact of {run_url or 'the run'}"
    body = bounded(body, whole)
    if run_url:
        body += f"\n_Last checked by {run_url}._\n"
    if number is None:
        gh(
            "label",
            "create",
            LABEL,
            "--force",
            "--color",
            "d93f0b",
            "--description",
            "Drift found by the nightly check",
        )
        url = gh("issue", "create", "--title", title(stack), "--body", body, "--label", LABEL).strip()
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
    except (GhError, json.JSONDecodeError, ValueError, RecursionError, subprocess.TimeoutExpired) as error:
        print(f"python -m kapsule.drift.issue: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
