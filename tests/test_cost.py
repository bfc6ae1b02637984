"""What a stack costs: the price catalog, the per-resource arithmetic, the plan's before/after, the budget rule."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from scaleway.product_catalog.v2alpha1.marshalling import unmarshal_ListPublicCatalogProductsResponse

from kapsule.cost.estimate import price_stack
from kapsule.cost.prices import PRICES_FILE, PriceError, catalog_document, load_prices, parse_prices
from kapsule.names import ROOT
from kapsule.plan.stack import plan_stack
from kapsule.resources.model import ResourceView
from kapsule.state.reading import read_state
from policy.rules import RULES
from tests import recorded
from tests.conftest import STACKS, copy_project, render_stack

FIXTURE = Path(__file__).with_name("fixtures") / "product_catalog_response.json"


def cost_of(stack: str, edit=None):
    rendering = render_stack(stack, edit)
    return price_stack(ResourceView(r.type, r.name, r.urn, r.inputs) for r in rendering.resources)


def test_the_checked_in_catalog_follows_its_schema():
    catalog = load_prices()
    assert catalog.currency == "EUR" and catalog.hours_per_month == 730
    assert catalog.control_planes["kapsule"].hourly == 0 and catalog.control_planes["kapsule-dedicated-4"].hourly > 0
    # Every node type the stacks and the policy allow is priced.
    from policy.rules import RULES as rules

    allowed = next(r for r in rules if r.name == "allowed-node-types").settings["allowedNodeTypes"]
    for pattern in allowed:
        assert any(__import__("fnmatch").fnmatchcase(t, pattern) for t in catalog.node_types), pattern
    # A price read from the public catalog names its SKU; a seeded one is labelled an estimate until then.
    tables = (catalog.node_types, catalog.control_planes, catalog.load_balancers, catalog.public_gateways, catalog.ips)
    for table in tables:
        for name, price in table.items():
            # The shared control planes are free by Scaleway's terms, not by an estimate.
            assert price.estimate or price.sku or price.hourly == 0, (
                f"{name}: a price that is not an estimate says where it came from"
            )
    if "seeded" in catalog.source:
        assert all(price.estimate for table in tables for price in table.values() if price.hourly > 0)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d["node_types"]["DEV1-M"].update(hourly=-1), "node_types.DEV1-M.hourly"),
        (lambda d: d["node_types"]["DEV1-M"].update(hourly="0.02"), "node_types.DEV1-M.hourly"),
        (lambda d: d.update(currency="euro"), "currency"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d.pop("load_balancers"), "load_balancers"),
        (lambda d: d.update(as_of="yesterday"), "as_of 'yesterday' is not a day"),
    ],
)
def test_a_bad_catalog_is_one_error_naming_the_key(edit, words):
    document = json.loads(PRICES_FILE.read_text())
    edit(document)
    with pytest.raises(PriceError) as raised:
        parse_prices(document)
    assert str(raised.value).startswith("components/prices.json: ") and words in str(raised.value)


@pytest.mark.parametrize("stack", STACKS)
def test_costs_add_up(stack):
    cost = cost_of(stack)
    assert cost.low == round(sum(line.low for line in cost.lines), 2)
    assert cost.high == round(sum(line.high for line in cost.lines), 2)
    assert 0 < cost.low <= cost.high
    assert cost.unpriced == []


def fixed_pool(size: int):
    def edit(config: dict[str, Any]) -> None:
        pool = config["kapsule:pools"]["default"]
        for key in ("min_size", "max_size"):
            pool.pop(key, None)
        pool.update(autoscaling=False, size=size)

    return edit


def test_doubling_a_fixed_pool_adds_its_node_price_per_added_node():
    catalog = load_prices()
    before, after = cost_of("dev", fixed_pool(2)), cost_of("dev", fixed_pool(4))
    added = catalog.node_types["DEV1-M"].hourly * 730 * 2
    assert after.low - before.low == pytest.approx(added, abs=0.011)
    assert after.high - before.high == pytest.approx(added, abs=0.011)


def test_an_autoscaled_pool_costs_its_range():
    catalog = load_prices()
    pool = next(line for line in cost_of("dev").lines if line.type == "scaleway:kubernetes/pool:Pool")
    hourly = catalog.node_types["DEV1-M"].hourly
    assert (pool.low, pool.high) == (round(hourly * 730 * 1, 2), round(hourly * 730 * 3, 2))
    assert pool.what == "1-3 x DEV1-M (autoscaled)"


def test_a_dedicated_control_plane_costs_more_and_the_shared_one_nothing():
    shared = next(line for line in cost_of("dev").lines if line.type == "scaleway:kubernetes/cluster:Cluster")
    dedicated = next(
        line
        for line in cost_of("dev", lambda c: c["kapsule:cluster"].update(type="kapsule-dedicated-4")).lines
        if line.type == "scaleway:kubernetes/cluster:Cluster"
    )
    assert shared.high == 0 and shared.free
    assert dedicated.high == round(load_prices().control_planes["kapsule-dedicated-4"].hourly * 730, 2) > 0


def test_an_unknown_product_is_named_and_never_priced_at_zero():
    """Validation refuses a product the catalog lacks; recorded state may still hold one (a type retired since)."""
    views = [ResourceView(r.type, r.name, r.urn, dict(r.inputs)) for r in render_stack("dev").resources]
    pool = next(v for v in views if v.type == "scaleway:kubernetes/pool:Pool")
    pool.inputs["nodeType"] = "GP9-XXL"
    cost = price_stack(views)
    line = next(line for line in cost.lines if line.type == "scaleway:kubernetes/pool:Pool")
    assert line.unpriced == f"node type 'GP9-XXL' is not in the price catalog (as of {load_prices().as_of}): not priced"
    assert cost.unpriced == [f"default: {line.unpriced}"]
    assert cost.total().startswith("at least ") and cost.total().endswith("(1 product(s) not priced)")


def test_the_plan_gives_the_cost_before_and_after_and_a_removal_is_negative(tmp_path):
    state = recorded.write(tmp_path / "staging.json", recorded.export(render_stack("staging")))

    def drop_api(config: dict[str, Any]) -> None:
        config["kapsule:services"].pop("api")

    plan = plan_stack("staging", copy_project(tmp_path / "project", {"staging": drop_api}), read_state(state))
    assert plan.cost is not None and plan.cost.before is not None
    low, high = plan.cost.delta
    lb = load_prices().load_balancers["LB-S"].hourly * 730
    ip = load_prices().ips["load_balancer"].hourly * 730
    assert low == high == pytest.approx(-(lb + ip), abs=0.011)
    assert plan.cost.line().startswith(f"Monthly cost: EUR {plan.cost.after.low:,.2f} to")
    assert "change -EUR" in plan.cost.line()
    from kapsule.reports.plan import format_json, format_markdown, format_text

    assert json.loads(format_json([plan]))[0]["cost"]["delta"] == {"low": low, "high": high}
    assert "| Monthly cost | Change |" in format_markdown([plan]) and plan.cost.line() in format_text(plan)


def test_current_pool_sizes_come_from_recorded_state(tmp_path):
    rendering = render_stack("dev")
    pool = rendering.one("scaleway:kubernetes/pool:Pool")
    state = recorded.write(tmp_path / "dev.json", recorded.export(rendering, overrides={pool.urn: {"currentSize": 2}}))
    plan = plan_stack("dev", copy_project(tmp_path / "project"), read_state(state))
    line = next(line for line in plan.cost.after.lines if line.type == "scaleway:kubernetes/pool:Pool")
    assert line.current == round(load_prices().node_types["DEV1-M"].hourly * 730 * 2, 2)


def test_refresh_reads_the_public_catalog_response():
    # A response in the API's wire format, read through the Scaleway SDK's own unmarshaller.
    products = unmarshal_ListPublicCatalogProductsResponse(json.loads(FIXTURE.read_text())).products
    current = json.loads(PRICES_FILE.read_text())
    document, refreshed = catalog_document(products, current, "fr-par-1", date(2026, 12, 1))
    catalog = parse_prices(document)
    assert refreshed == 6  # the fr-par-2 instance and the per-GB volume are not fr-par-1 hourly prices
    assert catalog.node_types["PRO2-S"].hourly == 0.2276 and not catalog.node_types["PRO2-S"].estimate
    assert catalog.node_types["PRO2-S"].kg_co2e_hourly == 0.0184
    assert catalog.node_types["DEV1-M"] == load_prices().node_types["DEV1-M"]  # not in fr-par-1: seeded, an estimate
    assert catalog.control_planes["kapsule-dedicated-8"].hourly == 0.26
    assert catalog.control_planes["kapsule"].hourly == 0 and not catalog.control_planes["kapsule"].estimate
    assert catalog.load_balancers["LB-S"].hourly == round(10.95 / 730, 6)  # priced per month
    assert catalog.ips["load_balancer"].hourly == 0.005
    assert catalog.block_storage_per_gb["sbs_15k"].estimate
    assert catalog.as_of == date(2026, 12, 1) and "public product catalog" in catalog.source


def test_carbon_is_shown_only_when_every_priced_product_has_a_footprint():
    products = unmarshal_ListPublicCatalogProductsResponse(json.loads(FIXTURE.read_text())).products
    document, _ = catalog_document(products, json.loads(PRICES_FILE.read_text()), "fr-par-1", date(2026, 12, 1))
    catalog = parse_prices(document)
    pool = ResourceView(
        "scaleway:kubernetes/pool:Pool", "p", "urn:p", {"nodeType": "PRO2-S", "size": 3, "autoscaling": False}
    )
    cost = price_stack([pool], catalog)
    assert cost.kg_co2e == round(0.0184 * 730 * 3, 2)
    with_lb = price_stack(
        [pool, ResourceView("kubernetes:core/v1:Service", "s", "urn:s", {"spec": {"type": "LoadBalancer"}})], catalog
    )
    assert with_lb.kg_co2e is None  # LB-S has no footprint in the catalog


def test_the_budget_rule_uses_the_same_numbers():
    rule = next(r for r in RULES if r.name == "max-monthly-cost")
    rendering = render_stack("prod")
    subjects = [ResourceView(r.type, r.name, r.urn, r.inputs, r.protect) for r in rendering.resources]
    cost = price_stack(ResourceView(r.type, r.name, r.urn, r.inputs) for r in rendering.resources)
    assert rule.run(subjects, {"maxMonthly": cost.high + 1}) == []
    over = rule.run(subjects, {"maxMonthly": cost.high - 1})
    assert [v.message for v in over] == [
        f"the stack costs EUR {cost.high:,.2f} a month with every autoscaled pool at its maximum, over its budget of EUR {cost.high - 1:,.2f}"
    ]
    assert rule.run(subjects, {"maxMonthly": cost.high - 1, "bound": "low"}) == []
    assert rule.run(subjects, {}) == []  # no budget set


def test_cost_command_from_a_fresh_clone(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "cost", "--all", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [entry["stack"] for entry in document] == ["dev", "staging", "prod"]  # deployment order
    for entry in document:
        assert entry["after"]["low"] == round(sum(r["low"] for r in entry["resources"]), 2)
    text = subprocess.run(
        [sys.executable, "-m", "kapsule", "cost", "--stack", "dev"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert text.returncode == 0 and "a month of 730 hours" in text.stdout and "free" in text.stdout


def test_cost_exits_1_on_an_unpriced_product(tmp_path):
    """A node type the node-type table offers but the price catalog lacks (a type Scaleway added since the prices
    were read): the report names it and the exit says the total is not whole."""
    project = copy_project(tmp_path / "project")
    prices = project / "components" / "prices.json"
    document = json.loads(prices.read_text())
    del document["node_types"]["DEV1-M"]
    prices.write_text(json.dumps(document))
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "cost", "--stack", "dev"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 1, result.stderr
    assert "Not priced: default: node type 'DEV1-M' is not in the price catalog" in result.stdout


def test_an_l4_pool_is_priced_and_labelled_an_estimate():
    """Scaleway's documentation publishes no GPU price: the seeded L4 price is an estimate, and the cost says so."""
    pool = {"node_type": "L4-1-24G", "zone": "fr-par-2", "size": 1}
    cost = cost_of("dev", lambda c: c["kapsule:pools"].update(gpu=pool))
    line = next(line for line in cost.lines if line.name == "gpu")
    price = load_prices().node_types["L4-1-24G"]
    assert price.estimate and line.estimate and line.unpriced is None
    assert line.high == round(price.hourly * 730, 2) > 0


