"""A rotation plan: each declared pool's nodes past its `max_node_age_days`, oldest first, what is on one side
only, and the checks: the two sides read, each pool's `upgrade_policy`, and the upgrade preflight's drain
checks (budgets, pods with no controller, local storage, room to move). A check that could not run says why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..stackfile.schema import StackConfig
from ..upgrade.path import Check
from ..upgrade.preflight import CHECKS, DRAIN_CHECKS
from .nodes import Member, PoolRule, ScalewayNode

ROTATE_CHECKS = {
    "scaleway-nodes": "each pool's nodes and their age (the Scaleway API)",
    "kubernetes-nodes": "each node's Kubernetes Node (spec.providerID)",
    "upgrade-policy": "nodes out of service within each pool's upgrade_policy.max_unavailable",
    **{name: CHECKS[name] for name in DRAIN_CHECKS},
}


@dataclass(frozen=True)
class Blocker:
    """What stopped a rotation: the node, the reason, the fix."""

    node: str
    reason: str
    fix: str


@dataclass
class Rotation:
    """One node to replace, as the plan shows it."""

    pool: str
    node: str
    scaleway_id: str
    created_at: datetime | None
    age_days: float
    max_age_days: int


@dataclass
class RotationPlan:
    """What a rotation would do, and (with --apply) what it did."""

    stack: str
    stack_file: str
    now: datetime
    pools: dict[str, int | None]
    """Each declared pool's max_node_age_days (None: not declared)."""
    due: list[Rotation] = field(default_factory=list)
    alone: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    applied: bool = False
    rotated: list[str] = field(default_factory=list)
    stopped: Blocker | None = None

    @property
    def blockers(self) -> list[str]:
        """Each check's blocking findings, then what stopped --apply."""
        found = [f"{c.title}: {f}" for c in self.checks if c.status == "blocked" for f in c.findings]
        if self.stopped:
            found.append(f"node {self.stopped.node}: {self.stopped.reason}; fix: {self.stopped.fix}")
        return found

    @property
    def complete(self) -> bool:
        """Whether every check ran."""
        return not self.not_run

    @property
    def not_run(self) -> list[Check]:
        """The checks that did not run (nothing to drain included)."""
        return [check for check in self.checks if check.status == "not run"]

    @property
    def read(self) -> bool:
        """Whether both sides were read, so that the nodes past their age are known."""
        return all(c.status != "not run" for c in self.checks if c.name in ("scaleway-nodes", "kubernetes-nodes"))

    @property
    def remaining(self) -> list[Rotation]:
        """The nodes past their age that this run did not replace."""
        return [r for r in self.due if r.node not in self.rotated]


def new_plan(stack: str, stack_file: str, spec: StackConfig, now: datetime) -> RotationPlan:
    """An empty plan of the stack's declared pools, every check not yet run."""
    pools = {name: pool.max_node_age_days for name, pool in spec.pools.items()}
    return RotationPlan(stack, stack_file, now, pools)


def set_checks(plan: RotationPlan, results: dict[str, Check]) -> None:
    """The checks in their order; one missing from `results` did not run, for want of the nodes."""
    why = "it needs the nodes of both sides, and they were not read"
    plan.checks = [results.get(name) or Check(name, title, "not run", why=why) for name, title in ROTATE_CHECKS.items()]


def pool_rules(spec: StackConfig, scaleway_pools: list[tuple[str, str]]) -> tuple[list[PoolRule], list[str]]:
    """Each declared pool with its Scaleway id (matched by name as Pulumi autonames it), and notes on the others."""
    from ..upgrade.room import in_pool

    rules, notes = [], []
    for name, pool in spec.pools.items():
        ids = [(pid, pname) for pid, pname in scaleway_pools if in_pool(pname, name)]
        if len(ids) != 1:
            notes.append(
                f"pool {name}: {len(ids) or 'no'} Scaleway pool(s) of the cluster carry its name: "
                "its nodes are not read"
            )
            continue
        policy = pool.upgrade_policy
        rules.append(PoolRule(name, ids[0][0], pool.max_node_age_days, policy.max_unavailable, policy.max_surge))
    return rules, notes


def rotations(due: list[Member], rules: list[PoolRule], now: datetime) -> list[Rotation]:
    """The plan's view of the nodes past their age, in the order given (oldest first)."""
    limits = {rule.name: rule.max_age_days for rule in rules}
    return [
        Rotation(m.pool, m.kube.name, m.scaleway.id, m.scaleway.created_at, m.age_days(now) or 0.0, limits[m.pool] or 0)
        for m in due
    ]


def policy_check(
    rules: list[PoolRule], members: list[Member], scaleway: list[ScalewayNode], due: list[Member]
) -> Check:
    """Whether each pool with a node to rotate may take one out, by its upgrade_policy."""
    from .nodes import out_of_service

    findings = []
    for rule in rules:
        first = next((m for m in due if m.pool == rule.name), None)
        if first is None:
            continue
        why = out_of_service(rule, members, scaleway, first.scaleway.id)
        if why:
            findings.append(why)
    return Check("upgrade-policy", ROTATE_CHECKS["upgrade-policy"], "blocked" if findings else "passed", findings)
