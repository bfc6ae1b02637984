"""`python -m kapsule catalog`: every entry of the catalog files, with what it rests on and as of when."""

from __future__ import annotations

from datetime import date

from components.catalog import load_catalog
from components.node_types import load_node_types

from ..cost.prices import load_prices
from ..upgrade.removals import load_removals


def catalog_lines(day: date) -> list[str]:
    """The catalog as text lines: each file's source and as_of, then each entry and what it rests on."""
    versions = load_catalog()
    lines = [
        f"Kubernetes versions (components/kubernetes_versions.json, as of {versions.as_of})",
        f"  source: {versions.source}",
    ]
    lines.append(
        f"  {'minor':<7}{'released':<12}{'deprecated':<12}{'end of support':<16}{'on ' + str(day):<22}rests on"
    )
    for entry in versions.versions:
        status = (
            "past end of support"
            if entry.ended_on(day)
            else "deprecated"
            if entry.deprecated_on(day)
            else "supported"
            if entry.released <= day
            else "not yet released"
        )
        lines.append(
            f"  {entry.minor:<7}{entry.released!s:<12}{entry.deprecated or '-'!s:<12}"
            f"{entry.end_of_support or '-'!s:<16}"
            f"{status:<22}{_rests(entry.read_from)}"
        )
    types = load_node_types()
    prices = load_prices()
    lines += ["", f"Node types (components/node_types.json, as of {types.as_of})", f"  source: {types.source}"]
    for key, text in types.sources.items():
        lines.append(f"  [{key}] {text}")
    width = max((len(",".join(entry.zones)) for entry in types.types.values()), default=1) + 2
    for node_type in types.types.values():
        price = prices.node_types.get(node_type.name)
        priced = (
            f"{price.hourly} {prices.currency}/h ({'estimate' if price.estimate else 'read from Scaleway'})"
            if price
            else "no price (not in components/prices.json)"
        )
        state = (
            f"end of service, successor {node_type.successor or 'not named'}" if node_type.end_of_service else "offered"
        )
        storage = "local" if node_type.local_storage else "block"
        lines.append(
            f"  {node_type.name:<17}{','.join(node_type.zones) or '-':<{width}}{storage:<7}"
            f"{state}; {priced}; zones {_rests(node_type.read_from)} [{node_type.source}]"
        )
    estimates = sum(1 for table in _price_tables(prices) for p in table.values() if p.estimate)
    lines += [
        "",
        f"Prices (components/prices.json, as of {prices.as_of}): {estimates} entries are estimates",
        f"  source: {prices.source}",
    ]
    source, removals = load_removals()
    lines += ["", f"Removed Kubernetes APIs (components/kubernetes_api_removals.json): {len(removals)} kinds"]
    lines.append(f"  source: {source}; `python -m kapsule catalog refresh-apis` rereads it")
    return lines


def _price_tables(prices):
    return (
        prices.node_types,
        prices.control_planes,
        prices.load_balancers,
        prices.public_gateways,
        prices.ips,
        prices.block_storage_per_gb,
    )


def _rests(read_from: str) -> str:
    return {"api": "read from the Scaleway API", "docs": "read from Scaleway's documentation"}.get(
        read_from, "estimate"
    )


def show_catalog(day: date) -> int:
    """Print the catalog."""
    print("\n".join(catalog_lines(day)))
    return 0
