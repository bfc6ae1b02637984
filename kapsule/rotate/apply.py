"""Reading both sides into a plan (`inspect`), and `--apply` (`apply`): one node at a time, oldest first, within
the pool's `upgrade_policy`: the drain checks for that node, cordon and the PodDisruptionBudget-aware drain
(`components.drain.drain_node`), Scaleway's ReplaceNode, then wait until the pool has as many nodes in service as
before (none of them the old server) and the drained pods' controllers have as many Ready pods as before.
A pool with `max_unavailable` 0 gets a surge node first (`update_pool`), and its size settings back at the end.
The first blocker stops the run with the node, the reason and the fix; a node this run cordoned is uncordoned.

Reads go through the upgrade's budgeted reader (`Live`, each group of reads under its own part of the budget, the
drain checks through `preflight.run_named`); writes through `kube.Writer`; Scaleway through `scaleway.Kapsule`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..stackfile.schema import StackConfig
from ..upgrade.live import Live, LiveError
from ..upgrade.path import Check, PoolStep, Step, UpgradePlan
from ..upgrade.preflight import DRAIN_CHECKS, as_checks, run_named
from .kube import Writer
from .nodes import KubeNode, Member, PoolRule, ScalewayNode, due, kube_node, match, out_of_service
from .plan import ROTATE_CHECKS, Blocker, RotationPlan, policy_check, pool_rules, rotations, set_checks
from .putback import one_line, put_back
from .scaleway import Kapsule, NoAnswer, PoolSize, ScalewayError

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
    with live.check():
        return [node for node in (kube_node(item) for item in live.items("/api/v1/nodes")) if node is not None]


def _read(spec: StackConfig, kapsule: Kapsule, cluster_id: str, live: Live) -> Sides:
    pools = kapsule.pools(cluster_id)
    scaleway = kapsule.nodes(cluster_id)
    rules, _ = pool_rules(spec, pools)
    return Sides(cluster_id, rules, scaleway, match(rules, scaleway, _kube_nodes(live)).members)


def drain_check_results(live: Live, pools: dict[str, tuple[int, int]], draining: set[str]) -> dict[str, Check]:
    """The upgrade preflight's drain checks (`run_named`, each under its own budget) for the pods of the
    `draining` nodes, room to move counted for `pools` (name: (max_unavailable, max_surge))."""
    steps = [PoolStep(name, True, "", "", unavailable, surge, "") for name, (unavailable, surge) in pools.items()]
    plan = UpgradePlan("", "", "", "", "", [Step("", "", None, steps)])
    results = run_named(live, DRAIN_CHECKS, plan, (), draining=draining)
    return {check.name: check for check in as_checks(results) if check.name in DRAIN_CHECKS}


def _room(rule: PoolRule, surge_planned: bool) -> tuple[int, int]:
    """A rotation drains one node at a time; a surge node not yet added is counted as room."""
    return (1, 1 if surge_planned else 0)


# longer than 60 lines: both sides read, each failure a check that did not run, then the checks of what is due
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
    draining = {m.pool for m in sides.due}
    for rule in rules:
        if rule.name in draining and surges(rule):
            plan.notes.append(
                f"pool {rule.name}: upgrade_policy.max_unavailable is 0, so --apply first adds a surge node "
                "(update_pool), waits until it is Ready, and puts the pool's size settings back at the end"
            )
    if not sides.due:
        for name in DRAIN_CHECKS:
            results[name] = Check(name, ROTATE_CHECKS[name], "not run", why="no node is past its age: nothing to drain")
    else:
        pools = {r.name: _room(r, surges(r)) for r in rules if r.name in draining}
        results.update(drain_check_results(live, pools, {m.kube.name for m in sides.due}))
    set_checks(plan, results)
    return sides


def surges(rule: PoolRule) -> bool:
    """Whether a replacement in this pool needs a surge node first (no node may leave service, one may be added)."""
    return rule.max_unavailable == 0 and rule.max_surge > 0


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ready(pod: dict[str, Any]) -> bool:
    status = _mapping(pod.get("status"))
    listed = status.get("conditions")
    conditions = listed if isinstance(listed, list) else []
    return (
        status.get("phase") == "Running"
        and not _mapping(pod.get("metadata")).get("deletionTimestamp")
        and any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    )


def _controller(pod: dict[str, Any]) -> str | None:
    meta = pod.get("metadata")
    owners = meta.get("ownerReferences") if isinstance(meta, dict) else None
    for owner in owners if isinstance(owners, list) else []:
        if isinstance(owner, dict) and owner.get("controller") and owner.get("kind") != "DaemonSet":
            return str(owner.get("uid"))
    return None


def _namespace(pod: dict[str, Any]) -> str | None:
    meta = pod.get("metadata")
    name = meta.get("namespace") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and name else None


def _ready_by_controller(live: Live, controllers: dict[str, str]) -> dict[str, int]:
    """Ready pods of each controller (uid: namespace), read from the namespaces of those controllers only."""
    counts = dict.fromkeys(controllers, 0)
    for namespace in sorted(set(controllers.values())):
        with live.check():
            for pod in live.items(f"/api/v1/namespaces/{quote(namespace, safe='')}/pods"):
                uid = _controller(pod)
                if uid in counts and _ready(pod):
                    counts[uid] += 1
    return counts


@dataclass
class _Run:
    """One --apply: its clocks, the surges in place and how to put them back."""

    plan: RotationPlan
    spec: StackConfig
    kapsule: Kapsule
    live: Live
    writer: Writer
    cluster_id: str
    end: float
    poll_seconds: float
    log: Callable[[str], None]
    surged: dict[str, tuple[PoolRule, PoolSize]] = field(default_factory=dict)

    def stop(self, node: str, reason: str, fix: str) -> None:
        if self.plan.stopped is None:
            self.plan.stopped = Blocker(node, reason, fix)

    def restore(self, pool: str) -> None:
        """Put the pool's size settings back as they were before the surge; a failure is a blocker."""
        rule, before = self.surged.pop(pool)
        try:
            self.kapsule.resize(rule.id, before.restore())
            self.log(f"pool {pool}: size settings put back ({before.restore()})")
        except ScalewayError as error:
            self.stop(
                f"pool {pool}",
                f"its size settings could not be put back after the surge: {error}",
                f"set the pool's {', '.join(f'{k} {v}' for k, v in before.restore().items())} in the Scaleway "
                "console (or run `pulumi up`, which sets them as declared)",
            )


