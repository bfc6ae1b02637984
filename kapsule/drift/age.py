"""Node age in the drift report: the nodes past their pool's `max_node_age_days` are drift too, and keep the stack's
drift issue open until they are replaced (`python -m kapsule rotate --apply`, or the Rotate nodes workflow).
Pure formatting: the nodes are read by the caller (`kapsule.engine.drift`), from the Scaleway API and the cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..reports.plan import inline_code, prose


@dataclass(frozen=True)
class AgedNode:
    """A node past its pool's maximum age."""

    pool: str
    node: str
    age_days: float
    max_days: int


def age_text(stack: str, aged: list[AgedNode]) -> str:
    """The text report's section; empty when no node is past its age."""
    if not aged:
        return ""
    lines = [
        "",
        f"{len(aged)} node(s) past their pool's max_node_age_days (`python -m kapsule rotate --stack {stack}`):",
    ]
    lines += [f"    {a.node}  pool {a.pool}: {a.age_days:.1f} days, over {a.max_days}" for a in aged]
    return "\n".join(lines) + "\n"


def age_markdown(stack: str, aged: list[AgedNode]) -> str:
    """The drift issue's section: each node, and how to resolve it. Names from the cluster are inline code."""
    if not aged:
        return ""
    lines = [
        "",
        "### Nodes past their pool's maximum age",
        "",
        "| Node | Pool | Age | `max_node_age_days` |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {inline_code(a.node)} | {inline_code(a.pool)} | {a.age_days:.1f} days | {a.max_days} |" for a in aged]
    lines += [
        "",
        f"Replace them: run the Rotate nodes workflow, or `python -m kapsule rotate --stack {prose(stack)} --apply`; "
        "this issue stays open until they are gone (docs/rotation.md).",
    ]
    return "\n".join(lines) + "\n"


def age_document(aged: list[AgedNode]) -> list[dict[str, Any]]:
    """The JSON report's `aged_nodes`."""
    return [
        {"pool": a.pool, "node": a.node, "age_days": round(a.age_days, 2), "max_node_age_days": a.max_days}
        for a in aged
    ]
