"""A plan for people and machines: the text for a terminal, JSON, and the pull-request comment. Pure logic."""

from __future__ import annotations

import json
import re
from typing import Any

from ..cost.estimate import signed_range
from ..plan.outcome import ACTIONS, Change, Invalid, Plan
from ..resources.model import Resource, masked

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
        return "{" + ", ".join(f"{printable(str(k))}: {_line(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_line(v) for v in value) + "]"
    return printable(str(value))


def printable(text: str) -> str:
    """Text safe on a terminal and in a comment: control characters, line breaks and bidirectional
    overrides escaped (`\x1b`, `\n`), so a value from a stack or state file cannot move the cursor,
    colour the terminal or start a new markdown line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def summary(plan: Plan) -> str:
    """`2 to update, 1 to replace, 12 unchanged`, or `no changes`."""
    parts = [f"{plan.count(a)} to {a}" for a in ("create", "update", "replace", "delete") if plan.count(a)]
    if plan.count("same"):
        parts.append(f"{plan.count('same')} unchanged")
    uncertain = sum(1 for change in plan.changes if change.uncertain)
    if uncertain:
        parts.append(f"{uncertain} may change")
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
        flags.append("ignore_changes: " + _folded(resource.ignore_changes))
    return f"  [{'; '.join(flags)}]" if flags else ""


#: How many `ignore_changes` paths a resource line shows before it folds the rest (JSON has them all).
SHOWN_PATHS = 3


def _folded(paths: list[str]) -> str:
    shown = ", ".join(printable(p) for p in paths[:SHOWN_PATHS])
    return shown if len(paths) <= SHOWN_PATHS else f"{shown} and {len(paths) - SHOWN_PATHS} more"


def _detail(change: Change) -> list[str]:
    """The lines under a resource: every property of a create, old -> new of an update or replace."""
    if change.action == "create":
        return [f"{printable(key)}: {display(value)}" for key, value in sorted(change.resource.inputs.items())]
    lines = [f"{printable(path)}: {_old(old)} -> {display(new)}" for path, (old, new) in sorted(change.changed.items())]
    lines += [f"replace: {printable(reason)}" for reason in change.reasons]
    lines += [
        f"may change: {printable(path)} holds a secret (a secure: value, or another stack's output) only the engine can compare"
        for path in change.uncertain
    ]
    if change.destroys:
        lines.append(f"DESTROYS {printable(change.destroys)}")
    if change.drain:
        lines.append(f"drain: {printable(change.drain)}")
    return lines


def _old(value: Any) -> str:
    return "(unset)" if value is None else display(value)


def _state_line(plan: Plan) -> str:
    return f"against {plan.state}" if plan.state else "no recorded state, so every resource is a create"


def format_text(plan: Plan) -> str:
    """A plan for a terminal: the resource tree, with what changes under each resource."""
    lines = [f"Stack {plan.stack} ({plan.stack_file}), {_state_line(plan)}: {summary(plan)}"]
    lines += [f"Note: {printable(note)}" for note in plan.notes]
    lines.append("")
    for depth, change in _tree(plan):
        resource = change.resource
        indent = "    " * depth
        lines.append(
            f"{indent}{SYMBOLS[change.action]:<2} {printable(resource.type)}  {printable(resource.name)}{_flags(resource)}"
        )
        lines += [f"{indent}      {line}" for line in _detail(change)]
    if plan.cost is not None:
        lines += ["", plan.cost.line()]
    lines += ["", "Outputs:"]
    lines += [
        f"    {key}: {display(value)}" for key, value in sorted(plan.outputs.items()) if key not in plan.output_changes
    ]
    lines += [f"{line}" for line in _output_lines(plan, "  ")]
    for label, items in (("Error", plan.errors), ("Warning", plan.warnings)):
        lines += [f"{label}: {printable(item)}" for item in items]
    return "\n".join(lines) + "\n"


def _output_lines(plan: Plan, indent: str) -> list[str]:
    """Each stack output added (+), removed (-) or changed (~) against the recorded ones."""
    lines = []
    for key, (old, new) in sorted(plan.output_changes.items()):
        name = printable(key)
        if key not in plan.outputs:
            lines.append(f"-{indent} {name}: {display(old)}")
        elif old is None:
            lines.append(f"+{indent} {name}: {display(new)}")
        else:
            lines.append(f"~{indent} {name}: {display(old)} -> {display(new)}")
    return lines


def format_json(results: list[Plan | Invalid]) -> str:
    """Plans for machines: one document, keys sorted, secrets masked."""
    document: list[dict[str, Any]] = []
    for result in results:
        if isinstance(result, Invalid):
            document.append(
                {"stack": result.stack, "stack_file": result.stack_file, "error": result.error, "invalid": result.kind}
            )
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
                "notes": result.notes,
                "resources": [
                    {
                        "urn": change.resource.urn,
                        "type": change.resource.type,
                        "name": change.resource.name,
                        "action": change.action,
                        "properties": masked(change.resource.inputs),
                        "changed": {
                            k: {"old": masked(o), "new": masked(n)} for k, (o, n) in sorted(change.changed.items())
                        },
                        "reasons": change.reasons,
                        "destroys": change.destroys,
                        "protect": change.resource.protect,
                        "ignore_changes": change.resource.ignore_changes,
                        "uncertain": change.uncertain,
                        "drain": change.drain,
                    }
                    for change in result.changes
                ],
                "outputs": masked(result.outputs),
                "output_changes": {
                    k: {"old": masked(o), "new": masked(n)} for k, (o, n) in sorted(result.output_changes.items())
                },
                "cost": result.cost.document() if result.cost is not None else None,
            }
        )
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


#: The first line of the pull-request comment; the workflow finds and edits its own comment by it.
MARKDOWN_MARKER = "<!-- kapsule-plan -->"


def format_markdown(results: list[Plan | Invalid]) -> str:
    """Plans as one pull-request comment: a summary table, then each stack's errors and cautions, then its
    changes in diff blocks. The cautions always fit; details follow for every stack whose details fit."""
    lines = [
        MARKDOWN_MARKER,
        "## Kapsule plan",
        "",
        "| Stack | Create | Update | Replace | Delete | Unchanged | Verdict | Monthly cost | Change |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for result in results:
        if isinstance(result, Invalid):
            lines.append(f"| {inline_code(result.stack)} | | | | | | invalid {result.kind} | | |")
            continue
        counts = " | ".join(str(result.count(a)) for a in ("create", "update", "replace", "delete", "same"))
        cost = result.cost
        money = f"{cost.after.total()} | {signed_range(*cost.delta, cost.after.currency)}" if cost else " | "
        lines.append(f"| {inline_code(result.stack)} | {counts} | {_verdict(result)} | {money} |")
    heads = [_markdown_head(result) for result in results]
    details = [_markdown_details(result) if isinstance(result, Plan) else "" for result in results]
    room = MARKDOWN_LIMIT - len("\n".join(lines) + "\n") - sum(len(head) for head in heads)
    body = "\n".join(lines) + "\n"
    for result, head, detail in zip(results, heads, details, strict=True):
        body += head
        if len(detail) <= room:
            body += detail
            room -= len(detail)
        else:
            body += (
                f"_The details of {inline_code(result.stack)} do not fit in one comment: run `make plan` locally._\n"
            )
    return body


def _verdict(plan: Plan) -> str:
    if plan.errors:
        return "refused (see errors)"
    if plan.destructive:
        return "**destructive**"
    return "changes" if plan.has_changes else "no changes"


def inline_code(text: str) -> str:
    """Text as inline code: markdown, mentions and HTML inside are not interpreted, and it cannot close itself."""
    return "`" + printable(text).replace("`", "'") + "`"


def prose(text: str) -> str:
    """A sentence (an error, a warning) as markdown text that cannot start a heading, a mention, a link or HTML."""
    text = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"([\\`*_\[\]#|~!])", r"\\\1", text)
    text = re.sub(r"(?i)(:)(?=//)|\b(www)(?=\.)", "\\1\\2\u200b", text)  # a bare URL never becomes a link
    return text.replace("@", "@\u200b")


def _markdown_head(result: Plan | Invalid) -> str:
    """A stack's title, and everything that must never be cut: errors, warnings and cautions."""
    if isinstance(result, Invalid):
        return f"\n### {inline_code(result.stack)}: invalid {result.kind}\n\n```text\n{_fence_safe(printable_lines(result.error))}\n```\n"
    lines = [
        "",
        f"### {inline_code(result.stack)}: {summary(result)}",
        "",
        f"{inline_code(result.stack_file)}, {prose(_state_line(result))}.",
        "",
    ]
    if result.cost is not None:
        lines += [prose(result.cost.line()) + ".", ""]
    for note in result.notes:
        lines += ["> [!NOTE]", f"> {prose(note)}", ""]
    for error in result.errors:
        lines += ["> [!CAUTION]", f"> {prose(error)}", ""]
    for warning in result.warnings:
        lines += ["> [!WARNING]", f"> {prose(warning)}", ""]
    for change in (c for c in result.changes if c.destructive):
        verb = "Replacing" if change.action == "replace" else "Deleting"
        drain = (
            f" It is {prose(change.drain)}."
            if change.drain and change.drain.startswith("drained")
            else (f" The {prose(change.drain)}." if change.drain else "")
        )
        lines += [
            "> [!CAUTION]",
            f"> {verb} {inline_code(change.resource.name)} ({inline_code(change.resource.type)}) destroys {prose(change.destroys or '')}.{drain}",
            "",
        ]
    return "\n".join(lines) + "\n"