def apply(
    plan: RotationPlan,
    sides: Sides,
    spec: StackConfig,
    kapsule: Kapsule,
    live: Live,
    writer: Writer,
    *,
    deadline_seconds: float,
    max_nodes: int,
    drain_timeout: float | None,
    poll_seconds: float = POLL_SECONDS,
    log: Callable[[str], None] = lambda _: None,
) -> None:
    """Replace the plan's nodes one at a time; `plan.rotated` and `plan.stopped` say what happened. The size
    settings of a pool given a surge node are put back on every way out, an exception's included."""
    plan.applied = True
    run = _Run(
        plan, spec, kapsule, live, writer, sides.cluster_id, time.monotonic() + deadline_seconds, poll_seconds, log
    )
    rules = {rule.name: rule for rule in sides.rules}
    chosen = sides.due[:max_nodes]
    if len(sides.due) > max_nodes:
        plan.notes.append(f"--max-nodes {max_nodes}: the other nodes wait for the next run")
    try:
        for index, member in enumerate(chosen):
            if time.monotonic() > run.end:
                plan.notes.append("--deadline reached: the other nodes wait for the next run")
                return
            if not _one(run, rules[member.pool], member, drain_timeout):
                return
            plan.rotated.append(member.kube.name)
            log(f"node {member.kube.name}: replaced; its pods run again")
            if member.pool in run.surged and all(m.pool != member.pool for m in chosen[index + 1 :]):
                run.restore(member.pool)
    finally:
        for pool in list(run.surged):
            run.restore(pool)


def _surge(run: _Run, rule: PoolRule, member: Member) -> bool:
    """Add one surge node to the pool and wait until it serves; False (and a blocker) when it cannot."""
    name = member.kube.name
    try:
        before = run.kapsule.pool_size(rule.id)
    except ScalewayError as error:
        run.stop(name, f"the pool's size could not be read for a surge: {error}", "run rotate again")
        return False
    run.surged[rule.name] = (rule, before)
    try:
        run.kapsule.resize(rule.id, before.surged(1))
    except ScalewayError as error:
        run.stop(name, f"the surge node could not be asked for: {error}", "check the pool in the Scaleway console")
        return False
    run.log(f"pool {rule.name}: one surge node asked for ({before.surged(1)}); waiting until it is Ready")
    missing = "the surge node was not seen"
    while time.monotonic() <= run.end:
        try:
            fresh = _read(run.spec, run.kapsule, run.cluster_id, run.live)
        except (ScalewayError, LiveError) as error:
            missing = f"the nodes could not be read: {error}"
        else:
            why = out_of_service(rule, fresh.members, fresh.scaleway, member.scaleway.id, before.size)
            if why is None:
                return True
            missing = why
        time.sleep(run.poll_seconds)
    run.stop(name, f"the surge node was not in service in time: {missing}", "check the pool in the Scaleway console")
    return False


