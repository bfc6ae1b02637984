"""What Scaleway offers: regions and zones, node types (their table is `node_types.py`), load balancer types, CNIs, and
the price catalog file."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from .files import read_text
from .node_types import EXTERNAL, load_node_types

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
NODE_TYPE_PATTERN = re.compile(r"[A-Z0-9]+(-[A-Z0-9]+)+")


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


#: CNIs each family of cluster supports (`weave` and `flannel` are legacy and refused; `none`: bring your own).
KAPSULE_CNIS: tuple[str, ...] = ("cilium", "cilium_native", "calico", "none")


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
    """Why a node type cannot run a Kubernetes node, or None when it can (`external`: see `pool_problems`)."""
    if node_type == EXTERNAL:
        return None
    if not NODE_TYPE_PATTERN.fullmatch(node_type):
        return "is not an Instance type (upper case, such as DEV1-M, PRO2-S, GP1-XS), or `external` for a Kosmos pool"
    if node_type in TOO_SMALL_NODE_TYPES or node_type.startswith("STARDUST"):
        return "is too small for Kubernetes (" + ", ".join(sorted(TOO_SMALL_NODE_TYPES)) + " are refused)"
    table = load_node_types()
    if node_type in table.types:
        return None
    return (
        f"is not an Instance type the node-type table knows (components/node_types.json, as of {table.as_of}: "
        f"{', '.join(table.types)}); if Scaleway offers it now, run `python -m kapsule catalog refresh`"
    )


def load_balancer_type_problem(offer: str) -> str | None:
    """Why a load balancer offer is not one Scaleway sells, or None."""
    return _offered("load_balancers", offer, "a load balancer offer")


def _offered(table: str, product: str, what: str) -> str | None:
    """Why `product` is not in the price catalog's `table` (the products Scaleway offers), or None.

    A product the catalog does not know could not be priced either: refusing it keeps every cost total whole.
    """
    known = offered_products(table)
    if product in known:
        return None
    return (
        f"is not {what} the price catalog knows (components/prices.json: {', '.join(known)}); "
        "if Scaleway offers it now, run `python -m kapsule prices refresh`"
    )


#: What Scaleway sells, as the price catalog lists it: node types, load balancer offers, control planes.
PRICES_FILE = Path(__file__).with_name("prices.json")


#: The catalogs are files of this package, a few KiB each: a larger one is refused, not read.
MAX_CATALOG_BYTES = 1 << 20


def read_catalog(path: Path) -> Any:
    """A catalog file's JSON document, read within its bound."""
    return json.loads(read_text(path, MAX_CATALOG_BYTES, "a catalog is a few KiB"))


@functools.lru_cache(maxsize=1)
def prices_document() -> Any:
    """The price catalog's document, read once per process (the specs' checks and the cost report share it)."""
    return read_catalog(PRICES_FILE)


@functools.cache
def offered_products(table: str) -> tuple[str, ...]:
    """The products of one table of the price catalog, in its order."""
    return tuple(prices_document().get(table) or ())


def region_problem(region: str) -> str | None:
    """Why a region cannot hold a Kapsule cluster, or None when it can."""
    if region in ZONES:
        return None
    return f"{region!r} is not a Kapsule region; allowed: {', '.join(ZONES)}"


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
