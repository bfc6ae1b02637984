"""Preflight: what the live cluster says about each step, read-only. APIs removed on the path (objects stored or
last applied under them, Helm release manifests, the server's own `apiserver_requested_deprecated_apis`),
drains that cannot finish (budgets, pods with no controller, local storage), and room to move."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from components.drain import POOL_NAME_LABEL, selects
from components.versions import Version

from .helm import release_manifests
from .live import Live, LiveError, Tally, loads
from .metrics import requested_deprecated
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


@dataclass
class Result:
    """One check's findings, or why it did not run (`why`): then it has no findings, never some of them."""

    findings: list[Finding] = field(default_factory=list)
    why: str | None = None
    spent: Tally = field(default_factory=Tally)
    """What the check read (requests, bytes, objects)."""
    seconds: float = 0.0


def not_run(why: str) -> list[Check]:
    """Every check, listed as not run, and why."""
    return [Check(name, title, "not run", why=why) for name, title in CHECKS.items()]


class _Cluster:
    """The reads several checks share (nodes, pods), made once: by the first check that needs them, under its
    budget. A read that failed fails every check that needs it, with the same reason."""

    def __init__(self, live: Live, plan: UpgradePlan, draining: Collection[str] | None = None) -> None:
        self.live = live
        self.draining = draining
        first = plan.steps[0].pools if plan.steps else []
        self.pools = {p.name: (p.max_unavailable, p.max_surge) for p in first if p.follows}
        self.staying = [p.name for p in first if not p.follows]
        self._read: dict[str, Any] = {}

    def _once(self, name: str, read: Callable[[], Any]) -> Any:
        if name not in self._read:
            try:
                self._read[name] = read()
            except (LiveError, *MALFORMED) as error:
                self._read[name] = error
        value = self._read[name]
        if isinstance(value, BaseException):
            raise value
        return value

    def nodes(self) -> list[dict[str, Any]]:
        return self._once("nodes", lambda: [_node(n) for n in self.live.items("/api/v1/nodes")])

    def pods(self) -> list[dict[str, Any]]:
        """Pods that are not done, each cut to the fields the checks read (10,000 whole pods are hundreds of MiB)."""
        return self._once(
            "pods",
            lambda: [
                _pod(p)
                for p in self.live.items("/api/v1/pods")
                if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            ],
        )

    def moving(self) -> list[dict[str, Any]]:
        """The pods on nodes the first step drains (or on the `draining` nodes, when named)."""
        if self.draining is not None:
            return [p for p in self.pods() if p["spec"].get("nodeName") in self.draining]
        behind = {
            n["metadata"]["name"]
            for n in self.nodes()
            if any(in_pool(n["metadata"]["labels"].get(POOL_NAME_LABEL), s) for s in self.staying)
        }
        return [p for p in self.pods() if p["spec"].get("nodeName") not in behind]


#: A malformed answer (a node with no metadata, a quantity that overflows) makes its check "not run", not a traceback.
MALFORMED = (KeyError, TypeError, AttributeError, ValueError, ArithmeticError, RecursionError)


def run_named(
    live: Live,
    names: Iterable[str],
    plan: UpgradePlan,
    removals: tuple[Removal, ...],
    draining: Collection[str] | None = None,
) -> dict[str, Result]:
    """Run the named checks (of CHECKS), each under its own part of `live`'s budget and on its own: one check's
    failure never hides another's findings. The entry point for every command that checks a live cluster;
    `draining` (a node rotation's) limits the drain checks to the pods of those nodes."""
    minors = [step.minor for step in plan.steps]
    cluster = _Cluster(live, plan, draining)
    runs: dict[str, Callable[[], list[Finding]]] = {
        "removed-apis": lambda: _removed_apis(live, minors, plan.current, removals),
        "deprecated-api-requests": lambda: _requested(live, minors),
        "disruption-budgets": lambda: _budgets(live, cluster.moving() if draining is not None else None),
        "pods-without-controller": lambda: _pods(cluster.moving())[0],
        "local-storage": lambda: _pods(cluster.moving())[1],
        "room-to-move": lambda: [
            Finding(text, None, blocks)
            for text, blocks in room_findings(cluster.pools, cluster.nodes(), cluster.pods())
        ],
    }
    results: dict[str, Result] = {}
    for name in names:
        if name not in runs:
            raise ValueError(f"no preflight check is named {name!r}: the checks are {', '.join(CHECKS)}")
        started = time.monotonic()
        with live.check() as spent:
            try:
                results[name] = Result(runs[name]())
            except LiveError as error:
                results[name] = Result(why=str(error))
            except MALFORMED as error:
                results[name] = Result(why=f"an answer it cannot read ({_malformed(error)})")
        results[name].spent, results[name].seconds = spent, time.monotonic() - started
    return results


def run_checks(live: Live, plan: UpgradePlan, removals: tuple[Removal, ...]) -> dict[str, Result]:
    """Every check of CHECKS, for the pools the first step upgrades."""
    return run_named(live, CHECKS, plan, removals)


