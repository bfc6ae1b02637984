"""A plan for people and machines: the text for a terminal, JSON, and the pull-request comment. Pure logic."""

from __future__ import annotations

import json
from typing import Any

from .cost import money_range, signed_range
from .model import Resource, masked
from .outcome import ACTIONS, Change, Invalid, Plan

SYMBOLS: dict[str, str] = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}
#: A pull-request comment may hold 65536 characters; keep room for the summary table.
MARKDOWN_LIMIT = 60000


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


def summary(plan: Plan) -> str:
    """`2 to update, 1 to replace, 12 unchanged`, or `no changes`."""
    parts = [f"{plan.count(a)} to {a}" for a in ("create", "update", "replace", "delete") if plan.count(a)]
    if plan.count("same"):
        parts.append(f"{plan.count('same')} unchanged")
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


def _detail(change: Change) -> list[str]:
    """The lines under a resource: every property of a create, old -> new of an update or replace."""
    if change.action == "create":
        return [f"{key}: {display(value)}" for key, value in sorted(change.resource.inputs.items())]
    lines = [f"{path}: {_old(old)} -> {display(new)}" for path, (old, new) in sorted(change.changed.items())]
    lines += [f"replace: {reason}" for reason in change.reasons]
    if change.destroys:
        lines.append(f"DESTROYS {change.destroys}")
    return lines


def _old(value: Any) -> str:
    return "(unset)" if value is None else display(value)


def _state_line(plan: Plan) -> str:
    return f"against {plan.state}" if plan.state else "no recorded state, so every resource is a create"


def format_text(plan: Plan) -> str:
    """A plan for a terminal: the resource tree, with what changes under each resource."""
    lines = [f"Stack {plan.stack} ({plan.stack_file}), {_state_line(plan)}: {summary(plan)}", ""]
    for depth, change in _tree(plan):
        resource = change.resource
        indent = "    " * depth
        lines.append(f"{indent}{SYMBOLS[change.action]:<2} {resource.type}  {resource.name}{_flags(resource)}")
        lines += [f"{indent}      {line}" for line in _detail(change)]
    if plan.cost is not None:
        lines += ["", plan.cost.line()]
    lines += ["", "Outputs:"]
    lines += [f"    {key}: {display(value)}" for key, value in sorted(plan.outputs.items())]
    for label, items in (("Error", plan.errors), ("Warning", plan.warnings)):
        lines += [f"{label}: {item}" for item in items]
    return "\n".join(lines) + "\n"


def format_json(results: list[Plan | Invalid]) -> str:
    """Plans for machines: one document, keys sorted, secrets masked."""
    document = []
    for result in results:
        if isinstance(result, Invalid):
            document.append({"stack": result.stack, "stack_file": result.stack_file, "error": result.error})
            continue
        document.append(
            {
                "stack": result.stack,
                "stack_file": result.stack_file,
                "state": result.state,
                "summary": {a: result.count(a) for a in ACTIONS},
                "destructive": result.destructive,
                "errors": result.errors,
                "warnings": result.warnings,
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
                    for change in result.changes
                ],
                "outputs": masked(result.outputs),
                "cost": result.cost.document() if result.cost is not None else None,
            }
        )
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


#: The first line of the pull-request comment; the workflow finds and edits its own comment by it.
MARKDOWN_MARKER = "<!-- kapsule-plan -->"


def format_markdown(results: list[Plan | Invalid]) -> str:
    """Plans as one pull-request comment: a summary table, then each stack's changes in a diff block."""
    lines = [
        MARKDOWN_MARKER,
        "## Kapsule plan",
        "",
        "| Stack | Create | Update | Replace | Delete | Unchanged | Verdict | Monthly cost | Change |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for result in results:
        if isinstance(result, Invalid):
            lines.append(f"| `{result.stack}` | | | | | | invalid stack file | | |")
            continue
        counts = " | ".join(str(result.count(a)) for a in ("create", "update", "replace", "delete", "same"))
        cost = result.cost
        money = f"{money_range(cost.after.low, cost.after.high, cost.after.currency)} | {signed_range(*cost.delta, cost.after.currency)}" if cost else " | "
        lines.append(f"| `{result.stack}` | {counts} | {_verdict(result)} | {money} |")
    sections = [_markdown_section(result) for result in results]
    body = "\n".join(lines) + "\n"
    for index, section in enumerate(sections):
        if len(body) + len(section) > MARKDOWN_LIMIT:
            rest = ", ".join(f"`{r.stack}`" for r in results[index:])
            body += f"\n_The details of {rest} do not fit in one comment: run `make plan` locally._\n"
            break
        body += section
    return body


def _verdict(plan: Plan) -> str:
    if plan.errors:
        return "refused (see errors)"
    if plan.destructive:
        return "**destructive**"
    return "changes" if plan.has_changes else "no changes"


def _markdown_section(result: Plan | Invalid) -> str:
    if isinstance(result, Invalid):
        return f"\n### `{result.stack}`: invalid\n\n```text\n{_fence_safe(result.error)}\n```\n"
    lines = ["", f"### `{result.stack}`: {summary(result)}", "", f"`{result.stack_file}`, {_state_line(result)}.", ""]
    if result.cost is not None:
        lines += [result.cost.line() + ".", ""]
    for error in result.errors:
        lines += ["> [!CAUTION]", f"> {error}", ""]
    for warning in result.warnings:
        lines += ["> [!WARNING]", f"> {warning}", ""]
    for change in (c for c in result.changes if c.destructive):
        verb = "Replacing" if change.action == "replace" else "Deleting"
        lines += ["> [!CAUTION]", f"> {verb} `{change.resource.name}` ({change.resource.type}) destroys {change.destroys}.", ""]
    changed = [c for c in result.changes if c.action not in ("same", "create")]
    created = [c for c in result.changes if c.action == "create"]
    if changed:
        lines += ["```diff", *_diff_lines(changed), "```", ""]
    if created:
        lines += [f"<details><summary>{len(created)} to create</summary>", "", "```diff", *_diff_lines(created), "```", "", "</details>", ""]
    return "\n".join(lines)


def _diff_lines(changes: list[Change]) -> list[str]:
    """Lines a `diff` block colours: `+` create, `-` delete, `!` replace, `~` update."""
    marks = {"create": "+", "delete": "-", "replace": "!", "update": "~"}
    lines = []
    for change in changes:
        mark = marks[change.action]
        lines.append(_fence_safe(f"{mark} {change.resource.type}  {change.resource.name}{_flags(change.resource)}"))
        lines += [_fence_safe(f"{mark}     {line}") for line in _detail(change)]
    return lines


def _fence_safe(text: str) -> str:
    """Text that cannot close the code fence it is printed in."""
    return text.replace("```", "'''")
