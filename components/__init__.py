"""Pulumi components for Scaleway Kubernetes Kapsule: import these into any Pulumi Python stack."""

from .cluster import AutoscalerSpec, AutoUpgradeSpec, Cluster, ClusterSpec, OidcSpec
from .network import PrivateNetwork, PrivateNetworkSpec, PublicGatewaySpec
from .pool import Pool, PoolSpec, TaintSpec, UpgradePolicySpec
from .registry import RegistryNamespace, RegistryNamespaceSpec
from .spec import Spec, SpecError

__all__ = [
    "AutoUpgradeSpec",
    "AutoscalerSpec",
    "Cluster",
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
]
