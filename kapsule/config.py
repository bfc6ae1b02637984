"""The stack config schema: a composition of the component specs, each checked by its own validator."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Optional

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from components.version_catalog import Catalog, load_catalog
from components.catalog import REGISTRY_REGIONS, ZONES, is_kosmos, load_balancer_zone_problem, zone_problem
from components.cluster import ClusterSpec
from components.ingress import IngressSpec
from components.load_balancer import DNS_LABEL, LoadBalancerServiceSpec
from components.network import PrivateNetworkSpec
from components.pool import PoolSpec
from components.registry import RegistryNamespaceSpec
from components.spec import Spec, SpecError, Tags

from .messages import StackConfigError, describe, namespace_problem
from .names import CONFIG_NAMESPACE
from .stack_file import decode_value

#: Pool names become Pulumi logical names and node labels.
POOL_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


class StackConfig(Spec):
    """Everything one environment declares under the `kapsule:` namespace of its stack file."""

    region: str = "fr-par"
    tags: Tags
    network: Optional[PrivateNetworkSpec] = None
    cluster: ClusterSpec
    pools: dict[str, PoolSpec] = Field(min_length=1)
    registry: Optional[RegistryNamespaceSpec] = None
    namespaces: list[str] = Field(default_factory=list)
    ingress: IngressSpec = Field(default_factory=IngressSpec)
    services: dict[str, LoadBalancerServiceSpec] = Field(default_factory=dict)
    _secret_values: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @property
    def secret_values(self) -> frozenset[str]:
        """The plain text of the stack's `secure:` values: sealed as Pulumi secrets wherever they are used."""
        return self._secret_values

    def with_secret_values(self, values: frozenset[str]) -> "StackConfig":
        """This config, knowing which of its values are secrets."""
        self._secret_values = frozenset(values)
        return self

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(DNS_LABEL, name):
                raise ValueError(f"{name!r} is not a Kubernetes namespace name (lower case letters, digits, dashes)")
        if len(set(value)) != len(value):
            raise ValueError(f"lists a namespace twice: {value}")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in ZONES:
            raise ValueError(f"{value!r} is not a Kapsule region; allowed: {', '.join(ZONES)}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> "StackConfig":
        kosmos = is_kosmos(self.cluster.type)
        if kosmos and self.network is not None:
            raise SpecError(("network",), f"is forbidden for a Kosmos cluster (cluster.type {self.cluster.type!r})")
        if not kosmos and self.network is None:
            raise SpecError(("network",), f"is required for a {self.cluster.type} cluster: Scaleway attaches Kapsule to a private network")
        gateway = self.network.public_gateway if self.network else None
        if gateway and gateway.zone and zone_problem(gateway.zone, self.region):
            raise SpecError(("network", "public_gateway", "zone"), zone_problem(gateway.zone, self.region))
        for name, pool in self.pools.items():
            if not POOL_NAME.match(name):
                raise SpecError(("pools", name), "pool names are 1 to 40 lower case letters, digits and dashes")
            if pool.zone and zone_problem(pool.zone, self.region):
                raise SpecError(("pools", name, "zone"), zone_problem(pool.zone, self.region))
            if pool.public_ip_disabled and gateway is None:
                raise SpecError(
                    ("pools", name, "public_ip_disabled"),
                    "true needs a Public Gateway on the private network: set network.public_gateway",
                )
            problem = pool.version_problem(self.cluster)
            if problem:
                raise SpecError(("pools", name, "version"), f"{pool.version!r} {problem}")
        if self.cluster.type == "kapsule" and sum(p.fewest_nodes for p in self.pools.values()) < 1:
            raise SpecError(("pools",), "a shared (kapsule) control plane must keep at least one node; raise a size or min_size")
        most = sum(p.most_nodes for p in self.pools.values())
        if most > self.cluster.max_nodes:
            raise SpecError(
                ("pools",),
                f"can grow to {most} nodes but a {self.cluster.type} control plane takes at most {self.cluster.max_nodes}",
            )
        self._check_kubernetes()
        if self.registry is not None:
            registry_region = self.registry.region or self.region
            if registry_region not in REGISTRY_REGIONS:
                raise SpecError(
                    ("registry", "region"),
                    f"{registry_region!r} has no Container Registry; allowed: {', '.join(REGISTRY_REGIONS)}",
                )
        return self

    def _check_kubernetes(self) -> None:
        """Namespaces exist before anything is put in them; load balancers sit where Scaleway allows."""
        available = {"default", *self.namespaces}
        if self.ingress.controller != "none":
            if self.ingress.namespace in self.namespaces:
                raise SpecError(
                    ("ingress", "namespace"),
                    f"{self.ingress.namespace!r} is created by the ingress controller; remove it from namespaces",
                )
            available.add(self.ingress.namespace)
        balancers = [(("services", name, "load_balancer"), svc.load_balancer) for name, svc in self.services.items()]
        if self.ingress.controller != "none":
            balancers.append((("ingress", "load_balancer"), self.ingress.load_balancer))
        for path, lb in balancers:
            problem = lb.zone and load_balancer_zone_problem(lb.zone, self.region)
            if problem:
                raise SpecError((*path, "zone"), problem)
        for name, service in self.services.items():
            if not re.match(DNS_LABEL, name):
                raise SpecError(("services", name), "service names are Kubernetes names: lower case letters, digits, dashes")
        targets = [(("services", name, "namespace"), service.namespace) for name, service in self.services.items()]
        if self.registry is not None:
            targets += [(("registry", "pull_secret_namespaces", i), n) for i, n in enumerate(self.registry.pull_secret_namespaces)]
        for path, namespace in targets:
            if namespace not in available:
                raise SpecError(
                    path, f"{namespace!r} is not created by this stack; add it to namespaces ({', '.join(sorted(available))})"
                )


def version_findings(spec: StackConfig, today: date, catalog: Optional[Catalog] = None) -> tuple[list[tuple[str, str]], list[str]]:
    """The stack's Kubernetes versions against the catalog on `today`: errors as (key path, message), warnings."""
    catalog = catalog or load_catalog()
    pinned = [("cluster.version", spec.cluster.version)]
    pinned += [(f"pools.{name}.version", pool.version) for name, pool in spec.pools.items() if pool.version]
    errors: list[tuple[str, str]] = []
    warnings: dict[str, str] = {}  # one warning once, at the first key it applies to
    for path, version in pinned:
        error, warning = catalog.check(version, today)
        if error:
            errors.append((f"{CONFIG_NAMESPACE}:{path}", f"{version!r}: {error}"))
        if warning:
            warnings.setdefault(warning, f"{CONFIG_NAMESPACE}:{path}: {warning}")
    return errors, list(warnings.values())


#: The config namespaces a stack file of this project may use: its own, its providers', Pulumi's.
NAMESPACES = (CONFIG_NAMESPACE, "scaleway", "kubernetes", "pulumi")


def parse(stack_file: str, config: dict[str, Any]) -> StackConfig:
    """Validate a stack's `kapsule:` config (Pulumi's string map); raise StackConfigError on any problem."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, raw in config.items():
        namespace, _, name = key.partition(":")
        if namespace not in NAMESPACES:
            problems.append(namespace_problem(key, namespace, name, NAMESPACES))
            continue
        if namespace == CONFIG_NAMESPACE:
            values[name] = decode_value(raw)
    try:
        spec = StackConfig.model_validate(values)
    except ValidationError as error:
        problems += [describe(item, StackConfig) for item in error.errors()]
    if problems:
        raise StackConfigError(stack_file, problems)
    return spec


