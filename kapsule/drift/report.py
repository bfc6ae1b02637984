"""A drift report as text, JSON and the markdown of the stack's drift issue. Every value is masked where it is
secret, and in markdown shown as inline code: text someone set live (an annotation) cannot become a mention,
a link or HTML in the issue."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..reports.plan import display, inline_code, printable, prose
from .model import Drifted

#: A value is shown up to this many characters; a body stays well under GitHub's 65,536.
MAX_VALUE = 300
MAX_ROWS = 150


def _cell(text: str) -> str:
    """Inline code that is safe in a table cell, cut to MAX_VALUE characters."""
    if len(text) > MAX_VALUE:
        text = text[:MAX_VALUE] + "..."
    return inline_code(text).replace("|", "\\|")


#: The first line of every drift issue body: the workflow finds the stack's issue by it.
MARKER = "<!-- kapsule-drift:{stack} -->"


@dataclass
class DriftReport:
    stack: str
    drifted: list[Drifted]
    notes: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    """The notes of `--unmanaged`, shown whether or not anything drifted."""
    orphans: int = 0
    """Billed resources nothing manages: like drift, they keep the stack's issue open."""


def _unmanaged_text(report: DriftReport) -> list[str]:
    return ["", "Unmanaged (--unmanaged):", *[f"  {note}" for note in report.unmanaged]] if report.unmanaged else []


def format_drift_text(report: DriftReport) -> str:
    if not report.drifted:
        lines = [f"No drift in stack {report.stack}: everything live is as the stack file declares."]
        lines += _unmanaged_text(report)
        lines += ["", *[f"note: {note}" for note in report.notes]] if report.notes else []
        return "\n".join(printable(line) for line in lines) + "\n"
    lines = [f"Drift in stack {report.stack}: {len(report.drifted)} resource(s) differ from the stack file."]
    for item in report.drifted:
        lines += ["", f"~ {item.type}  {item.name}  (pulumi up would {item.action} it)"]
        width = max(len(p.path) for p in item.paths)
        for path in item.paths:
            lines.append(f"    {path.path:<{width}}  stack file: {display(path.declared)}  live: {display(path.live)}")
    lines += _unmanaged_text(report)
    lines += ["", *[f"note: {note}" for note in report.notes]] if report.notes else []
    return "\n".join(printable(line) for line in lines) + "\n"


def drift_document(report: DriftReport) -> dict[str, Any]:
    return {
        "stack": report.stack,
        "drift": bool(report.drifted),
        "resources": [
            {
                "urn": item.urn,
                "type": item.type,
                "name": item.name,
                "action": item.action,
                "paths": [
                    {
                        "path": p.path,
                        "kind": p.kind,
                        "declared": json.loads(json.dumps(p.declared, default=str)),
                        "live": json.loads(json.dumps(p.live, default=str)),
                    }
                    for p in item.paths
                ],
            }
            for item in report.drifted
        ],
        "notes": report.notes,
        "unmanaged": {"orphans": report.orphans, "notes": report.unmanaged},
    }


def format_drift_json(report: DriftReport) -> str:
    return json.dumps(drift_document(report), indent=2) + "\n"


def _unmanaged_markdown(report: DriftReport) -> list[str]:
    if not report.unmanaged:
        return []
    return ["", "### Billed, and managed by nothing", "", *[f"- {prose(note)}" for note in report.unmanaged]]


def format_drift_markdown(report: DriftReport) -> str:
    """The drift issue's body: what differs, and the two ways to resolve it."""
    stack = inline_code(report.stack)
    lines = [MARKER.format(stack=report.stack), f"## Drift in stack {stack}", ""]
    if not report.drifted:
        lines.append(f"No drift: everything live in {stack} is as its stack file declares.")
        lines += _unmanaged_markdown(report)
        return "\n".join(lines) + "\n"
    lines += [f"{len(report.drifted)} resource(s) live differ from `stacks/Pulumi.{report.stack}.yaml`.", ""]
    lines += ["| Resource | Path | Stack file | Live | `pulumi up` would |", "|---|---|---|---|---|"]
    rows = [(item, path) for item in report.drifted for path in item.paths]
    for item, path in rows[:MAX_ROWS]:
        lines.append(
            f"| {_cell(item.type + ' ' + item.name)} | {_cell(path.path)} | {_cell(display(path.declared))} | {_cell(display(path.live))} | {item.action} |"
        )
    if len(rows) > MAX_ROWS:
        lines.append(f"| and {len(rows) - MAX_ROWS} more paths | | | | |")
    lines += [
        "",
        "### Resolve it, one of two ways",
        "",
        f"1. **Keep the live value**: write it into `stacks/Pulumi.{report.stack}.yaml` in a pull request; once merged and deployed, this issue closes on the next check.",
        f"2. **Put the declared value back**: run `pulumi up --stack {report.stack}` (or re-run the deploy workflow); the next check closes this issue.",
    ]
    lines += _unmanaged_markdown(report)
    lines += ["", *[f"> note: {prose(note)}" for note in report.notes]] if report.notes else []
    lines += ["", "_Found by the scheduled drift check (`python -m kapsule.engine drift`); see docs/drift.md._"]
    return "\n".join(lines) + "\n"
