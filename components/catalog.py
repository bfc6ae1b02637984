"""What Scaleway offers: regions, zones and node types, as plain data with no Pulumi runtime."""

from __future__ import annotations

import re

#: Kubernetes regions and their zones (Kapsule also runs in it-mil).
ZONES: dict[str, tuple[str, ...]] = {
    "fr-par": ("fr-par-1", "fr-par-2", "fr-par-3"),
    "nl-ams": ("nl-ams-1", "nl-ams-2", "nl-ams-3"),
    "pl-waw": ("pl-waw-1", "pl-waw-2", "pl-waw-3"),
    "it-mil": ("it-mil-1",),
}
REGIONS: tuple[str, ...] = tuple(ZONES)

#: Regions the Container Registry serves.
REGISTRY_REGIONS: tuple[str, ...] = ("fr-par", "nl-ams", "pl-waw")

#: Zones where a load balancer cannot be placed.
NO_LOAD_BALANCER_ZONES: frozenset[str] = frozenset({"fr-par-3"})

#: Instance types that exist but are too small to run a Kubernetes node.
TOO_SMALL_NODE_TYPES: frozenset[str] = frozenset({"DEV1-S", "PLAY2-PICO", "STARDUST1-S"})

#: Shape of an Instance commercial type: `PRO2-XXS`, `GP1-XS`, `POP2-HC-8C-16G`, `L4-1-24G`.
NODE_TYPE_PATTERN = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)+$")

#: Cluster types and the most nodes each control plane accepts.
MAX_NODES: dict[str, int] = {
    "kapsule": 150,
    "kapsule-dedicated-4": 250,
    "kapsule-dedicated-8": 500,
    "kapsule-dedicated-16": 500,
    "multicloud": 150,
    "multicloud-dedicated-4": 250,
    "multicloud-dedicated-8": 500,
    "multicloud-dedicated-16": 500,
}

#: CNIs each family of cluster supports (`weave` and `flannel` are legacy and refused).
KAPSULE_CNIS: tuple[str, ...] = ("cilium", "cilium_native", "calico")
KOSMOS_CNIS: tuple[str, ...] = ("kilo",)


def is_kosmos(cluster_type: str) -> bool:
    """Whether a cluster type is a Kosmos (multi-cloud) control plane."""
    return cluster_type.startswith("multicloud")


def is_dedicated(cluster_type: str) -> bool:
    """Whether a cluster type has a dedicated control plane."""
    return "-dedicated-" in cluster_type


def default_zone(region: str) -> str:
    """The first zone of a region, where Scaleway places a zonal resource by default."""
    return ZONES[region][0]


def node_type_problem(node_type: str) -> str | None:
    """Why a node type cannot run a Kubernetes node, or None when it can."""
    if not NODE_TYPE_PATTERN.match(node_type):
        return "is not an Instance type (upper case, such as DEV1-M, PRO2-S, GP1-XS)"
    if node_type in TOO_SMALL_NODE_TYPES or node_type.startswith("STARDUST"):
        return "is too small for Kubernetes (" + ", ".join(sorted(TOO_SMALL_NODE_TYPES)) + " are refused)"
    return None


def zone_problem(zone: str, region: str) -> str | None:
    """Why a zone cannot hold a resource of a region, or None when it can."""
    if zone in ZONES.get(region, ()):
        return None
    return f"{zone!r} is not a zone of region {region} (allowed: {', '.join(ZONES.get(region, ()))})"


def load_balancer_zone_problem(zone: str, region: str) -> str | None:
    """Why a load balancer cannot sit in a zone of a region, or None when it can."""
    if zone in NO_LOAD_BALANCER_ZONES:
        return f"{zone!r}: load balancers cannot be placed there"
    return zone_problem(zone, region)
