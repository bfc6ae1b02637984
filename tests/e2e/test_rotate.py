"""`kapsule rotate --apply` against the real kube-apiserver and kube-controller-manager (its disruption controller
keeps the PodDisruptionBudget status that the eviction API reads), with the real Scaleway SDK sending its requests
to a loopback server that answers as the Scaleway API (tests/scaleway_api.py); each request is asserted.

No kubelet, scheduler or ReplicaSet controller runs: the test stands in for them. Pods are bound to Node objects
and marked Ready through the status subresource, with a zero grace period so that an evicted pod is gone at once.
The replacement is simulated on the Kubernetes side by the test: when the API receives ReplaceNode, the old Node
object goes and a new Node (a new provider id, Ready) appears, and the API lists the new node."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from components.drain import POOL_NAME_LABEL
from kapsule.cli.main import parser
from kapsule.cli.rotate import run_rotate
from kapsule.names import ROOT
from tests.scaleway_api import CLUSTER_ID, node, pool, serve

NAMESPACE = "shop"
POOL = "default-1a2b3c4"
PROVIDER = "scaleway://instance/fr-par-1/"


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    from kapsule.engine.servers import LocalCluster

    with LocalCluster(directory=tmp_path_factory.mktemp("rotate-api")) as started:
        yield started


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The dev stack's shape: one pool `default`, max_node_age_days 30, its cluster named as the loopback API
    knows it. max_unavailable 2: the node `lonely`, which only the Scaleway API lists, serves nothing and counts
    as one node out of service, so one more may leave."""
    import yaml

    root = tmp_path_factory.mktemp("rotate-project")
    (root / "stacks").mkdir()
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    document["config"]["kapsule:cluster"]["name"] = "kapsule-rotate"
    document["config"]["kapsule:pools"] = {
        "default": {
            "node_type": "DEV1-M",
            "zone": "fr-par-1",
            "size": 2,
            "max_node_age_days": 30,
            "upgrade_policy": {"max_unavailable": 2, "max_surge": 0},
        }
    }
    (root / "stacks" / "Pulumi.edge.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return root


def kube_node(core, name: str) -> None:
    core.create_node(
        {"metadata": {"name": name, "labels": {POOL_NAME_LABEL: POOL}}, "spec": {"providerID": PROVIDER + name}}
    )
    core.patch_node_status(
        name,
        {
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "stand-in",
                        "lastHeartbeatTime": None,
                    }
                ],
                "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            }
        },
    )


def replica_set(apps, namespace: str, app: str, replicas: int) -> str:
    """A ReplicaSet object that owns the pods the test makes (the garbage collector keeps them); no controller of
    it runs here. Its uid, for the pods' owner reference."""
    body = {
        "metadata": {"name": app},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "app", "image": "app:1"}]},
            },
        },
    }
    return str(apps.create_namespaced_replica_set(namespace, body).metadata.uid)


