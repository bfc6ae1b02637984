"""One environment: the composition of the components a stack file declares, and what it exports."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi import _types as pulumi_types
from pulumi.runtime.config import CONFIG, get_config_env, get_config_secret_keys_env, is_config_secret

from components import (
    Cluster,
    ExistingCluster,
    IngressController,
    LoadBalancerService,
    Pool,
    PrivateNetwork,
    RegistryNamespace,
    RegistryPullSecret,
    SharedRegistryPullSecret,
)
from components.api_access import RUN_RULES_VARIABLE, RunRule, parse_run_rules
from components.catalog import TodayError
from components.catalog import today as catalog_today
from components.existing_cluster import MOVED, read_kubeconfig

from ..names import CONFIG_NAMESPACE
from .messages import StackConfigError
from .reading import decode_value, read_stack_file, stack_file_path
from .schema import StackConfig, parse, version_warnings
from .secrets import plaintext_secrets, redact, secret_leaves, secret_values


class InvalidStackConfig(StackConfigError, pulumi.RunError):
    """A StackConfigError that the Pulumi CLI reports as a plain message, without a traceback."""


def read_config(project: Path) -> StackConfig:
    """This stack's validated config, as the Pulumi engine hands it to the program (`project`: where Pulumi.yaml is).

    The engine decrypts `secure:` values and names the keys that held one; the stack file says which
    leaves under those keys were `secure:`. Their plain text is kept in `StackConfig.secret_values`, so
    that `build` seals it wherever it reaches a resource, and no message ever prints it.
    """
    raw = {**get_config_env(), **CONFIG.get()}  # Pulumi's string map: structured values as JSON text
    config = {key: decode_value(value) for key, value in raw.items()}
    path = stack_file_path(pulumi.get_stack(), project)
    stack_file = path.relative_to(project)
    secret_keys = set(get_config_secret_keys_env()) | {key for key in config if is_config_secret(key)}
    try:
        secure_paths = read_stack_file(path).secure_paths if path.is_file() else []
    except StackConfigError as error:
        raise InvalidStackConfig(error.stack_file, error.problems) from None
    leaves = secret_leaves(config, secret_keys, secure_paths)
    secrets = secret_values(config, leaves)

    def refuse(problems: list[tuple[str, str]]) -> InvalidStackConfig:
        return InvalidStackConfig(str(stack_file), [(path, redact(message, secrets)) for path, message in problems])

    leaks = plaintext_secrets(config, leaves)
    if leaks:
        raise refuse(leaks)
    try:
        spec = parse(str(stack_file), raw)
    except StackConfigError as error:
        raise refuse(error.problems) from None
    kubeconfig_file = spec.existing_cluster.kubeconfig_file if spec.existing_cluster is not None else None
    if kubeconfig_file is not None:
        try:  # read here, once: a problem is one error naming the key, never a traceback
            spec.with_kubeconfig_text(read_kubeconfig(kubeconfig_file))
        except ValueError as error:
            raise refuse(
                [
                    (
                        f"{CONFIG_NAMESPACE}:existing_cluster.kubeconfig_file",
                        f"{error}; give the path of a readable kubeconfig file on this machine",
                    )
                ]
            ) from None
    try:
        day = catalog_today()
    except TodayError as error:
        raise pulumi.RunError(str(error)) from None
    for warning in version_warnings(spec, day):
        pulumi.log.warn(redact(f"{stack_file}: {warning}", secrets))
    return spec.with_secret_values(secrets)


def seal_secret_inputs(secrets: frozenset[str]) -> None:
    """From now on, every resource input that carries a secret config value is a Pulumi secret.

    One stack transformation does it for every resource of the stack, component children included, so
    no component has to know which of its inputs came from a `secure:` value: the engine then stores
    them encrypted, marks the outputs made from them secret, and no preview or plan shows them.
    """
    if not secrets:
        return

    def transformation(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
        return pulumi.ResourceTransformationResult(
            {key: seal(value, secrets) for key, value in args.props.items()}, args.opts
        )

    pulumi.runtime.register_stack_transformation(transformation)


def seal(value: Any, secrets: frozenset[str]) -> Any:
    """`value` with every string that contains a secret made a Pulumi secret, at the deepest level it can be."""
    if isinstance(value, str):
        return pulumi.Output.secret(value) if any(secret in value for secret in secrets) else value
    if isinstance(value, pulumi.Output):
        return value.apply(lambda inner: pulumi.Output.from_input(seal(inner, secrets)))
    if isinstance(value, dict):
        return {key: seal(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(seal(item, secrets) for item in value)
    if pulumi_types.is_input_type(type(value)):
        sealed = {key: seal(item, secrets) for key, item in vars(value).items()}
        if all(sealed[key] is item for key, item in vars(value).items()):
            return value
        clone = copy.copy(value)
        vars(clone).update(sealed)
        return clone
    return value


@dataclass
class Environment:
    """The components of one environment."""

    network: PrivateNetwork | None
    cluster: Cluster | ExistingCluster
    pools: dict[str, Pool]
    registry: RegistryNamespace | None
    namespaces: dict[str, k8s.core.v1.Namespace] = field(default_factory=dict)
    ingress: IngressController | None = None
    services: dict[str, LoadBalancerService] = field(default_factory=dict)
    pull_secret: RegistryPullSecret | None = None
    shared_pull_secret: SharedRegistryPullSecret | None = None
    secret_values: frozenset[str] = frozenset()
    """The stack's secret config values: an export that carries one is a secret."""

    def exports(self) -> dict[str, Any]:
        """What other stacks read through a StackReference; credentials and secret config only as secrets."""
        values: dict[str, Any] = {"region": self.cluster.region}
        if isinstance(self.cluster, Cluster):
            # The contract a platform stack reads (docs/stacks.md): the kubeconfig only ever as a secret.
            values |= {
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
        if self.pull_secret is not None and self.registry is not None and self.registry.spec.export_pull_config:
            # What a platform stack's shared_registry reads (docs/stacks.md): read-only, and only ever a secret.
            values["registry_pull_config"] = pulumi.Output.secret(self.pull_secret.docker_config)
        if self.ingress is not None:
            values["ingress_ip"] = self.ingress.ip_address
        if self.services:
            values["service_ips"] = {name: service.ip_address for name, service in self.services.items()}
        if self.secret_values:
            values = {name: seal(value, self.secret_values) for name, value in values.items()}
        return values


def build(config: StackConfig, live_run_rules: Callable[[], Sequence[RunRule]] | None = None) -> Environment:
    """Declare every component of the environment a validated stack config describes.

    The config's secret values (`read_config`) are sealed first, so that they reach no resource in clear.
    `live_run_rules` re-reads the CI runs' rules on the live allow-list (kapsule/access), in a CI job only.
    """
    seal_secret_inputs(config.secret_values)
    network = (
        PrivateNetwork("network", config.network, region=config.region, tags=config.tags)
        if config.network is not None
        else None
    )
    cluster: Cluster | ExistingCluster
    if config.existing_cluster is not None:
        # A platform stack: the cluster, its pools and network belong to another stack or tool.
        cluster = ExistingCluster(
            "cluster", config.existing_cluster, region=config.region, kubeconfig=config.kubeconfig_text
        )
    else:
        assert config.cluster is not None  # the schema requires one or the other
        cluster = Cluster(
            "cluster",
            config.cluster,
            network=network,
            region=config.region,
            tags=config.tags,
            run_rules=run_rules() if config.cluster.api_access is not None else (),
            live_run_rules=live_run_rules if config.cluster.api_access is not None else None,
        )
    pools = {
        name: Pool(name, spec, cluster=cluster, tags=config.tags, opts=pulumi.ResourceOptions(parent=cluster))
        for name, spec in config.pools.items()
    }
    registry = (
        RegistryNamespace("registry", config.registry, region=config.region) if config.registry is not None else None
    )
    environment = Environment(
        network=network, cluster=cluster, pools=pools, registry=registry, secret_values=config.secret_values
    )
    _build_kubernetes(environment, config)
    return environment


def run_rules() -> list[RunRule]:
    """The allow-list rules this CI run added for itself (`kapsule access open`, through the environment): the
    program keeps them while the run lasts, so applying the stack file never locks the run out mid-deploy."""
    try:
        return parse_run_rules(os.environ.get(RUN_RULES_VARIABLE))
    except ValueError as error:
        raise pulumi.RunError(str(error)) from None


def _build_kubernetes(environment: Environment, config: StackConfig) -> None:
    """The Kubernetes layer: every object goes through the cluster's provider, which waits for the pools.

    `cluster.provider` is only touched when something is declared, so a stack without a Kubernetes
    layer gets no provider (and other stacks may still add Pools to the cluster).
    """
    cluster = environment.cluster
    # In a platform stack, a namespace moved out of a single stack sits at the root (`pulumi state move`).
    moved = MOVED if isinstance(cluster, ExistingCluster) else None
    environment.namespaces = {
        name: k8s.core.v1.Namespace(
            f"namespace-{name}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name),
            opts=pulumi.ResourceOptions(parent=cluster, provider=cluster.provider, aliases=moved),
        )
        for name in config.namespaces
    }

    def after(*namespaces: str) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            depends_on=[environment.namespaces[n] for n in namespaces if n in environment.namespaces]
        )

    if config.ingress.controller != "none":
        environment.ingress = IngressController("ingress", config.ingress, cluster=cluster, tags=config.tags)
    environment.services = {
        name: LoadBalancerService(name, spec, cluster=cluster, tags=config.tags, opts=after(spec.namespace))
        for name, spec in config.services.items()
    }
    registry = config.registry
    if (
        environment.registry is not None
        and registry is not None
        and (registry.pull_secret_namespaces or registry.export_pull_config)
    ):
        environment.pull_secret = RegistryPullSecret(
            "registry-pull",
            registry=environment.registry,
            cluster=cluster if registry.pull_secret_namespaces else None,
            namespaces=registry.pull_secret_namespaces,
            opts=after(*registry.pull_secret_namespaces),
        )
    if config.shared_registry is not None:
        environment.shared_pull_secret = SharedRegistryPullSecret(
            "registry-pull",
            config.shared_registry,
            cluster=cluster,
            opts=after(*config.shared_registry.pull_secret_namespaces),
        )
