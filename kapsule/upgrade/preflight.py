"""Preflight: what the live cluster says about each step, read-only. APIs removed on the path (objects stored or
last applied under them, Helm release manifests, the server's own `apiserver_requested_deprecated_apis`),
drains that cannot finish (budgets, pods with no controller, local storage), and room to move."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from components.drain import POOL_NAME_LABEL
from components.versions import Version

from .helm import release_manifests
from .live import Live, LiveError
from .path import Check, UpgradePlan
from .removals import Removal, by_api
from .room import in_pool, room_findings

CHECKS = {
    "removed-apis": "APIs removed on the path (stored objects, last-applied manifests, Helm releases)",
    "deprecated-api-requests": "deprecated APIs clients still call (the API server's apiserver_requested_deprecated_apis)",
    "disruption-budgets": "PodDisruptionBudgets that allow no disruption",
    "pods-without-controller": "pods with no controller (deleted by a drain, never moved)",
    "local-storage": "pods with local storage (emptyDir data lost in a drain)",
    "room-to-move": "room for a drained node's pods (an estimate)",
}
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
#: A last-applied annotation is the object's manifest; anything larger is not read.
MAX_ANNOTATION_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Finding:
    """One thing found: for which step's minor (None: every step), and whether it blocks."""

    text: str
    minor: str | None
    blocks: bool


def not_run(why: str) -> list[Check]:
    """Every check, listed as not run, and why."""
    return [Check(name, title, "not run", why=why) for name, title in CHECKS.items()]


def run_checks(live: Live, plan: UpgradePlan, removals: tuple[Removal, ...]) -> dict[str, list[Finding]]:
    """Each check's findings, for the pools the first step upgrades; LiveError when the cluster cannot be read."""
    minors = [step.minor for step in plan.steps]
    results: dict[str, list[Finding]] = {}
    results["removed-apis"] = _removed_apis(live, minors, plan.current, removals)
    results["deprecated-api-requests"] = _requested(live, minors)
    first = plan.steps[0].pools if plan.steps else []
    pools = {p.name: (p.max_unavailable, p.max_surge) for p in first if p.follows}
    staying = [p.name for p in first if not p.follows]
    nodes = list(live.items("/api/v1/nodes"))
    behind = {
        n["metadata"]["name"]
        for n in nodes
        if any(in_pool((n["metadata"].get("labels") or {}).get(POOL_NAME_LABEL), s) for s in staying)
    }
    pods = [
        p for p in live.items("/api/v1/pods") if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    moving = [p for p in pods if (p.get("spec") or {}).get("nodeName") not in behind]
    results["disruption-budgets"] = _budgets(live)
    results["pods-without-controller"], results["local-storage"] = _pods(moving)
    results["room-to-move"] = [Finding(text, None, blocks) for text, blocks in room_findings(pools, nodes, pods)]
    for note in live.truncated:
        results["removed-apis"].append(Finding(note, None, False))
    return results


def as_checks(results: dict[str, list[Finding]], minor: str | None = None) -> list[Check]:
    """The checks with their findings, for one step's minor (or every finding when None)."""
    checks = []
    for name, title in CHECKS.items():
        found = [f for f in results.get(name, []) if minor is None or f.minor in (None, minor)]
        status = "blocked" if any(f.blocks for f in found) else ("warning" if found else "passed")
        checks.append(Check(name, title, status, [f.text if f.blocks else f"warning: {f.text}" for f in found]))
    return checks


def _classify(removal: Removal, what: str, minors: list[str], current: str) -> Finding:
    where = f"{what} uses {removal.api_version} {removal.kind}"
    instead = f"; move it to {removal.replacement}" if removal.replacement else ""
    if removal.removed in minors:
        return Finding(f"{where}, removed in {removal.removed}{instead}", removal.removed, True)
    if Version.parse(removal.removed) <= Version.parse(Version.parse(current).line):
        return Finding(
            f"{where}, already removed in {removal.removed}: its manifest cannot be applied again{instead}", None, False
        )
    return Finding(f"{where}, removed in {removal.removed}, after this path{instead}", None, False)


def _relevant(removals: Iterable[Removal], minors: list[str]) -> list[Removal]:
    last = Version.parse(minors[-1]) if minors else None
    return [
        r
        for r in removals
        if last is None or r.deprecated is None or Version.parse(r.deprecated) <= last or r.removed in minors
    ]


def _removed_apis(live: Live, minors: list[str], current: str, removals: tuple[Removal, ...]) -> list[Finding]:
    table = by_api(tuple(_relevant(removals, minors)))
    served = live.served()
    paths: dict[str, str] = {}
    for entry in table.values():
        group = entry.replacement.split()[0].rpartition("/")[0] if entry.replacement else entry.group
        target = served.get((group, entry.kind)) or served.get((entry.group, entry.kind))
        if target:
            paths[target[0]] = entry.kind
    findings: dict[str, Finding] = {}
    for path, kind in sorted(paths.items()):
        for item in live.items(path, metadata_only=True):
            meta = item.get("metadata") or {}
            if meta.get("deletionTimestamp"):
                continue  # on its way out: nothing will apply it again
            name = f"{kind} {str(meta.get('namespace')) + '/' if meta.get('namespace') else ''}{meta.get('name', '?')}"
            for field in meta.get("managedFields") or []:
                removal = table.get((str(field.get("apiVersion", "")), kind))
                if removal:
                    found = _classify(
                        removal,
                        f"{name} (stored fields written by {field.get('manager', 'a client')})",
                        minors,
                        current,
                    )
                    findings.setdefault(found.text, found)
            applied = (meta.get("annotations") or {}).get(LAST_APPLIED, "")
            if applied and len(applied) <= MAX_ANNOTATION_BYTES:
                try:
                    manifest = json.loads(applied)
                except json.JSONDecodeError:
                    continue
                removal = (
                    table.get((str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))))
                    if isinstance(manifest, dict)
                    else None
                )
                if removal:
                    found = _classify(removal, f"{name} (last applied with kubectl)", minors, current)
                    findings.setdefault(found.text, found)
    for release, documents in release_manifests(live):
        for document in documents:
            removal = table.get((str(document.get("apiVersion", "")), str(document.get("kind", ""))))
            if removal:
                meta = document["metadata"] if isinstance(document.get("metadata"), dict) else {}
                found = _classify(
                    removal, f"Helm release {release}: {removal.kind} {meta.get('name', '?')}", minors, current
                )
                findings.setdefault(found.text, found)
    return list(findings.values())


