"""A plan: what `pulumi up` would do to a stack, computed offline from the rendered program and recorded state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from components.versions import VERSION, cni_problem, pool_problem, upgrade_problem

from policy.rules import Subject, evaluate, stack_config

from .config import read_stack_file, stack_file_path
from .cost import CostChange, Priced, money_range, price_stack, signed_range
from .diff import CLUSTER, POOL, Action, Diff, destroys, diff_resource
from .render import ROOT, Resource, Sealed, Secret, Unknown, render
from .state import RecordedResource, RecordedState

ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete", "same")
SYMBOLS: dict[str, str] = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}
#: Exit codes of `python -m kapsule plan`, most severe last wins: invalid beats destructive beats changes.
EXIT_NO_CHANGES, EXIT_INVALID, EXIT_CHANGES, EXIT_DESTRUCTIVE = 0, 1, 2, 3
#: A pull-request comment may hold 65536 characters; keep room for the summary table.
MARKDOWN_LIMIT = 60000


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
    """Every change to one stack, in URN order, and the problems found against recorded state."""

    stack: str
    stack_file: str
    state: Optional[str]
    changes: list[Change]
    outputs: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cost: Optional[CostChange] = None
    """The monthly cost before (recorded state) and after the plan."""

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

    @property
    def exit_code(self) -> int:
        """This plan's exit code alone."""
        if self.errors:
            return EXIT_INVALID
        if self.destructive:
            return EXIT_DESTRUCTIVE
        return EXIT_CHANGES if self.has_changes else EXIT_NO_CHANGES


@dataclass
class Invalid:
    """A stack whose file could not be planned: the one clear error."""

    stack: str
    stack_file: str
    error: str


def exit_code(results: list[Plan | Invalid]) -> int:
    """The exit code for several stacks: the most severe outcome of any of them."""
    codes = [EXIT_INVALID if isinstance(r, Invalid) else r.exit_code for r in results]
    for code in (EXIT_INVALID, EXIT_DESTRUCTIVE, EXIT_CHANGES):
        if code in codes:
            return code
    return EXIT_NO_CHANGES


class RecordedBaseline:
    """Feeds recorded ids and outputs to the mock runtime and diffs each resource as it is registered.

    Resources register after what they depend on, so a dependency's action is known in time: an
    unknown value is a real change when something upstream is created or replaced.
    """

    def __init__(self, state: Optional[RecordedState]) -> None:
        self.state = state
        self.diffs: dict[str, Diff] = {}
        self.types: dict[str, str] = {}
        self.inputs: dict[str, dict[str, Any]] = {}

    def answer(self, resource: Resource) -> Optional[tuple[str, dict[str, Any]]]:
        """Recorded id and outputs for a resource that stays; None for one created or replaced."""
        self.types[resource.urn] = resource.type
        self.inputs[resource.urn] = resource.inputs
        recorded = self.state.get(resource.urn) if self.state else None
        if recorded is None:
            self.diffs[resource.urn] = Diff("create")
            return None
        renewed = {dep for dep in resource.depends_on if self._action(dep) in ("create", "replace")}
        upstream = frozenset(self.types[dep] for dep in renewed)
        # A value is only unknown because of what it was computed from, not because of depends_on.
        fed = frozenset(key for key, urns in resource.property_dependencies.items() if renewed & set(urns))
        diff = diff_resource(
            resource.type,
            resource.inputs,
            recorded,
            ignore_changes=resource.ignore_changes,
            upstream=upstream,
            provider_replaced=self._action(resource.provider) == "replace",
            provider_inputs=self.inputs.get(resource.provider),
            tainted=recorded.replace,
            fed_by_renewed=fed,
        )
        self.diffs[resource.urn] = diff
        if diff.action == "replace" or not resource.custom:
            return None
        return recorded.id, {**recorded.outputs, **resource.inputs}

    def _action(self, urn: str) -> Optional[str]:
        diff = self.diffs.get(urn)
        return diff.action if diff else None


