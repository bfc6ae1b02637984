"""A plan: what `pulumi up` would do to a stack, computed offline from the rendered program."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from .config import read_stack_file, stack_file_path
from .render import ROOT, Rendering, Resource, Secret, Unknown, render

Action = Literal["create", "update", "replace", "delete", "same"]
SYMBOLS: dict[str, str] = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}


@dataclass
class Change:
    """What happens to one resource."""

    resource: Resource
    action: Action
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    destroys: Optional[str] = None

    @property
    def destructive(self) -> bool:
        """Whether this change destroys something live."""
        return self.destroys is not None


@dataclass
class Plan:
    """Every change to one stack, in URN order."""

    stack: str
    stack_file: str
    changes: list[Change]
    outputs: dict[str, Any]

    def count(self, action: Action) -> int:
        """How many resources take an action."""
        return sum(1 for change in self.changes if change.action == action)

    @property
    def has_changes(self) -> bool:
        """Whether applying the stack would change anything."""
        return any(change.action != "same" for change in self.changes)

    @property
    def destructive(self) -> bool:
        """Whether applying the stack would destroy something live."""
        return any(change.destructive for change in self.changes)


def plan_stack(stack: str, root: Path = ROOT) -> Plan:
    """Render a stack file's program offline; with no recorded state every resource is a create."""
    path = stack_file_path(stack, root)
    config, secret_keys = read_stack_file(path)
    rendering = render(stack, config, secret_keys, preview=True, program=root / "__main__.py")
    return Plan(
        stack=stack,
        stack_file=str(path.relative_to(root)),
        changes=[Change(resource=r, action="create") for r in rendering.resources],
        outputs=rendering.outputs,
    )


def display(value: Any) -> str:
    """A value as one deterministic line: secrets masked, unknowns named."""
    return _line(masked(value))


def _line(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_line(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_line(v) for v in value) + "]"
    return str(value)


def masked(value: Any) -> Any:
    """A value safe to print or serialise: secrets replaced, unknowns named."""
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, Unknown):
        return "(known after apply)"
    if isinstance(value, dict):
        return {k: masked(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _summary(plan: Plan) -> str:
    parts = [f"{plan.count(a)} to {a}" for a in ("create", "update", "replace", "delete") if plan.count(a)]
    return ", ".join(parts) if parts else "no changes"


def _tree(plan: Plan) -> list[tuple[int, Change]]:
    """Changes in parent-first order with their depth below the stack."""
    by_parent: dict[str, list[Change]] = {}
    urns = {change.resource.urn for change in plan.changes}
    for change in plan.changes:
        parent = change.resource.parent if change.resource.parent in urns else ""
        by_parent.setdefault(parent, []).append(change)
    ordered: list[tuple[int, Change]] = []

    def walk(parent: str, depth: int) -> None:
        for change in by_parent.get(parent, []):
            ordered.append((depth, change))
            walk(change.resource.urn, depth + 1)

    walk("", 0)
    return ordered


def _flags(resource: Resource) -> str:
    flags = []
    if resource.protect:
        flags.append("protect")
    if resource.ignore_changes:
        flags.append("ignore_changes: " + ", ".join(resource.ignore_changes))
    return f"  [{'; '.join(flags)}]" if flags else ""


def format_text(plan: Plan) -> str:
    """A plan for a terminal: the resource tree with each resource's properties."""
    lines = [f"Stack {plan.stack} ({plan.stack_file}): {_summary(plan)}", ""]
    for depth, change in _tree(plan):
        resource = change.resource
        indent = "    " * depth
        lines.append(f"{indent}{SYMBOLS[change.action]} {resource.type}  {resource.name}{_flags(resource)}")
        for key, value in sorted(resource.inputs.items()):
            lines.append(f"{indent}      {key}: {display(value)}")
    lines.append("")
    lines.append("Outputs:")
    for key, value in sorted(plan.outputs.items()):
        lines.append(f"    {key}: {display(value)}")
    return "\n".join(lines) + "\n"


def format_json(plans: list[Plan]) -> str:
    """Plans for machines: one document, keys sorted, secrets masked."""
    document = [
        {
            "stack": plan.stack,
            "stack_file": plan.stack_file,
            "summary": {a: plan.count(a) for a in ("create", "update", "replace", "delete", "same")},
            "resources": [
                {
                    "urn": change.resource.urn,
                    "type": change.resource.type,
                    "name": change.resource.name,
                    "action": change.action,
                    "properties": masked(change.resource.inputs),
                    "changed": {k: {"old": masked(o), "new": masked(n)} for k, (o, n) in sorted(change.changed.items())},
                    "reasons": change.reasons,
                    "destroys": change.destroys,
                    "protect": change.resource.protect,
                    "ignore_changes": change.resource.ignore_changes,
                }
                for change in plan.changes
            ],
            "outputs": masked(plan.outputs),
        }
        for plan in plans
    ]
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
