"""A plan: what `pulumi up` would do to a stack, computed offline from the rendered program and recorded state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.catalog import load_catalog, today
from components.drain import DRAIN_DEFAULTS
from policy.rules import evaluate, stack_config

from ..cost.estimate import CostChange, price_stack
from ..names import CONFIG_NAMESPACE, POOL, PROVIDER_TYPE_PREFIX, ROOT, SECRET, STACK_REFERENCE_TYPE, STACK_TYPE
from ..resources.model import Resource, ResourceView, Sealed, Secret, Unknown, unsealed
from ..resources.urns import alias_urns
from ..stackfile.messages import StackConfigError
from ..stackfile.reading import decode_value, read_stack_file, stack_file_path
from ..stackfile.schema import parse
from ..stackfile.stacks import DEPLOY_AFTER, deploy_after_problem, stack_names
from ..state.records import RecordedResource, RecordedState
from .access import access_lines
from .diff import Diff, diff_resource
from .elsewhere import Elsewhere
from .intent import intent_notes
from .lifecycle import lifecycle_findings
from .outcome import Change, Plan
from .render import render
from .replacement import destroys
from .safety import disruption_warnings, safety_problems


class RecordedBaseline:
    """Feeds recorded ids and outputs to the mock runtime and diffs each resource as it is registered.

    Resources register after what they depend on, so a dependency's action is known in time: an
    unknown value is a real change when something upstream is created or replaced.
    """

    def __init__(self, state: RecordedState | None, references: dict[str, RecordedState | None] | None = None) -> None:
        self.state = state
        self.references = references or {}
        """Each referenced stack (`organization/project/stack`) and its recorded state, None when not found."""
        self.diffs: dict[str, Diff] = {}
        self.types: dict[str, str] = {}
        self.inputs: dict[str, dict[str, Any]] = {}
        self.aliased: dict[str, str] = {}
        """Each resource found in the state under an alias, and the old URN it was found under."""

    def find(self, resource: Resource) -> RecordedResource | None:
        """Look the resource up as the engine does: by its URN first, then by each of its aliases."""
        if self.state is None:
            return None
        if resource.urn in self.state.resources:
            return self.state.get(resource.urn)
        parent_alias = self.aliased.get(resource.parent)
        if not resource.aliases and parent_alias is None:
            return None
        stack, project = resource.urn.split("::")[0].rsplit(":", 1)[1], resource.urn.split("::")[1]
        for old in alias_urns(
            stack=stack,
            project=project,
            parent=resource.parent,
            type_=resource.type,
            name=resource.name,
            aliases=resource.aliases,
            parent_alias=parent_alias,
            matched=self.aliased,
        ):
            if old in self.state.resources and old not in self.aliased.values():
                self.aliased[resource.urn] = old
                return self.state.get(old)
        return None

    def stack_outputs(self, reference: str) -> dict[str, Any] | None:
        """A referenced stack's recorded Stack outputs, when its state was found."""
        state = self.references.get(reference)
        return state.outputs if state is not None else None

    def answer(self, resource: Resource) -> tuple[str, dict[str, Any]] | None:
        """Recorded id and outputs for a resource that stays; None for one created or replaced."""
        self.types[resource.urn] = resource.type
        self.inputs[resource.urn] = resource.inputs
        recorded = self.find(resource)
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

    def _action(self, urn: str) -> str | None:
        diff = self.diffs.get(urn)
        return diff.action if diff else None


