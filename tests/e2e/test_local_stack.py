"""The local platform stack through the real engine: what `pulumi up` and `pulumi preview` do, compared with
what the engine says, never with what the program rendered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kapsule.engine import driver

SERVICE = "kubernetes:core/v1:Service"


def engine_steps(project: Path, **options: Any) -> dict[str, str]:
    """Every resource's step in a real `pulumi preview`, from the engine's own events (URN -> op)."""
    steps: dict[str, str] = {}

    def on_event(event: Any) -> None:
        pre = event.resource_pre_event
        if pre is not None:
            op = pre.metadata.op.value if hasattr(pre.metadata.op, "value") else str(pre.metadata.op)
            steps[pre.metadata.urn] = {
                "create-replacement": "replace",
                "delete-replaced": "replace",
                "replace": "replace",
            }.get(op, op)

    stack = driver.workspace_stack("local", root=project)
    stack.preview(
        on_output=lambda _: None, on_event=on_event, refresh=False, color="never", **driver.policy("local", project)
    )
    return steps


def test_a_second_preview_after_up_changes_nothing(deployed):
    """No perpetual diff: the engine's preview right after `up`, refreshing from the live API, is all `same`."""
    result = driver.preview("local", root=deployed, on_output=lambda _: None, expect_no_changes=True)
    assert set(result.change_summary) == {"same"} and result.change_summary["same"] == 8


def test_a_change_behind_the_engines_back_shows_in_a_refreshing_preview(deployed, cluster):
    """An annotation and a label changed through the Kubernetes API, as `kubectl annotate` would: the preview
    with `--refresh` shows both; `up` puts back the annotation the stack file declares."""
    from tests.e2e.conftest import kubernetes_client

    api = kubernetes_client(cluster)
    key = "service.beta.kubernetes.io/scw-loadbalancer-forward-port-algorithm"
    patch = {"metadata": {"annotations": {key: "first"}, "labels": {"team": "someone-else"}}}
    api.patch_namespaced_service("web", "apps", patch)
    try:
        lines: list[str] = []
        result = driver.preview("local", root=deployed, on_output=lines.append, refresh=True)
        assert result.change_summary.get("update") == 1, result.change_summary
        text = "".join(lines)
        assert key in text and "first" in text and "leastconn" in text
        assert "team" in text
    finally:
        driver.up("local", root=deployed, on_output=lambda _: None)
    live = api.read_namespaced_service("web", "apps")
    assert live.metadata.annotations[key] == "leastconn"  # declared by the stack file: put back
    # Not declared by the stack file: server-side apply leaves a field another manager owns (README, "drift").
    assert live.metadata.labels["team"] == "someone-else"


def test_a_field_another_manager_took_is_taken_back_by_up(deployed, cluster):
    """Server-side apply with another field manager (as `kubectl annotate` writes) made every later `up` fail
    with a field conflict; `pulumi.com/patchForce` makes the stack file win."""
    from tests.e2e.conftest import kubernetes_client

    api = kubernetes_client(cluster)
    key = "service.beta.kubernetes.io/scw-loadbalancer-type"
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "api", "namespace": "apps", "annotations": {key: "LB-GP-L"}},
    }
    api.api_client.call_api(
        "/api/v1/namespaces/apps/services/api",
        "PATCH",
        query_params=[("fieldManager", "kubectl-annotate"), ("force", "true")],
        header_params={"Content-Type": "application/apply-patch+yaml"},
        body=body,
        response_type="object",
        auth_settings=["BearerToken"],
    )
    assert api.read_namespaced_service("api", "apps").metadata.annotations[key] == "LB-GP-L"
    driver.up("local", root=deployed, on_output=lambda _: None)
    assert api.read_namespaced_service("api", "apps").metadata.annotations[key] == "LB-S"


