"""One environment: the composition of the components a stack file declares, and what it exports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from components import Cluster, Pool, PrivateNetwork, RegistryNamespace

from .config import StackConfig, StackConfigError, parse


class InvalidStackConfig(StackConfigError, pulumi.RunError):
    """A StackConfigError that the Pulumi CLI reports as a plain message, without a traceback."""


def read_config() -> StackConfig:
    """This stack's validated config, as the Pulumi engine hands it to the program."""
    config = {**get_config_env(), **CONFIG.get()}
    stack_file = str(Path("stacks") / f"Pulumi.{pulumi.get_stack()}.yaml")
    try:
        return parse(stack_file, config)
    except StackConfigError as error:
        raise InvalidStackConfig(error.stack_file, error.problems) from None


@dataclass
class Environment:
    """The components of one environment."""

    network: Optional[PrivateNetwork]
    cluster: Cluster
    pools: dict[str, Pool]
    registry: Optional[RegistryNamespace]

    def exports(self) -> dict[str, Any]:
        """What other stacks read through a StackReference; credentials only as secrets."""
        values: dict[str, Any] = {
            "cluster_id": self.cluster.id,
            "apiserver_url": self.cluster.apiserver_url,
            "wildcard_dns": self.cluster.wildcard_dns,
            "kubeconfig": pulumi.Output.secret(self.cluster.kubeconfig),
            "pool_ids": {name: pool.id for name, pool in self.pools.items()},
        }
        if self.network is not None:
            values["private_network_id"] = self.network.id
        if self.registry is not None:
            values["registry_endpoint"] = self.registry.endpoint
        return values


def build(config: StackConfig) -> Environment:
    """Declare every component of the environment a validated stack config describes."""
    network = (
        PrivateNetwork("network", config.network, region=config.region, tags=config.tags)
        if config.network is not None
        else None
    )
    cluster = Cluster("cluster", config.cluster, network=network, region=config.region, tags=config.tags)
    pools = {
        name: Pool(name, spec, cluster=cluster, tags=config.tags, opts=pulumi.ResourceOptions(parent=cluster))
        for name, spec in config.pools.items()
    }
    registry = (
        RegistryNamespace("registry", config.registry, region=config.region) if config.registry is not None else None
    )
    return Environment(network=network, cluster=cluster, pools=pools, registry=registry)
