"""The SDK modules the components construct resources from, and a way to load them all at once.

Both SDKs load these modules on first use. A process that builds several stacks' components in forked
workers (the offline plan) loads them once, before it forks, so that no worker loads them again.
"""

from __future__ import annotations

import importlib

from . import scaleway

#: The Kubernetes SDK's modules the components use (`k8s.core.v1.Service`, `k8s.helm.v3.Release`, ...).
#: tests/test_sdk_modules.py fails when a component starts using one that is not here.
KUBERNETES_MODULES = ("pulumi_kubernetes.core.v1", "pulumi_kubernetes.helm.v3", "pulumi_kubernetes.meta.v1")


def load_sdk() -> None:
    """Load every SDK module the components construct resources from, now rather than on first use."""
    modules = [scaleway.__dict__[name] for name in scaleway.__all__]
    for name in KUBERNETES_MODULES:
        top, *parts = name.split(".")
        module = importlib.import_module(top)
        for part in parts:
            module = getattr(module, part)  # each package on the way runs, as `k8s.core.v1` runs them
        modules.append(module)
    for module in modules:
        getattr(module, "__all__", None)  # a lazy module runs its code on its first lookup of a name of its own
