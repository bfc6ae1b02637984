"""A rotation as a reader sees it: text, JSON (`due`, `alone`, `checks`, `blockers`, `rotated`) and markdown for the
job summary. Node and pool names come from the cluster and the Scaleway API: in markdown they are inline code."""

from __future__ import annotations

import json
from typing import Any

from ..rotate.plan import RotationPlan
from .plan import inline_code, prose
from .upgrade import check_json, check_lines


def _age(days: float) -> str:
    return f"{days:.1f} days"


def _verdict(plan: RotationPlan) -> str:
    if plan.blockers:
        return f"Blocked: {len(plan.blockers)} blocker(s)."
    if plan.applied:
        left = len(plan.remaining)
        return f"Rotated {len(plan.rotated)} node(s)" + (f"; {left} wait for the next run." if left else ".")
    if plan.due:
        return f"{len(plan.due)} node(s) to rotate; `--apply` replaces them one at a time."
    if not plan.read:
        return "Not known: the nodes could not be read (see the checks that did not run)."
    return "Nothing to rotate: every node is within its pool's max_node_age_days."


def format_rotate_text(plan: RotationPlan) -> str:
    """Each pool's nodes past their age, oldest first, what is on one side only, the checks and the verdict."""
    lines = [f"Node rotation of {plan.stack} ({plan.stack_file}), {plan.now:%Y-%m-%d %H:%M} UTC"]
    for pool, days in plan.pools.items():
        lines.append(f"pool {pool}: " + (f"max_node_age_days {days}" if days else "no max_node_age_days (not rotated)"))
    if plan.due:
        lines += ["", "Past their age, oldest first:"]
        for number, r in enumerate(plan.due, start=1):
            done = "  (replaced)" if r.node in plan.rotated else ""
            lines.append(f"  {number}. {r.node} (pool {r.pool}): {_age(r.age_days)}, over {r.max_age_days}{done}")
    lines += [f"  one side only: {text}" for text in plan.alone]
    lines += ["", "Checks:", *check_lines(plan.checks)]
    lines += [f"note: {note}" for note in plan.notes]
    lines += ["", _verdict(plan)]
    lines += [f"  - {blocker}" for blocker in plan.blockers]
    return "\n".join(lines) + "\n"


def rotate_document(plan: RotationPlan) -> dict[str, Any]:
    """The plan as plain data."""
    return {
        "stack": plan.stack,
        "stack_file": plan.stack_file,
        "now": plan.now.isoformat(),
        "pools": [{"name": name, "max_node_age_days": days} for name, days in plan.pools.items()],
        "due": [
            {
                "pool": r.pool,
                "node": r.node,
                "scaleway_id": r.scaleway_id,
                "created_at": r.created_at.isoformat() if r.created_at else None,
                "age_days": round(r.age_days, 2),
                "max_node_age_days": r.max_age_days,
            }
            for r in plan.due
        ],
        "alone": plan.alone,
        "checks": [check_json(check) for check in plan.checks],
        "not_run": [{"name": c.name, "why": c.why} for c in plan.not_run],
        "notes": plan.notes,
        "applied": plan.applied,
        "rotated": plan.rotated,
        "stopped": (
            {"node": plan.stopped.node, "reason": plan.stopped.reason, "fix": plan.stopped.fix}
            if plan.stopped
            else None
        ),
        "blockers": plan.blockers,
    }


def format_rotate_json(plan: RotationPlan) -> str:
    """The plan as one JSON document."""
    return json.dumps(rotate_document(plan), indent=2) + "\n"


def format_rotate_markdown(plan: RotationPlan) -> str:
    """The job summary: the nodes, the checks, what was done and what stopped it."""
    lines = [f"## Node rotation: {inline_code(plan.stack)}", ""]
    if plan.due:
        lines += ["| # | Node | Pool | Age | Max | Replaced |", "|---:|---|---|---:|---:|---|"]
        for number, r in enumerate(plan.due, start=1):
            done = "yes" if r.node in plan.rotated else ""
            lines.append(
                f"| {number} | {inline_code(r.node)} | {inline_code(r.pool)} | {_age(r.age_days)} | {r.max_age_days} | {done} |"
            )
        lines.append("")
    lines += [f"- one side only: {prose(text)}" for text in plan.alone]
    lines += ["", "| Check | Result |", "|---|---|"]
    for check in plan.checks:
        result = f"not run: {prose(check.why or '')}" if check.status == "not run" else check.status
        lines.append(f"| {prose(check.title)} | {result} |")
    findings = [f for check in plan.checks for f in check.findings]
    lines += ["", *[f"- {prose(f)}" for f in findings]] if findings else []
    lines += ["", *[f"> note: {prose(n)}" for n in plan.notes]] if plan.notes else []
    lines += ["", f"**{prose(_verdict(plan))}**"]
    lines += [f"- {prose(b)}" for b in plan.blockers]
    lines += ["", "See docs/rotation.md for each blocker's fix."]
    return "\n".join(lines) + "\n"
