"""`kapsule upgrade`'s preflight against a real kube-apiserver and kube-controller-manager v1.35.4 of its own,
started with `--runtime-config networking.k8s.io/v1beta1=true` so that it serves a deprecated API (ServiceCIDR,
deprecated in 1.34, removed in 1.37 by k8s.io/api's prerelease lifecycle) whose use its metric records.
No kubelet runs: pods are bound to Node objects and marked Ready through the status subresource, and the
disruption controller keeps the budget's status as in a real cluster."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date

import pytest
import yaml

from components.drain import POOL_NAME_LABEL
from kapsule.cli.main import parser
from kapsule.cli.upgrade import run_upgrade
from kapsule.names import ROOT

NAMESPACE = "shop"
POOL_LABEL = "default-1a2b3c4"

#: A day on which 1.34 is still supported (its end is 2026-11-29): the path is 1.34 -> 1.35 -> 1.36, and 1.35
#: removes the API the test stores. On a later day Scaleway would already have moved the cluster to 1.35.
DAY = date(2026, 11, 21)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    from kapsule.engine.servers import LocalCluster

    with LocalCluster(
        directory=tmp_path_factory.mktemp("upgrade-api"), runtime_config="networking.k8s.io/v1beta1=true"
    ) as started:
        yield started


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A cluster stack on 1.34 (the dev stack's shape, auto_upgrade on) in a project of its own."""
    root = tmp_path_factory.mktemp("upgrade-project")
    (root / "stacks").mkdir()
    text = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    (root / "stacks" / "Pulumi.edge.yaml").write_text(text.replace('version: "1.35"', 'version: "1.34"'))
    shutil.copy(ROOT / "__main__.py", root / "__main__.py")
    return root


@pytest.fixture(scope="module")
def api(api_server):
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(api_server.kubeconfig))
    core = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    for name in ("node-1", "node-2"):
        core.create_node({"metadata": {"name": name, "labels": {POOL_NAME_LABEL: POOL_LABEL}}})
        core.patch_node_status(
            name,
            {
                "status": {
                    "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                    "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"},
                }
            },
        )
    return api_client


