"""Pull Secrets made from another stack's credentials, through a real StackReference in the real engine.

The other stack here is a stack of this project in the same local backend whose program exports only what a
cluster stack with `registry.export_pull_config: true` exports: `registry_pull_config`, a secret, built by
the same `docker_config` from an API key. Its Scaleway half (the IAM application and key) needs the Scaleway
provider plugin, which cannot be built here; everything from the export on is the real engine, the real
Kubernetes provider and a real kube-apiserver.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.registry import docker_config
from kapsule.engine import driver
from kapsule.names import PROJECT

REGISTRY_STACK = "registry"
REFERENCE = f"organization/{PROJECT}/{REGISTRY_STACK}"
SECRET_URN = (
    "urn:pulumi:local::kapsule::kapsule:registry:SharedRegistryPullSecret$kubernetes:core/v1:Secret::registry-pull-apps"
)


def registry_stack(key: str, kubeconfig: Path | None = None) -> Any:
    """The exporting stack, selected or created in the local backend, exporting credentials made from `key`,
    and with `kubeconfig` that file's text as the secret output `kubeconfig`, as a cluster stack exports it."""
    from pulumi import automation as auto

    def program() -> None:
        pulumi.export("registry_pull_config", pulumi.Output.secret(docker_config("rg.fr-par.scw.cloud", key)))
        if kubeconfig is not None:
            pulumi.export("kubeconfig", pulumi.Output.secret(kubeconfig.read_text()))

    env = driver.environment(driver.LOCAL_STACK)
    options = auto.LocalWorkspaceOptions(
        pulumi_home=str(driver.PULUMI_HOME),
        env_vars=env,
        pulumi_command=auto.PulumiCommand(root=str(driver.TOOLS), skip_version_check=True),
        project_settings=auto.ProjectSettings(name=PROJECT, runtime="python"),
    )
    return auto.create_or_select_stack(stack_name=REGISTRY_STACK, project_name=PROJECT, program=program, opts=options)


def live_password(api: Any, namespace: str = "apps") -> str:
    secret = api.read_namespaced_secret("scaleway-registry", namespace)
    assert secret.type == "kubernetes.io/dockerconfigjson"
    document = json.loads(base64.b64decode(secret.data[".dockerconfigjson"]))
    return document["auths"]["rg.fr-par.scw.cloud"]["password"]


def steps(project: Path) -> dict[str, str]:
    from tests.e2e.test_local_stack import engine_steps

    return engine_steps(project)


