"""What a stack costs a month, and its carbon, from the price catalog (`components/prices.json`).

Pure logic: no Pulumi runtime. It prices resources as the engine records them (type token and
camelCase inputs), so the same function prices the rendered program, the recorded state and the
policy pack's view of a preview. An autoscaled pool costs a range, from its minimum to its maximum
node count; a product the catalog does not know is reported, never priced at zero in silence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from components.annotations import PREFIX

from ..names import (
    CLUSTER,
    LB_IP,
    MAX_SIZE,
    MIN_SIZE,
    NODE_TYPE,
    POOL,
    REGISTRY,
    ROOT_VOLUME_SIZE,
    ROOT_VOLUME_TYPE,
    SERVICE,
)
from ..names import (
    PUBLIC_GATEWAY as GATEWAY,
)
from ..names import (
    PUBLIC_GATEWAY_IP as GATEWAY_IP,
)
from ..resources.model import ResourceView
from .prices import Price, PriceCatalog, load_prices

LB_TYPE_ANNOTATION = PREFIX + "type"
#: The load balancer offer the Scaleway cloud controller creates when a Service names none.
DEFAULT_LB_TYPE = "LB-S"


@dataclass
class CostLine:
    """What one resource costs a month: a range for an autoscaled pool, the same number twice otherwise."""

    urn: str
    type: str
    name: str
    what: str
    low: float
    high: float
    current: float | None = None
    """An autoscaled pool at its recorded size, when the state knows it."""
    kg_co2e: float | None = None
    """At the high end, where the catalog knows every product of the line."""
    estimate: bool = False
    unpriced: str | None = None
    """Why (part of) this resource is not in the total: a product the catalog does not know."""

    @property
    def free(self) -> bool:
        """Nothing to pay and nothing left out."""
        return self.high == 0 and self.unpriced is None


@dataclass
class StackCost:
    """Every priced resource of a stack and the monthly totals."""

    currency: str
    as_of: date
    lines: list[CostLine]
    hours_per_month: int = 730

    @property
    def low(self) -> float:
        """The month at every autoscaled pool's minimum."""
        return round(sum(line.low for line in self.lines), 2)

    @property
    def high(self) -> float:
        """The month at every autoscaled pool's maximum."""
        return round(sum(line.high for line in self.lines), 2)

    @property
    def kg_co2e(self) -> float | None:
        """kg CO2e a month at the high end, or None unless every priced line has a footprint."""
        known = [line.kg_co2e for line in self.lines if line.high > 0]
        footprints = [k for k in known if k is not None]
        return round(sum(footprints), 2) if known and len(footprints) == len(known) else None

    @property
    def unpriced(self) -> list[str]:
        """One line per product the catalog does not know."""
        return [f"{line.name}: {line.unpriced}" for line in self.lines if line.unpriced]

    def total(self) -> str:
        """The monthly total as a reader should see it: never a partial sum passed off as the whole."""
        text = money_range(self.low, self.high, self.currency)
        missing = len(self.unpriced)
        return f"at least {text} ({missing} product(s) not priced)" if missing else text

    @property
    def estimate(self) -> bool:
        """Whether any price in the totals is a seeded estimate."""
        return any(line.estimate for line in self.lines if line.high > 0)


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _Line:
    """Builds one CostLine from parts (a product times a count), noting what the catalog lacks."""

    def __init__(self, catalog: PriceCatalog, resource: ResourceView, what: str) -> None:
        self.catalog, self.resource, self.what = catalog, resource, what
        self.low = self.high = 0.0
        self.co2: float | None = 0.0
        self.estimate = False
        self.missing: list[str] = []

    def add(
        self, table: Mapping[str, Price], key: str | None, label: str, low: float = 1, high: float | None = None
    ) -> Price | None:
        """Add `low` (to `high`) units of the product `key` of `table`; a product it lacks is noted, not priced."""
        high = low if high is None else high
        price = table.get(key) if key else None
        if price is None:
            self.missing.append(f"{label} {key!r} is not in the price catalog (as of {self.catalog.as_of}): not priced")
            return None
        self.low += self.catalog.monthly(price, low)
        self.high += self.catalog.monthly(price, high)
        self.estimate |= price.estimate
        if self.co2 is not None and price.hourly > 0:
            self.co2 = (
                None
                if price.kg_co2e_hourly is None
                else self.co2 + price.kg_co2e_hourly * self.catalog.hours_per_month * high
            )
        return price

    def done(self, current: float | None = None) -> CostLine:
        r = self.resource
        return CostLine(
            urn=r.urn,
            type=r.type,
            name=r.name,
            what=self.what,
            low=round(self.low, 2),
            high=round(self.high, 2),
            current=None if current is None else round(current, 2),
            kg_co2e=None if self.co2 is None else round(self.co2, 2),
            estimate=self.estimate,
            unpriced="; ".join(self.missing) or None,
        )


def _one_product(resource: ResourceView) -> tuple[str, str, str, str] | None:
    """(catalog table, product, what the product is called, what the line says) for a single-product resource."""
    inputs = resource.inputs
    if resource.type == CLUSTER:
        kind = _text(inputs.get("type")) or "kapsule"
        return "control_planes", kind, "control plane type", f"{kind} control plane"
    if resource.type == SERVICE:
        spec = inputs.get("spec") or {}
        if not isinstance(spec, Mapping) or spec.get("type") != "LoadBalancer":
            return None
        annotations = (inputs.get("metadata") or {}).get("annotations") or {}
        kind = (
            _text(annotations.get(LB_TYPE_ANNOTATION)) if isinstance(annotations, Mapping) else None
        ) or DEFAULT_LB_TYPE
        return "load_balancers", kind, "load balancer type", f"{kind} load balancer"
    if resource.type in (LB_IP, GATEWAY_IP):
        return "ips", "load_balancer" if resource.type == LB_IP else "flexible", "IP kind", "reserved IP"
    if resource.type == GATEWAY:
        kind = _text(inputs.get("type")) or "VPC-GW-S"
        return "public_gateways", kind, "public gateway type", f"{kind} public gateway"
    return None


