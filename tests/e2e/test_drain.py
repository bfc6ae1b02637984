"""Drain before delete, against the real kube-apiserver and kube-controller-manager (its disruption controller
keeps the PodDisruptionBudget status the eviction API reads). No kubelet runs: nodes are Node objects, pods
are bound to them and marked Ready through the status subresource, and have a grace period of zero, so that
an evicted pod is gone at once instead of Terminating forever; the drain checks the same either way."""

from __future__ import annotations

import threading
import time

import pytest

from components.drain import POOL_NAME_LABEL, DrainBlocked, drain_pool


@pytest.fixture
def api(cluster):
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    core = client.CoreV1Api(api_client)
    namespace = f"drain-{int(time.time() * 1000) % 10**8}"
    core.create_namespace({"metadata": {"name": namespace}})
    nodes = []
    for name, pool in (("old-1", "old"), ("old-2", "old"), ("new-1", "new")):
        node = f"{namespace}-{name}"
        core.create_node({"metadata": {"name": node, "labels": {POOL_NAME_LABEL: f"{namespace}-{pool}"}}})
        nodes.append(node)
    yield api_client, namespace
    for node in nodes:
        core.delete_node(node)
    core.delete_namespace(namespace)


def pod(api_client, namespace: str, name: str, node: str, labels: dict, owner: dict | None = None) -> None:
    """A pod bound to `node`, Ready, with a zero grace period (no kubelet will ever stop it)."""
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    metadata = {"name": name, "labels": labels}
    if owner:
        metadata["ownerReferences"] = [owner]
    core.create_namespaced_pod(
        namespace,
        {
            "metadata": metadata,
            "spec": {
                "nodeName": node,
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "app", "image": "app:1"}],
            },
        },
    )
    core.patch_namespaced_pod_status(
        name, namespace, {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    )


def budget(api_client, namespace: str, min_available: int) -> None:
    from kubernetes import client

    client.PolicyV1Api(api_client).create_namespaced_pod_disruption_budget(
        namespace,
        {
            "metadata": {"name": "web"},
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": "web"}}},
        },
    )


def wait_for_budget(api_client, namespace: str, allowed: int) -> None:
    from kubernetes import client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.PolicyV1Api(api_client).read_namespaced_pod_disruption_budget("web", namespace).status
        if status is not None and status.disruptions_allowed == allowed and status.observed_generation:
            return
        time.sleep(0.2)
    raise AssertionError("the disruption controller never reported the budget")


def test_a_pool_is_cordoned_and_every_evictable_pod_evicted_one_disruption_at_a_time(api):
    """Three `web` pods on the old pool under a budget of minAvailable 3 of 4 (one disruption at a time); a
    stand-in for the scheduler recreates each evicted pod on the new pool, Ready. A DaemonSet pod stays, and
    the pod on the other pool is never touched."""
    from kubernetes import client

    api_client, namespace = api
    core = client.CoreV1Api(api_client)
    for index in range(3):
        pod(api_client, namespace, f"web-{index}", f"{namespace}-old-{1 + index % 2}", {"app": "web"})
    pod(api_client, namespace, "web-3", f"{namespace}-new-1", {"app": "web"})
    # A DaemonSet of its own (no DaemonSet controller runs here, so it makes no pod), owning a pod on the old
    # pool: the garbage collector keeps a pod whose owner exists.
    daemonset = client.AppsV1Api(api_client).create_namespaced_daemon_set(
        namespace,
        {
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "agent", "image": "agent:1"}]},
                },
            },
        },
    )
    pod(
        api_client,
        namespace,
        "agent",
        f"{namespace}-old-1",
        {"app": "agent"},
        owner={"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": daemonset.metadata.uid},
    )
    budget(api_client, namespace, 3)
    wait_for_budget(api_client, namespace, 1)

    healthy_low = [4]
    stop = threading.Event()

    def scheduler() -> None:
        seen = set()
        while not stop.is_set():
            pods = {p.metadata.name: p for p in core.list_namespaced_pod(namespace, label_selector="app=web").items}
            healthy_low[0] = min(healthy_low[0], len(pods))
            for index in range(3):
                name = f"web-{index}"
                if name not in pods and name not in seen:
                    seen.add(name)
                    pod(api_client, namespace, f"{name}-moved", f"{namespace}-new-1", {"app": "web"})
            time.sleep(0.05)

    thread = threading.Thread(target=scheduler, daemon=True)
    thread.start()
    try:
        report = drain_pool(api_client, f"{namespace}-old", 120, poll_seconds=0.2)
    finally:
        stop.set()
        thread.join(5)
    assert sorted(report.nodes) == [f"{namespace}-old-1", f"{namespace}-old-2"]
    assert sorted(report.evicted) == [f"{namespace}/web-{i}" for i in range(3)]
    assert report.skipped == {f"{namespace}/agent": "a DaemonSet pod (its controller ignores cordons)"}
    assert healthy_low[0] >= 3, "the budget was exceeded"
    assert all(core.read_node(n).spec.unschedulable for n in report.nodes)
    assert not core.read_node(f"{namespace}-new-1").spec.unschedulable
    assert core.read_namespaced_pod("web-3", namespace).metadata.deletion_timestamp is None
    assert core.read_namespaced_pod("agent", namespace).metadata.deletion_timestamp is None


def test_a_budget_that_blocks_makes_the_drain_time_out_with_the_pods_and_the_budget(api):
    """minAvailable 2 of 2: no disruption is allowed, so the drain stops at its timeout, names the pod and the
    budget, and evicts nothing."""
    from kubernetes import client

    api_client, namespace = api
    pod(api_client, namespace, "web-0", f"{namespace}-old-1", {"app": "web"})
    pod(api_client, namespace, "web-1", f"{namespace}-new-1", {"app": "web"})
    budget(api_client, namespace, 2)
    wait_for_budget(api_client, namespace, 0)
    with pytest.raises(DrainBlocked) as blocked:
        drain_pool(api_client, f"{namespace}-old", 3, poll_seconds=0.2)
    message = str(blocked.value)
    assert f"pool {namespace}-old could not be drained within 3 s, so it is not deleted" in message
    assert f"{namespace}/web-0 (not evicted, held by {namespace}/web (allows 0 disruption(s) now))" in message
    core = client.CoreV1Api(api_client)
    assert core.read_namespaced_pod("web-0", namespace).metadata.deletion_timestamp is None
    assert core.read_node(f"{namespace}-old-1").spec.unschedulable
