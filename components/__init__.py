"""Pulumi components for Scaleway Kubernetes Kapsule: import these into any Pulumi Python stack.

Names are imported on first use, so the pure modules (`spec`, `catalog`, `versions`, `annotations`)
load without the Pulumi runtime.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Each public name and the module that holds it.
_HOMES: dict[str, str] = {
    "AutoUpgradeSpec": "cluster",
    "AutoscalerSpec": "cluster",
    "Cluster": "cluster",
    "ClusterSpec": "cluster",
    "OidcSpec": "cluster",
    "ExistingCluster": "existing_cluster",
    "ExistingClusterSpec": "existing_cluster",
    "HealthCheckSpec": "load_balancer_spec",
    "LoadBalancerSpec": "load_balancer_spec",
    "ProxyProtocolSpec": "load_balancer_spec",
    "render_annotations": "annotations",
    "IngressController": "ingress",
    "IngressSpec": "ingress",
    "LoadBalancerService": "load_balancer",
    "LoadBalancerServiceSpec": "load_balancer",
    "ServicePortSpec": "load_balancer",
    "PrivateNetwork": "network",
    "PrivateNetworkSpec": "network",
    "PublicGatewaySpec": "network",
    "Pool": "pool",
    "PoolSpec": "pool",
    "TaintSpec": "pool",
    "UpgradePolicySpec": "pool",
    "RegistryNamespace": "registry",
    "RegistryNamespaceSpec": "registry",
    "RegistryPullSecret": "registry",
    "SharedRegistryPullSecret": "registry",
    "SharedRegistrySpec": "registry",
    "Problem": "spec",
    "Spec": "spec",
    "SpecError": "spec",
    "Catalog": "catalog",
    "load_catalog": "catalog",
    "Version": "versions",
    "pool_problem": "versions",
    "upgrade_problem": "versions",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'components' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return __all__