def plan_stack(stack: str, root: Path = ROOT, state: Optional[RecordedState] = None) -> Plan:
    """Render a stack file's program offline and diff it against recorded state (none: all creates)."""
    path = stack_file_path(stack, root)
    config, secret_keys, _ = read_stack_file(path)
    stack_file = str(path.relative_to(root))
    baseline = RecordedBaseline(state)
    rendering = render(stack, config, secret_keys, preview=True, program=root / "__main__.py", baseline=baseline)
    changes = []
    for resource in rendering.resources:
        diff = baseline.diffs.get(resource.urn, Diff("create"))
        changes.append(_change(resource, diff, state.get(resource.urn) if state else None))
    registered = {r.urn for r in rendering.resources}
    for recorded in (state.resources.values() if state else ()):
        if recorded.urn not in registered and _owned(recorded):
            changes.append(_change(_as_resource(recorded), Diff("delete"), recorded))
    changes.sort(key=lambda c: c.resource.urn)
    errors = safety_problems(rendering.resources, state)
    warnings = disruption_warnings(changes)
    if state is not None and state.pending:
        warnings.append(
            f"{state.source}: an interrupted update left {len(state.pending)} pending operation(s): "
            + "; ".join(state.pending)
            + ". Check those resources in the console, then run `pulumi refresh` (or `pulumi cancel` if an update still holds the lock)"
        )
    policy_file = root / "policy" / "config" / f"{stack}.json"
    # Rules judge values as the policy SDK hands them over: a sealed property is read, never printed.
    subjects = [Subject(r.type, r.name, r.urn, unsealed(r.inputs), r.protect) for r in rendering.resources]
    for level, violation in evaluate(subjects, stack_config(stack, policy_file.parent), str(policy_file.relative_to(root))):
        (errors if level == "mandatory" else warnings).append(f"policy {violation.rule}: {violation.message}")
    cost = stack_cost(rendering.resources, state)
    warnings += [f"cost: {item}" for item in cost.after.unpriced]
    return Plan(
        stack=stack,
        stack_file=stack_file,
        state=state.source if state else None,
        changes=changes,
        outputs=rendering.outputs,
        cost=cost,
        errors=[f"{stack_file}: {problem}" for problem in errors],
        # The program's own warnings (versions near end of support, unknown annotations) come first.
        warnings=rendering.warnings + [f"{stack_file}: {warning}" for warning in warnings],
    )


def stack_cost(resources: list[Resource], state: Optional[RecordedState]) -> CostChange:
    """The monthly cost of what the stack file declares, and of what the state recorded as live.

    An autoscaled pool's current size comes from the state: the program only knows its bounds.
    """

    def live(urn: str) -> dict[str, Any]:
        recorded = state.get(urn) if state else None
        return dict(recorded.outputs) if recorded else {}

    after = price_stack(Priced(r.urn, r.type, r.name, unsealed(r.inputs), live(r.urn)) for r in resources)
    before = None
    if state is not None:
        before = price_stack(
            Priced(r.urn, r.type, r.name, unsealed(r.inputs), unsealed(r.outputs)) for r in state.resources.values() if _owned(r)
        )
    return CostChange(after=after, before=before)


def _change(resource: Resource, diff: Diff, recorded: Optional[RecordedResource]) -> Change:
    reasons = list(diff.reasons)
    lost = None
    if diff.action in ("replace", "delete"):
        lost = destroys(resource.type, recorded.inputs if recorded else resource.inputs)
        if recorded is not None and recorded.protect:
            reasons.append("protected: `pulumi up` refuses until protect is turned off in the stack file")
    return Change(resource=resource, action=diff.action, changed=diff.changed, reasons=reasons, destroys=lost)


def _owned(recorded: RecordedResource) -> bool:
    """Whether a recorded resource is one the program declares (not the stack or a default provider)."""
    if recorded.type == "pulumi:pulumi:Stack":
        return False
    return not (recorded.type.startswith("pulumi:providers:") and recorded.name.startswith("default"))