def upgrade(project, api_server, capsys, *extra):
    args = parser().parse_args(
        ["upgrade", "--stack", "edge", "--to", "1.36", "--kubeconfig", str(api_server.kubeconfig), *extra]
    )
    code = run_upgrade(args, DAY, root=project)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def ready_pod(api_client, name, labels, owner=None, volumes=None):
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    metadata = {"name": name, "labels": labels, **({"ownerReferences": [owner]} if owner else {})}
    spec = {
        "nodeName": "node-1",
        "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "app", "image": "app:1", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}],
        **({"volumes": volumes} if volumes else {}),
    }
    core.create_namespaced_pod(NAMESPACE, {"metadata": metadata, "spec": spec})
    core.patch_namespaced_pod_status(
        name, NAMESPACE, {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    )


def wait_for_budget(api_client, allowed):
    from kubernetes import client

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.PolicyV1Api(api_client).read_namespaced_pod_disruption_budget("db", NAMESPACE).status
        if (
            status is not None
            and status.observed_generation
            and status.expected_pods == 1
            and status.disruptions_allowed == allowed
        ):
            return
        time.sleep(0.2)
    raise AssertionError("the disruption controller never reported the budget")


def test_the_preflight_names_each_blocker_from_the_live_cluster_then_passes_once_they_are_gone(
    api, api_server, project, capsys
):
    from kubernetes import client

    apps, core, policy = client.AppsV1Api(api), client.CoreV1Api(api), client.PolicyV1Api(api)
    # A database of one replica under a budget that allows no disruption: a drain would wait forever.
    owner = apps.create_namespaced_replica_set(
        NAMESPACE,
        {
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "db", "image": "db:1"}]},
                },
            },
        },
    )
    ready_pod(
        api,
        "db-0",
        {"app": "db"},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "db", "uid": owner.metadata.uid, "controller": True},
    )
    policy.create_namespaced_pod_disruption_budget(
        NAMESPACE, {"metadata": {"name": "db"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}}
    )
    wait_for_budget(api, 0)
    # A pod with no controller, keeping data in an emptyDir.
    ready_pod(api, "debug", {"app": "debug"}, volumes=[{"name": "scratch", "emptyDir": {}}])
    # An object last applied (by kubectl) under storage.k8s.io/v1alpha1, which 1.35 removes.
    manifest = {
        "apiVersion": "storage.k8s.io/v1alpha1",
        "kind": "VolumeAttributesClass",
        "metadata": {"name": "fast"},
        "driverName": "csi.scaleway.com",
        "parameters": {"type": "sbs_15k"},
    }
    client.StorageV1Api(api).create_volume_attributes_class(
        {
            "metadata": {
                "name": "fast",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(manifest)},
            },
            "driverName": "csi.scaleway.com",
            "parameters": {"type": "sbs_15k"},
        }
    )
    # A client calling a deprecated API the server still serves: the server's metric records it.
    api.call_api(
        "/apis/networking.k8s.io/v1beta1/servicecidrs", "GET", auth_settings=["BearerToken"], _preload_content=False
    )

    code, out, err = upgrade(project, api_server, capsys, "--format", "json")
    assert code == 3, err
    report = json.loads(out)
    assert [step["version"] for step in report["steps"]] == ["1.35", "1.36"]
    blockers = "\n".join(report["blockers"])
    assert "PodDisruptionBudget shop/db (minAvailable 1, 1 of 1 pods healthy) allows no disruption" in blockers
    assert "pod shop/debug has no controller" in blockers and "pod shop/db-0" not in blockers
    assert "pod shop/debug keeps data in emptyDir volume(s) scratch" in blockers
    assert (
        "VolumeAttributesClass fast (last applied with kubectl) uses storage.k8s.io/v1alpha1 VolumeAttributesClass, removed in 1.35"
        in blockers
    )
    first, second = report["steps"]
    assert any("v1alpha1 VolumeAttributesClass" in b for b in first["blockers"])
    assert not any("v1alpha1 VolumeAttributesClass" in b for b in second["blockers"])
    checks = {check["name"]: check for check in first["preflight"]}
    requested = "\n".join(checks["deprecated-api-requests"]["findings"])
    assert "a client still calls networking.k8s.io/v1beta1 servicecidrs, deprecated, removed in 1.37" in requested
    room = "\n".join(checks["room-to-move"]["findings"])
    assert "pool default: draining its 1 fullest node(s) moves 1.00 CPU and 2.00 GiB" in room and "fits" in room

    text_code, text, _ = upgrade(project, api_server, capsys)
    assert text_code == 3 and "Blocked: " in text and "PodDisruptionBudget shop/db" in text

    # The same cluster with the blockers removed passes: the metric's record stays, as a warning.
    policy.delete_namespaced_pod_disruption_budget("db", NAMESPACE)
    core.delete_namespaced_pod("debug", NAMESPACE, grace_period_seconds=0)
    client.StorageV1Api(api).delete_volume_attributes_class("fast")
    deadline = time.monotonic() + 30
    while (
        core.list_namespaced_pod(NAMESPACE, field_selector="metadata.name=debug").items and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    code, out, err = upgrade(project, api_server, capsys, "--format", "json")
    report = json.loads(out)
    assert code == 2, report["blockers"]
    assert report["blockers"] == []
    statuses = {check["name"]: check["status"] for check in report["steps"][0]["preflight"]}
    assert statuses["deprecated-api-requests"] == "warning" and statuses["disruption-budgets"] == "passed"


def test_an_unreachable_cluster_lists_each_check_as_not_run_and_still_plans(project, capsys, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "gone",
                "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
            }
        )
    )
    args = parser().parse_args(
        ["upgrade", "--stack", "edge", "--to", "1.36", "--kubeconfig", str(kubeconfig), "--format", "json"]
    )
    code = run_upgrade(args, DAY, root=project)
    out = capsys.readouterr().out
    report = json.loads(out)
    assert code == 2
    assert {c["name"] for c in report["preflight_not_run"]} == {
        "removed-apis",
        "deprecated-api-requests",
        "disruption-budgets",
        "pods-without-controller",
        "local-storage",
        "room-to-move",
    }
    assert all("cannot be reached" in c["why"] for c in report["preflight_not_run"])
    assert "not-a-real-token" not in out
