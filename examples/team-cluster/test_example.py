"""The example's own test, written as the other team would: plain Pulumi mocks, no help from this repository."""

from __future__ import annotations

import asyncio
import runpy
from pathlib import Path

import pulumi
import pytest

PROGRAM = Path(__file__).with_name("__main__.py")


class ScalewayMocks(pulumi.runtime.Mocks):
    """Give every resource an id and the cluster a kubeconfig, as Scaleway would."""

    def __init__(self) -> None:
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.created.append(args)
        outputs = dict(args.inputs)
        if args.typ == "scaleway:kubernetes/cluster:Cluster":
            outputs["kubeconfigs"] = [
                {"configFile": "apiVersion: v1\nkind: Config\n", "host": "https://api", "token": "t0k3n"}
            ]
        if args.typ == "scaleway:registry/namespace:Namespace":
            outputs["endpoint"] = f"rg.{args.inputs['region']}.scw.cloud/{args.inputs['name']}"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}, None


@pytest.fixture
def mocks():
    asyncio.set_event_loop(asyncio.new_event_loop())
    mocks = ScalewayMocks()
    pulumi.runtime.set_mocks(mocks, project="team-cluster", stack="dev", preview=False)
    pulumi.runtime.set_all_config({"team-cluster:team": "payments"})
    yield mocks
    pulumi.runtime.set_all_config({})


@pulumi.runtime.test
async def test_example_builds_a_private_cluster_with_an_autoscaled_pool(mocks):
    runpy.run_path(str(PROGRAM))
    outputs = pulumi.runtime.get_root_resource().outputs
    # The provider waits for the pool, so once its URN is known every resource is registered.
    await outputs["kubernetes_provider"].future()
    assert await outputs["kubeconfig"].is_secret()
    assert await outputs["registry_endpoint"].future() == "rg.nl-ams.scw.cloud/payments-images"

    created = {(m.typ, m.name): m for m in mocks.created}
    cluster = created[("scaleway:kubernetes/cluster:Cluster", "cluster")]
    pool = created[("scaleway:kubernetes/pool:Pool", "workers")]
    assert cluster.inputs["name"] == "payments-dev"
    assert cluster.inputs["privateNetworkId"] == "network-id"
    assert pool.inputs["clusterId"] == "cluster-id"
    assert pool.inputs["zone"] == "nl-ams-2" and pool.inputs["autoscaling"] is True
    assert ("pulumi:providers:kubernetes", "cluster-kubernetes") in created
