"""Drain before delete: a pool's nodes are cordoned, then their pods evicted through the Kubernetes eviction
API (which honours PodDisruptionBudgets), DaemonSet and mirror pods left alone as `kubectl drain` leaves them.
The pool's deletion goes ahead only once no evictable pod is left; past the timeout it does not happen, and
the message names the pods that block and the budgets that hold them.

Which nodes belong to a pool: Scaleway's cloud controller turns each tag of a node's server into a
`k8s.scaleway.com/<key>` label (scaleway-cloud-controller-manager, scaleway/sync.go, `tagLabelParser`), and a
Kapsule pool's servers carry the tag `pool-name=<the pool's name>`: the label selects a pool's nodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: The label of a Kapsule node that names its pool.
POOL_NAME_LABEL = "k8s.scaleway.com/pool-name"
#: How often the drain retries an eviction a budget refused, and checks the evicted pods are gone.
POLL_SECONDS = 1.0


#: A pool's drain settings when the program no longer declares it (a removed pool): on, 30 minutes.
DRAIN_DEFAULTS = (True, "30m")


def kubernetes_client(kubeconfig: str) -> Any:
    """The Kubernetes API's own client on a kubeconfig given as text.

    This code never saves the kubeconfig; the client library writes the certificate and key data it holds to
    temporary files of its own (kubernetes.config.kube_config, FileOrData), removed when the process exits."""
    import yaml
    from kubernetes import config

    return config.new_client_from_config_dict(yaml.safe_load(kubeconfig))


class DrainBlocked(Exception):
    """The drain could not finish in time: the pool must not be deleted. The message names what blocks."""


@dataclass
class DrainReport:
    """What a drain did: the nodes it cordoned, the pods it evicted, the pods it left alone and why."""

    nodes: list[str] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    cordoned: list[str] = field(default_factory=list)
    """The nodes this drain cordoned (the others already were)."""


def parse_duration(text: str) -> float:
    """A Go duration (`30m`, `1h30m`, `90s`, `500ms`) in seconds."""
    import re

    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    total, position = 0.0, 0
    for match in re.finditer(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)", text):
        if match.start() != position:
            raise ValueError(f"{text!r} is not a Go duration")
        total += float(match.group(1)) * units[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ValueError(f"{text!r} is not a Go duration")
    return total


def _why_left(pod: Any) -> str | None:
    """Why `kubectl drain` would leave a pod alone, or None when it is to be evicted."""
    owners = pod.metadata.owner_references or []
    if any(owner.kind == "DaemonSet" for owner in owners):
        return "a DaemonSet pod (its controller ignores cordons)"
    if (pod.metadata.annotations or {}).get("kubernetes.io/config.mirror"):
        return "a mirror pod (the kubelet owns it)"
    return None


def _name(pod: Any) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def selects(selector: Any, labels: dict[str, str]) -> bool:
    """Whether a label selector (its JSON: `matchLabels`, `matchExpressions`) selects a pod with `labels`, by
    Kubernetes' rules: an empty selector selects every pod (a policy/v1 budget's, every pod of its namespace), a
    missing one none. An operator Kubernetes does not define selects nothing."""
    if not isinstance(selector, dict):
        return False
    wanted = selector.get("matchLabels") or {}
    if not isinstance(wanted, dict) or any(labels.get(key) != value for key, value in wanted.items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        if not isinstance(expression, dict):
            return False
        key, operator, values = str(expression.get("key")), expression.get("operator"), expression.get("values") or []
        present = key in labels
        chosen = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(str(operator), False)
        if not chosen:
            return False
    return True


def _budgets_for(policy: Any, pod: Any) -> list[str]:
    """The PodDisruptionBudgets of the pod's namespace whose selector matches it, with what they allow now."""
    found = []
    for budget in policy.list_namespaced_pod_disruption_budget(pod.metadata.namespace).items:
        selector = budget.spec.selector
        if selector is not None:
            expressions = [
                {"key": e.key, "operator": e.operator, "values": e.values} for e in selector.match_expressions or []
            ]
            selector = {"matchLabels": selector.match_labels, "matchExpressions": expressions}
        if not selects(selector, pod.metadata.labels or {}):
            continue
        allowed = budget.status.disruptions_allowed if budget.status else 0
        found.append(f"{budget.metadata.namespace}/{budget.metadata.name} (allows {allowed} disruption(s) now)")
    return found


