"""Platform stacks (`kapsule:existing_cluster`): the Kubernetes layer of a cluster made elsewhere. Validation
of every refused combination, what the program registers, where the Kubernetes provider's kubeconfig comes
from and that it stays sealed, and the offline plan of a stack split out of the real `kubernetes` export the
way `pulumi state move` splits it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from kapsule.names import SECRET_PLACEHOLDER
from kapsule.plan.render import render
from kapsule.plan.stack import plan_stack
from kapsule.resources.model import Secret, Unknown
from kapsule.stackfile.messages import StackConfigError
from kapsule.state.reading import read_state
from tests.conftest import encode, render_stack
from tests.test_engine_records import RECORDS, as_recorded, project_for

KUBERNETES = RECORDS / "kubernetes"
REFERENCE = "organization/kapsule/engk"
KUBERNETES_LAYER = ("kapsule:registry", "kapsule:namespaces", "kapsule:ingress", "kapsule:services")
ENGK = "urn:pulumi:engk::kapsule::"
#: The `kubernetes` record's namespace and Services, as `pulumi state move` names them to move them.
KUBERNETES_OBJECTS = [
    ENGK + "kapsule:cluster:Cluster$kubernetes:core/v1:Namespace::namespace-apps",
    ENGK + "kapsule:load_balancer:LoadBalancerService::api",
    ENGK + "kapsule:load_balancer:LoadBalancerService::web",
]


def platform_config(**existing) -> dict:
    """The `kubernetes` record's stack as a platform stack: its Kubernetes layer (and registry) on a cluster made elsewhere."""
    document = yaml.safe_load((KUBERNETES / "Pulumi.engk.yaml").read_text())
    config = {
        key: value
        for key, value in document["config"].items()
        if key in ("kapsule:region", "kapsule:tags", *KUBERNETES_LAYER)
    }
    # The one `secure:` value (web's cookie name) as the engine hands it over: decrypted, here its placeholder.
    config["kapsule:services"]["web"]["load_balancer"]["sticky_sessions_cookie_name"] = SECRET_PLACEHOLDER
    config["kapsule:existing_cluster"] = existing or {"stack_reference": REFERENCE}
    return config


def problems(config: dict) -> str:
    rendering = render("apps", encode(config), check=False)
    assert isinstance(rendering.error, StackConfigError), repr(rendering.error)
    assert rendering.resources == []
    return str(rendering.error)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda c: c.update(
                {"kapsule:cluster": {"name": "x", "version": "1.35.2", "delete_additional_resources": True}}
            ),
            "kapsule:cluster: a platform stack (existing_cluster) manages no cluster",
        ),
        (
            lambda c: c.update({"kapsule:pools": {"default": {"node_type": "DEV1-M", "size": 1}}}),
            "kapsule:pools: a platform stack (existing_cluster) manages no pools",
        ),
        (
            lambda c: c.update({"kapsule:network": {}}),
            "kapsule:network: a platform stack (existing_cluster) manages no private network",
        ),
        (
            lambda c: c["kapsule:existing_cluster"].update(kubeconfig_file="/etc/kube"),
            "needs exactly one of stack_reference, kubeconfig (a secure: value) or kubeconfig_file; stack_reference and kubeconfig_file are given",
        ),
        (
            lambda c: c.update({"kapsule:existing_cluster": {}}),
            "needs exactly one of stack_reference, kubeconfig (a secure: value) or kubeconfig_file; none is given",
        ),
        (
            lambda c: c["kapsule:existing_cluster"].update(stack_reference="not a reference"),
            "is not a stack reference: write organization/project/stack",
        ),
        (
            lambda c: c.update({"kapsule:existing_cluster": {"kubeconfig_file": "/k", "output": "kc"}}),
            "kapsule:existing_cluster.output: names an output of the referenced stack; it needs stack_reference",
        ),
        (lambda c: c["kapsule:existing_cluster"].update(region="us-east"), "'us-east' is not a Kapsule region"),
        (
            lambda c: c.pop("kapsule:existing_cluster"),
            "kapsule:cluster: is required: declare the cluster and its pools here, or existing_cluster",
        ),
    ],
    ids=[
        "cluster",
        "pools",
        "network",
        "two-sources",
        "no-source",
        "bad-reference",
        "output-without-reference",
        "region",
        "neither",
    ],
)
def test_a_refused_combination_is_one_clear_error(edit, words):
    config = platform_config()
    edit(config)
    assert words in problems(config)