def price_resource(resource: ResourceView, catalog: PriceCatalog) -> CostLine | None:
    """What one resource costs a month, or None for one that is not a Scaleway product (a Kubernetes object)."""
    if resource.type == POOL:
        return _price_pool(resource, catalog)
    product = _one_product(resource)
    if product is not None:
        table, key, label, what = product
        line = _Line(catalog, resource, what)
        line.add(getattr(catalog, table), key, label)
        return line.done()
    if resource.type == REGISTRY:
        gb = catalog.registry_estimated_gb
        line = _Line(catalog, resource, f"registry storage, an estimated {gb:g} GB")
        line.add({"storage": catalog.registry_storage_per_gb}, "storage", "registry storage", gb)
        line.estimate = True
        return line.done()
    if resource.type.startswith("scaleway:"):
        kind = resource.type.rsplit(":", 1)[-1]
        return CostLine(
            urn=resource.urn, type=resource.type, name=resource.name, what=kind, low=0.0, high=0.0, kg_co2e=0.0
        )
    return None


def _price_pool(resource: ResourceView, catalog: PriceCatalog) -> CostLine:
    inputs, outputs = resource.inputs, resource.outputs
    node_type = _text(inputs.get(NODE_TYPE))
    autoscaled = inputs.get("autoscaling") is True
    size = _number(inputs.get("size")) or 0
    fewest = _number(inputs.get(MIN_SIZE)) if autoscaled else size
    most = _number(inputs.get(MAX_SIZE)) if autoscaled else size
    fewest = size if fewest is None else fewest
    most = size if most is None else most
    what = f"{fewest}-{most} x {node_type} (autoscaled)" if autoscaled else f"{size} x {node_type}"
    line = _Line(catalog, resource, what)
    node = line.add(catalog.node_types, node_type, "node type", fewest, most)
    volume = _text(inputs.get(ROOT_VOLUME_TYPE))
    gb = _number(inputs.get(ROOT_VOLUME_SIZE))
    storage = None
    if volume and gb:
        line.what += f", {gb} GB {volume} root volumes"
        storage = line.add(catalog.block_storage_per_gb, volume, "root volume type", gb * fewest, gb * most)
    elif volume or gb:
        line.what += ", root volume as Scaleway picks it (not priced)"
    running = _number(outputs.get("currentSize")) or (_number(outputs.get("size")) if autoscaled else None)
    current = None
    if autoscaled and running is not None and node is not None:
        current = catalog.monthly(node, running) + (catalog.monthly(storage, gb * running) if storage and gb else 0.0)
    return line.done(current)


def price_stack(resources: Iterable[ResourceView], catalog: PriceCatalog | None = None) -> StackCost:
    """Every priced resource of a stack, in the order given, with the catalog's currency and date."""
    catalog = catalog or load_prices()
    lines = [line for line in (price_resource(r, catalog) for r in resources) if line is not None]
    return StackCost(
        currency=catalog.currency, as_of=catalog.as_of, lines=lines, hours_per_month=catalog.hours_per_month
    )


def money(amount: float, currency: str = "EUR") -> str:
    """`EUR 1,234.50`."""
    return f"{currency} {amount:,.2f}"


def money_range(low: float, high: float, currency: str = "EUR") -> str:
    """`EUR 14.45` or `EUR 14.45 to 43.36`."""
    return money(low, currency) if round(low, 2) == round(high, 2) else f"{money(low, currency)} to {high:,.2f}"


def signed_range(low: float, high: float, currency: str = "EUR") -> str:
    """A difference: `+EUR 160.60`, `-EUR 14.45`, `+EUR 0.00 to 28.91`."""

    def signed(amount: float) -> str:
        return f"{'-' if amount < 0 else '+'}{currency} {abs(amount):,.2f}"

    if round(low, 2) == round(high, 2):
        return signed(low)
    return f"{signed(low)} to {'-' if high < 0 else '+'}{abs(high):,.2f}"


@dataclass
class CostChange:
    """A stack's monthly cost before (recorded state) and after (the stack file) a plan."""

    after: StackCost
    before: StackCost | None = None

    @property
    def delta(self) -> tuple[float, float]:
        """After minus before, at the low and the high end (before is zero with no recorded state)."""
        low, high = (self.before.low, self.before.high) if self.before else (0.0, 0.0)
        return round(self.after.low - low, 2), round(self.after.high - high, 2)

    def line(self) -> str:
        """One line for a reviewer: what the change does to the monthly bill."""
        currency = self.after.currency
        before = self.before.total() if self.before else "nothing recorded"
        label = f"prices as of {self.after.as_of}{', estimates' if self.after.estimate else ''}"
        return (
            f"Monthly cost: {self.after.total()} "
            f"(before: {before}; change {signed_range(*self.delta, currency)}; {label})"
        )

    def document(self) -> dict[str, Any]:
        """The cost for machines."""

        def side(cost: StackCost | None) -> dict[str, Any] | None:
            return (
                None
                if cost is None
                else {"low": cost.low, "high": cost.high, "kg_co2e": cost.kg_co2e, "complete": not cost.unpriced}
            )

        return {
            "currency": self.after.currency,
            "as_of": self.after.as_of.isoformat(),
            "estimate": self.after.estimate,
            "before": side(self.before),
            "after": side(self.after),
            "delta": {"low": self.delta[0], "high": self.delta[1]},
            "unpriced": self.after.unpriced,
        }