def _as_resource(recorded: RecordedResource) -> Resource:
    return Resource(
        urn=recorded.urn,
        type=recorded.type,
        name=recorded.name,
        parent=recorded.parent,
        custom=recorded.custom,
        inputs={k: v for k, v in recorded.inputs.items() if not k.startswith("__")},
        protect=recorded.protect,
        id=recorded.id,
        outputs=recorded.outputs,
    )


def safety_problems(resources: list[Resource], state: Optional[RecordedState]) -> list[str]:
    """Upgrade-path, pool-version and CNI problems of the desired resources against recorded state."""
    if state is None:
        return []
    problems = []
    for cluster in (r for r in resources if r.type == CLUSTER):
        recorded = state.get(cluster.urn)
        if recorded is None:
            continue
        desired = cluster.inputs.get("version")
        live = _plain_str(recorded.outputs.get("version")) or _plain_str(recorded.inputs.get("version"))
        if live and not VERSION.match(live):
            problems.append(
                f"{state.source}: the recorded version {live!r} is not a Kubernetes version (x.y or x.y.z); "
                "run `pulumi refresh` so the state holds the cluster's real version"
            )
            continue
        if isinstance(desired, str) and live:
            problem = upgrade_problem(live, desired)
            if problem:
                problems.append(f"kapsule:cluster.version: {problem}")
        live_cni, cni = _plain_str(recorded.inputs.get("cni")), cluster.inputs.get("cni")
        if live_cni and isinstance(cni, str):
            problem = cni_problem(live_cni, cni)
            if problem:
                problems.append(f"kapsule:cluster.cni: {problem}")
        if isinstance(desired, str):
            problems += _pool_problems(resources, state, cluster, desired)
    return problems


def disruption_warnings(changes: list[Change]) -> list[str]:
    """In-place changes that still disrupt: Scaleway redeploys a renamed cluster's control plane."""
    warnings = []
    for change in changes:
        if change.resource.type == CLUSTER and change.action == "update" and "name" in change.changed:
            old, new = change.changed["name"]
            warnings.append(
                f"kapsule:cluster.name: renaming {old!r} to {new!r} redeploys the control plane: "
                "expect one to two hours of API server disruption"
            )
    return warnings


def _pool_problems(resources: list[Resource], state: RecordedState, cluster: Resource, version: str) -> list[str]:
    """Pools that would run ahead of (or too far behind) the cluster once the plan is applied."""
    if cluster.inputs.get("upgradePools") is not False:
        return []  # the pools are upgraded with the cluster
    problems = []
    for pool in (r for r in resources if r.type == POOL):
        recorded = state.get(pool.urn)
        live = _plain_str(recorded.outputs.get("version")) if recorded else None
        if live and not VERSION.match(live):
            problems.append(f"{state.source}: pool {pool.name}: the recorded version {live!r} is not a Kubernetes version; run `pulumi refresh`")
            continue
        wanted = pool.inputs.get("version") if isinstance(pool.inputs.get("version"), str) else None
        if live and wanted:
            problem = upgrade_problem(live, wanted)
            if problem:
                problems.append(f"kapsule:pools.{pool.name}.version: {problem}")
                continue
        effective = wanted or live
        problem = effective and pool_problem(effective, version)
        if problem:
            problems.append(f"kapsule:pools.{pool.name}.version: {problem}")
    return problems


def unsealed(value: Any) -> Any:
    """A value with its Secret wrappers removed, for rules and prices that read it and print nothing of it."""
    if isinstance(value, Secret):
        return unsealed(value.value)
    if isinstance(value, dict):
        return {key: unsealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unsealed(item) for item in value]
    return value


def _plain_str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


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
    if isinstance(value, Secret) and isinstance(value.value, Unknown):
        return "[secret] (known after apply)"
    if isinstance(value, (Secret, Sealed)):
        return "[secret]"
    if isinstance(value, Unknown):
        return "(known after apply)"
    if isinstance(value, dict):
        return {k: masked(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


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