# longer than 60 lines: one node's sequence (read again, checks, drain, replace, wait), each failure a blocker
def _one(run: _Run, rule: PoolRule, member: Member, drain_timeout: float | None) -> bool:
    """Replace one node; False (and a blocker) when it stopped."""
    from components.drain import DrainBlocked, drain_node, parse_duration

    name = member.kube.name
    if surges(rule) and rule.name not in run.surged and not _surge(run, rule, member):
        return False
    size = run.surged[rule.name][1].size if rule.name in run.surged else None
    try:
        fresh = _read(run.spec, run.kapsule, run.cluster_id, run.live)
    except (ScalewayError, LiveError) as error:
        run.stop(name, f"the nodes could not be read again: {error}", "run rotate again")
        return False
    current = next((m for m in fresh.members if m.scaleway.id == member.scaleway.id), None)
    if current is None:
        run.stop(name, "it is no longer on both sides", "run rotate again; it plans anew")
        return False
    why = out_of_service(rule, fresh.members, fresh.scaleway, member.scaleway.id, size)
    if why:
        run.stop(name, why, "see docs/rotation.md (upgrade-policy)")
        return False
    checks = drain_check_results(run.live, {rule.name: (1, 0)}, {name})
    unread = [f"{c.title}: {c.why}" for c in checks.values() if c.status == "not run"]
    blocking = [f for c in checks.values() for f in c.blocking]
    if blocking or unread:
        what = blocking[0] if blocking else f"a drain check could not run ({unread[0]})"
        run.stop(name, what, "see docs/rotation.md for this check's fix, then run rotate again")
        return False
    try:
        with run.live.check():
            pods = [p for p in run.live.items("/api/v1/pods") if _mapping(p.get("spec")).get("nodeName") == name]
        controllers = {uid: ns for uid, ns in ((_controller(p), _namespace(p)) for p in pods) if uid and ns}
        before = _ready_by_controller(run.live, controllers)
    except LiveError as error:
        run.stop(name, f"the cluster could not be read: {error}", "run rotate again")
        return False
    in_service = sum(1 for m in fresh.members if m.pool == rule.name and m.in_service)
    seconds = drain_timeout if drain_timeout is not None else parse_duration(run.spec.pools[rule.name].drain_timeout)
    seconds = max(0.0, min(seconds, run.end - time.monotonic()))
    run.log(f"node {name} (pool {rule.name}, {member.age_days(run.plan.now) or 0:.0f} days old): cordon and drain")
    was_cordoned = current.kube.unschedulable
    try:
        drain_node(run.writer.api, name, seconds, log=run.log, poll_seconds=run.poll_seconds)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGHUP as the command turns them: the node as it was found
        put_back(run.writer, name, was_cordoned)
        raise
    except Exception as error:  # noqa: BLE001 DrainBlocked, a refusal (its status line), a deadline: never a credential
        text = str(error) if isinstance(error, DrainBlocked) else f"the drain failed: {one_line(error)}"
        kept = put_back(run.writer, name, was_cordoned)
        fix = (
            "let the budgets allow a disruption (a replica on another node, or a relaxed budget), or raise "
            "--drain-timeout; then run rotate again"
            if isinstance(error, DrainBlocked)
            else "run rotate again"
        )
        run.stop(name, f"{text}; {kept}", fix)
        return False
    run.log(f"node {name}: drained; ReplaceNode {member.scaleway.id}")
    try:
        run.kapsule.replace(member.scaleway.id)
    except NoAnswer as error:
        # No answer is no refusal: Scaleway may be replacing the server now, so the node stays cordoned.
        run.stop(
            name,
            f"{error}; the replacement may be under way, so the node stays cordoned and drained",
            f"check the node in the Scaleway console; once it is replaced or back, `kubectl uncordon {name}` if it "
            "is still cordoned, then run rotate again",
        )
        return False
    except KeyboardInterrupt:
        run.stop(
            name,
            "interrupted while ReplaceNode was sent: the node stays cordoned",
            "check the node, then run rotate again",
        )
        raise
    except ScalewayError as error:
        kept = put_back(run.writer, name, was_cordoned)
        run.stop(
            name,
            f"{error}; the node is drained; {kept}",
            "check the node in the Scaleway console, then run rotate again",
        )
        return False
    waited = _wait(run, rule, member, in_service, controllers, before)
    if waited:
        run.stop(name, waited, "check the pool in the Scaleway console; run rotate again once its nodes are Ready")
        return False
    return True


def _wait(
    run: _Run, rule: PoolRule, old: Member, in_service: int, controllers: dict[str, str], before: dict[str, int]
) -> str | None:
    """Wait until the replacement serves and the pods are back; what is still missing at the deadline, or None."""
    missing = "the replacement was not seen"
    while time.monotonic() <= run.end:
        try:
            fresh = _read(run.spec, run.kapsule, run.cluster_id, run.live)
            serving = [m for m in fresh.members if m.pool == rule.name and m.in_service]
            back = _ready_by_controller(run.live, controllers)
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
        time.sleep(run.poll_seconds)
    return f"replaced, but not back in time: {missing}"
