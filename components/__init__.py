"""Pulumi components for Scaleway Kubernetes Kapsule: import these into any Pulumi Python stack.

Names are imported on first use, so the pure modules (`spec`, `catalog`, `offers`, `versions`,
`annotations`) load without the Pulumi runtime. One file per component (`cluster`, `pool`, `network`,
`registry`, `load_balancer`, `ingress`, `existing_cluster`), its plain values beside it where they are
large (`cluster_spec`, `registry_spec`, `load_balancer_spec`); a pool attaches to its cluster through
`attached`, so the cluster never imports the pool.

May import: components.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Each public name and the module that holds it.
_HOMES: dict[str, str] = {
    "AutoUpgradeSpec": "cluster_spec",
    "AutoscalerSpec": "cluster_spec",
    "Cluster": "cluster",
    "ClusterSpec": "cluster_spec",
    "OidcSpec": "cluster_spec",
    "ExistingCluster": "existing_cluster",
    "ExistingClusterSpec": "existing_cluster",
    "HealthCheckSpec": "load_balancer_spec",
    "LoadBalancerSpec": "load_balancer_spec",
    "ProxyProtocolSpec": "load_balancer_spec",
    "render_annotations": "load_balancer_spec",
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
    "RegistryNamespaceSpec": "registry_spec",
    "RegistryPullSecret": "registry",
    "SharedRegistryPullSecret": "registry",
    "SharedRegistrySpec": "registry_spec",
    "Problem": "spec",
    "Spec": "spec",
    "SpecError": "spec",
    "Catalog": "catalog",
    "load_catalog": "catalog",
    "Version": "versions",
    "pool_problem": "versions",
    "upgrade_problem": "versions",
}

# Built from the table of homes so that each name is written once; the lazy __getattr__ below serves them.
__all__ = sorted(_HOMES)  # noqa: PLE0605


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'components' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return __all__
