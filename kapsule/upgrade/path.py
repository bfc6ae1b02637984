"""The way from a stack's Kubernetes version to a target minor: one minor per step, each step's version, and
what Kapsule does to the control plane and to each pool, from the stack file and the catalog. No API call and no
engine; the Pulumi SDK is loaded all the same, by the stack-file schema (each component's spec sits beside its
resources in `components/`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from components.catalog import Catalog
from components.versions import Version, pool_problem

from ..stackfile.schema import StackConfig

#: A step whose minor ends this close to the day gets a warning: the team would upgrade again at once.
ENDS_SOON_DAYS = 90


class UpgradeError(ValueError):
    """An upgrade that cannot be planned: the message names the stack file, the key and what is allowed."""


@dataclass
class PoolStep:
    """What one pool does in one step."""

    name: str
    follows: bool
    """Upgraded with the control plane (`upgrade_pools`, no pinned `version`), or left behind."""
    version: str
    """The pool's version once the step is done."""
    nodes: str
    max_unavailable: int
    max_surge: int
    note: str
    blocker: str | None = None


@dataclass
class Check:
    """One preflight check: `passed`, `blocked` (a blocker found), `warning` or `not run` (with why)."""

    name: str
    title: str
    status: str
    findings: list[str] = field(default_factory=list)
    """Every finding as shown, warnings marked `warning: `."""
    why: str | None = None
    blocking: list[str] = field(default_factory=list)
    """The findings that block, and only those."""


@dataclass
class Step:
    """One minor: its version, the pools' part, and the preflight that applies to it."""

    version: str
    minor: str
    end_of_support: date | None
    pools: list[PoolStep]
    warnings: list[str] = field(default_factory=list)
    preflight: list[Check] = field(default_factory=list)

    @property
    def blockers(self) -> list[str]:
        """What must be fixed before this step: a pool left too far behind, a preflight check's findings."""
        found = [pool.blocker for pool in self.pools if pool.blocker]
        return found + [f"{check.title}: {finding}" for check in self.preflight for finding in check.blocking]


@dataclass
class UpgradePlan:
    """Every step from `current` to `target`, the warnings, and where the current version was read."""

    stack: str
    stack_file: str
    current: str
    current_from: str
    target: str
    steps: list[Step]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    """Every preflight check, run or not, cluster-wide."""

    @property
    def blockers(self) -> list[str]:
        """Every step's blockers, each once, in step order."""
        return list(dict.fromkeys(blocker for step in self.steps for blocker in step.blockers))

    @property
    def unchecked(self) -> list[Check]:
        """The checks that did not run: each could have found a blocker."""
        return [check for check in self.checks if check.status == "not run"]


def step_version(minor: str, spec: StackConfig, catalog: Catalog, stack_file: str) -> str:
    """A step's `version`: the minor with auto-upgrade, else its latest patch (the rule the spec enforces)."""
    assert spec.cluster is not None
    if spec.cluster.auto_upgrade.enabled:
        return minor
    entry = catalog.find(minor)
    patch = entry.latest_patch if entry else None
    if not patch:
        raise UpgradeError(
            f"{stack_file}: kapsule:cluster.version pins a patch ({spec.cluster.version}), and the version catalog lists no patch "
            f"of {minor}: refresh it with `python -m kapsule versions refresh`, or enable kapsule:cluster.auto_upgrade"
        )
    return patch


def plan_path(
    stack: str,
    stack_file: str,
    spec: StackConfig,
    current: str,
    current_from: str,
    target: str,
    catalog: Catalog,
    today: date,
) -> UpgradePlan:
    """The steps from `current` to `target`; UpgradeError for a target the catalog does not offer or a downgrade."""
    try:
        wanted = Version.parse(target)
    except ValueError:
        raise UpgradeError(f"--to {target!r}: not a Kubernetes minor; write it as x.y, such as 1.36") from None
    supported = catalog.supported(today)
    if wanted.patch is not None:
        raise UpgradeError(
            f"--to {target}: give the minor ({wanted.line}); the step's patch follows the stack's auto_upgrade setting"
        )
    error, _ = catalog.check(target, today)
    if error:
        raise UpgradeError(f"--to {target}: {error}")
    now = Version.parse(current)
    forced = catalog.forced_move(now.line, today)
    moved_to = catalog.next_minor(now.line) if forced else None
    if moved_to:  # Scaleway moves the cluster to the next minor by force: the path starts there.
        now = Version.parse(moved_to)
    if (wanted.major, wanted.minor) < (now.major, now.minor):
        raise UpgradeError(
            f"--to {target}: {stack_file} is on {current}, and Kapsule never downgrades a cluster; give {now.line} or later (offered: {', '.join(supported)})"
        )
    if wanted.major != now.major:
        raise UpgradeError(
            f"--to {target}: changes the major version of {current}; Kapsule upgrades one minor at a time"
        )
    plan = UpgradePlan(stack, stack_file, current, current_from, target, [])
    if forced:
        plan.warnings.append(
            f"{forced}; the path starts from {moved_to}: apply its first step once Scaleway has moved it"
        )
    for minor in [now.step(i).line for i in range(1, wanted.minor - now.minor + 1)]:
        entry = catalog.find(minor)
        if entry is None or entry.released > today:
            raise UpgradeError(
                f"--to {target}: the path passes {minor}, which the version catalog does not offer (offered: {', '.join(supported)})"
            )
        version = step_version(minor, spec, catalog, stack_file)
        step = Step(version, minor, entry.end_of_support, _pools(spec, version))
        if entry.end_of_support is not None and (entry.end_of_support - today).days <= ENDS_SOON_DAYS:
            days = (entry.end_of_support - today).days
            step.warnings.append(
                f"{minor} reaches end of support on {entry.end_of_support}, in {days} days: plan the next step soon after"
            )
        plan.steps.append(step)
    if supported and Version.parse(supported[-1]) > wanted:
        plan.warnings.append(
            f"{target} is not the newest supported minor: {supported[-1]} is; each minor ends about 14 months after its release"
        )
    return plan


def _pools(spec: StackConfig, version: str) -> list[PoolStep]:
    assert spec.cluster is not None
    steps = []
    for name, pool in spec.pools.items():
        policy = pool.upgrade_policy
        if pool.autoscaling:
            nodes = f"{pool.min_size if pool.min_size is not None else pool.size} to {pool.max_size} nodes (autoscaled)"
        else:
            nodes = f"{pool.size} node{'s' if pool.size != 1 else ''}"
        follows = spec.cluster.upgrade_pools and pool.version is None
        if follows:
            if policy.max_unavailable:
                pace = f"up to {policy.max_unavailable} node(s) drained at a time" + (
                    f", up to {policy.max_surge} extra node(s) added" if policy.max_surge else ""
                )
            else:
                pace = f"each node drained once one of up to {policy.max_surge} extra node(s) is up"
            note = f"upgraded to {version} after the control plane, node by node: {pace}"
            steps.append(PoolStep(name, True, version, nodes, policy.max_unavailable, policy.max_surge, note))
            continue
        stays = pool.version or spec.cluster.version
        why = "its version is pinned" if pool.version else "cluster.upgrade_pools is false"
        problem = pool_problem(stays, version)
        behind = Version.parse(version).minor - Version.parse(stays).minor
        note = f"stays on {stays} ({why}): {behind} minor(s) behind the control plane, at most 3 allowed"
        blocker = (
            f"pool {name}: {problem}; upgrade it (kapsule:pools.{name}.version) before this step" if problem else None
        )
        steps.append(PoolStep(name, False, stays, nodes, policy.max_unavailable, policy.max_surge, note, blocker))
    return steps