def test_pull_secrets_come_from_the_other_stacks_export_and_follow_its_rotation(deployed, edited, cluster, local_dir):
    """The engine resolves `organization/kapsule/<stack>` in a file backend; the credentials reach the live
    Secrets and never the state in clear; a second preview is a no-op; after the other stack rotates the key,
    the engine's preview updates the Secrets in place and nothing else, `up` writes the new key, and the
    offline plan from both stacks' real exports says the Secrets may change and everything else is the same."""
    from kapsule.plan.stack import plan_stack
    from kapsule.state.reading import read_state
    from tests.e2e.conftest import base_config, kubernetes_client, write_stack
    from tests.test_engine_records import engine_only

    api = kubernetes_client(cluster)
    registry = registry_stack("first-key-8c1e")
    registry.up(on_output=lambda _: None, color="never")
    try:
        # `jobs` is created in the same update as its Secret (which declares it depends on it).
        edited(
            lambda c: (
                c["kapsule:namespaces"].append("jobs"),
                c.update(
                    {
                        "kapsule:shared_registry": {
                            "stack_reference": REFERENCE,
                            "pull_secret_namespaces": ["apps", "jobs"],
                        }
                    }
                ),
            )
        )
        driver.up("local", root=deployed, on_output=lambda _: None)
        assert live_password(api, "apps") == live_password(api, "jobs") == "first-key-8c1e"
        # No perpetual diff, and the key is nowhere in clear: not in the state files, not in the export.
        driver.preview("local", root=deployed, on_output=lambda _: None, expect_no_changes=True)
        export = driver.export("local", root=deployed)
        assert "first-key-8c1e" not in json.dumps(export)
        for path in (local_dir / "state").rglob("*"):
            if path.is_file():
                assert b"first-key-8c1e" not in path.read_bytes(), path

        # The key rotates in the other stack: the Secret is updated in place (enableSecretMutable), nothing else moves.
        registry = registry_stack("second-key-51d0")
        registry.up(on_output=lambda _: None, color="never")
        engine = steps(deployed)
        assert engine.pop(SECRET_URN) == engine.pop(SECRET_URN.replace("-apps", "-jobs")) == "update"
        # The StackReference is read on every run; the plan lists only what the program declares.
        # (The local stack's kubeconfig is a file, so the reference is the shared registry's own.)
        reads = [urn for urn, step in engine.items() if step == "read"]
        assert reads == [
            f"urn:pulumi:local::kapsule::kapsule:registry:SharedRegistryPullSecret$pulumi:pulumi:StackReference::{REFERENCE}"
        ]
        engine = {urn: step for urn, step in engine.items() if step != "read"}
        assert set(engine.values()) == {"same"}
        # The offline plan, from both stacks' real exports, cannot read the encrypted credentials: it says the
        # Secret may change (never that it is unchanged), and everything else as the engine does.
        (deployed / "local.json").write_text(json.dumps(export))
        other = local_dir / "registry.json"
        other.write_text(registry.workspace._run_pulumi_cmd_sync(["stack", "export", "--stack", REGISTRY_STACK]).stdout)
        plan = plan_stack(
            "local",
            deployed,
            read_state(deployed / "local.json", stack="local"),
            {REFERENCE: read_state(other, stack=REGISTRY_STACK)},
        )
        secrets = [change for change in plan.changes if change.resource.type == "kubernetes:core/v1:Secret"]
        assert len(secrets) == 2 and all(secret.uncertain for secret in secrets), secrets
        assert {c.resource.urn: c.action for c in plan.changes if c not in secrets} == {
            urn: "same" for urn in engine if not engine_only(urn)
        }
        driver.up("local", root=deployed, on_output=lambda _: None)
        assert live_password(api, "apps") == live_password(api, "jobs") == "second-key-51d0"
    finally:
        # Back to the base stack, deployed (the Secret goes), and the exporting stack removed.
        write_stack(deployed, base_config(cluster))
        driver.up("local", root=deployed, on_output=lambda _: None)
        registry.workspace.remove_stack(REGISTRY_STACK, force=True)


