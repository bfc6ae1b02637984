"""The stack config schema: a composition of the component specs, each checked by its own validator."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from components.catalog import Catalog, load_catalog
from components.cluster_spec import ClusterSpec, cluster_problems
from components.existing_cluster import ExistingClusterSpec, existing_cluster_problems
from components.ingress import IngressSpec, ingress_problems
from components.load_balancer import DNS_LABEL, LoadBalancerServiceSpec, service_problems
from components.network import PrivateNetworkSpec, network_problems
from components.offers import region_problem
from components.pool import PoolSpec, pool_problems
from components.registry_spec import (
    RegistryNamespaceSpec,
    SharedRegistrySpec,
    registry_problems,
    shared_registry_problems,
)
from components.spec import Problem, Spec, SpecError, Tags

from ..names import CONFIG_NAMESPACE
from .messages import StackConfigError, describe, namespace_problem
from .reading import decode_value

#: Namespaces every Kubernetes cluster has: a stack that declared one would plan a create of an existing object.
BUILT_IN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
#: Pool names become Pulumi logical names and node labels.
POOL_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")


class StackConfig(Spec):
    """Everything one environment declares under the `kapsule:` namespace of its stack file."""

    deploy_after: str | None = None
    """The stack CI deploys before this one (`.github/workflows/deploy.yml` is generated from it); none: first."""
    region: str = "fr-par"
    """Scaleway region of every resource: `fr-par`, `nl-ams`, `pl-waw` or `it-mil`."""
    tags: Tags
    """Added as `key=value` tags to every Scaleway resource of the stack."""
    network: PrivateNetworkSpec | None = None
    """The private network; required for a Kapsule cluster, forbidden for Kosmos (`multicloud*`)."""
    cluster: ClusterSpec | None = None
    """The control plane this stack manages; a platform stack names `existing_cluster` instead."""
    pools: dict[str, PoolSpec] = Field(default_factory=dict)
    """Node pools by name (1 to 40 lower case letters, digits and dashes); at least one with `cluster`, none with `existing_cluster`."""
    existing_cluster: ExistingClusterSpec | None = None
    """A cluster made elsewhere, reached through its kubeconfig: the stack then manages only the Kubernetes layer on it (a platform stack)."""
    registry: RegistryNamespaceSpec | None = None
    """A Container Registry namespace, with optional pull secrets in the cluster."""
    shared_registry: SharedRegistrySpec | None = None
    """A registry declared in another stack (with `export_pull_config: true`): pull secrets made here from that stack's credentials, with no Scaleway key in this stack."""
    namespaces: list[str] = Field(default_factory=list)
    """Kubernetes namespaces the stack creates; Services and pull secrets may only go into these, `default` or the ingress namespace."""
    ingress: IngressSpec = Field(default_factory=IngressSpec)
    """The ingress controller, installed from its Helm chart behind a load balancer."""
    services: dict[str, LoadBalancerServiceSpec] = Field(default_factory=dict)
    """LoadBalancer Services by name (a Kubernetes name), each with its Scaleway load balancer."""
    _secret_values: frozenset[str] = PrivateAttr(default_factory=frozenset)
    _kubeconfig_text: str | None = PrivateAttr(default=None)

    @property
    def secret_values(self) -> frozenset[str]:
        """The plain text of the stack's `secure:` values: sealed as Pulumi secrets wherever they are used."""
        return self._secret_values

    def with_secret_values(self, values: frozenset[str]) -> StackConfig:
        """This config, knowing which of its values are secrets."""
        self._secret_values = frozenset(values)
        return self

    @property
    def kubeconfig_text(self) -> str | None:
        """The text of `existing_cluster.kubeconfig_file`, once `read_config` has read it (it is read once)."""
        return self._kubeconfig_text

    def with_kubeconfig_text(self, text: str) -> StackConfig:
        """This config, with its kubeconfig file's text."""
        self._kubeconfig_text = text
        return self

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(DNS_LABEL, name):
                raise ValueError(f"{name!r} is not a Kubernetes namespace name (lower case letters, digits, dashes)")
            if name in BUILT_IN_NAMESPACES:
                raise ValueError(
                    f"{name!r} exists in every cluster already; list only the namespaces this stack creates"
                )
        if len(set(value)) != len(value):
            raise ValueError(f"lists a namespace twice: {value}")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        problem = region_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> StackConfig:
        """Every component's own validator, each at its key path, then the rules across components."""
        problems = self._cluster_problems() if self.existing_cluster is None else self._platform_problems()
        for name, service in self.services.items():
            if not re.fullmatch(DNS_LABEL, name):
                problems.append(
                    Problem(
                        ("services", name), "service names are Kubernetes names: lower case letters, digits, dashes"
                    )
                )
            problems += _at(("services", name), service_problems(service, region=self.cluster_region))
        problems += _at(("ingress",), ingress_problems(self.ingress, region=self.cluster_region))
        if self.registry is not None:
            problems += _at(("registry",), registry_problems(self.registry, region=self.region))
        if self.shared_registry is not None:
            problems += self._shared_registry_problems(self.shared_registry)
        problems += self._namespace_problems()
        if problems:
            raise SpecError(dict.fromkeys(problems))  # one line per problem, in the order found
        return self

    @property
    def kind(self) -> str:
        """`platform` (a cluster made elsewhere), `cluster` (no Kubernetes layer) or `cluster and platform`."""
        if self.existing_cluster is not None:
            return "platform"
        layer = self.namespaces or self.services or self.ingress.controller != "none"
        layer = (
            layer
            or (self.registry is not None and self.registry.pull_secret_namespaces)
            or self.shared_registry is not None
        )
        return "cluster and platform" if layer else "cluster"

    def _cluster_problems(self) -> list[Problem]:
        """The cluster, its network and its pools, and the rules between them."""
        network = self.network
        problems: list[Problem] = []
        if self.cluster is None:
            return [
                Problem(
                    ("cluster",),
                    "is required: declare the cluster and its pools here, or existing_cluster for a cluster made elsewhere",
                )
            ]
        if network is not None:
            problems += _at(("network",), network_problems(network, region=self.region))
        problems += _at(("cluster",), cluster_problems(self.cluster, network=network, region=self.region))
        if not self.pools:
            problems.append(Problem(("pools",), "is required with cluster: declare at least one pool"))
        for name, pool in self.pools.items():
            if not POOL_NAME.fullmatch(name):
                problems.append(
                    Problem(("pools", name), "pool names are 1 to 40 lower case letters, digits and dashes")
                )
            problems += _at(
                ("pools", name), pool_problems(pool, cluster=self.cluster, region=self.region, network=network)
            )
        if self.pools and self.cluster.type == "kapsule" and sum(p.fewest_nodes for p in self.pools.values()) < 1:
            problems.append(
                Problem(
                    ("pools",), "a shared (kapsule) control plane must keep at least one node; raise a size or min_size"
                )
            )
        most = sum(p.most_nodes for p in self.pools.values())
        if most > self.cluster.max_nodes:
            problems.append(
                Problem(
                    ("pools",),
                    f"can grow to {most} nodes but a {self.cluster.type} control plane takes at most {self.cluster.max_nodes}",
                )
            )
        return problems

    def _platform_problems(self) -> list[Problem]:
        """A platform stack: the cluster is made elsewhere, so no cluster, pool or network is declared here."""
        assert self.existing_cluster is not None
        problems = [
            Problem(
                (key,),
                f"a platform stack (existing_cluster) manages no {what}: remove {key}, or remove existing_cluster to manage the cluster here",
            )
            for key, what, declared in (
                ("cluster", "cluster", self.cluster is not None),
                ("pools", "pools", bool(self.pools)),
                ("network", "private network", self.network is not None),
            )
            if declared
        ]
        return problems + _at(
            ("existing_cluster",), existing_cluster_problems(self.existing_cluster, region=self.region)
        )

    def _shared_registry_problems(self, shared: SharedRegistrySpec) -> list[Problem]:
        """Its stack reference (or the existing cluster's), and no namespace given two `scaleway-registry` Secrets."""
        default = self.existing_cluster.stack_reference if self.existing_cluster is not None else None
        problems = _at(("shared_registry",), shared_registry_problems(shared, default_reference=default, linked=True))
        own = set(self.registry.pull_secret_namespaces) if self.registry is not None else set()
        for index, namespace in enumerate(shared.pull_secret_namespaces):
            if namespace in own:
                problems.append(
                    Problem(
                        ("shared_registry", "pull_secret_namespaces", index),
                        f"{namespace!r} already gets the Secret scaleway-registry from registry.pull_secret_namespaces; "
                        "list each namespace under one of the two",
                    )
                )
        return problems

    @property
    def cluster_region(self) -> str:
        """Where the cluster, and so its load balancers, live."""
        if self.existing_cluster is not None and self.existing_cluster.region:
            return self.existing_cluster.region
        return self.region

    def _namespace_problems(self) -> list[Problem]:
        """Namespaces exist before anything is put in them."""
        problems: list[Problem] = []
        available = {"default", *self.namespaces}
        if self.ingress.controller != "none":
            if self.ingress.namespace in self.namespaces:
                problems.append(
                    Problem(
                        ("ingress", "namespace"),
                        f"{self.ingress.namespace!r} is created by the ingress controller; remove it from namespaces",
                    )
                )
            available.add(self.ingress.namespace)
        targets: list[tuple[tuple[str | int, ...], str]] = [
            (("services", name, "namespace"), service.namespace) for name, service in self.services.items()
        ]
        if self.registry is not None:
            targets += [
                (("registry", "pull_secret_namespaces", i), n)
                for i, n in enumerate(self.registry.pull_secret_namespaces)
            ]
        if self.shared_registry is not None:
            targets += [
                (("shared_registry", "pull_secret_namespaces", i), n)
                for i, n in enumerate(self.shared_registry.pull_secret_namespaces)
            ]
        # The ingress controller's Service is named after the controller ("ingress"), in its namespace.
        owners = (
            {(self.ingress.namespace, "ingress"): "the ingress controller"} if self.ingress.controller != "none" else {}
        )
        for name, service in self.services.items():
            owner = owners.setdefault((service.namespace, name), f"services.{name}")
            if owner != f"services.{name}":
                problems.append(
                    Problem(
                        ("services", name),
                        f"{owner} already has a Service {name!r} in namespace {service.namespace!r}; rename one or move it to another namespace",
                    )
                )
        for path, namespace in targets:
            if namespace not in available:
                problems.append(
                    Problem(
                        path,
                        f"{namespace!r} is not created by this stack; add it to namespaces ({', '.join(sorted(available))})",
                    )
                )
        return problems


