"""The price catalog (`components/prices.json`): its schema, how it is read, and
`python -m kapsule prices refresh`, which rebuilds it from Scaleway's public product catalog.

The public catalog (`product_catalog` v2alpha1, `list_public_catalog_products`) publishes a retail
price per product and, for many, an estimate of kg CO2e and water per unit. It needs no credentials;
they are sent only when the environment has them. Products it does not list (public gateways,
registry storage) keep their seeded price and stay labelled as estimates.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.offers import PRICES_FILE, prices_document, read_catalog

from ..exits import EXIT_INVALID
from ..files import FileProblem
from ..scaleway import PAGE_SIZE, NoAnswer, NoClient, TooLong, paged
from ..scaleway import client as sdk_client


class PriceError(ValueError):
    """A price catalog that cannot be read: the message names the file and the key."""


class Price(BaseModel):
    """One product's retail price per hour (per GB-hour for storage), with its footprint where known."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    hourly: float = Field(ge=0)
    kg_co2e_hourly: float | None = Field(default=None, ge=0)
    m3_water_hourly: float | None = Field(default=None, ge=0)
    estimate: bool
    """True until `prices refresh` has read this product from the public catalog."""
    sku: str | None = None


class PriceCatalog(BaseModel):
    """Every product a stack of this project can bill, by the name the program uses for it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    as_of: date
    source: str = Field(min_length=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    hours_per_month: int = Field(gt=0)
    node_types: dict[str, Price]
    control_planes: dict[str, Price]
    load_balancers: dict[str, Price]
    public_gateways: dict[str, Price]
    ips: dict[str, Price]
    block_storage_per_gb: dict[str, Price]
    registry_storage_per_gb: Price
    registry_estimated_gb: float = Field(ge=0)

    def monthly(self, price: Price, quantity: float = 1) -> float:
        """A price over a month of `hours_per_month` hours."""
        return price.hourly * self.hours_per_month * quantity


def parse_prices(document: Any, source: str = "components/prices.json") -> PriceCatalog:
    """A price catalog from its JSON document; one PriceError naming every bad key."""
    if isinstance(document, dict) and isinstance(document.get("as_of"), str):
        try:
            document = {**document, "as_of": date.fromisoformat(document["as_of"])}
        except ValueError:
            raise PriceError(f"{source}: as_of {document['as_of']!r} is not a day (YYYY-MM-DD)") from None
    try:
        return PriceCatalog.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors())
        raise PriceError(f"{source}: {problems}") from None


@lru_cache(maxsize=4)
def load_prices(path: Path = PRICES_FILE) -> PriceCatalog:
    """The checked-in price catalog (read once per process)."""
    try:
        document = prices_document() if path == PRICES_FILE else read_catalog(path)
    except (FileProblem, ValueError) as error:
        raise PriceError(f"{path.name}: cannot be read ({error})") from None
    return parse_prices(document, "components/prices.json" if path == PRICES_FILE else str(path))


HOURS_PER_MONTH = 730
#: Units of measure a price is per, in hours: anything else (per GB, per request) is not a time price.
PER_HOURS = {"hour": 1, "day": 24, "month": HOURS_PER_MONTH}
DEDICATED = re.compile(r"dedicated[ _-]?(\d+)")


def _amount(money: Any) -> float:
    return float(money.units) + money.nanos / 1e9


def _hours(product: Any) -> float | None:
    unit = product.unit_of_measure
    per = PER_HOURS.get(str(unit.unit)) if unit is not None else None
    return per * (unit.size or 1) if per else None


def _control_plane(product: Any, family: str) -> str | None:
    """`kapsule-dedicated-8` from a control plane product's names; the shared one is `kapsule`."""
    text = " ".join(str(part or "") for part in (product.variant, product.product, product.sku)).lower()
    match = DEDICATED.search(text)
    if match:
        return f"{family}-dedicated-{match.group(1)}"
    return family if re.search(r"\b(shared|mutuali[sz]ed|free)\b", text) else None


