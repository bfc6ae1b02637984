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

from components.registry import docker_config
from kapsule.engine import driver
from kapsule.names import PROJECT

REGISTRY_STACK = "registry"
REFERENCE = f"organization/{PROJECT}/{REGISTRY_STACK}"
SECRET_URN = "urn:pulumi:local::kapsule::kapsule:registry:SharedRegistryPullSecret$kubernetes:core/v1:Secret::registry-pull-apps"


def registry_stack(key: str) -> Any:
    """The exporting stack, selected or created in the local backend, exporting credentials made from `key`."""
    from pulumi import automation as auto

    def program() -> None:
        pulumi.export("registry_pull_config", pulumi.Output.secret(docker_config("rg.fr-par.scw.cloud", key)))

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
    from kapsule.plan import plan_stack
    from kapsule.state import read_state
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
                c.update({"kapsule:shared_registry": {"stack_reference": REFERENCE, "pull_secret_namespaces": ["apps", "jobs"]}}),
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
        assert reads == [f"urn:pulumi:local::kapsule::kapsule:registry:SharedRegistryPullSecret$pulumi:pulumi:StackReference::{REFERENCE}"]
        engine = {urn: step for urn, step in engine.items() if step != "read"}
        assert set(engine.values()) == {"same"}
        # The offline plan, from both stacks' real exports, cannot read the encrypted credentials: it says the
        # Secret may change (never that it is unchanged), and everything else as the engine does.
        (deployed / "local.json").write_text(json.dumps(export))
        other = local_dir / "registry.json"
        other.write_text(registry.workspace._run_pulumi_cmd_sync(["stack", "export", "--stack", REGISTRY_STACK]).stdout)
        plan = plan_stack("local", deployed, read_state(deployed / "local.json", stack="local"), {REFERENCE: read_state(other, stack=REGISTRY_STACK)})
        secrets = [change for change in plan.changes if change.resource.type == "kubernetes:core/v1:Secret"]
        assert len(secrets) == 2 and all(secret.uncertain for secret in secrets), secrets
        assert {c.resource.urn: c.action for c in plan.changes if c not in secrets} == {urn: "same" for urn in engine if not engine_only(urn)}
        driver.up("local", root=deployed, on_output=lambda _: None)
        assert live_password(api, "apps") == live_password(api, "jobs") == "second-key-51d0"
    finally:
        # Back to the base stack, deployed (the Secret goes), and the exporting stack removed.
        write_stack(deployed, base_config(cluster))
        driver.up("local", root=deployed, on_output=lambda _: None)
        registry.workspace.remove_stack(REGISTRY_STACK, force=True)