def test_a_platform_stack_registers_no_scaleway_resource_but_those_its_layer_asks_for():
    """No network, cluster or pool; a registry it declares and a reserved load balancer IP are its own."""
    config = platform_config()
    assert {r.type for r in render("apps", encode(config)).resources if r.type.startswith("scaleway:")} == {
        "scaleway:registry/namespace:Namespace",
        "scaleway:iam/application:Application",
        "scaleway:iam/policy:Policy",
        "scaleway:iam/apiKey:ApiKey",
        "scaleway:loadbalancers/ip:Ip",
    }
    config.pop("kapsule:registry")
    config["kapsule:services"]["api"]["load_balancer"]["reserve_ip"] = False
    rendering = render("apps", encode(config))
    types = {resource.type for resource in rendering.resources}
    assert not [t for t in types if t.startswith("scaleway:")], types
    assert {
        "kapsule:existing_cluster:ExistingCluster",
        "pulumi:providers:kubernetes",
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:Service",
    } <= types
    assert set(rendering.outputs) == {"region", "service_ips"}


class References:
    """A baseline that knows only the referenced stack's recorded outputs."""

    def __init__(self, outputs):
        self.outputs = outputs

    def answer(self, resource):
        return None

    def stack_outputs(self, reference):
        return self.outputs.get(reference)


def test_the_kubernetes_provider_is_built_from_the_referenced_stacks_secret_kubeconfig():
    config = platform_config()
    kubeconfig = "apiVersion: v1\nkind: Config\nusers: [{name: admin, user: {token: engk-token}}]\n"
    rendering = render("apps", encode(config), baseline=References({REFERENCE: {"kubeconfig": Secret(kubeconfig)}}))
    provider = rendering.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == Secret(kubeconfig)
    assert all(
        resource.provider.endswith("cluster-kubernetes")
        for resource in rendering.resources
        if resource.type.startswith("kubernetes:")
    )
    unknown = render("apps", encode(config), baseline=References({})).one("pulumi:providers:kubernetes")
    assert isinstance(unknown.inputs["kubeconfig"], Secret) and isinstance(unknown.inputs["kubeconfig"].value, Unknown)


def test_a_secure_or_file_kubeconfig_stays_sealed_and_is_never_printed(tmp_path):
    kubeconfig = "apiVersion: v1\nkind: Config\nusers: [{name: admin, user: {token: file-token-123}}]\n"
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig)
    from_file = render("apps", encode(platform_config(kubeconfig_file=str(path))))
    assert from_file.one("pulumi:providers:kubernetes").inputs["kubeconfig"] == Secret(kubeconfig)
    secure = platform_config(kubeconfig="placeholder")
    rendering = render("apps", encode(secure), secret_keys=["kapsule:existing_cluster"])
    sealed = rendering.one("pulumi:providers:kubernetes").inputs["kubeconfig"]
    assert isinstance(sealed, Secret)
    missing = platform_config(kubeconfig_file=str(tmp_path / "nope"))
    error = render("apps", encode(missing), check=False).error
    # Where the engine runs the program: one error at the key, as every stack file problem (never a traceback).
    assert isinstance(error, StackConfigError) and "file-token-123" not in str(error)
    assert (
        f"kapsule:existing_cluster.kubeconfig_file: kubeconfig_file '{tmp_path / 'nope'}' does not exist; give the path of a readable kubeconfig file"
        in str(error)
    )
    root = project_for(tmp_path / "plan", "apps", _stack_file(tmp_path, platform_config(kubeconfig_file=str(path))))
    from kapsule.reports.plan import format_json, format_markdown, format_text

    plan = plan_stack("apps", root, None)
    for output in (format_text(plan), format_json([plan]), format_markdown([plan])):
        assert "file-token-123" not in output
    assert any("the kubeconfig file" in note for note in plan.notes)