def _requested(live: Live, minors: list[str]) -> list[Finding]:
    from prometheus_client.parser import text_string_to_metric_families

    text = live.get("/metrics", accept="text/plain", raw=True)
    findings = []
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as error:
        raise LiveError(f"GET /metrics: not the Prometheus text format ({error})") from None
    for family in families:
        if family.name != "apiserver_requested_deprecated_apis":
            continue
        for sample in family.samples:
            labels = sample.labels
            if not sample.value:
                continue
            group, version = labels.get("group", ""), labels.get("version", "")
            api = f"{group}/{version}" if group else version
            resource = labels.get("resource", "") + (f"/{labels['subresource']}" if labels.get("subresource") else "")
            removed = labels.get("removed_release", "")
            what = f"a client still calls {api} {resource}"
            if removed in minors:
                findings.append(
                    Finding(
                        f"{what}, removed in {removed}: find the client in the API server's audit log or in `kubectl get --raw /metrics`",
                        removed,
                        True,
                    )
                )
            else:
                findings.append(
                    Finding(f"{what}, deprecated{f', removed in {removed}' if removed else ''}", None, False)
                )
    return findings


def _budgets(live: Live) -> list[Finding]:
    findings = []
    for budget in live.items("/apis/policy/v1/poddisruptionbudgets"):
        meta, spec, status = budget.get("metadata") or {}, budget.get("spec") or {}, budget.get("status") or {}
        name = f"{meta.get('namespace')}/{meta.get('name')}"
        expected, healthy, desired = (
            status.get("expectedPods", 0),
            status.get("currentHealthy", 0),
            status.get("desiredHealthy", 0),
        )
        if status.get("disruptionsAllowed", 0) != 0 or not expected:
            continue
        rule = (
            f"minAvailable {spec['minAvailable']}"
            if "minAvailable" in spec
            else f"maxUnavailable {spec.get('maxUnavailable')}"
        )
        if healthy >= desired:
            findings.append(
                Finding(
                    f"PodDisruptionBudget {name} ({rule}, {healthy} of {expected} pods healthy) allows no disruption: every drain "
                    "waits on it; add a replica or relax the budget",
                    None,
                    True,
                )
            )
        else:
            findings.append(
                Finding(
                    f"PodDisruptionBudget {name} ({rule}) is already short: {healthy} of {desired} pods healthy",
                    None,
                    False,
                )
            )
    return findings


def _pods(pods: list[dict[str, Any]]) -> tuple[list[Finding], list[Finding]]:
    orphans, local = [], []
    for pod in pods:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        name = f"{meta.get('namespace')}/{meta.get('name')}"
        owners = meta.get("ownerReferences") or []
        if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}) or any(
            o.get("kind") == "DaemonSet" for o in owners
        ):
            continue  # a drain leaves them alone, as `kubectl drain` does
        if not any(o.get("controller") for o in owners):
            orphans.append(
                Finding(
                    f"pod {name} has no controller: a drain deletes it and nothing recreates it; run it under a Deployment",
                    None,
                    True,
                )
            )
        volumes = [v.get("name") for v in spec.get("volumes") or [] if "emptyDir" in v]
        if volumes:
            local.append(
                Finding(
                    f"pod {name} keeps data in emptyDir volume(s) {', '.join(map(str, volumes))}: a drain deletes that data; move it to a PersistentVolumeClaim",
                    None,
                    True,
                )
            )
    return orphans, local


#: The checks a drain of some nodes needs, whatever takes them out: an upgrade, or a node rotation.
DRAIN_CHECKS = ("disruption-budgets", "pods-without-controller", "local-storage", "room-to-move")


def drain_checks(live: Live, pools: dict[str, tuple[int, int]], draining: set[str]) -> dict[str, list[Finding]]:
    """The drain checks alone, for the pods on the `draining` nodes: budgets that allow no disruption, pods with
    no controller, local storage, and room to move for `pools` (name: (max_unavailable, max_surge))."""
    nodes = list(live.items("/api/v1/nodes"))
    pods = [
        p for p in live.items("/api/v1/pods") if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    moving = [p for p in pods if (p.get("spec") or {}).get("nodeName") in draining]
    results: dict[str, list[Finding]] = {"disruption-budgets": _budgets(live)}
    results["pods-without-controller"], results["local-storage"] = _pods(moving)
    results["room-to-move"] = [Finding(text, None, blocks) for text, blocks in room_findings(pools, nodes, pods)]
    return results
