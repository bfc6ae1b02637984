"""Reading both sides into a plan (`inspect`), and `--apply` (`apply`): one node at a time, oldest first, within
the pool's `upgrade_policy`: the drain checks for that node, cordon and the PodDisruptionBudget-aware drain
(`components.drain.drain_node`), Scaleway's ReplaceNode, then wait until the pool has as many nodes in service as
before (none of them the old server) and the drained pods' controllers have as many Ready pods as before.
The first blocker stops the run with the node, the reason and the fix; a node this run cordoned is uncordoned."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..stackfile.schema import StackConfig
from ..upgrade.live import Live, LiveError
from ..upgrade.path import Check
from ..upgrade.preflight import DRAIN_CHECKS, as_checks, drain_checks
from .nodes import KubeNode, Member, PoolRule, ScalewayNode, due, kube_node, match, out_of_service
from .plan import ROTATE_CHECKS, Blocker, RotationPlan, policy_check, pool_rules, rotations, set_checks
from .scaleway import Kapsule, ScalewayError

POLL_SECONDS = 5.0


@dataclass
class Sides:
    """What both sides said: the declared pools, the Scaleway nodes, the matched members, those past their age."""

    cluster_id: str
    rules: list[PoolRule]
    scaleway: list[ScalewayNode]
    members: list[Member]
    due: list[Member] = field(default_factory=list)


def _kube_nodes(live: Live) -> list[KubeNode]:
    return [node for node in (kube_node(item) for item in live.items("/api/v1/nodes")) if node is not None]


def _read(spec: StackConfig, kapsule: Kapsule, cluster_id: str, live: Live) -> tuple[Sides, list[str], list[str]]:
    pools = kapsule.pools(cluster_id)
    scaleway = kapsule.nodes(cluster_id)
    rules, notes = pool_rules(spec, pools)
    matched = match(rules, scaleway, _kube_nodes(live))
    return Sides(cluster_id, rules, scaleway, matched.members), matched.alone, notes


def inspect(
    plan: RotationPlan,
    spec: StackConfig,
    kapsule: Kapsule | None,
    cluster_id: str | None,
    scaleway_why: str,
    live: Live | None,
    kube_why: str,
) -> Sides | None:
    """Fill the plan from both sides and run its checks; the sides, or None when one could not be read."""
    results: dict[str, Check] = {}
    scaleway: tuple[list[tuple[str, str]], list[ScalewayNode]] | None = None
    if kapsule is None or cluster_id is None:
        results["scaleway-nodes"] = Check(
            "scaleway-nodes", ROTATE_CHECKS["scaleway-nodes"], "not run", why=scaleway_why
        )
    else:
        try:
            scaleway = (kapsule.pools(cluster_id), kapsule.nodes(cluster_id))
            results["scaleway-nodes"] = Check("scaleway-nodes", ROTATE_CHECKS["scaleway-nodes"], "passed")
        except ScalewayError as error:
            results["scaleway-nodes"] = Check(
                "scaleway-nodes", ROTATE_CHECKS["scaleway-nodes"], "not run", why=f"the Scaleway API: {error}"
            )
    kube: list[KubeNode] | None = None
    if live is None:
        results["kubernetes-nodes"] = Check(
            "kubernetes-nodes", ROTATE_CHECKS["kubernetes-nodes"], "not run", why=kube_why
        )
    else:
        try:
            kube = _kube_nodes(live)
            results["kubernetes-nodes"] = Check("kubernetes-nodes", ROTATE_CHECKS["kubernetes-nodes"], "passed")
        except LiveError as error:
            results["kubernetes-nodes"] = Check(
                "kubernetes-nodes", ROTATE_CHECKS["kubernetes-nodes"], "not run", why=f"the cluster: {error}"
            )
    if scaleway is None or kube is None or live is None or cluster_id is None:
        set_checks(plan, results)
        return None
    rules, notes = pool_rules(spec, scaleway[0])
    plan.notes += notes
    matched = match(rules, scaleway[1], kube)
    plan.alone = matched.alone
    sides = Sides(cluster_id, rules, scaleway[1], matched.members, due(matched.members, rules, plan.now))
    plan.due = rotations(sides.due, rules, plan.now)
    results["upgrade-policy"] = policy_check(rules, sides.members, sides.scaleway, sides.due)
    if not sides.due:
        for name in DRAIN_CHECKS:
            results[name] = Check(name, ROTATE_CHECKS[name], "not run", why="no node is past its age: nothing to drain")
    else:
        draining = {m.pool for m in sides.due}
        pools = {r.name: (r.max_unavailable, r.max_surge) for r in rules if r.name in draining}
        try:
            found = as_checks(drain_checks(live, pools, {m.kube.name for m in sides.due}))
            results.update({c.name: c for c in found if c.name in DRAIN_CHECKS})
        except LiveError as error:
            for name in DRAIN_CHECKS:
                results[name] = Check(name, ROTATE_CHECKS[name], "not run", why=f"the cluster: {error}")
    set_checks(plan, results)
    return sides


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    conditions = status.get("conditions") if isinstance(status.get("conditions"), list) else []
    return (
        status.get("phase") == "Running"
        and not (pod.get("metadata") or {}).get("deletionTimestamp")
        and any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    )


def _controller(pod: dict[str, Any]) -> str | None:
    owners = (pod.get("metadata") or {}).get("ownerReferences") or []
    for owner in owners if isinstance(owners, list) else []:
        if isinstance(owner, dict) and owner.get("controller") and owner.get("kind") != "DaemonSet":
            return str(owner.get("uid"))
    return None


def _ready_by_controller(live: Live, controllers: set[str]) -> dict[str, int]:
    counts = dict.fromkeys(controllers, 0)
    for pod in live.items("/api/v1/pods"):
        uid = _controller(pod)
        if uid in counts and _ready(pod):
            counts[uid] += 1
    return counts


def _uncordon(live: Live, node: str) -> None:
    from kubernetes import client

    client.CoreV1Api(live.api).patch_node(node, {"spec": {"unschedulable": False}})


def apply(
    plan: RotationPlan,
    sides: Sides,
    spec: StackConfig,
    kapsule: Kapsule,
    live: Live,
    *,
    deadline_seconds: float,
    max_nodes: int,
    drain_timeout: float | None,
    poll_seconds: float = POLL_SECONDS,
    log: Callable[[str], None] = lambda _: None,
) -> None:
    """Replace the plan's nodes one at a time; `plan.rotated` and `plan.stopped` say what happened."""
    from components.drain import DrainBlocked, drain_node, parse_duration

    plan.applied = True
    end = time.monotonic() + deadline_seconds
    rules = {rule.name: rule for rule in sides.rules}
    for index, member in enumerate(sides.due):
        name = member.kube.name
        if index >= max_nodes:
            plan.notes.append(f"--max-nodes {max_nodes} reached: the other nodes wait for the next run")
            return
        if time.monotonic() > end:
            plan.notes.append("--deadline reached: the other nodes wait for the next run")
            return
        try:
            fresh, _, _ = _read(spec, kapsule, sides.cluster_id, live)
        except (ScalewayError, LiveError) as error:
            plan.stopped = Blocker(name, f"the nodes could not be read again: {error}", "run rotate again")
            return
        current = next((m for m in fresh.members if m.scaleway.id == member.scaleway.id), None)
        if current is None:
            plan.stopped = Blocker(name, "it is no longer on both sides", "run rotate again; it plans anew")
            return
        rule = rules[member.pool]
        why = out_of_service(rule, fresh.members, fresh.scaleway, member.scaleway.id)
        if why:
            plan.stopped = Blocker(
                name, why, "bring the pool's other nodes back first, or raise upgrade_policy.max_unavailable"
            )
            return
        try:
            found = drain_checks(live, {rule.name: (rule.max_unavailable, rule.max_surge)}, {name})
            pods = [p for p in live.items("/api/v1/pods") if (p.get("spec") or {}).get("nodeName") == name]
        except LiveError as error:
            plan.stopped = Blocker(name, f"the cluster could not be read: {error}", "run rotate again")
            return
        blocking = [f.text for check in DRAIN_CHECKS for f in found.get(check, []) if f.blocks]
        if blocking:
            plan.stopped = Blocker(
                name, blocking[0], "see docs/rotation.md for this check's fix, then run rotate again"
            )
            return
        controllers = {uid for uid in (_controller(p) for p in pods) if uid}
        before = _ready_by_controller(live, controllers)
        in_service = sum(1 for m in fresh.members if m.pool == rule.name and m.in_service)
        seconds = drain_timeout if drain_timeout is not None else parse_duration(spec.pools[rule.name].drain_timeout)
        seconds = max(0.0, min(seconds, end - time.monotonic()))
        log(f"node {name} (pool {rule.name}, {member.age_days(plan.now) or 0:.0f} days old): cordon and drain")
        try:
            drain_node(live.api, name, seconds, log=log, poll_seconds=poll_seconds)
        except DrainBlocked as error:
            if not current.kube.unschedulable:
                _uncordon(live, name)
            plan.stopped = Blocker(
                name,
                f"{error}; the node is uncordoned"
                if not current.kube.unschedulable
                else f"{error}; the node stays cordoned, as it was",
                "let the budgets allow a disruption (a replica on another node, or a relaxed budget), or raise "
                "--drain-timeout; then run rotate again",
            )
            return
        except Exception as error:  # noqa: BLE001 the API server's refusal: its status line, never a credential
            if not current.kube.unschedulable:
                _uncordon(live, name)
            plan.stopped = Blocker(
                name,
                f"the drain failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}",
                "run rotate again",
            )
            return
        log(f"node {name}: drained; ReplaceNode {member.scaleway.id}")
        try:
            kapsule.replace(member.scaleway.id)
        except ScalewayError as error:
            if not current.kube.unschedulable:
                _uncordon(live, name)
            plan.stopped = Blocker(
                name,
                f"{error}; the node is drained, and uncordoned",
                "check the node in the Scaleway console, then run rotate again",
            )
            return
        waited = _wait(kapsule, live, spec, sides.cluster_id, rule, member, in_service, before, end, poll_seconds)
        if waited:
            plan.stopped = Blocker(
                name, waited, "check the pool in the Scaleway console; run rotate again once its nodes are Ready"
            )
            return
        plan.rotated.append(name)
        log(f"node {name}: replaced; its pods run again")


def _wait(
    kapsule: Kapsule,
    live: Live,
    spec: StackConfig,
    cluster_id: str,
    rule: PoolRule,
    old: Member,
    in_service: int,
    before: dict[str, int],
    end: float,
    poll_seconds: float,
) -> str | None:
    """Wait until the replacement serves and the pods are back; what is still missing at the deadline, or None."""
    missing = "the replacement was not seen"
    while time.monotonic() <= end:
        try:
            fresh, _, _ = _read(spec, kapsule, cluster_id, live)
            serving = [m for m in fresh.members if m.pool == rule.name and m.in_service]
            back = _ready_by_controller(live, set(before))
        except (ScalewayError, LiveError) as error:
            missing = f"the nodes could not be read: {error}"
        else:
            short = sorted(uid for uid, count in back.items() if count < before[uid])
            if any(m.scaleway.provider_id == old.scaleway.provider_id for m in serving) or len(serving) < in_service:
                missing = f"pool {rule.name} has {len(serving)} of {in_service} node(s) in service, without the old one"
            elif short:
                missing = f"{len(short)} controller(s) of the drained pods have fewer Ready pods than before"
            else:
                return None
        time.sleep(poll_seconds)
    return f"replaced, but not back in time: {missing}"
