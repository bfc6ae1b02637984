"""The real `__main__.py` against each real stack file: resource graph, options, outputs, secrets."""

from __future__ import annotations

from kapsule.plan.stack import plan_stack
from kapsule.reports.plan import format_json, format_text
from kapsule.resources.model import Secret
from tests.conftest import render_stack, stack_config

CLUSTER = "scaleway:kubernetes/cluster:Cluster"
POOL = "scaleway:kubernetes/pool:Pool"
PRIVATE_NETWORK = "scaleway:network/privateNetwork:PrivateNetwork"
VPC = "scaleway:network/vpc:Vpc"
NAMESPACE = "scaleway:registry/namespace:Namespace"
GATEWAY = "scaleway:network/publicGateway:PublicGateway"
GATEWAY_NETWORK = "scaleway:network/gatewayNetwork:GatewayNetwork"


def test_every_resource_is_parented_to_its_component(stack):
    rendering = render_stack(stack)
    components = {r.urn: r for r in rendering.resources if not r.custom}
    assert {c.type for c in components.values()} >= {
        "kapsule:network:PrivateNetwork",
        "kapsule:cluster:Cluster",
        "kapsule:pool:Pool",
        "kapsule:registry:RegistryNamespace",
    }
    for resource in rendering.resources:
        if resource.custom:
            assert resource.parent in components, resource.urn
            assert components[resource.parent].type.startswith("kapsule:")
    for pool in rendering.by_type("kapsule:pool:Pool"):
        assert components[pool.parent].type == "kapsule:cluster:Cluster"


def test_cluster_inputs_follow_the_stack_file(stack):
    config, _ = stack_config(stack)
    declared = config["kapsule:cluster"]
    rendering = render_stack(stack)
    cluster = rendering.one(CLUSTER)
    assert cluster.inputs["name"] == declared["name"]
    assert cluster.inputs["type"] == declared["type"]
    assert cluster.inputs["version"] == declared["version"]
    assert cluster.inputs["cni"] == declared["cni"]
    assert cluster.inputs["deleteAdditionalResources"] is declared["delete_additional_resources"]
    assert cluster.inputs["region"] == config["kapsule:region"]
    assert f"env={stack}" in cluster.inputs["tags"]
    network = rendering.one(PRIVATE_NETWORK)
    assert cluster.inputs["privateNetworkId"] == network.id
    assert network.urn in cluster.depends_on


def test_pools_follow_the_stack_file(stack):
    config, _ = stack_config(stack)
    rendering = render_stack(stack)
    cluster = rendering.one(CLUSTER)
    pools = {p.name: p for p in rendering.by_type(POOL)}
    assert set(pools) == set(config["kapsule:pools"])
    for name, declared in config["kapsule:pools"].items():
        pool = pools[name]
        assert pool.inputs["clusterId"] == cluster.id
        assert pool.inputs["nodeType"] == declared["node_type"]
        assert pool.inputs["zone"] == declared["zone"]
        assert pool.inputs["size"] == declared["size"]
        assert pool.inputs["waitForPoolReady"] is True
        # Pool names are left to Pulumi so a replacement can create before it deletes.
        assert "name" not in pool.inputs
        if declared.get("autoscaling"):
            assert pool.ignore_changes == ["size"]
            assert (pool.inputs["minSize"], pool.inputs["maxSize"]) == (declared["min_size"], declared["max_size"])
        else:
            assert pool.ignore_changes == []


def test_dev_is_small_and_disposable():
    rendering = render_stack("dev")
    cluster = rendering.one(CLUSTER)
    assert cluster.inputs["type"] == "kapsule"
    assert cluster.inputs["deleteAdditionalResources"] is True
    assert not any(r.protect for r in rendering.resources)
    (pool,) = rendering.by_type(POOL)
    assert pool.inputs["autoscaling"] is True and pool.ignore_changes == ["size"]


def test_prod_is_dedicated_zonal_protected_and_keeps_volumes():
    rendering = render_stack("prod")
    cluster = rendering.one(CLUSTER)
    assert cluster.inputs["type"].startswith("kapsule-dedicated-")
    assert cluster.inputs["deleteAdditionalResources"] is False
    upgrade = cluster.inputs["autoUpgrade"]
    assert upgrade["enable"] is True and upgrade["maintenanceWindowDay"] != "any"
    assert 0 <= upgrade["maintenanceWindowStartHour"] <= 5
    pools = rendering.by_type(POOL)
    assert sorted(p.inputs["zone"] for p in pools) == ["fr-par-1", "fr-par-2", "fr-par-3"]
    assert all(p.inputs["autohealing"] and p.inputs["autoscaling"] for p in pools)
    assert all(p.inputs["publicIpDisabled"] for p in pools)
    for type_ in (CLUSTER, PRIVATE_NETWORK, VPC, NAMESPACE):
        assert rendering.one(type_).protect, type_
    assert rendering.one(NAMESPACE).inputs["isPublic"] is False
    gateway = rendering.one(GATEWAY)
    attachment = rendering.one(GATEWAY_NETWORK)
    assert attachment.inputs["gatewayId"] == gateway.id
    assert attachment.inputs["privateNetworkId"] == rendering.one(PRIVATE_NETWORK).id
    assert attachment.inputs["enableMasquerade"] is True


def test_exports_are_what_other_stacks_need(stack):
    rendering = render_stack(stack)
    outputs = rendering.outputs
    cluster = rendering.one(CLUSTER)
    assert outputs["cluster_id"] == cluster.id
    assert outputs["apiserver_url"].startswith("https://")
    assert outputs["private_network_id"] == rendering.one(PRIVATE_NETWORK).id
    assert outputs["pool_ids"] == {p.name: p.id for p in rendering.by_type(POOL)}
    assert outputs["registry_endpoint"] == f"rg.fr-par.scw.cloud/{rendering.one(NAMESPACE).inputs['name']}"


def test_kubeconfig_leaves_only_as_a_secret(stack):
    rendering = render_stack(stack)
    kubeconfig = rendering.outputs["kubeconfig"]
    assert isinstance(kubeconfig, Secret)
    assert "token:" in kubeconfig.value
    token = kubeconfig.value.split("token: ")[1].split()[0]
    plans = [plan_stack(stack)]
    assert token not in format_text(plans[0])
    assert token not in format_json(plans)
    for name, value in rendering.outputs.items():
        if name != "kubeconfig":
            assert token not in str(value)


def test_rendering_twice_gives_identical_resources(stack):
    first, second = render_stack(stack), render_stack(stack)
    assert first.resources == second.resources
    assert first.outputs == second.outputs
    assert format_text(plan_stack(stack)) == format_text(plan_stack(stack))


def test_preview_leaves_computed_values_unknown():
    from kapsule.resources.model import UNKNOWN

    rendering = render_stack("dev", preview=True)
    assert rendering.one(POOL).inputs["clusterId"] is UNKNOWN
    assert rendering.outputs["cluster_id"] is UNKNOWN
    assert isinstance(rendering.outputs["kubeconfig"], Secret)


def test_a_stack_without_a_kubernetes_layer_gets_no_kubernetes_provider():
    def strip(config):
        for key in ("kapsule:namespaces", "kapsule:ingress", "kapsule:services"):
            config.pop(key, None)
        config["kapsule:registry"].pop("pull_secret_namespaces", None)

    rendering = render_stack("dev", strip)
    assert not [r for r in rendering.resources if r.type.startswith(("kubernetes:", "pulumi:providers:kubernetes"))]
    assert rendering.one(CLUSTER) and rendering.by_type(POOL)