def _markdown_details(result: Plan) -> str:
    """A stack's changes as diff blocks, in the resource tree's order; creates folded."""
    ordered = [(depth, change) for depth, change in _tree(result)]
    changed = [(d, c) for d, c in ordered if c.action not in ("same", "create") or c.uncertain]
    created = [(d, c) for d, c in ordered if c.action == "create"]
    lines: list[str] = []
    outputs = _output_lines(result, "    ")
    if changed or outputs:
        lines += [
            "```diff",
            *_diff_lines(changed),
            *[_fence_safe(f"{line[0]} output {line[1:].strip()}") for line in outputs],
            "```",
            "",
        ]
    if created:
        lines += [
            f"<details><summary>{len(created)} to create</summary>",
            "",
            "```diff",
            *_diff_lines(created),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines) + ("\n" if lines else "")


def printable_lines(text: str) -> str:
    """Several lines of text, each made printable: the line breaks stay, nothing else does."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _diff_lines(changes: list[tuple[int, Change]]) -> list[str]:
    """Lines a `diff` block colours: `+` create, `-` delete, `!` replace, `~` update; children indented."""
    marks = {"create": "+", "delete": "-", "replace": "!", "update": "~", "same": "?"}
    lines = []
    for depth, change in changes:
        mark, indent = marks[change.action], "  " * depth
        lines.append(
            _fence_safe(
                f"{mark} {indent}{printable(change.resource.type)}  {printable(change.resource.name)}{_flags(change.resource)}"
            )
        )
        lines += [_fence_safe(f"{mark} {indent}    {line}") for line in _detail(change)]
    return lines


def _fence_safe(text: str) -> str:
    """Text that cannot close the code fence it is printed in."""
    return text.replace("```", "'''")
