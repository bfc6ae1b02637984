"""Pull secrets from a registry that lives in another stack: the cluster stack exports its read-only pull
credentials (`registry.export_pull_config`), a platform stack makes its `scaleway-registry` Secrets from them
(`shared_registry`) through a StackReference. Validation of every refused combination, what each side
registers and exports, that the credentials stay sealed, and the offline plan of the documented split of the
real `kubernetes` export in which the registry stays in the cluster stack."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from components.registry import docker_config
from kapsule.names import SECRET_PLACEHOLDER
from kapsule.plan.render import render
from kapsule.plan.stack import plan_stack
from kapsule.reports.plan import format_json, format_markdown, format_text
from kapsule.resources.model import Secret, Unknown
from kapsule.stackfile.messages import StackConfigError
from kapsule.state.reading import read_state
from tests.conftest import encode
from tests.test_engine_records import as_recorded, project_for
from tests.test_platform_stack import (
    ENGK,
    KUBERNETES,
    KUBERNETES_OBJECTS,
    REFERENCE,
    References,
    _stack_file,
    left_behind,
    moved,
    platform_config,
    problems,
)

PULL_CONFIG = docker_config("rg.fr-par.scw.cloud", "pull-secret-key-0123")
SECRET = "kubernetes:core/v1:Secret"


class Reads(References):
    """The referenced stacks' recorded outputs, counting each StackReference the program reads."""

    def __init__(self, outputs):
        super().__init__(outputs)
        self.read: list[str] = []

    def stack_outputs(self, reference):
        self.read.append(reference)
        return super().stack_outputs(reference)


def shared_config(**shared) -> dict:
    """The record's platform stack with its registry left in the cluster stack, pulling through shared_registry."""
    config = platform_config()
    config.pop("kapsule:registry")
    config["kapsule:shared_registry"] = shared or {"pull_secret_namespaces": ["apps"]}
    return config


def cluster_config(**registry) -> dict:
    """The record's stack as a cluster stack: no Kubernetes layer, its registry exporting the pull credentials."""
    config = yaml.safe_load((KUBERNETES / "Pulumi.engk.yaml").read_text())["config"]
    for key in ("kapsule:namespaces", "kapsule:services"):
        config.pop(key)
    config["kapsule:registry"] = {"name": "kapsule-engk-images", "export_pull_config": True, **registry}
    return config