def _malformed(error: BaseException) -> str:
    text = str(error).splitlines()[0][:120] if str(error) else ""
    return f"{type(error).__name__}{': ' + text if text else ''}"


def as_checks(results: dict[str, Result], minor: str | None = None) -> list[Check]:
    """The checks with their findings, for one step's minor (or every finding when None); a blocked check lists
    its warnings too, and only its blockers count as blockers."""
    checks = []
    for name, title in CHECKS.items():
        result = results.get(name)
        if result is None or result.why is not None:
            checks.append(Check(name, title, "not run", why=result.why if result else "not asked for"))
            continue
        found = [f for f in result.findings if minor is None or f.minor in (None, minor)]
        blocking = [f.text for f in found if f.blocks]
        status = "blocked" if blocking else ("warning" if found else "passed")
        shown = [f.text if f.blocks else f"warning: {f.text}" for f in found]
        checks.append(Check(name, title, status, shown, blocking=blocking))
    return checks


def _node(node: dict[str, Any]) -> dict[str, Any]:
    """A node cut to its name, labels, allocatable and whether it is cordoned; KeyError/TypeError if malformed."""
    meta = node["metadata"]
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict) or not isinstance(meta["name"], str):
        raise TypeError(f"node {meta['name']!r}: labels that are not a mapping")
    return {
        "metadata": {"name": meta["name"], "labels": labels},
        "spec": {"unschedulable": bool((node.get("spec") or {}).get("unschedulable"))},
        "status": {"allocatable": dict((node.get("status") or {}).get("allocatable") or {})},
    }


def _pod(pod: dict[str, Any]) -> dict[str, Any]:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    owners = [{"kind": o.get("kind"), "controller": o.get("controller")} for o in meta.get("ownerReferences") or []]
    mirror = "kubernetes.io/config.mirror" in (meta.get("annotations") or {})

    def requests(containers: Any) -> list[dict[str, Any]]:
        return [{"resources": {"requests": (c.get("resources") or {}).get("requests") or {}}} for c in containers or []]

    return {
        "metadata": {
            "namespace": meta.get("namespace"),
            "name": meta.get("name"),
            "labels": meta.get("labels") if isinstance(meta.get("labels"), dict) else {},  # which budgets select it
            "ownerReferences": owners,
            "annotations": {"kubernetes.io/config.mirror": ""} if mirror else {},
        },
        "spec": {
            "nodeName": spec.get("nodeName"),
            "volumes": [{"name": v.get("name"), "emptyDir": {}} for v in spec.get("volumes") or [] if "emptyDir" in v],
            "containers": requests(spec.get("containers")),
            "initContainers": requests(spec.get("initContainers")),
        },
    }


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


# longer than 60 lines: the three places a removed API hides (managedFields, last-applied, Helm releases) read in one pass per kind
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
            namespace = meta.get("namespace")
            name = f"{kind} {f'{namespace}/' if namespace else ''}{meta.get('name', '?')}"
            for entry in meta.get("managedFields") or []:
                removal = table.get((str(entry.get("apiVersion", "")), kind))
                if removal:
                    found = _classify(
                        removal,
                        f"{name} (stored fields written by {entry.get('manager', 'a client')})",
                        minors,
                        current,
                    )
                    findings.setdefault(found.text, found)
            applied = (meta.get("annotations") or {}).get(LAST_APPLIED, "")
            if not applied or not isinstance(applied, str):
                continue
            if len(applied) > MAX_ANNOTATION_BYTES:
                unread = Finding(f"{name}: its {LAST_APPLIED} annotation is over 1 MiB: not read", None, False)
                findings.setdefault(unread.text, unread)
                continue
            try:
                manifest = loads(applied, f"its {LAST_APPLIED} annotation")
            except ValueError as error:
                unread = Finding(f"{name}: {error}: not read", None, False)
                findings.setdefault(unread.text, unread)
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
        if release.endswith(")") and "(unreadable release: " in release:
            unread = Finding(f"Helm release {release}: its manifest was not checked", None, False)
            findings.setdefault(unread.text, unread)
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
    text = live.get("/metrics", accept="text/plain", raw=True)
    return [Finding(*found) for found in requested_deprecated(text, minors)]


def _budgets(live: Live, moving: list[dict[str, Any]] | None = None) -> list[Finding]:
    """The budgets that allow no disruption: every one in the cluster, or, given the pods a rotation `moving`,
    those that select one of them."""
    findings = []
    for budget in live.items("/apis/policy/v1/poddisruptionbudgets"):
        meta, spec, status = budget.get("metadata") or {}, budget.get("spec") or {}, budget.get("status") or {}
        name = f"{meta.get('namespace')}/{meta.get('name')}"
        if moving is not None and not any(
            (pod.get("metadata") or {}).get("namespace") == meta.get("namespace")
            and selects(spec.get("selector"), (pod.get("metadata") or {}).get("labels") or {})
            for pod in moving
        ):
            continue
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
