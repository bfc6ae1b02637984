"""The Instance types Kapsule can run nodes on, as Scaleway offers them: the zones of each, whether it has
local storage (the `l_ssd` root volume), its end of service and successor. Pure data, no Pulumi runtime.

The table is `node_types.json` beside this module. Each entry says what it was read from (`docs`: Scaleway's
published documentation, cited in the file's `sources`; `api`: the Instance API's server types per zone, read by
`python -m kapsule catalog refresh`). A zone in a region the file's sources do not cover (`regions_covered`) is
not judged: nothing is known there, so nothing is refused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .files import read_text

NODE_TYPES_FILE = Path(__file__).with_name("node_types.json")
#: A Kosmos (multicloud) pool of nodes that run outside Scaleway and join the cluster themselves.
EXTERNAL = "external"


@dataclass(frozen=True)
class NodeType:
    """One Instance type as Scaleway offers it."""

    name: str
    zones: tuple[str, ...]
    local_storage: bool
    end_of_service: bool
    successor: str | None
    read_from: str
    source: str


@dataclass(frozen=True)
class NodeTypes:
    """Every Instance type the table knows, with where it rests."""

    as_of: str
    source: str
    sources: dict[str, str]
    regions_covered: tuple[str, ...]
    types: dict[str, NodeType]

    def zones_problem(self, node_type: str, zone: str) -> str | None:
        """Why `node_type` cannot run in `zone` (naming zones that have it), or None."""
        entry = self.types.get(node_type)
        if entry is None or zone in entry.zones or zone.rsplit("-", 1)[0] not in self.regions_covered:
            return None
        region = zone.rsplit("-", 1)[0]
        near = [z for z in entry.zones if z.startswith(region + "-")]
        where = ", ".join(near) if near else ", ".join(entry.zones) + f" (none in {region})"
        return f"{node_type} is not offered in {zone}; Scaleway offers it in {where}"

    def service_problem(self, node_type: str) -> str | None:
        """Why `node_type` can no longer be ordered (naming its successor), or None."""
        entry = self.types.get(node_type)
        if entry is None or not entry.end_of_service:
            return None
        if entry.successor:
            return f"{node_type} is past its end of service at Scaleway; its successor is {entry.successor}"
        return f"{node_type} is past its end of service at Scaleway, which names no successor; choose another type"

    def local_storage_problem(self, node_type: str) -> str | None:
        """Why `node_type` cannot take an `l_ssd` root volume (naming the volume types it can take), or None."""
        entry = self.types.get(node_type)
        if entry is None or entry.local_storage:
            return None
        return f"l_ssd needs local storage, which {node_type} does not have; use sbs_5k or sbs_15k"


@functools.lru_cache(maxsize=4)
def load_node_types(path: Path = NODE_TYPES_FILE) -> NodeTypes:
    """Read the node-type table (once per process)."""
    import json

    document = json.loads(read_text(path, 1 << 20, "the node-type table is a few KiB"))
    return NodeTypes(
        as_of=document["as_of"],
        source=document["source"],
        sources=dict(document.get("sources") or {}),
        regions_covered=tuple(document.get("regions_covered") or ()),
        types={
            name: NodeType(
                name=name,
                zones=tuple(item.get("zones") or ()),
                local_storage=bool(item.get("local_storage")),
                end_of_service=bool(item.get("end_of_service")),
                successor=item.get("successor"),
                read_from=item.get("read_from", "estimate"),
                source=item.get("source", ""),
            )
            for name, item in document["node_types"].items()
        },
    )
