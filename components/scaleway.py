"""The Scaleway SDK's modules, imported once and without the deprecation warnings of its own aliases."""

import warnings

with warnings.catch_warnings():
    # The SDK's package import warns about deprecated aliases that nothing here uses: importing it once
    # here keeps those warnings out of every consumer's output.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pulumiverse_scaleway import iam, kubernetes, loadbalancers, network, registry

__all__ = ["iam", "kubernetes", "loadbalancers", "network", "registry"]
