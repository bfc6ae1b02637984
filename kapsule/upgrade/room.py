"""Room to move, an estimate: for each pool the upgrade drains, whether the rest of the cluster can take the
requests of its fullest nodes while `max_unavailable` of them are down, counting `max_surge` new nodes.
Totals of CPU and memory requests against allocatable, not a scheduler: node selectors, affinities,
taints and topology spread are not counted, and the text says so."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from components.drain import POOL_NAME_LABEL

ESTIMATE = "an estimate from requests and allocatable; selectors, taints and spread not counted"


def in_pool(label: object, pool: str) -> bool:
    """Whether a node's pool-name label names `pool`: Scaleway's pool name is the program's logical name with
    the 7-character suffix Pulumi's autonaming adds (`default-1a2b3c4`), or the logical name itself."""
    return isinstance(label, str) and (
        label == pool or re.fullmatch(re.escape(pool) + r"-[0-9a-f]{7}", label) is not None
    )


#: No real request or allocatable comes near this (2^63 bytes, or cores); a larger value is a malformed answer.
MAX_QUANTITY = Decimal(2) ** 63


def _quantity(value: Any) -> Decimal:
    """A quantity as a number; a value that is not one counts as nothing (the API server validates them), and
    one out of range is a malformed answer (ValueError): sums of it would overflow."""
    from kubernetes.utils import parse_quantity

    try:
        number = Decimal(parse_quantity(value)) if value is not None else Decimal(0)
    except (ValueError, TypeError, ArithmeticError):
        return Decimal(0)
    if not number.is_finite() or abs(number) > MAX_QUANTITY:
        raise ValueError(f"the quantity {str(value)[:40]!r} is out of range")
    return number


def pod_requests(pod: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """A pod's (CPU cores, memory bytes) requests: its containers', or its largest init container's if more."""
    spec = pod.get("spec") or {}

    def total(containers: list[dict[str, Any]], combine: Any) -> tuple[Decimal, Decimal]:
        values = [((c.get("resources") or {}).get("requests") or {}) for c in containers]
        cpu = [_quantity(v.get("cpu")) for v in values] or [Decimal(0)]
        memory = [_quantity(v.get("memory")) for v in values] or [Decimal(0)]
        return combine(cpu), combine(memory)

    running = total(spec.get("containers") or [], sum)
    init = total(spec.get("initContainers") or [], max)
    return max(running[0], init[0]), max(running[1], init[1])


def _moves(pod: dict[str, Any]) -> bool:
    owners = (pod.get("metadata") or {}).get("ownerReferences") or []
    return not any(o.get("kind") == "DaemonSet" for o in owners)


def _show(cpu: Decimal, memory: Decimal) -> str:
    return f"{float(cpu):.2f} CPU and {float(memory) / 2**30:.2f} GiB"


def room_findings(
    pools: dict[str, tuple[int, int]], nodes: list[dict[str, Any]], pods: list[dict[str, Any]]
) -> list[tuple[str, bool]]:
    """(text, blocks) for each pool the upgrade drains: `pools` maps its name to (max_unavailable, max_surge)."""
    used: dict[str, list[Decimal]] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and _moves(pod):
            cpu, memory = pod_requests(pod)
            slot = used.setdefault(node, [Decimal(0), Decimal(0)])
            slot[0] += cpu
            slot[1] += memory
    capacity = {}
    for node in nodes:
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        if not (node.get("spec") or {}).get("unschedulable"):
            capacity[node["metadata"]["name"]] = (
                _quantity(allocatable.get("cpu")),
                _quantity(allocatable.get("memory")),
            )
    findings = []
    for pool, (unavailable, surge) in pools.items():
        members = [
            n["metadata"]["name"]
            for n in nodes
            if in_pool((n["metadata"].get("labels") or {}).get(POOL_NAME_LABEL), pool)
        ]
        members = [m for m in members if m in capacity]
        if not members:
            findings.append(
                (f"pool {pool}: no schedulable node carries the label {POOL_NAME_LABEL}={pool}: not estimated", False)
            )
            continue
        down = max(1, unavailable)
        fullest = sorted(members, key=lambda m: tuple(used.get(m, [Decimal(0), Decimal(0)])), reverse=True)[:down]
        need_cpu = sum((used.get(m, [Decimal(0)] * 2)[0] for m in fullest), Decimal(0))
        need_memory = sum((used.get(m, [Decimal(0)] * 2)[1] for m in fullest), Decimal(0))
        spare_cpu = spare_memory = Decimal(0)
        for name, (cpu, memory) in capacity.items():
            if name not in fullest:
                spare_cpu += max(Decimal(0), cpu - used.get(name, [Decimal(0)] * 2)[0])
                spare_memory += max(Decimal(0), memory - used.get(name, [Decimal(0)] * 2)[1])
        largest = max((capacity[m] for m in members), key=lambda c: c)
        spare_cpu += largest[0] * surge
        spare_memory += largest[1] * surge
        fits = need_cpu <= spare_cpu and need_memory <= spare_memory
        text = (
            f"pool {pool}: draining its {down} fullest node(s) moves {_show(need_cpu, need_memory)}; the other nodes"
            f"{f' and {surge} surge node(s)' if surge else ''} have {_show(spare_cpu, spare_memory)} free: "
            + ("fits" if fits else "does not fit; raise upgrade_policy.max_surge or add a node before the step")
            + f" ({ESTIMATE})"
        )
        findings.append((text, not fits))
    return findings
