"""The plan's refusals against recorded state: a version that cannot be reached in one apply, a pool
left too far behind, a CNI that cannot change, and in-place changes that still disrupt. Pure logic."""

from __future__ import annotations

from typing import Any

from components.versions import VERSION, pool_problem, upgrade_problem

from ..names import CLUSTER, POOL, UPGRADE_POOLS
from ..resources.model import Resource
from ..state.records import RecordedState
from .outcome import Change


def safety_problems(resources: list[Resource], state: RecordedState | None) -> list[str]:
    """Upgrade-path, pool-version and CNI problems of the desired resources against recorded state."""
    if state is None:
        return []
    problems = []
    for cluster in (r for r in resources if r.type == CLUSTER):
        recorded = state.get(cluster.urn)
        if recorded is None:
            continue
        desired = cluster.inputs.get("version")
        live = _recorded_version(recorded)
        if live is not _ABSENT and not _is_version(live):
            problems.append(
                f"{state.source}: the recorded version {live!r} is not a Kubernetes version (x.y or x.y.z); "
                "run `pulumi refresh` so the state holds the cluster's real version"
            )
            continue
        live = live if isinstance(live, str) else None  # a version, checked above, or absent
        if isinstance(desired, str) and live:
            problem = upgrade_problem(live, desired)
            if problem:
                problems.append(f"kapsule:cluster.version: {problem}")
        live_cni = _plain_str(recorded.outputs.get("cni")) or _plain_str(recorded.inputs.get("cni"))
        cni = cluster.inputs.get("cni")
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
    if cluster.inputs.get(UPGRADE_POOLS) is not False:
        return []  # the pools are upgraded with the cluster
    problems = []
    for pool in (r for r in resources if r.type == POOL):
        recorded = state.get(pool.urn)
        live = _recorded_version(recorded) if recorded else _ABSENT
        if live is not _ABSENT and not _is_version(live):
            problems.append(
                f"{state.source}: pool {pool.name}: the recorded version {live!r} is not a Kubernetes version; run `pulumi refresh`"
            )
            continue
        live = live if isinstance(live, str) else None  # a version, checked above, or absent
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


def _plain_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


#: A recorded value that stands for "not recorded at all".
_ABSENT = object()


def _recorded_version(recorded: Any) -> Any:
    """The version a resource was recorded at: its output, else its input; `_ABSENT` when neither is recorded.

    A recorded null, a number or an empty string is returned as it is, to be refused: the engine writes text.
    """
    for side in (recorded.outputs, recorded.inputs):
        value = side.get("version", _ABSENT)
        if value is not _ABSENT:
            return value
    return _ABSENT


def _is_version(value: Any) -> bool:
    return isinstance(value, str) and VERSION.fullmatch(value) is not None


def cni_problem(live: str, desired: str) -> str | None:
    """Why the CNI of an existing cluster cannot change, or None when it does not."""
    if live == desired:
        return None
    return (
        f"{live!r} -> {desired!r}: the CNI of an existing cluster can never change; Pulumi would replace the "
        "cluster and destroy every workload on it. Keep the CNI, or build a new cluster (a new stack) and migrate"
    )
