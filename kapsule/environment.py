"""One environment: the composition of the components a stack file declares, and what it exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime.config import CONFIG, get_config_env, get_config_secret_keys_env, is_config_secret

from components import (
    Cluster,
    IngressController,
    LoadBalancerService,
    Pool,
    PrivateNetwork,
    RegistryNamespace,
    RegistryPullSecret,
)

from components.version_catalog import today as catalog_today

from .config import StackConfig, StackConfigError, decode_value, parse, version_findings
from .secrets import plaintext_secrets


class InvalidStackConfig(StackConfigError, pulumi.RunError):
    """A StackConfigError that the Pulumi CLI reports as a plain message, without a traceback."""


def read_config() -> StackConfig:
    """This stack's validated config, as the Pulumi engine hands it to the program."""
    config = {**get_config_env(), **CONFIG.get()}
    stack_file = str(Path("stacks") / f"Pulumi.{pulumi.get_stack()}.yaml")
    secret_keys = set(get_config_secret_keys_env()) | {key for key in config if is_config_secret(key)}
    leaks = plaintext_secrets({key: decode_value(value) for key, value in config.items()}, secret_keys)
    if leaks:
        raise InvalidStackConfig(stack_file, leaks)
    try:
        spec = parse(stack_file, config)
    except StackConfigError as error:
        raise InvalidStackConfig(error.stack_file, error.problems) from None
    errors, warnings = version_findings(spec, catalog_today())
    if errors:
        raise InvalidStackConfig(stack_file, errors)
    for warning in warnings:
        pulumi.log.warn(f"{stack_file}: {warning}")
    return spec


@dataclass
class Environment:
    """The components of one environment."""

    network: Optional[PrivateNetwork]
    cluster: Cluster
    pools: dict[str, Pool]
    registry: Optional[RegistryNamespace]
    namespaces: dict[str, k8s.core.v1.Namespace] = field(default_factory=dict)
    ingress: Optional[IngressController] = None
    services: dict[str, LoadBalancerService] = field(default_factory=dict)
    pull_secret: Optional[RegistryPullSecret] = None

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
        if self.ingress is not None:
            values["ingress_ip"] = self.ingress.ip_address
        if self.services:
            values["service_ips"] = {name: service.ip_address for name, service in self.services.items()}
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
    environment = Environment(network=network, cluster=cluster, pools=pools, registry=registry)
    _build_kubernetes(environment, config)
    return environment


def _build_kubernetes(environment: Environment, config: StackConfig) -> None:
    """The Kubernetes layer: every object goes through the cluster's provider, which waits for the pools.

    `cluster.provider` is only touched when something is declared, so a stack without a Kubernetes
    layer gets no provider (and other stacks may still add Pools to the cluster).
    """
    cluster = environment.cluster
    environment.namespaces = {
        name: k8s.core.v1.Namespace(
            f"namespace-{name}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name),
            opts=pulumi.ResourceOptions(parent=cluster, provider=cluster.provider),
        )
        for name in config.namespaces
    }

    def after(*namespaces: str) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(depends_on=[environment.namespaces[n] for n in namespaces if n in environment.namespaces])

    if config.ingress.controller != "none":
        environment.ingress = IngressController("ingress", config.ingress, cluster=cluster, tags=config.tags)
    environment.services = {
        name: LoadBalancerService(name, spec, cluster=cluster, tags=config.tags, opts=after(spec.namespace))
        for name, spec in config.services.items()
    }
    if environment.registry is not None and config.registry.pull_secret_namespaces:
        environment.pull_secret = RegistryPullSecret(
            "registry-pull",
            registry=environment.registry,
            cluster=cluster,
            namespaces=config.registry.pull_secret_namespaces,
            opts=after(*config.registry.pull_secret_namespaces),
        )
