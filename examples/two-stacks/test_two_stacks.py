"""The two-stack example's own test, written as an outside team would: plain Pulumi mocks, the StackReference
included, no help from this repository."""

from __future__ import annotations

import asyncio
import json
import runpy
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import rpc

HERE = Path(__file__).parent
KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: admin, user: {token: cluster-token}}]\n"
PULL_CONFIG = '{"auths": {"rg.fr-par.scw.cloud": {"username": "nologin", "password": "pull-key"}}}'


class Mocks(pulumi.runtime.Mocks):
    """Scaleway's answers for the cluster stack; for the apps stack, the cluster stack's recorded outputs."""

    def __init__(self) -> None:
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.created.append(args)
        outputs = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            # What the engine reads from the referenced stack: its outputs, the kubeconfig a secret.
            outputs = {
                "name": args.inputs["name"],
                "outputs": {"kubeconfig": KUBECONFIG, "region": "fr-par", "registry_pull_config": PULL_CONFIG},
                "secretOutputNames": ["kubeconfig", "registry_pull_config"],
            }
            return args.inputs["name"], outputs
        if args.typ == "scaleway:kubernetes/cluster:Cluster":
            outputs["kubeconfigs"] = [{"configFile": KUBECONFIG, "host": "https://api", "token": "cluster-token"}]
            outputs["wildcardDns"] = "*.nodes.example"
        if args.typ == "scaleway:registry/namespace:Namespace":
            outputs["endpoint"] = f"rg.{args.inputs['region']}.scw.cloud/{args.inputs['name']}"
        if args.typ == "scaleway:iam/apiKey:ApiKey":
            outputs["secretKey"] = "pull-key"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}, None


def run(project: str, mocks: Mocks) -> dict:
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(mocks, project=project, stack="prod", preview=False)
    runpy.run_path(str(HERE / ("cluster" if project == "team-platform" else "apps") / "__main__.py"))
    return pulumi.runtime.get_root_resource().outputs


@pytest.mark.parametrize("project", ["team-platform"])
@pulumi.runtime.test
async def test_the_cluster_stack_exports_the_contract_and_has_no_kubernetes_layer(project):
    mocks = Mocks()
    outputs = run(project, mocks)
    assert {"kubeconfig", "cluster_id", "region", "registry_endpoint", "wildcard_dns", "registry_pull_config"} <= set(
        outputs
    )
    assert await outputs["kubeconfig"].is_secret()
    assert await outputs["registry_pull_config"].is_secret()
    auths = json.loads(await outputs["registry_pull_config"].future())["auths"]
    assert auths["rg.fr-par.scw.cloud"]["password"] == "pull-key"
    assert await outputs["registry_endpoint"].future() == "rg.fr-par.scw.cloud/shared-prod-images"
    await outputs["cluster_id"].future()
    assert not [m for m in mocks.created if m.typ.startswith("kubernetes:")]


@pulumi.runtime.test
async def test_the_apps_stack_builds_its_provider_from_the_cluster_stacks_kubeconfig():
    mocks = Mocks()
    outputs = run("team-apps", mocks)
    assert await outputs["shop_service"].future() == "shop"
    # The pull Secret is registered once the StackReference is read, which the Service does not wait for.
    assert await outputs["pull_secret_ids"].future() == ["registry-pull-shop-id"]
    created = {(m.typ, m.name): m for m in mocks.created}
    reference = created[("pulumi:pulumi:StackReference", "organization/team-platform/prod")]
    assert reference.inputs["name"] == "organization/team-platform/prod"
    provider = created[("pulumi:providers:kubernetes", "cluster-kubernetes")]
    # It reaches the provider as a secret: the engine stores it encrypted and never shows it.
    assert provider.inputs["kubeconfig"] == {rpc._special_sig_key: rpc._special_secret_sig, "value": KUBECONFIG}
    assert ("kubernetes:core/v1:Service", "shop") in created and (
        "kubernetes:core/v1:Namespace",
        "namespace-shop",
    ) in created
    pull = created[("kubernetes:core/v1:Secret", "registry-pull-shop")]
    assert pull.inputs["type"] == "kubernetes.io/dockerconfigjson" and pull.inputs["metadata"]["namespace"] == "shop"
    # The credentials arrive through the same StackReference, still a secret.
    assert pull.inputs["stringData"] == {
        rpc._special_sig_key: rpc._special_secret_sig,
        "value": {".dockerconfigjson": PULL_CONFIG},
    }
    assert not [m for m in mocks.created if m.typ.startswith("scaleway:")], (
        "an application team's stack touches no Scaleway resource"
    )