#: Where a component's links sit in a stack file: the network and the region are the stack's own keys.
LINKS: dict[str, tuple[str, ...]] = {"network": ("network",), "region": ("region",)}


def _at(prefix: tuple[str, ...], problems: list[Problem]) -> list[Problem]:
    """A component's problems at their stack key paths: below `prefix`, or at the key of the link they name."""
    return [Problem((*LINKS[p.link], *p.path), p.message) if p.link else p.below(*prefix) for p in problems]


def version_warnings(spec: StackConfig, today: date, catalog: Catalog | None = None) -> list[str]:
    """The stack's Kubernetes versions against the catalog on `today`: versions near their end of support, a
    stale catalog. (A version Kapsule does not run is an error of the cluster's or pool's own validator.)"""
    catalog = catalog or load_catalog()
    pinned = [("cluster.version", spec.cluster.version)] if spec.cluster is not None else []
    pinned += [(f"pools.{name}.version", pool.version) for name, pool in spec.pools.items() if pool.version]
    warnings: dict[str, str] = {}  # one warning once, at the first key it applies to
    for path, version in pinned:
        _, warning = catalog.check(version, today)
        if warning:
            warnings.setdefault(warning, f"{CONFIG_NAMESPACE}:{path}: {warning}")
    return list(warnings.values())


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
    values, refused = _platform_api_access(values)
    problems += refused
    try:
        spec = StackConfig.model_validate(values)
    except ValidationError as error:
        problems += [found for item in error.errors() for found in describe(item, StackConfig)]
    if problems:
        raise StackConfigError(stack_file, problems)
    return spec


def _platform_api_access(values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A platform stack's `api_access`, refused with the reason and taken out, so every other problem still shows."""
    if values.get("existing_cluster") is None:
        return values, []
    problems = []
    values = dict(values)
    for key in ("cluster", "existing_cluster"):
        block = values.get(key)
        if isinstance(block, dict) and "api_access" in block:
            problems.append(
                (
                    f"{CONFIG_NAMESPACE}:{key}.api_access",
                    "a platform stack (existing_cluster) cannot declare who reaches the API server: the cluster stack "
                    "owns the allow-list; declare api_access under kapsule:cluster in the stack that manages the cluster",
                )
            )
            rest = {k: v for k, v in block.items() if k != "api_access"}
            if rest or key == "existing_cluster":
                values[key] = rest
            else:
                del values[key]
    return values, problems