def test_a_platform_stack_reaches_its_cluster_and_its_credentials_through_one_stack_reference(
    deployed, cluster, local_dir, monkeypatch
):
    """The layout of docs/stacks.md on the real engine: a platform stack that names only
    `existing_cluster.stack_reference` and `shared_registry.pull_secret_namespaces` builds its Kubernetes provider
    from the other stack's secret `kubeconfig` output and its pull Secret from `registry_pull_config`, both read
    through the one StackReference. A kubeconfig file that is not there stops the program with one error at
    its key. Under another passphrase than the other stack's, the engine elides that
    stack's secrets, and the update stops with an error that says so before any Kubernetes object is made. The
    kubeconfig's token is in no state file and no export; a second preview is a no-op; destroy takes
    everything away."""
    import yaml
    from pulumi.automation.errors import CommandError

    from tests.e2e.conftest import kubernetes_client

    api = kubernetes_client(cluster)
    token = (
        next(line for line in cluster.kubeconfig.read_text().splitlines() if "token:" in line)
        .split("token:")[1]
        .strip()
    )
    monkeypatch.setenv("PULUMI_BACKEND_URL", driver.environment(driver.LOCAL_STACK)["PULUMI_BACKEND_URL"])
    (deployed / "policy" / "config" / "apps.json").write_text(
        (deployed / "policy" / "config" / "local.json").read_text()
    )
    config = {
        "kapsule:region": "fr-par",
        "kapsule:tags": {"env": "e2e", "owner": "apps"},
        "kapsule:existing_cluster": {"stack_reference": REFERENCE},
        "kapsule:namespaces": ["shop"],
        "kapsule:shared_registry": {"pull_secret_namespaces": ["shop"]},
        "kapsule:services": {
            "shop": {
                "namespace": "shop",
                "await_until": "nothing",
                "selector": {"app": "shop"},
                "ports": [{"name": "https", "port": 443, "target_port": 8443}],
                "source_ranges": ["10.0.0.0/8"],
            }
        },
    }
    # A kubeconfig file that is not there: the program stops at once, naming the key, without a traceback.
    missing = {
        **config,
        "kapsule:existing_cluster": {"kubeconfig_file": str(local_dir / "no-such-kubeconfig")},
        "kapsule:shared_registry": {"stack_reference": REFERENCE, "pull_secret_namespaces": ["shop"]},
    }
    (deployed / "stacks" / "Pulumi.apps.yaml").write_text(yaml.safe_dump({"config": missing}))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", driver.LOCAL_PASSPHRASE)
    with pytest.raises(CommandError) as refused:
        driver.preview("apps", root=deployed, on_output=lambda _: None, refresh=False)
    assert "kapsule:existing_cluster.kubeconfig_file: kubeconfig_file" in str(
        refused.value
    ) and "does not exist" in str(refused.value)
    assert "Traceback" not in str(refused.value), str(refused.value)
    driver.workspace_stack("apps", root=deployed).workspace.remove_stack("apps", force=True)
    (deployed / "stacks" / "Pulumi.apps.yaml").write_text(yaml.safe_dump({"config": config}))
    registry = registry_stack("apps-key-7f3a", kubeconfig=cluster.kubeconfig)
    registry.up(on_output=lambda _: None, color="never")
    try:
        # Another passphrase than the other stack's: the engine cannot decrypt its secrets and elides them.
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "not-the-other-stacks")
        with pytest.raises(CommandError) as refused:
            driver.up("apps", root=deployed, on_output=lambda _: None)
        said = str(refused.value)
        assert "eliding undecryptable secrets" in said
        # Both outputs are elided; whichever the program reads first stops it.
        assert any(
            f"stack {REFERENCE}'s output '{output}' is empty here" in said
            for output in ("kubeconfig", "registry_pull_config")
        ), said
        assert "give both stacks the same PULUMI_CONFIG_PASSPHRASE" in said and "Traceback" not in said
        assert "shop" not in [n.metadata.name for n in api.list_namespace().items]
        driver.workspace_stack("apps", root=deployed).workspace.remove_stack("apps", force=True)
        (deployed / "stacks" / "Pulumi.apps.yaml").write_text(yaml.safe_dump({"config": config}))
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", driver.LOCAL_PASSPHRASE)
        driver.up("apps", root=deployed, on_output=lambda _: None)
        assert live_password(api, "shop") == "apps-key-7f3a"
        assert api.read_namespaced_service("shop", "shop").spec.type == "LoadBalancer"
        export = driver.export("apps", root=deployed)
        resources = {r["urn"].split("::")[-1]: r for r in export["deployment"]["resources"]}
        provider = resources["cluster-kubernetes"]
        assert set(provider["inputs"]["kubeconfig"]) == {"4dabf18193072939515e22adb298388d", "ciphertext"}, (
            "the kubeconfig reaches the provider as a secret"
        )
        # One StackReference, the existing cluster's, read for both outputs.
        assert [urn for urn in resources if urn.startswith("organization/")] == [REFERENCE]
        for text in (
            json.dumps(export),
            *(p.read_bytes().decode(errors="replace") for p in (local_dir / "state").rglob("*") if p.is_file()),
        ):
            assert token not in text and "apps-key-7f3a" not in text
        driver.preview("apps", root=deployed, on_output=lambda _: None, expect_no_changes=True)
    finally:
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", driver.LOCAL_PASSPHRASE)
        driver.destroy("apps", root=deployed, on_output=lambda _: None)
        driver.workspace_stack("apps", root=deployed).workspace.remove_stack("apps", force=True)
        registry.workspace.remove_stack(REGISTRY_STACK, force=True)
    assert "shop" not in [n.metadata.name for n in api.list_namespace().items]
