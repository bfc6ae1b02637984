"""Pulumi components for Scaleway Kubernetes Kapsule: import these into any Pulumi Python stack."""

import warnings

with warnings.catch_warnings():
    # The Scaleway SDK's package import warns about its own deprecated aliases, which nothing here uses:
    # importing it once here keeps those warnings out of every consumer's output.
    warnings.simplefilter("ignore", DeprecationWarning)
    import pulumiverse_scaleway  # noqa: F401

from .cluster import AutoscalerSpec, AutoUpgradeSpec, Cluster, ClusterSpec, OidcSpec
from .annotations import HealthCheckSpec, LoadBalancerSpec, ProxyProtocolSpec, render_annotations
from .ingress import IngressController, IngressSpec
from .load_balancer import LoadBalancerService, LoadBalancerServiceSpec, ServicePortSpec
from .network import PrivateNetwork, PrivateNetworkSpec, PublicGatewaySpec
from .pool import Pool, PoolSpec, TaintSpec, UpgradePolicySpec
from .registry import RegistryNamespace, RegistryNamespaceSpec, RegistryPullSecret
from .spec import Spec, SpecError
from .version_catalog import Catalog, load_catalog
from .versions import Version, pool_problem, upgrade_problem

__all__ = [
    "AutoUpgradeSpec",
    "AutoscalerSpec",
    "Cluster",
    "HealthCheckSpec",
    "IngressController",
    "IngressSpec",
    "LoadBalancerService",
    "LoadBalancerServiceSpec",
    "LoadBalancerSpec",
    "ProxyProtocolSpec",
    "RegistryPullSecret",
    "ServicePortSpec",
    "render_annotations",
    "ClusterSpec",
    "OidcSpec",
    "Pool",
    "PoolSpec",
    "PrivateNetwork",
    "PrivateNetworkSpec",
    "PublicGatewaySpec",
    "RegistryNamespace",
    "RegistryNamespaceSpec",
    "Spec",
    "SpecError",
    "TaintSpec",
    "UpgradePolicySpec",
    "Catalog",
    "Version",
    "load_catalog",
    "pool_problem",
    "upgrade_problem",
]