EDITS = {
    "annotation": lambda c: c["kapsule:services"]["web"]["load_balancer"].update(forward_port_algorithm="roundrobin"),
    "port-added": lambda c: c["kapsule:services"]["api"]["ports"].append(
        {"name": "http", "port": 80, "target_port": 8080}
    ),
    "service-removed": lambda c: c["kapsule:services"].pop("web"),
    "namespace-added": lambda c: c["kapsule:namespaces"].append("jobs"),
    "service-moved": lambda c: (
        c["kapsule:namespaces"].append("jobs"),
        c["kapsule:services"]["api"].update(namespace="jobs"),
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_the_offline_plan_takes_the_engines_step_for_every_resource(deployed, edited, edit):
    """Each edit previewed by the real engine, and planned offline (`kapsule plan --format json`) against the
    live stack's real `pulumi stack export`: the same action for every resource."""
    from kapsule.plan.stack import plan_stack
    from kapsule.reports.plan import format_json
    from kapsule.state.reading import read_state

    export = deployed / "local.json"
    export.write_text(json.dumps(driver.export("local", root=deployed)))
    edited(EDITS[edit])
    engine = engine_steps(deployed)
    plan = json.loads(format_json([plan_stack("local", deployed, read_state(export, stack="local"))]))[0]
    planned = {resource["urn"]: resource["action"] for resource in plan["resources"]}
    # The engine also steps its own Stack resource (`same`); the plan lists only what the program declares.
    stack_urn = next(urn for urn in engine if urn.endswith("pulumi:pulumi:Stack::kapsule-local"))
    assert engine.pop(stack_urn) == "same"
    assert planned == engine


def test_the_policy_pack_runs_in_the_cli(deployed, edited):
    """A mandatory violation fails the preview; an advisory one warns and the preview goes on. The local
    stack's policy config (policy/config/local.json) makes public load balancers without source ranges
    mandatory; the test sets it advisory, then back."""
    from pulumi.automation.errors import CommandError

    config = deployed / "policy" / "config" / "local.json"
    mandatory = config.read_text()
    edited(lambda c: c["kapsule:services"]["api"].pop("source_ranges"))
    with pytest.raises(CommandError) as failed:
        driver.preview("local", root=deployed, on_output=lambda _: None, refresh=False)
    assert "load-balancer-source-ranges" in str(failed.value) and "mandatory" in str(failed.value)
    try:
        config.write_text(json.dumps({"load-balancer-source-ranges": "advisory"}))
        lines: list[str] = []
        driver.preview("local", root=deployed, on_output=lines.append, refresh=False)
        assert "load-balancer-source-ranges" in "".join(lines) and "advisory" in "".join(lines)
    finally:
        config.write_text(mandatory)


def test_no_plaintext_kubeconfig_token_reaches_the_state_or_the_export(deployed, cluster, local_dir):
    token = (
        next(line for line in cluster.kubeconfig.read_text().splitlines() if "token:" in line)
        .split("token:")[1]
        .strip()
    )
    export = json.dumps(driver.export("local", root=deployed))
    assert token not in export and "ciphertext" in export
    for path in (local_dir / "state").rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    # The provider's own kubeconfig copies are gone once an operation ends (driver.scrub).
    driver.preview("local", root=deployed, on_output=lambda _: None)
    assert list(driver.PRIVATE_TMP.glob("kubeconfig*")) == []


def test_destroy_refuses_while_a_resource_is_protected(deployed, cluster):
    """The engine refuses to destroy a protected resource, and nothing is deleted. (With `--run-program`, as the
    driver destroys, protection comes from the program itself: this marks it in the state with `pulumi state
    protect`, and destroys from the state alone.)"""
    from pulumi.automation.errors import CommandError

    from tests.e2e.conftest import kubernetes_client

    stack = driver.workspace_stack("local", root=deployed)
    urn = next(
        r["urn"]
        for r in driver.export("local", root=deployed)["deployment"]["resources"]
        if r["type"] == "kubernetes:core/v1:Namespace"
    )
    stack._run_pulumi_cmd_sync(["state", "protect", urn, "--yes", "--stack", "local"])
    try:
        with pytest.raises(CommandError) as refused:
            stack.destroy(on_output=lambda _: None, color="never")
        assert "protected" in str(refused.value)
        assert any(r["urn"] == urn for r in driver.export("local", root=deployed)["deployment"]["resources"])
        assert kubernetes_client(cluster).read_namespace("apps").metadata.name == "apps"
    finally:
        stack._run_pulumi_cmd_sync(["state", "unprotect", urn, "--yes", "--stack", "local"])
    driver.destroy("local", root=deployed, on_output=lambda _: None)
    assert [
        r
        for r in driver.export("local", root=deployed)["deployment"].get("resources", [])
        if r["type"].startswith("kubernetes:core")
    ] == []