def _stack_file(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "Pulumi.apps.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def moved(export: dict, top_level: list[str], dest: str) -> dict:
    """`pulumi state move` of `top_level` resources (and their children) into a new stack `dest`, as its source
    does (pkg/cmd/pulumi/state/state_move.go, v3.274.1): a resource whose parent stays behind goes to the root
    of the destination and its URN is rebuilt from its new parent's type; the providers of moved resources are
    copied, the same way."""
    resources = export["deployment"]["resources"]
    by_urn = {r["urn"]: r for r in resources}
    chosen = {urn for urn in top_level}
    grew = True
    while grew:
        children = {r["urn"] for r in resources if r.get("parent") in chosen} - chosen
        grew = bool(children)
        chosen |= children
    providers = {r["provider"].rsplit("::", 1)[0] for r in resources if r["urn"] in chosen and r.get("provider")}
    root = f"urn:pulumi:{dest}::kapsule::pulumi:pulumi:Stack::kapsule-{dest}"
    rewritten: dict[str, str] = {}
    out = [{"urn": root, "custom": False, "type": "pulumi:pulumi:Stack"}]

    def qualified(urn: str) -> str:
        return urn.split("::")[2]

    order = [r for r in resources if r["urn"] in providers] + [r for r in resources if r["urn"] in chosen]
    for resource in order:
        copy_ = copy.deepcopy(resource)
        parent = rewritten.get(resource.get("parent", ""), root) if resource.get("parent") in chosen else root
        if resource["urn"] in providers and not resource.get("parent"):
            parent = root
        copy_["parent"] = parent
        name = resource["urn"].split("::", 3)[3]
        own = qualified(resource["urn"]).split("$")[-1]
        parent_type = qualified(parent)
        new = f"urn:pulumi:{dest}::kapsule::{own if parent_type == 'pulumi:pulumi:Stack' else parent_type + '$' + own}::{name}"
        rewritten[resource["urn"]] = new
        copy_["urn"] = new
        out.append(copy_)
    for resource in out:
        if resource.get("provider"):
            urn, ident = resource["provider"].rsplit("::", 1)
            resource["provider"] = f"{rewritten[urn]}::{ident}"
        # breakDependencies: a dependency on a resource that stays in the source is dropped.
        if "dependencies" in resource:
            resource["dependencies"] = [rewritten[urn] for urn in resource["dependencies"] if urn in rewritten]
        if "propertyDependencies" in resource:
            resource["propertyDependencies"] = {
                key: [rewritten[urn] for urn in urns if urn in rewritten]
                for key, urns in resource["propertyDependencies"].items()
            }
    assert len(by_urn) >= len(out) - 1
    return {"version": 3, "deployment": {**export["deployment"], "resources": out}}


def left_behind(export: dict, top_level: list[str]) -> dict:
    """The source stack after that move: the moved resources and their children are gone (providers, copied,
    stay), and what remains no longer depends on them (breakDependencies)."""
    resources = export["deployment"]["resources"]
    chosen = set(top_level)
    grew = True
    while grew:
        children = {r["urn"] for r in resources if r.get("parent") in chosen} - chosen
        grew = bool(children)
        chosen |= children
    out = []
    for resource in resources:
        if resource["urn"] in chosen:
            continue
        copy_ = copy.deepcopy(resource)
        if "dependencies" in copy_:
            copy_["dependencies"] = [urn for urn in copy_["dependencies"] if urn not in chosen]
        if "propertyDependencies" in copy_:
            copy_["propertyDependencies"] = {
                key: [u for u in urns if u not in chosen] for key, urns in copy_["propertyDependencies"].items()
            }
        out.append(copy_)
    return {"version": 3, "deployment": {**export["deployment"], "resources": out}}


def test_a_stack_split_by_state_move_plans_no_change_to_anything_it_moved(tmp_path):
    """The documented split (docs/stacks.md): move the Kubernetes layer and the registry of the `kubernetes`
    record's stack into a platform stack; planned against the moved state, nothing it moved changes."""
    export = json.loads((KUBERNETES / "export.json").read_text())
    top = [
        *KUBERNETES_OBJECTS,
        ENGK + "kapsule:registry:RegistryNamespace::registry",
        ENGK + "kapsule:registry:RegistryPullSecret::registry-pull",
    ]
    state_file = tmp_path / "apps.json"
    state_file.write_text(json.dumps(moved(export, top, "apps")))
    root = project_for(tmp_path, "apps", _stack_file(tmp_path, platform_config()))
    cluster_stack = read_state(KUBERNETES / "export.json", stack="engk")
    plan = plan_stack("apps", root, read_state(state_file, stack="apps"), {REFERENCE: cluster_stack})
    changed = [(urn, action) for urn, action in as_recorded(plan).items() if action != "same"]
    # Only the new component that holds the provider is created; it is no cloud resource.
    assert changed == [("urn:pulumi:apps::kapsule::kapsule:existing_cluster:ExistingCluster::cluster", "create")]
    assert not plan.destructive
    assert (
        len(plan.changes) == len(json.loads(state_file.read_text())["deployment"]["resources"]) - 2 + 1
    )  # less the stack and the copied default provider, plus the new component
    assert plan.notes == [
        f"the cluster comes from stack {REFERENCE}: its outputs (the kubeconfig among them) as recorded in {cluster_stack.source}"
    ]
    unknown = plan_stack("apps", root, read_state(state_file, stack="apps"), {REFERENCE: None})
    assert [action for action in as_recorded(unknown).values() if action != "same"] == ["create"]
    assert "known after the cluster stack's update" in unknown.notes[0]


def test_a_combined_stack_is_still_a_cluster_stack_with_a_kubernetes_layer():
    rendering = render_stack("dev")
    assert {"region", "kubeconfig", "cluster_id", "wildcard_dns", "registry_endpoint"} <= set(rendering.outputs)
    assert isinstance(rendering.outputs["kubeconfig"], Secret)
    assert SECRET_PLACEHOLDER not in json.dumps({k: v for k, v in rendering.outputs.items() if isinstance(v, str)})


def test_the_policy_pack_and_the_cost_report_judge_only_what_a_platform_stack_declares(tmp_path):
    """The production rules about pools, zones and the control plane are the cluster stack's to pass."""
    root = project_for(tmp_path, "apps", _stack_file(tmp_path, platform_config()))
    (root / "policy" / "config" / "apps.json").write_text(
        (Path(__file__).parent.parent / "policy" / "config" / "prod.json").read_text()
    )
    plan = plan_stack("apps", root, None)
    # Its own registry is its own to protect; nothing is said of pools or a control plane it does not have.
    assert plan.errors == [
        "stacks/Pulumi.apps.yaml: policy prod-protected: registry namespace registry is not protected (protect: true)"
    ]
    assert [w for w in plan.warnings if "policy" in w and "load-balancer" not in w] == []
    lines = {line.name: line for line in plan.cost.after.lines}
    assert "cluster" not in lines and {"api", "web"} <= set(lines) and plan.cost.after.unpriced == []
    assert plan.notes[0].startswith(f"the cluster comes from stack {REFERENCE}: its recorded outputs were not given")


def test_the_plan_goes_on_without_a_kubeconfig_file_it_cannot_read(tmp_path):
    """A pull request's preview runs where the deploying machine's kubeconfig is not: the plan says so and
    plans the Kubernetes layer, with the provider's kubeconfig one it cannot read."""
    missing = tmp_path / "console-cluster.yaml"
    root = project_for(tmp_path / "plan", "apps", _stack_file(tmp_path, platform_config(kubeconfig_file=str(missing))))
    plan = plan_stack("apps", root, None)
    assert (
        plan.notes[-1]
        == f"kubeconfig_file '{missing}' does not exist: the plan goes on without it, as for a secure: kubeconfig; `pulumi up` reads it where it runs"
    )
    assert any(f"the kubeconfig file {missing}" in note for note in plan.notes)
    provider = next(change for change in plan.changes if change.resource.type == "pulumi:providers:kubernetes")
    assert provider.resource.inputs["kubeconfig"] == Secret(SECRET_PLACEHOLDER)
    assert {change.resource.type for change in plan.changes} >= {
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:Service",
    }


def test_another_organisations_stack_reference_is_never_planned_against_this_repositorys_state(tmp_path):
    """`attacker-org/kapsule/engk` was planned as this repository's own `engk`, while `pulumi up` reads the other
    organisation's stack: the plan now reads no state for it and says which organisation is read."""
    from kapsule.plan.batch import _reference_state

    (tmp_path / "states").mkdir()
    (tmp_path / "states" / "engk.json").write_text((KUBERNETES / "export.json").read_text())
    assert _reference_state(REFERENCE, tmp_path / "states", True) is not None
    assert _reference_state("kapsule/engk", tmp_path / "states", True) is not None
    assert _reference_state("attacker-org/kapsule/engk", tmp_path / "states", True) is None

    foreign = "attacker-org/kapsule/engk"
    root = project_for(tmp_path, "apps", _stack_file(tmp_path, platform_config(stack_reference=foreign)))
    plan = plan_stack("apps", root, None, {foreign: None})
    assert plan.notes[0].startswith(
        f"the cluster's kubeconfig comes from stack {foreign} of the organisation attacker-org, not this repository's (organization)"
    )
    assert "the plan cannot see another organisation's state" in plan.notes[0]
