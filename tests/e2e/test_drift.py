"""`python -m kapsule.engine drift` on the local stack and the real engine: changes made through the
Kubernetes API behind the engine's back are named with their paths, the declared value beside the live one,
a Secret's data masked; nothing is written to the state; after `up` there is no drift; an unreachable API is
an error, never "no drift"."""

from __future__ import annotations

import json

from kapsule.engine import driver
from kapsule.engine.drift import run_drift
from tests.e2e.conftest import kubernetes_client

KEY = "service.beta.kubernetes.io/scw-loadbalancer-forward-port-algorithm"


def drift(project, capsys, format="json"):
    code = run_drift("local", format, root=project)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def checkpoint(local_dir):
    return {
        p: p.read_bytes()
        for p in (local_dir / "state").rglob("*.json*")
        if p.is_file() and "backups" not in p.parts and "history" not in p.parts
    }


def test_an_annotation_and_a_port_changed_live_are_drift_with_both_paths_and_nothing_is_written(
    deployed, cluster, local_dir, capsys
):
    api = kubernetes_client(cluster)
    assert drift(deployed, capsys)[0] == 0
    before = checkpoint(local_dir)
    api.patch_namespaced_service("web", "apps", {"metadata": {"annotations": {KEY: "roundrobin"}}})
    api.patch_namespaced_service("web", "apps", [{"op": "replace", "path": "/spec/ports/0/port", "value": 8080}])
    try:
        code, out, err = drift(deployed, capsys)
        assert code == 2, err
        report = json.loads(out)
        [web] = report["resources"]
        paths = {p["path"]: (p["declared"], p["live"]) for p in web["paths"]}
        assert paths[f'metadata.annotations["{KEY}"]'] == ("leastconn", "roundrobin")
        assert paths["spec.ports[0].port"] == (80, 8080)
        # The real engine cannot apply over this port (server-side apply merges ports by number): the report says so.
        assert any("Duplicate value" in note for note in report["notes"])
        assert checkpoint(local_dir) == before  # a preview: the refresh is never written
        code, text, _ = drift(deployed, capsys, "text")
        assert code == 2 and "stack file: leastconn  live: roundrobin" in text
        code, markdown, _ = drift(deployed, capsys, "markdown")
        assert (
            markdown.startswith("<!-- kapsule-drift:local -->")
            and "`roundrobin`" in markdown
            and "pulumi up --stack local" in markdown
        )
    finally:
        api.patch_namespaced_service("web", "apps", [{"op": "replace", "path": "/spec/ports/0/port", "value": 80}])
        driver.up("local", root=deployed, on_output=lambda _: None)
    code, out, _ = drift(deployed, capsys)
    assert code == 0 and json.loads(out)["resources"] == []


def test_a_secrets_data_changed_live_is_drift_and_its_value_is_masked(deployed, edited, cluster, capsys):
    import base64

    from tests.e2e.test_shared_registry import REFERENCE, registry_stack

    api = kubernetes_client(cluster)
    registry = registry_stack("drift-key-77a1")
    registry.up(on_output=lambda _: None, color="never")
    try:
        edited(
            lambda c: c.update(
                {"kapsule:shared_registry": {"stack_reference": REFERENCE, "pull_secret_namespaces": ["apps"]}}
            )
        )
        driver.up("local", root=deployed, on_output=lambda _: None)
        planted = base64.b64encode(b'{"auths": {"rg.fr-par.scw.cloud": {"password": "planted-c0ffee"}}}').decode()
        api.patch_namespaced_secret("scaleway-registry", "apps", {"data": {".dockerconfigjson": planted}})
        code, out, err = drift(deployed, capsys)
        assert code == 2, err
        report = json.loads(out)
        secret = next(r for r in report["resources"] if r["type"] == "kubernetes:core/v1:Secret")
        assert any(p["path"].startswith("data") for p in secret["paths"])
        assert all(
            p["declared"] in ("[secret]", None) and p["live"] in ("[secret]", None)
            for p in secret["paths"]
            if p["path"].startswith("data")
        )
        for format in ("text", "markdown", "json"):
            _, shown, shown_err = drift(deployed, capsys, format)
            assert (
                "planted-c0ffee" not in shown + shown_err
                and planted not in shown + shown_err
                and "drift-key-77a1" not in shown + shown_err
            )
    finally:
        edited(lambda c: None)
        driver.up("local", root=deployed, on_output=lambda _: None)
        registry.workspace.remove_stack("registry", force=True)


def test_with_the_local_api_stopped_drift_is_an_error_then_none_once_it_is_back(deployed, cluster, capsys):
    """kube-apiserver stopped (etcd and the rest still up): the engine cannot refresh, and drift exits 1 with its
    error, never 0. Started again on its own port, the same stack has no drift."""
    from kapsule.engine.processes import stop_process

    stop_process(next(s for s in cluster.servers if s.name == "kube-apiserver").pid)
    try:
        code, out, err = drift(deployed, capsys)
    finally:
        cluster.restart("kube-apiserver")
    assert code == 1 and out == ""
    assert "could not read stack local live" in err
    assert drift(deployed, capsys)[0] == 0


def test_unmanaged_reads_the_kubernetes_side_from_the_real_api_server(cluster):
    """`unmanaged_findings` itself, with the Services and PersistentVolumes of the real kube-apiserver and the
    Scaleway side from the API's list responses (tests/test_drift.py): a load balancer named for a live
    Service's UID is backed, the other is not; the PV of this cluster shows its CSI prefix and backs its volume."""
    import dataclasses

    from kubernetes import client, config

    from kapsule.engine.drift import unmanaged_findings
    from tests.test_drift import CLUSTER_ID, csi_volumes, scaleway_side

    core = client.CoreV1Api(config.new_client_from_config(config_file=str(cluster.kubeconfig)))
    core.create_namespace({"metadata": {"name": "orphans"}})
    try:
        service = core.create_namespaced_service(
            "orphans", {"metadata": {"name": "shop"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
        )
        core.create_persistent_volume(
            {
                "metadata": {"name": "pvc-6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a"},
                "spec": {
                    "capacity": {"storage": "10Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "csi": {
                        "driver": "csi.scaleway.com",
                        "volumeHandle": "fr-par-1/0c5f7a6e-4b8d-4f2c-9e95-5d6b7a8f9e04",
                    },
                },
            }
        )
        lbs, _ = scaleway_side()
        lbs[0] = dataclasses.replace(lbs[0], name=f"0c4e2f1a-7b3d-4e5f-8a9b-1c2d3e4f5a6b_{service.metadata.uid}")
        notes, count = unmanaged_findings(
            CLUSTER_ID, "fr-par", cluster.kubeconfig.read_text(), scaleway=(lbs, csi_volumes())
        )
        # api's load balancer (its Service is not here), the free 50 GB volume and the one of unknown IOPS.
        assert count == 3
        assert "7f2c4d3b-1e5a-4c9f-8b62-2a3e4d5c6b71" in notes[0] and "9b4e6f5d-3a7c-4e1b-8d84-4c5a6f7e8d93" in notes[1]
        assert not any("0c5f7a6e-4b8d-4f2c-9e95-5d6b7a8f9e04" in note for note in notes)
    finally:
        core.delete_persistent_volume("pvc-6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a")
        core.delete_namespace("orphans")