def plan_stack(
    stack: str,
    root: Path = ROOT,
    state: RecordedState | None = None,
    references: dict[str, RecordedState | None] | None = None,
) -> Plan:
    """Render a stack file's program offline and diff it against recorded state (none: all creates).

    `references` holds the recorded state of each stack a platform stack reads through a StackReference
    (None where it was not found): its outputs stand in for what the reference reads.
    """
    path = stack_file_path(stack, root)
    config, secret_keys, _ = read_stack_file(path)
    stack_file = str(path.relative_to(root))
    after = config.get(DEPLOY_AFTER)
    problem = deploy_after_problem(stack, after, stack_names(root)) if after is not None else None
    if problem:
        raise StackConfigError(stack_file, [(DEPLOY_AFTER, problem)])
    elsewhere = Elsewhere(config, references)
    baseline = RecordedBaseline(state, elsewhere.references)
    if elsewhere.problems:
        parse(stack_file, config)  # the stack file's own problems come first: a wrong type under a key read
        raise StackConfigError(stack_file, elsewhere.problems)
    rendering = render(
        stack, elsewhere.config, secret_keys, preview=True, program=root / "__main__.py", baseline=baseline
    )
    # From here on, a resource found through an alias is known by its new URN, as the engine records it.
    state = state.renamed(baseline.aliased) if state is not None else None
    changes = _changes(rendering.resources, baseline, state, pool_drains(config))
    errors, warnings = _checks(stack, root, rendering.resources, changes, state)
    access_notes, access_warnings = access_lines(changes)
    warnings += access_warnings
    cost = stack_cost(rendering.resources, state)
    warnings += [f"cost: {item}" for item in cost.after.unpriced]
    return Plan(
        notes=elsewhere.notes + access_notes + intent_notes(changes, state),
        output_changes=output_changes(state.outputs or {}, rendering.outputs) if state else {},
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


def _changes(
    resources: list[Resource], baseline: RecordedBaseline, state: RecordedState | None, drains: dict[str, Any]
) -> list[Change]:
    """What the engine would do to each rendered resource, and the deletes of recorded ones no longer rendered."""
    changes = []
    for resource in resources:
        diff = baseline.diffs.get(resource.urn, Diff("create"))
        changes.append(_change(resource, diff, state.get(resource.urn) if state else None, drains))
    registered = {r.urn for r in resources}
    for recorded in state.resources.values() if state else ():
        if recorded.urn not in registered and _owned(recorded):
            changes.append(_change(_as_resource(recorded), Diff("delete"), recorded, drains))
    changes.sort(key=lambda c: c.resource.urn)
    return changes


def _checks(
    stack: str, root: Path, resources: list[Resource], changes: list[Change], state: RecordedState | None
) -> tuple[list[str], list[str]]:
    """The plan's errors and warnings: safety, disruption, the minor's life cycle, an interrupted update, and the
    stack's policy."""
    errors = safety_problems(resources, state)
    warnings = disruption_warnings(changes)
    lifecycle_errors, lifecycle_warnings = lifecycle_findings(resources, state, load_catalog(), today())
    errors += lifecycle_errors
    warnings += lifecycle_warnings
    if state is not None and state.pending:
        warnings.append(
            f"{state.source}: an interrupted update left {len(state.pending)} pending operation(s): "
            + "; ".join(state.pending)
            + ". Check those resources in the console, then run `pulumi refresh` (or `pulumi cancel` if an update still holds the lock)"
        )
    policy_file = root / "policy" / "config" / f"{stack}.json"
    # Rules judge values as the policy SDK hands them over: a sealed property is read, never printed.
    subjects = [ResourceView(r.type, r.name, r.urn, unsealed(r.inputs), r.protect) for r in resources]
    for level, violation in evaluate(
        subjects, stack_config(stack, policy_file.parent), str(policy_file.relative_to(root))
    ):
        (errors if level == "mandatory" else warnings).append(f"policy {violation.rule}: {violation.message}")
    return errors, warnings


def output_changes(recorded: dict[str, Any], declared: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Stack outputs added, removed or changed. A value that is unknown or sealed on either side is not
    compared (the engine decides once it is known); an added or removed output always is."""
    changed = {}
    for key in sorted(set(recorded) | set(declared)):
        if key not in recorded or key not in declared:
            changed[key] = (recorded.get(key), declared.get(key))
            continue
        old, new = recorded[key], declared[key]
        if _opaque(old) or _opaque(new):
            continue
        if unsealed(old) != unsealed(new):
            changed[key] = (old, new)
    return changed


def _opaque(value: Any) -> bool:
    """Whether a value holds anything the plan cannot read: an unknown, or a sealed secret."""
    if isinstance(value, (Unknown, Sealed)):
        return True
    if isinstance(value, Secret):
        return _opaque(value.value)
    if isinstance(value, dict):
        return any(_opaque(v) for v in value.values())
    if isinstance(value, list):
        return any(_opaque(v) for v in value)
    return False


def stack_cost(resources: list[Resource], state: RecordedState | None) -> CostChange:
    """The monthly cost of what the stack file declares, and of what the state recorded as live.

    An autoscaled pool's current size comes from the state: the program only knows its bounds.
    """

    def live(urn: str) -> dict[str, Any]:
        recorded = state.get(urn) if state else None
        return dict(recorded.outputs) if recorded else {}

    after = price_stack(ResourceView(r.type, r.name, r.urn, unsealed(r.inputs), outputs=live(r.urn)) for r in resources)
    before = None
    if state is not None:
        before = price_stack(
            ResourceView(r.type, r.name, r.urn, unsealed(r.inputs), outputs=unsealed(r.outputs))
            for r in state.resources.values()
            if _owned(r)
        )
    return CostChange(after=after, before=before)


def pool_drains(config: dict[str, str]) -> dict[str, tuple[bool, str]]:
    """Each declared pool's drain settings, by pool name, from the stack file's `kapsule:pools`."""
    pools = decode_value(config.get(f"{CONFIG_NAMESPACE}:pools", "{}"))
    return {
        name: (spec.get("drain", DRAIN_DEFAULTS[0]) is not False, str(spec.get("drain_timeout", DRAIN_DEFAULTS[1])))
        for name, spec in (pools.items() if isinstance(pools, dict) else ())
        if isinstance(spec, dict)
    }


def _drain_note(resource: Resource, action: str, drains: dict[str, tuple[bool, str]]) -> str | None:
    """What happens to a pool's workloads before it is replaced or deleted (components/drain.py)."""
    if resource.type != POOL or action not in ("replace", "delete"):
        return None
    drain, timeout = drains.get(resource.name, DRAIN_DEFAULTS)
    if not drain:
        return "drain is off for this pool (drain: false): its workloads stop at once with its nodes"
    return (
        f"drained first: its nodes are cordoned and their pods evicted, honouring PodDisruptionBudgets, for up to "
        f"{timeout}; if that does not finish, the pool is not deleted and the update fails"
    )


def _change(
    resource: Resource,
    diff: Diff,
    recorded: RecordedResource | None,
    drains: dict[str, tuple[bool, str]] | None = None,
) -> Change:
    reasons = list(diff.reasons)
    lost = None
    if diff.action in ("replace", "delete"):
        lost = destroys(resource.type, recorded.inputs if recorded else resource.inputs)
        if recorded is not None and recorded.protect:
            reasons.append("protected: `pulumi up` refuses until protect is turned off in the stack file")
    return Change(
        resource=resource,
        action=diff.action,
        changed=diff.changed,
        reasons=reasons,
        destroys=lost,
        uncertain=list(diff.sealed),
        drain=_drain_note(resource, diff.action, drains or {}),
    )


def _owned(recorded: RecordedResource) -> bool:
    """Whether a recorded resource is one the program declares (not the stack, a default provider, or another
    stack's outputs that a StackReference read: recorded as external, whose removal the engine's DeleteStep
    reports as `discard`, deleting nothing; read in step.go, v3.274.1, not run here)."""
    if recorded.type in (STACK_TYPE, STACK_REFERENCE_TYPE):
        return False
    return not (recorded.type.startswith(PROVIDER_TYPE_PREFIX) and recorded.name.startswith("default"))


#: A Kubernetes Secret's payload, by either of the names the API and the provider record it under.
SECRET_DATA = frozenset({"data", "stringData"})


def _as_resource(recorded: RecordedResource) -> Resource:
    """A recorded resource about to be deleted, as the plan shows it; a Secret's data is always sealed."""
    inputs = {k: v for k, v in recorded.inputs.items() if not k.startswith("__")}
    if recorded.type == SECRET:
        inputs = {k: Secret(v) if k in SECRET_DATA and not isinstance(v, Secret) else v for k, v in inputs.items()}
    return Resource(
        urn=recorded.urn,
        type=recorded.type,
        name=recorded.name,
        parent=recorded.parent,
        custom=recorded.custom,
        inputs=inputs,
        protect=recorded.protect,
        id=recorded.id,
        outputs=recorded.outputs,
    )