def web_pod(core, name: str, node_name: str, owner_uid: str) -> None:
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": owner_uid, "controller": True}
    core.create_namespaced_pod(
        NAMESPACE,
        {
            "metadata": {"name": name, "labels": {"app": "web"}, "ownerReferences": [owner]},
            "spec": {
                "nodeName": node_name,
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "app", "image": "app:1"}],
            },
        },
    )
    core.patch_namespaced_pod_status(
        name, NAMESPACE, {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    )


def wait_for_budget(api_client, allowed: int) -> None:
    from kubernetes import client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.PolicyV1Api(api_client).read_namespaced_pod_disruption_budget("web", NAMESPACE).status
        if status is not None and status.observed_generation and status.disruptions_allowed == allowed:
            return
        time.sleep(0.2)
    raise AssertionError(f"the disruption controller never reported {allowed} disruption(s) allowed")


def rotate(project, api_server, capsys, *extra):
    args = parser().parse_args(
        ["rotate", "--stack", "edge", "--apply", "--format", "json", "--kubeconfig", str(api_server.kubeconfig), *extra]
    )
    code = run_rotate(args, root=project, poll_seconds=0.2)
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_rotate_is_refused_by_the_budget_then_replaces_the_oldest_node_once_it_allows(
    api_server, project, capsys, monkeypatch
):
    """Nodes `old` (40 days) and `young` (5 days) on both sides; `lonely` (50 days) only in the Scaleway API and
    `ghost` only in Kubernetes. Three `web` pods (two on `old`) under minAvailable 2. The first --apply evicts one
    pod, is refused the second by the budget, stops with a blocker and uncordons `old`; once the evicted pod runs
    elsewhere the second --apply drains `old`, calls ReplaceNode for it only, and waits for the new node and pods."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(api_server.kubeconfig))
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    now = datetime.now(timezone.utc)
    api = next(iter_api := serve(monkeypatch))
    try:
        api.pools = [pool("p1", POOL), pool("p9", "other-0a0b0c0")]
        api.nodes = [
            node("n-old", "old", "p1", PROVIDER + "old", now - timedelta(days=40)),
            node("n-young", "young", "p1", PROVIDER + "young", now - timedelta(days=5)),
            node("n-lonely", "lonely", "p1", PROVIDER + "lonely", now - timedelta(days=50)),
        ]
        core.create_namespace({"metadata": {"name": NAMESPACE}})
        for name in ("old", "young", "ghost"):
            kube_node(core, name)
        uid = replica_set(apps, NAMESPACE, "web", 3)
        for name, where in (("web-0", "old"), ("web-1", "old"), ("web-2", "young")):
            web_pod(core, name, where, uid)
        client.PolicyV1Api(api_client).create_namespaced_pod_disruption_budget(
            NAMESPACE,
            {"metadata": {"name": "web"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}},
        )
        wait_for_budget(api_client, 1)

        code, report, err = rotate(project, api_server, capsys, "--drain-timeout", "3s")
        assert code == 3, err
        assert [d["node"] for d in report["due"]] == ["old"]
        assert report["stopped"]["node"] == "old"
        assert "node old could not be drained within 3 s" in report["stopped"]["reason"]
        assert (
            f"{NAMESPACE}/web-1 (not evicted, held by {NAMESPACE}/web (allows 0 disruption(s) now))"
            in report["stopped"]["reason"]
        )
        assert "the node is uncordoned" in report["stopped"]["reason"]
        assert not core.read_node("old").spec.unschedulable, "the node is left as it was found"
        assert sorted(p.metadata.name for p in core.list_namespaced_pod(NAMESPACE).items) == ["web-1", "web-2"]
        assert api.asked("POST") == [], "nothing is replaced when the drain is refused"
        assert any("lonely" in text for text in report["alone"]) and any("ghost" in text for text in report["alone"])

        # The stand-in scheduler runs the evicted pod on `young`; the budget allows a disruption again.
        web_pod(core, "web-0-moved", "young", uid)
        wait_for_budget(api_client, 1)

        def replaced(node_id: str) -> None:
            core.delete_node("old")
            kube_node(core, "new")
            with api.lock:
                api.nodes = [n for n in api.nodes if n["id"] != node_id]
                api.nodes.append(node("n-new", "new", "p1", PROVIDER + "new", datetime.now(timezone.utc)))

        api.on_replace = replaced
        stop, lowest = threading.Event(), [3]

        def replicaset_and_scheduler() -> None:
            count = 0
            while not stop.is_set():
                pods = [p for p in core.list_namespaced_pod(NAMESPACE).items if not p.metadata.deletion_timestamp]
                lowest[0] = min(lowest[0], len(pods))
                if len(pods) < 3:
                    count += 1
                    web_pod(core, f"web-moved-{count}", "young", uid)
                time.sleep(0.05)

        thread = threading.Thread(target=replicaset_and_scheduler, daemon=True)
        thread.start()
        try:
            code, report, err = rotate(project, api_server, capsys, "--drain-timeout", "60s")
        finally:
            stop.set()
            thread.join(5)
        assert code == 0, err + json.dumps(report["stopped"])
        assert report["rotated"] == ["old"] and report["stopped"] is None
        assert lowest[0] >= 2, "the budget was exceeded"
        base = "/k8s/v1/regions/fr-par"
        assert [(m, p, b) for m, p, _, b in api.asked("POST")] == [("POST", f"{base}/nodes/n-old/replace", {})]
        gets = {p for m, p, _, _ in api.asked("GET")}
        assert gets == {
            f"{base}/clusters",
            f"{base}/clusters/{CLUSTER_ID}/pools",
            f"{base}/clusters/{CLUSTER_ID}/nodes",
        }
        assert core.read_node("ghost").spec.unschedulable is None, "a node on one side only is never touched"
        assert not core.read_node("young").spec.unschedulable
        assert [n.metadata.name for n in core.list_node().items if n.metadata.name == "old"] == []
    finally:
        next(iter_api, None)


SURGE_POOL = "surge-5e6f7a8"
SURGE_NAMESPACE = "pay"


@pytest.fixture(scope="module")
def surge_project(tmp_path_factory):
    """prod's pool shape: autoscaled (min 2), upgrade_policy max_unavailable 0 and max_surge 1."""
    import yaml

    root = tmp_path_factory.mktemp("rotate-surge-project")
    (root / "stacks").mkdir()
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    document["config"]["kapsule:cluster"]["name"] = "kapsule-rotate"
    document["config"]["kapsule:pools"] = {
        "surge": {
            "node_type": "DEV1-M",
            "zone": "fr-par-1",
            "size": 2,
            "autoscaling": True,
            "min_size": 2,
            "max_size": 2,
            "max_node_age_days": 30,
            "upgrade_policy": {"max_unavailable": 0, "max_surge": 1},
        }
    }
    (root / "stacks" / "Pulumi.edge.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return root


def surge_node(core, name: str, ready: bool = True) -> None:
    core.create_node(
        {"metadata": {"name": name, "labels": {POOL_NAME_LABEL: SURGE_POOL}}, "spec": {"providerID": PROVIDER + name}}
    )
    set_ready(core, name, ready)


def set_ready(core, name: str, ready: bool) -> None:
    condition = {"type": "Ready", "status": "True" if ready else "False", "reason": "stand-in", "message": "stand-in"}
    allocatable = {"cpu": "2", "memory": "4Gi", "pods": "110"}
    core.patch_node_status(
        name, {"status": {"conditions": [condition], "allocatable": allocatable, "capacity": allocatable}}
    )


def pay_pod(core, name: str, node_name: str, owner_uid: str) -> None:
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "pay", "uid": owner_uid, "controller": True}
    core.create_namespaced_pod(
        SURGE_NAMESPACE,
        {
            "metadata": {"name": name, "labels": {"app": "pay"}, "ownerReferences": [owner]},
            "spec": {
                "nodeName": node_name,
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "app", "image": "app:1"}],
            },
        },
    )
    core.patch_namespaced_pod_status(
        name, SURGE_NAMESPACE, {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    )


def test_a_pool_with_max_unavailable_0_is_rotated_with_a_surge_node_and_its_size_settings_put_back(
    api_server, surge_project, capsys, monkeypatch
):
    """prod's shape: an autoscaled pool (size 2, min 2, max 2) with max_unavailable 0 and max_surge 1. The surge
    node is simulated on the Kubernetes side by the test: when the loopback API receives UpdatePool with size 3, a
    Node `s-surge` appears (and the API lists it, `creating`); when it receives size 2 again, the surge node goes.

    First run: the surge node never becomes Ready, so the run stops at its deadline with nothing cordoned and the
    pool's size settings put back. Second run: the surge node becomes Ready; only then is `s-old` cordoned (the
    stand-in scheduler checks it at every turn), drained, replaced (a new Node `s-new` appears and `s-old` goes),
    and the settings put back; each UpdatePool and ReplaceNode request's method, path and body is asserted."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(api_server.kubeconfig))
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    now = datetime.now(timezone.utc)
    api = next(iter_api := serve(monkeypatch))
    base = "/k8s/v1/regions/fr-par"
    surge_ready = threading.Event()
    try:
        api.pools = [
            pool(
                "p5",
                SURGE_POOL,
                autoscaling=True,
                size=2,
                min_size=2,
                max_size=2,
                upgrade_policy={"max_unavailable": 0, "max_surge": 1},
            )
        ]
        api.nodes = [
            node("n-s-old", "s-old", "p5", PROVIDER + "s-old", now - timedelta(days=40)),
            node("n-s-young", "s-young", "p5", PROVIDER + "s-young", now - timedelta(days=5)),
        ]
        core.create_namespace({"metadata": {"name": SURGE_NAMESPACE}})
        for name in ("s-old", "s-young"):
            surge_node(core, name)
        uid = replica_set(apps, SURGE_NAMESPACE, "pay", 2)
        pay_pod(core, "pay-0", "s-old", uid)
        pay_pod(core, "pay-1", "s-young", uid)

        def updated(pool_id: str, body: dict) -> None:
            if body.get("size") == 3:
                surge_node(core, "s-surge", ready=surge_ready.is_set())
                with api.lock:
                    api.nodes.append(node("n-s-surge", "s-surge", "p5", PROVIDER + "s-surge", now, "creating"))
                if surge_ready.is_set():
                    with api.lock:
                        api.nodes[-1]["status"] = "ready"
            elif body.get("size") == 2:  # Scaleway takes the pool back to its size: the surge node goes
                core.delete_node("s-surge")
                with api.lock:
                    api.nodes = [n for n in api.nodes if n["id"] != "n-s-surge"]

        api.on_update = updated

        def rotate_surge(*extra):
            args = parser().parse_args(
                ["rotate", "--stack", "edge", "--apply", "--format", "json"]
                + ["--kubeconfig", str(api_server.kubeconfig), *extra]
            )
            code = run_rotate(args, root=surge_project, poll_seconds=0.2)
            captured = capsys.readouterr()
            return code, json.loads(captured.out), captured.err

        code, report, err = rotate_surge("--deadline", "3s")
        assert code == 3, err
        assert report["stopped"]["node"] == "s-old"
        assert "the surge node was not in service in time" in report["stopped"]["reason"]
        assert "only 1 other node(s) of its 2 are in service (s-surge not in service)" in report["stopped"]["reason"]
        surged = {"size": 3, "min_size": 3, "max_size": 3}
        restored = {"size": 2, "min_size": 2, "max_size": 2}
        assert [(m, p, b) for m, p, _, b in api.requests if m != "GET"] == [
            ("PATCH", f"{base}/pools/p5", surged),
            ("PATCH", f"{base}/pools/p5", restored),
        ], "the surge is asked for, then the settings are put back although the run stopped"
        assert not core.read_node("s-old").spec.unschedulable, "nothing was cordoned"
        assert api.pools[0] | restored == api.pools[0]

        api.requests.clear()
        surge_ready.set()

        def replaced(node_id: str) -> None:
            core.delete_node("s-old")
            surge_node(core, "s-new")
            with api.lock:
                api.nodes = [n for n in api.nodes if n["id"] != node_id]
                api.nodes.append(node("n-s-new", "s-new", "p5", PROVIDER + "s-new", datetime.now(timezone.utc)))

        api.on_replace = replaced
        stop, early = threading.Event(), []

        def replicaset_and_scheduler() -> None:
            count = 0
            while not stop.is_set():
                names = {n.metadata.name: n for n in core.list_node().items}
                old = names.get("s-old")
                if old is not None and old.spec.unschedulable and "s-surge" not in names:
                    early.append("s-old cordoned before the surge node was there")
                pods = [p for p in core.list_namespaced_pod(SURGE_NAMESPACE).items if not p.metadata.deletion_timestamp]
                if len(pods) < 2 and "s-surge" in names:
                    count += 1
                    pay_pod(core, f"pay-moved-{count}", "s-surge", uid)
                time.sleep(0.05)

        thread = threading.Thread(target=replicaset_and_scheduler, daemon=True)
        thread.start()
        try:
            code, report, err = rotate_surge("--drain-timeout", "60s")
        finally:
            stop.set()
            thread.join(5)
        assert code == 0, err + json.dumps(report["stopped"])
        assert report["rotated"] == ["s-old"] and report["stopped"] is None
        assert early == []
        assert [(m, p, b) for m, p, _, b in api.requests if m != "GET"] == [
            ("PATCH", f"{base}/pools/p5", surged),
            ("POST", f"{base}/nodes/n-s-old/replace", {}),
            ("PATCH", f"{base}/pools/p5", restored),
        ]
        assert ("GET", f"{base}/pools/p5") in {(m, p) for m, p, _, _ in api.requests}
        assert any("surge node" in note for note in report["notes"])
        assert api.pools[0] | restored == api.pools[0]
        assert sorted(n.metadata.name for n in core.list_node().items if n.metadata.name.startswith("s-")) == [
            "s-new",
            "s-young",
        ]
    finally:
        next(iter_api, None)
