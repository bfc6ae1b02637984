"""`python -m kapsule catalog refresh`: reread what Scaleway's APIs serve, through the Scaleway SDK, and rewrite
the catalog files: the Kubernetes versions (k8s/v1 ListVersions: dates, latest patch, and what each minor
accepts), the node types per zone (instance/v1 ListServersTypes), and the prices
(the public product catalog). Who controls each answer: Scaleway's API, reached over TLS with the
environment's credentials; an answer is read through the SDK's unmarshallers, paged within a budget, and
checked before anything is written, so a malformed answer writes nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from datetime import date
from functools import partial
from typing import Any

from components.catalog import CATALOG_FILE, catalog_document, write_catalog
from components.node_types import NODE_TYPES_FILE, load_node_types
from components.offers import PRICES_FILE, ZONES, read_catalog

from ..cost.prices import PriceError, parse_prices, public_products
from ..cost.prices import catalog_document as price_document
from ..exits import EXIT_INVALID
from ..scaleway import PAGE_SIZE, NoAnswer, NoClient, TooLong, within
from ..scaleway import client as sdk_client

#: The most pages of server types one zone's listing may take: a longer answer is refused, not followed.
MAX_PAGES = 20


class RefreshError(ValueError):
    """An answer that cannot be used: nothing is written."""


def server_types(api: Any, zone: str) -> dict[str, Any]:
    """Every server type the Instance API lists in `zone`, each page within its deadline."""
    listed: dict[str, Any] = {}
    for page in range(1, MAX_PAGES + 1):
        answer = within(
            partial(api.list_servers_types, zone=zone, per_page=PAGE_SIZE, page=page),
            f"instance/v1 ListServersTypes in {zone}",
        )
        listed.update(answer.servers or {})
        if not answer.servers or len(listed) >= int(answer.total_count or 0):
            break
    else:
        raise RefreshError(f"instance/v1 ListServersTypes in {zone}: more than {MAX_PAGES} pages")
    return listed


def node_types_document(answers: dict[str, dict[str, Any]], today: date) -> dict[str, Any]:
    """The node-type table from the Instance API's answers per zone; what the API does not say (a successor)
    is kept from the current table, and types it no longer lists keep their entry as it was."""
    current = json.loads(json.dumps(read_catalog(NODE_TYPES_FILE)))
    types: dict[str, dict[str, Any]] = {}
    for zone, listed in sorted(answers.items()):
        for name, server in listed.items():
            entry = types.setdefault(
                name,
                {"zones": [], "local_storage": False, "read_from": "api", "source": "api", "end_of_service": False},
            )
            entry["zones"].append(zone)
            local = server.per_volume_constraint.l_ssd if server.per_volume_constraint else None
            entry["local_storage"] = entry["local_storage"] or bool(local and local.max_size)
            entry["end_of_service"] = entry["end_of_service"] or bool(server.end_of_service)
    for name, entry in types.items():
        successor = (current["node_types"].get(name) or {}).get("successor")
        if successor:
            entry["successor"] = successor
    regions = sorted({zone.rsplit("-", 1)[0] for zone in answers})
    current["node_types"] = {**current["node_types"], **types}
    current["as_of"] = today.isoformat()
    current["source"] = (
        f"Scaleway Instance API (instance/v1 ListServersTypes) in {', '.join(sorted(answers))}, "
        f"read {today.isoformat()}; "
        "entries read_from docs are not listed there and keep their documented values"
    )
    current["sources"] = {**current.get("sources", {}), "api": "instance/v1 ListServersTypes per zone"}
    current["regions_covered"] = sorted(set(current.get("regions_covered", [])) | set(regions))
    return current


def listed_versions(client: Any, region: str) -> list[Any]:
    """The Kubernetes versions k8s/v1 ListVersions serves in `region`, within the call's deadline."""
    from scaleway.k8s.v1 import K8SV1API

    return list(
        within(lambda: K8SV1API(client).list_versions(region=region), f"k8s/v1 ListVersions in {region}").versions or []
    )