#: Each refused shared registry: the change to a valid one, and the words of its one error.
REFUSED = {
    "no-reference": (
        lambda c: c.update({"kapsule:existing_cluster": {"kubeconfig_file": "/k"}}),
        "kapsule:shared_registry.stack_reference: is required: name the stack that declares the registry with export_pull_config: true",
    ),
    "bad-reference": (
        lambda c: c["kapsule:shared_registry"].update(stack_reference="a b"),
        "kapsule:shared_registry.stack_reference: 'a b' is not a stack reference",
    ),
    "no-namespace": (
        lambda c: c["kapsule:shared_registry"].update(pull_secret_namespaces=[]),
        "kapsule:shared_registry.pull_secret_namespaces: list should have at least 1 item",
    ),
    "twice": (
        lambda c: c["kapsule:shared_registry"].update(pull_secret_namespaces=["apps", "apps"]),
        "kapsule:shared_registry.pull_secret_namespaces: lists a namespace twice",
    ),
    "undeclared-namespace": (
        lambda c: c["kapsule:shared_registry"].update(pull_secret_namespaces=["shop"]),
        "kapsule:shared_registry.pull_secret_namespaces[0]: 'shop' is not created by this stack; add it to namespaces",
    ),
    "bad-output": (
        lambda c: c["kapsule:shared_registry"].update(output="no-dashes"),
        "kapsule:shared_registry.output: string should match pattern",
    ),
    "unknown-key": (lambda c: c["kapsule:shared_registry"].update(token="x"), "kapsule:shared_registry.token"),
    "overlap": (
        lambda c: c.update({"kapsule:registry": {"name": "own-images", "pull_secret_namespaces": ["apps"]}}),
        "kapsule:shared_registry.pull_secret_namespaces[0]: 'apps' already gets the Secret scaleway-registry from registry.pull_secret_namespaces",
    ),
    "public-export": (
        lambda c: c.update({"kapsule:registry": {"name": "own-images", "is_public": True, "export_pull_config": True}}),
        "kapsule:registry.export_pull_config: a public namespace needs no pull credentials",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_refused_shared_registry_is_one_clear_error(case):
    edit, words = REFUSED[case]
    config = shared_config()
    edit(config)
    assert words in problems(config)


def test_a_platform_stack_pulls_with_the_cluster_stacks_credentials_and_no_scaleway_key():
    reads = Reads({REFERENCE: {"kubeconfig": Secret("kc"), "registry_pull_config": Secret(PULL_CONFIG)}})
    rendering = render("apps", encode(shared_config()), baseline=reads)
    assert not [
        r.type
        for r in rendering.resources
        if r.type.startswith("scaleway:") and r.type != "scaleway:loadbalancers/ip:Ip"
    ]
    secret = rendering.one(SECRET)
    assert (
        secret.urn
        == "urn:pulumi:apps::kapsule::kapsule:registry:SharedRegistryPullSecret$kubernetes:core/v1:Secret::registry-pull-apps"
    )
    assert secret.inputs["type"] == "kubernetes.io/dockerconfigjson" and secret.inputs["metadata"] == {
        "name": "scaleway-registry",
        "namespace": "apps",
    }
    assert secret.inputs["stringData"] == Secret({".dockerconfigjson": PULL_CONFIG})
    assert secret.provider.endswith("cluster-kubernetes")
    assert any(alias.no_parent for alias in secret.aliases), "a Secret moved out of a single stack lands at the root"
    namespace = rendering.one("kubernetes:core/v1:Namespace")
    assert namespace.urn in secret.depends_on
    # The existing cluster's StackReference is read once for both outputs.
    assert reads.read == [REFERENCE]


def test_a_registry_in_a_third_stack_is_read_through_its_own_reference():
    config = shared_config(
        pull_secret_namespaces=["apps"], stack_reference="organization/registry/prod", output="pull_config"
    )
    outputs = {
        REFERENCE: {"kubeconfig": Secret("kc")},
        "organization/registry/prod": {"pull_config": Secret(PULL_CONFIG)},
    }
    reads = Reads(outputs)
    rendering = render("apps", encode(config), baseline=reads)
    assert sorted(reads.read) == ["organization/kapsule/engk", "organization/registry/prod"]
    assert rendering.one(SECRET).inputs["stringData"] == Secret({".dockerconfigjson": PULL_CONFIG})
    # With a file kubeconfig, the registry's stack is the only reference.
    config["kapsule:existing_cluster"] = {"kubeconfig_file": str(KUBERNETES / "Pulumi.engk.yaml")}
    reads = Reads(outputs)
    render("apps", encode(config), baseline=reads)
    assert reads.read == ["organization/registry/prod"]


def test_the_credentials_are_unknown_until_the_cluster_stacks_update_and_sealed_in_every_report(tmp_path):
    unknown = render("apps", encode(shared_config()), baseline=References({})).one(SECRET).inputs["stringData"]
    assert isinstance(unknown, Secret) and isinstance(unknown.value, Unknown)
    root = project_for(tmp_path, "apps", _stack_file(tmp_path, shared_config()))
    plan = plan_stack("apps", root, None, {REFERENCE: None})
    assert plan.notes[-1] == (
        f"the registry's pull credentials come from stack {REFERENCE} (output registry_pull_config): its recorded "
        "outputs were not given, so they are known after that stack's update"
    )
    # The other stack's state exported with --show-secrets: the key is in it in clear, and in no report.
    source, _ = split_with_the_registry_left_behind(tmp_path)
    exported = json.loads(source.read_text())
    stack = next(r for r in exported["deployment"]["resources"] if r["type"] == "pulumi:pulumi:Stack")
    stack["outputs"]["registry_pull_config"] = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "plaintext": json.dumps(PULL_CONFIG),
    }
    source.write_text(json.dumps(exported))
    known = plan_stack("apps", root, None, {REFERENCE: read_state(source, stack="engk")})
    secret = next(c for c in known.changes if c.resource.type == SECRET)
    assert secret.resource.inputs["stringData"] == Secret(
        {".dockerconfigjson": PULL_CONFIG}
    )  # the plan did read the key
    assert "pull-secret-key" not in format_text(known) + format_json([known]) + format_markdown([known])


def test_a_cluster_stack_exports_its_pull_credentials_as_a_secret_and_makes_no_kubernetes_object():
    rendering = render("engk", encode(cluster_config()), preview=False)
    assert not [r for r in rendering.resources if r.type.startswith(("kubernetes:", "pulumi:providers:kubernetes"))]
    assert {"scaleway:iam/application:Application", "scaleway:iam/policy:Policy", "scaleway:iam/apiKey:ApiKey"} <= {
        r.type for r in rendering.resources
    }
    exported = rendering.outputs["registry_pull_config"]
    assert isinstance(exported, Secret)
    document = json.loads(exported.value)
    (server,) = document["auths"]
    entry = document["auths"][server]
    assert server == "rg.fr-par.scw.cloud" and entry["username"] == "nologin"
    assert base64.b64decode(entry["auth"]).decode() == f"nologin:{entry['password']}"
    assert (
        "registry_pull_config"
        not in render("engk", encode(cluster_config(export_pull_config=False)), preview=False).outputs
    )


def test_a_combined_stack_shares_one_key_between_its_secrets_and_its_export():
    config = cluster_config(pull_secret_namespaces=["apps"])
    config["kapsule:namespaces"] = ["apps"]
    rendering = render("engk", encode(config), preview=False)
    assert len([r for r in rendering.resources if r.type == "scaleway:iam/apiKey:ApiKey"]) == 1
    secret = rendering.one(SECRET)
    assert Secret(secret.inputs["stringData"].value[".dockerconfigjson"]) == rendering.outputs["registry_pull_config"]
    # The Secret waits for its namespace: a component's dependencies are not its children's unless handed down.
    assert rendering.one("kubernetes:core/v1:Namespace").urn in secret.depends_on


def split_with_the_registry_left_behind(tmp_path):
    """The documented split (docs/stacks.md) of the `kubernetes` record's stack when the registry stays in the
    cluster stack: the namespace, the Services and the pull Secret move; the IAM key stays."""
    export = json.loads((KUBERNETES / "export.json").read_text())
    top = [
        *KUBERNETES_OBJECTS,
        ENGK + "kapsule:registry:RegistryPullSecret$kubernetes:core/v1:Secret::registry-pull-apps",
    ]
    source, dest = tmp_path / "engk.json", tmp_path / "apps.json"
    source.write_text(json.dumps(left_behind(export, top)))
    dest.write_text(json.dumps(moved(export, top, "apps")))
    return source, dest


def test_the_split_with_the_registry_in_the_cluster_stack_plans_no_change_to_anything_moved_or_kept(tmp_path):
    source, dest = split_with_the_registry_left_behind(tmp_path)
    cluster_root = project_for(tmp_path / "cluster", "engk", _stack_file(tmp_path, cluster_config()))
    cluster_plan = plan_stack("engk", cluster_root, read_state(source, stack="engk"))
    changed = {urn: action for urn, action in as_recorded(cluster_plan).items() if action != "same"}
    # The copied Kubernetes provider goes (it deletes nothing live); the IAM key and its policy stay as they are.
    assert changed == {
        "urn:pulumi:engk::kapsule::kapsule:cluster:Cluster$pulumi:providers:kubernetes::cluster-kubernetes": "delete"
    }
    assert isinstance(cluster_plan.output_changes["registry_pull_config"][1], Secret)

    # The cluster stack's export after its update: the new output recorded as the engine records a secret.
    exported = json.loads(source.read_text())
    stack = next(r for r in exported["deployment"]["resources"] if r["type"] == "pulumi:pulumi:Stack")
    stack["outputs"]["registry_pull_config"] = dict(stack["outputs"]["kubeconfig"])
    source.write_text(json.dumps(exported))

    platform_root = project_for(tmp_path / "platform", "apps", _stack_file(tmp_path, shared_config()))
    cluster_state = read_state(source, stack="engk")
    plan = plan_stack("apps", platform_root, read_state(dest, stack="apps"), {REFERENCE: cluster_state})
    changed = {urn: action for urn, action in as_recorded(plan).items() if action != "same"}
    assert changed == {
        "urn:pulumi:apps::kapsule::kapsule:existing_cluster:ExistingCluster::cluster": "create",
        "urn:pulumi:apps::kapsule::kapsule:registry:SharedRegistryPullSecret::registry-pull": "create",
    }
    secret = next(c for c in plan.changes if c.resource.type == SECRET)
    assert (
        secret.resource.urn.endswith("SharedRegistryPullSecret$kubernetes:core/v1:Secret::registry-pull-apps")
        and secret.action == "same"
    )
    # Both are read from the cluster stack's state, where they are ciphertext: that stack may have rotated
    # them since, so the plan says they may change, never that they are unchanged.
    assert secret.uncertain == ["data"]
    assert next(c for c in plan.changes if c.resource.type == "pulumi:providers:kubernetes").uncertain == ["kubeconfig"]
    assert (
        plan.notes[-1]
        == f"the registry's pull credentials come from stack {REFERENCE} (output registry_pull_config), as recorded in {cluster_state.source}"
    )


def test_a_cluster_stack_that_does_not_export_the_credentials_yet_is_one_clear_error(tmp_path):
    source, dest = split_with_the_registry_left_behind(tmp_path)
    root = project_for(tmp_path, "apps", _stack_file(tmp_path, shared_config()))
    with pytest.raises(StackConfigError) as raised:
        plan_stack("apps", root, read_state(dest, stack="apps"), {REFERENCE: read_state(source, stack="engk")})
    message = str(raised.value)
    assert "kapsule:shared_registry.output" in message and "has no output 'registry_pull_config'" in message
    assert "set kapsule:registry.export_pull_config: true in that stack and update it first" in message
    assert SECRET_PLACEHOLDER not in message and "ciphertext" not in message


def test_an_empty_output_of_the_other_stack_stops_the_program_naming_it(tmp_path):
    """What the engine hands over when it cannot decrypt the other stack's secrets: empty values."""
    error = render(
        "apps",
        encode(shared_config()),
        baseline=References({REFERENCE: {"kubeconfig": Secret(""), "registry_pull_config": Secret("")}}),
        check=False,
    ).error
    assert (
        error is not None
        and "is empty here" in str(error)
        and "give both stacks the same PULUMI_CONFIG_PASSPHRASE" in str(error)
    )
    assert f"stack {REFERENCE}'s output" in str(error)
    source, dest = split_with_the_registry_left_behind(tmp_path)
    exported = json.loads(source.read_text())
    stack = next(r for r in exported["deployment"]["resources"] if r["type"] == "pulumi:pulumi:Stack")
    stack["outputs"]["registry_pull_config"] = ""
    source.write_text(json.dumps(exported))
    root = project_for(tmp_path, "apps", _stack_file(tmp_path, shared_config()))
    with pytest.raises(StackConfigError) as raised:
        plan_stack("apps", root, read_state(dest, stack="apps"), {REFERENCE: read_state(source, stack="engk")})
    assert "kapsule:shared_registry.output: stack organization/kapsule/engk" in str(
        raised.value
    ) and "exports 'registry_pull_config' empty" in str(raised.value)


def test_a_wrong_type_under_a_read_key_is_reported_before_what_the_other_stack_lacks(tmp_path):
    source, dest = split_with_the_registry_left_behind(tmp_path)
    root = project_for(tmp_path, "apps", _stack_file(tmp_path, shared_config(pull_secret_namespaces="apps")))
    with pytest.raises(StackConfigError) as raised:
        plan_stack("apps", root, read_state(dest, stack="apps"), {REFERENCE: read_state(source, stack="engk")})
    assert raised.value.problems == [
        ("kapsule:shared_registry.pull_secret_namespaces", "input should be a valid list (got 'apps')")
    ]