def test_cost_reads_the_local_backend_for_current_sizes_and_the_change(tmp_path):
    rendering = render_stack("dev")
    pool = rendering.one("scaleway:kubernetes/pool:Pool")
    backend = tmp_path / "backend"
    recorded.write(
        backend / ".pulumi" / "stacks" / "kapsule" / "dev.json",
        recorded.checkpoint(rendering, overrides={pool.urn: {"currentSize": 2}}),
    )
    import os

    env = {**os.environ, "PULUMI_BACKEND_URL": f"file://{backend}"}
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "cost", "--stack", "dev", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)[0]
    assert entry["state"].endswith(".pulumi/stacks/kapsule/dev.json") and entry["delta"] == {"low": 0.0, "high": 0.0}
    line = next(r for r in entry["resources"] if r["type"] == "scaleway:kubernetes/pool:Pool")
    assert line["current"] == round(load_prices().node_types["DEV1-M"].hourly * 730 * 2, 2)
    # A remote backend without an export is no error for cost: it prices the stack file alone.
    remote = subprocess.run(
        [sys.executable, "-m", "kapsule", "cost", "--stack", "dev", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**env, "PULUMI_BACKEND_URL": "s3://state"},
    )
    assert remote.returncode == 0 and json.loads(remote.stdout)[0]["before"] is None