def refresh(client: Any, region: str, zones: Iterable[str], price_zone: str, today: date) -> list[str]:
    """Read every answer, check each document, then write all three files; the lines say what was written."""
    from scaleway.instance.v1 import InstanceV1API

    versions = listed_versions(client, region)
    if not versions:
        raise RefreshError(f"k8s/v1 ListVersions in {region} listed no version")
    versions_doc = catalog_document(versions, region, today)
    instance = InstanceV1API(client)
    answers = {zone: server_types(instance, zone) for zone in zones}
    types_doc = node_types_document(answers, today)
    products = public_products(client)
    prices_doc, priced = price_document(products, read_catalog(PRICES_FILE), price_zone, today)
    try:
        parse_prices(prices_doc)
    except PriceError as error:
        raise RefreshError(f"the refreshed price catalog is not valid ({error})") from None
    write_catalog(versions_doc, CATALOG_FILE)
    NODE_TYPES_FILE.write_text(json.dumps(types_doc, indent=2) + "\n", encoding="utf-8")
    PRICES_FILE.write_text(json.dumps(prices_doc, indent=2) + "\n", encoding="utf-8")
    load_node_types.cache_clear()
    return [
        f"components/kubernetes_versions.json: {len(versions_doc['versions'])} minors "
        f"from k8s/v1 ListVersions ({region})",
        f"components/node_types.json: server types of {len(answers)} zones from instance/v1 ListServersTypes",
        f"components/prices.json: {priced} prices from the public product catalog ({price_zone})",
    ]


def refresh_command(region: str) -> int:
    """`catalog refresh`: the versions, the node types and the prices."""
    zones = [
        zone for zones in ZONES.values() for zone in zones if zone.rsplit("-", 1)[0] in ("fr-par", "nl-ams", "pl-waw")
    ]
    return _refreshed("catalog refresh", lambda client: refresh(client, region, zones, f"{region}-1", date.today()))


def refresh_versions_command(region: str) -> int:
    """`versions refresh`: the Kubernetes versions alone."""

    def versions(client: Any) -> list[str]:
        listed = listed_versions(client, region)
        if not listed:
            raise RefreshError(f"k8s/v1 ListVersions in {region} listed no version")
        document = catalog_document(listed, region, date.today())
        write_catalog(document)
        return [
            f"components/kubernetes_versions.json: {len(document['versions'])} minors from k8s/v1 ListVersions ({region})"
        ]

    return _refreshed("versions refresh", versions)


def _refreshed(command: str, work: Callable[[Any], list[str]]) -> int:
    """Run `work` on a Scaleway client with the environment's credentials (or a scw profile); every failure is one
    line and exit 1, with nothing written."""
    from scaleway_core.api import ScalewayException

    try:
        client = sdk_client()
    except NoClient as error:
        print(f"{command}: {error}", file=sys.stderr)
        return EXIT_INVALID
    if not client.access_key or not client.secret_key:
        print(
            f"{command} needs Scaleway credentials: set SCW_ACCESS_KEY and SCW_SECRET_KEY (or a scw profile)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    try:
        lines = work(client)
    except ScalewayException as error:
        print(f"{command}: the Scaleway API answered HTTP {error.status_code}; nothing written", file=sys.stderr)
        return EXIT_INVALID
    except (NoAnswer, TooLong) as error:
        print(f"{command}: {error}; nothing written", file=sys.stderr)
        return EXIT_INVALID
    except (RefreshError, ValueError, KeyError, TypeError, AttributeError) as error:
        print(f"{command}: an answer cannot be used ({error}); nothing written", file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:
        print(f"{command}: cannot reach the Scaleway API ({type(error).__name__}); nothing written", file=sys.stderr)
        return EXIT_INVALID
    print("\n".join([*lines, "commit the diff"]))
    return 0