def classify(product: Any) -> tuple[str, str] | None:
    """(catalog table, key) for a product this project bills, or None."""
    props = product.properties
    if props is None:
        return None
    if props.instance is not None and props.instance.offer_id:
        return "node_types", props.instance.offer_id
    if props.kubernetes is not None:
        if props.kubernetes.kapsule_control_plane is not None:
            key = _control_plane(product, "kapsule")
            return ("control_planes", key) if key else None
        if props.kubernetes.kosmos_control_plane is not None:
            key = _control_plane(product, "multicloud")
            return ("control_planes", key) if key else None
    if props.load_balancer is not None:
        if props.load_balancer.node is not None and props.load_balancer.node.offer_id:
            return "load_balancers", props.load_balancer.node.offer_id
        if props.load_balancer.ipv4 is not None:
            return "ips", "load_balancer"
    return None


def _in_place(product: Any, zone: str) -> bool:
    locality = product.locality
    if locality is None or locality.global_:
        return True
    region = zone.rsplit("-", 1)[0]
    return (locality.zone in (None, zone)) and (locality.region in (None, region))


def catalog_document(
    products: Iterable[Any], current: dict[str, Any], zone: str, today: date
) -> tuple[dict[str, Any], int]:
    """The price catalog with every product the public catalog prices by the hour in `zone` refreshed.

    Returns the document and how many entries were refreshed; what the public catalog lacks keeps its
    seeded price and its `estimate: true`.
    """
    document = json.loads(json.dumps(current))
    refreshed = 0
    for product in products:
        where = classify(product)
        hours = _hours(product)
        price = product.price.retail_price if product.price is not None else None
        if where is None or hours is None or price is None or not _in_place(product, zone):
            continue
        if price.currency_code != document["currency"]:
            continue
        table, key = where
        entry: dict[str, Any] = {"hourly": round(_amount(price) / hours, 6), "estimate": False, "sku": product.sku}
        impact = product.environmental_impact_estimation
        if impact is not None and impact.kg_co2_equivalent is not None:
            entry["kg_co2e_hourly"] = round(impact.kg_co2_equivalent / hours, 6)
        if impact is not None and impact.m3_water_usage is not None:
            entry["m3_water_hourly"] = round(impact.m3_water_usage / hours, 9)
        document[table][key] = entry
        refreshed += 1
    document["as_of"] = today.isoformat()
    document["source"] = (
        f"Scaleway public product catalog (product_catalog v2alpha1) for {zone}, read {today.isoformat()}; "
        "entries marked estimate are not in it and keep their seeded price"
    )
    return document, refreshed


#: Products read at most from the public catalog (every product of every zone: a few thousand).
MAX_PRODUCTS = 20_000


def public_products(client: Any) -> list[Any]:
    """Every product of Scaleway's public catalog, page by page, each page within a deadline."""
    from scaleway.product_catalog.v2alpha1 import ProductCatalogV2Alpha1PublicCatalogAPI

    api = ProductCatalogV2Alpha1PublicCatalogAPI(
        client, bypass_validation=not (client.access_key and client.secret_key)
    )
    return paged(
        lambda page: api.list_public_catalog_products(page=page, page_size=PAGE_SIZE),
        "products",
        "product_catalog ListPublicCatalogProducts",
        MAX_PRODUCTS,
    )


def refresh_prices(zone: str) -> int:
    """Rewrite `components/prices.json` from the public catalog."""
    from scaleway_core.api import ScalewayException

    try:  # no key is needed: the public catalog is public
        products = public_products(sdk_client())
    except ScalewayException as error:
        hint = "; set SCW_ACCESS_KEY and SCW_SECRET_KEY and try again" if error.status_code in (401, 403) else ""
        print(f"prices refresh: the Scaleway product catalog answered HTTP {error.status_code}{hint}", file=sys.stderr)
        return EXIT_INVALID
    except (NoAnswer, NoClient, TooLong) as error:
        print(f"prices refresh: {error}; nothing written", file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:  # requests' connection errors are OSErrors
        print(f"prices refresh: cannot reach the Scaleway API ({type(error).__name__})", file=sys.stderr)
        return EXIT_INVALID
    current = read_catalog(PRICES_FILE)
    document, refreshed = catalog_document(products, current, zone, date.today())
    try:
        parse_prices(document)
    except PriceError as error:
        print(f"prices refresh: the refreshed catalog is not valid ({error}); nothing written", file=sys.stderr)
        return EXIT_INVALID
    PRICES_FILE.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"components/prices.json: {refreshed} prices from the Scaleway product catalog ({zone}); commit the diff")
    return 0