# longer than 60 lines: kubectl drain's sequence (cordon, list, evict, wait) with one deadline across it
def drain_pool(
    api_client: Any,
    pool_name: str,
    timeout_seconds: float,
    *,
    log: Callable[[str], None] = lambda _: None,
    poll_seconds: float = POLL_SECONDS,
) -> DrainReport:
    """Cordon every node of the pool, then evict its evictable pods until none is left.

    Raises DrainBlocked past `timeout_seconds`, naming the pods still there and the budgets that hold them.
    """
    from kubernetes import client

    nodes = client.CoreV1Api(api_client).list_node(label_selector=f"{POOL_NAME_LABEL}={pool_name}").items
    still = _drain(api_client, nodes, f"pool {pool_name}", timeout_seconds, log, poll_seconds)
    if isinstance(still, DrainReport):
        return still
    raise DrainBlocked(
        f"pool {pool_name} could not be drained within {timeout_seconds:g} s, so it is not deleted (its nodes stay "
        f"cordoned; nothing was lost). Still on it: {still}. Let the budgets allow a disruption (more "
        "replicas elsewhere), raise drain_timeout, or set drain: false for this pool to delete it at once"
    )


def drain_node(
    api_client: Any,
    node_name: str,
    timeout_seconds: float,
    *,
    log: Callable[[str], None] = lambda _: None,
    poll_seconds: float = POLL_SECONDS,
) -> DrainReport:
    """Cordon one node, then evict its evictable pods until none is left (`cordoned`: whether this drain did it).

    Raises DrainBlocked past `timeout_seconds`, naming the pods still there and the budgets that hold them; the
    node stays cordoned, for the caller to decide.
    """
    from kubernetes import client

    node = client.CoreV1Api(api_client).read_node(node_name)
    still = _drain(api_client, [node], f"node {node_name}", timeout_seconds, log, poll_seconds)
    if isinstance(still, DrainReport):
        return still
    raise DrainBlocked(f"node {node_name} could not be drained within {timeout_seconds:g} s. Still on it: {still}")


def _drain(
    api_client: Any,
    nodes: list[Any],
    subject: str,
    timeout_seconds: float,
    log: Callable[[str], None],
    poll_seconds: float,
) -> DrainReport | str:
    """Cordon the nodes, then evict until no evictable pod is left: the report, or past the timeout the pods
    still there and the budgets that hold them."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core, policy = client.CoreV1Api(api_client), client.PolicyV1Api(api_client)
    report = DrainReport()
    for node in nodes:
        report.nodes.append(node.metadata.name)
        if not node.spec.unschedulable:
            core.patch_node(node.metadata.name, {"spec": {"unschedulable": True}})
            report.cordoned.append(node.metadata.name)
    log(f"{subject}: {len(nodes)} node(s) cordoned")
    deadline = time.monotonic() + timeout_seconds
    while True:
        pending = []
        for node in report.nodes:
            for pod in core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items:
                if pod.status and pod.status.phase in ("Succeeded", "Failed") and pod.metadata.deletion_timestamp:
                    continue
                reason = _why_left(pod)
                if reason:
                    report.skipped[_name(pod)] = reason
                    continue
                pending.append(pod)
        if not pending:
            log(f"{subject}: drained, {len(report.evicted)} pod(s) evicted")
            return report
        if time.monotonic() > deadline:
            lines = []
            for pod in pending:
                budgets = _budgets_for(policy, pod)
                held = f", held by {', '.join(budgets)}" if budgets else ""
                state = "terminating" if pod.metadata.deletion_timestamp else "not evicted"
                lines.append(f"{_name(pod)} ({state}{held})")
            return "; ".join(lines)
        for pod in pending:
            if pod.metadata.deletion_timestamp:
                continue  # evicted, not gone yet
            eviction = client.V1Eviction(
                metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace=pod.metadata.namespace)
            )
            try:
                core.create_namespaced_pod_eviction(pod.metadata.name, pod.metadata.namespace, eviction)
                report.evicted.append(_name(pod))
                log(f"{subject}: evicted {_name(pod)}")
            except ApiException as error:
                if error.status not in (404, 429):  # gone already; a budget says not now
                    raise
        time.sleep(poll_seconds)
