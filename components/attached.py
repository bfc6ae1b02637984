"""What a Cluster knows of a pool attached to it: a small interface at the bottom, so that the cluster
module never imports the pool module (`pool.py` imports `cluster.py`, never the other way)."""

from __future__ import annotations

from typing import Protocol

import pulumi


class AttachedPool(Protocol):
    """A node pool as its cluster sees it: its logical name, and the resource the Kubernetes provider waits for."""

    @property
    def name(self) -> str: ...

    @property
    def pool(self) -> pulumi.CustomResource: ...
