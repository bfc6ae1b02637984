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
    return {p: p.read_bytes() for p in (local_dir / "state").rglob("*.json*") if p.is_file() and "backups" not in p.parts and "history" not in p.parts}


def test_an_annotation_and_a_port_changed_live_are_drift_with_both_paths_and_nothing_is_written(deployed, cluster, local_dir, capsys):
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
        assert markdown.startswith("<!-- kapsule-drift:local -->") and "`roundrobin`" in markdown and "pulumi up --stack local" in markdown
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
        edited(lambda c: c.update({"kapsule:shared_registry": {"stack_reference": REFERENCE, "pull_secret_namespaces": ["apps"]}}))
        driver.up("local", root=deployed, on_output=lambda _: None)
        planted = base64.b64encode(b'{"auths": {"rg.fr-par.scw.cloud": {"password": "planted-c0ffee"}}}').decode()
        api.patch_namespaced_secret("scaleway-registry", "apps", {"data": {".dockerconfigjson": planted}})
        code, out, err = drift(deployed, capsys)
        assert code == 2, err
        report = json.loads(out)
        secret = next(r for r in report["resources"] if r["type"] == "kubernetes:core/v1:Secret")
        assert any(p["path"].startswith("data") for p in secret["paths"])
        assert all(p["declared"] in ("[secret]", None) and p["live"] in ("[secret]", None) for p in secret["paths"] if p["path"].startswith("data"))
        for format in ("text", "markdown", "json"):
            _, shown, shown_err = drift(deployed, capsys, format)
            assert "planted-c0ffee" not in shown + shown_err and planted not in shown + shown_err and "drift-key-77a1" not in shown + shown_err
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
