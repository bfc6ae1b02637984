"""Kubernetes version arithmetic and the upgrade rules Kapsule enforces. Pure logic, no Pulumi runtime."""

from __future__ import annotations

import re
from typing import NamedTuple

#: `x.y` or `x.y.z`, whole strings of ASCII digits without leading zeros (`fullmatch` only).
VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?")
#: Kubernetes' version skew policy: a kubelet may be up to three minors older than the API server.
KUBELET_SKEW = 3


class Version(NamedTuple):
    """A Kubernetes version: `x.y` (any patch, as auto-upgrade pins it) or `x.y.z`."""

    major: int
    minor: int
    patch: int | None = None

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse `x.y` or `x.y.z`; raises ValueError on anything else."""
        match = VERSION.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{text!r} is not a Kubernetes version (x.y or x.y.z)")
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch) if patch is not None else None)

    @property
    def line(self) -> str:
        """The minor line, `x.y`."""
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return self.line if self.patch is None else f"{self.line}.{self.patch}"

    def step(self, minors: int) -> Version:
        """The minor line `minors` after this one."""
        return Version(self.major, self.minor + minors)


def upgrade_path(live: Version, target: Version) -> list[str]:
    """Every minor line from `live` to `target`, both included: the only way Kapsule gets there."""
    return [live.step(i).line for i in range(target.minor - live.minor + 1)]


def upgrade_problem(live: str, desired: str) -> str | None:
    """Why a cluster running `live` cannot be moved to `desired` in one apply, or None when it can.

    Kapsule moves a cluster to a higher patch of its minor or to the next minor, never further and
    never back; the API refuses anything else in the middle of a deployment.
    """
    now, then = Version.parse(live), Version.parse(desired)
    if now.major != then.major:
        return f"{now} -> {then} changes the major version; Kapsule upgrades one minor at a time"
    if then.minor < now.minor:
        return f"{now} -> {then} is a downgrade; Kapsule never downgrades a cluster (allowed: {now.line} or {now.step(1).line})"
    if then.minor == now.minor:
        if then.patch is not None and now.patch is not None and then.patch < now.patch:
            return f"{now} -> {then} is a downgrade; Kapsule never downgrades a cluster (allowed: {now} or later, or {now.step(1).line})"
        return None
    if then.minor > now.minor + 1:
        path = " -> ".join(upgrade_path(now, then))
        return (
            f"{now} -> {then} skips a minor version; Kapsule upgrades one minor at a time: {path}, one apply per step"
        )
    return None


def pool_problem(pool: str, cluster: str) -> str | None:
    """Why a pool at version `pool` cannot run under a control plane at `cluster`, or None."""
    nodes, control = Version.parse(pool), Version.parse(cluster)
    ahead = (nodes.major, nodes.minor) > (control.major, control.minor) or (
        nodes.minor == control.minor
        and nodes.patch is not None
        and control.patch is not None
        and nodes.patch > control.patch
    )
    if ahead:
        return (
            f"{nodes} is ahead of the cluster's {control}; a pool never runs a newer Kubernetes than its control plane"
        )
    if control.minor - nodes.minor > KUBELET_SKEW:
        return (
            f"{nodes} is {control.minor - nodes.minor} minors behind the cluster's {control}; "
            f"kubelets may be at most {KUBELET_SKEW} minors older than the API server"
        )
    return None
