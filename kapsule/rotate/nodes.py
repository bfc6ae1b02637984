"""A pool's nodes as both sides see them: the Scaleway API's node (its `created_at`, `provider_id`, `pool_id`,
`status`) and the Kubernetes Node object whose `spec.providerID` is the same. Pure logic.

Who controls what: the Scaleway API answers for the account (other clusters and pools of the project are
skipped by id); the Node objects are written by kubelets and cluster admins. A node on one side only, or a
provider id that more than one object claims, is reported and never touched."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ScalewayNode:
    """A node as the Scaleway API lists it."""

    id: str
    name: str
    pool_id: str
    provider_id: str
    created_at: datetime | None
    status: str


@dataclass(frozen=True)
class KubeNode:
    """A Kubernetes Node object, the fields rotation reads."""

    name: str
    provider_id: str
    ready: bool
    unschedulable: bool


@dataclass(frozen=True)
class PoolRule:
    """A declared pool: its logical name, its Scaleway id, its maximum node age and upgrade policy."""

    name: str
    id: str
    max_age_days: int | None
    max_unavailable: int
    max_surge: int


@dataclass(frozen=True)
class Member:
    """A node of a declared pool, matched on both sides."""

    pool: str
    scaleway: ScalewayNode
    kube: KubeNode

    def age_days(self, now: datetime) -> float | None:
        """Days since Scaleway created the node, or None when the API gave no date."""
        created = self.scaleway.created_at
        return (now - created).total_seconds() / 86400 if created else None

    @property
    def in_service(self) -> bool:
        """Ready on both sides and schedulable."""
        return self.scaleway.status == "ready" and self.kube.ready and not self.kube.unschedulable


@dataclass
class Matched:
    """Both sides matched: the declared pools' members, and what was left alone and why."""

    members: list[Member] = field(default_factory=list)
    alone: list[str] = field(default_factory=list)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def kube_node(item: dict[str, Any]) -> KubeNode | None:
    """A KubeNode from a Node object as the API server answered it, or None when it has no name."""
    meta, spec, status = (_mapping(item.get(k)) for k in ("metadata", "spec", "status"))
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        return None
    listed = status.get("conditions")
    conditions = listed if isinstance(listed, list) else []
    ready = any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    provider = spec.get("providerID")
    return KubeNode(name, provider if isinstance(provider, str) else "", ready, spec.get("unschedulable") is True)


def match(pools: list[PoolRule], scaleway: list[ScalewayNode], kube: list[KubeNode]) -> Matched:
    """Pair each Scaleway node of a declared pool with the one Node object of the same provider id."""
    found = Matched()
    by_id = {pool.id: pool for pool in pools}
    claims: dict[str, list[KubeNode]] = {}
    for kube_side in kube:
        if kube_side.provider_id:
            claims.setdefault(kube_side.provider_id, []).append(kube_side)
    scaleway_claims: dict[str, int] = {}
    for listed in scaleway:
        scaleway_claims[listed.provider_id] = scaleway_claims.get(listed.provider_id, 0) + 1
    for node in sorted(scaleway, key=lambda n: n.name):
        pool = by_id.get(node.pool_id)
        if pool is None:
            continue  # another pool's node: not this stack's to rotate, not reported
        kin = claims.get(node.provider_id, []) if node.provider_id else []
        if len(kin) == 1 and scaleway_claims[node.provider_id] == 1:
            found.members.append(Member(pool.name, node, kin[0]))
        elif not kin:
            found.alone.append(
                f"Scaleway node {node.name} (pool {pool.name}, {node.status}) has no Kubernetes Node with provider id "
                f"{node.provider_id or '(none)'}: left alone"
            )
        else:
            names = ", ".join(sorted(k.name for k in kin))
            found.alone.append(
                f"Scaleway node {node.name} (pool {pool.name}): its provider id is claimed more than once "
                f"({names}): left alone"
            )
    known = {n.provider_id for n in scaleway if n.provider_id}
    for alone in sorted(kube, key=lambda n: n.name):
        if alone.provider_id not in known:
            found.alone.append(
                f"Kubernetes Node {alone.name} has no Scaleway node in this cluster with provider id "
                f"{alone.provider_id or '(none)'}: left alone"
            )
    return found


def due(members: list[Member], pools: list[PoolRule], now: datetime) -> list[Member]:
    """The members past their pool's maximum age, oldest first (by creation, then name)."""
    limits = {pool.name: pool.max_age_days for pool in pools}
    late = []
    for member in members:
        limit, age = limits.get(member.pool), member.age_days(now)
        if limit is not None and age is not None and age > limit:
            late.append(member)
    return sorted(late, key=lambda m: (m.scaleway.created_at, m.scaleway.name))


def out_of_service(
    pool: PoolRule, members: list[Member], scaleway: list[ScalewayNode], rotating: str, size: int | None = None
) -> str | None:
    """Why taking the node `rotating` (a Scaleway id) out would put more of the pool out of service than its
    `upgrade_policy.max_unavailable` allows, or None when it may go.

    A pool with `max_unavailable` 0 is rotated with a surge node (`max_surge` 1 or more): the node may go only
    once the pool's other nodes in service are at least its `size` before the surge (None: the plan, before any
    surge, when only `max_surge` is asked for)."""
    matched = {m.scaleway.id: m for m in members if m.pool == pool.name}
    down, serving = [], 0
    for node in scaleway:
        if node.pool_id != pool.id or node.id == rotating:
            continue
        member = matched.get(node.id)
        # A node Scaleway lists but no Kubernetes Node matches serves nothing, whatever its status says.
        if member is None or not member.in_service:
            down.append(node.name)
        else:
            serving += 1
    if pool.max_unavailable == 0:
        if pool.max_surge == 0:
            return (
                f"pool {pool.name}: upgrade_policy.max_unavailable is 0 and max_surge is 0, so no node may leave "
                "service and none may be added for a replacement: set max_surge to 1 (rotate then adds a surge "
                "node first) or max_unavailable to 1"
            )
        if size is None and down:
            return (
                f"pool {pool.name}: {len(down)} node(s) already out of service ({', '.join(sorted(down))}), and "
                "upgrade_policy.max_unavailable is 0: bring them back first"
            )
        if size is not None and serving < size:
            waiting = f" ({', '.join(sorted(down))} not in service)" if down else ""
            return (
                f"pool {pool.name}: upgrade_policy.max_unavailable is 0, and only {serving} other node(s) of its "
                f"{size} are in service{waiting}: the surge node must be Ready first"
            )
        return None
    if len(down) + 1 > pool.max_unavailable:
        return (
            f"pool {pool.name}: {len(down)} node(s) already out of service ({', '.join(sorted(down))}), and "
            f"upgrade_policy.max_unavailable is {pool.max_unavailable}: bring the pool's other nodes back first, "
            "or raise upgrade_policy.max_unavailable"
        )
    return None
