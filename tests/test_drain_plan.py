"""Drain before delete, in the program and the offline plan: every pool is bound to its cluster's drain hook
(under the mock runtime), the keys are validated, and a pool replacement or removal says what happens to its
workloads first. The drain itself runs against a real Kubernetes API in tests/e2e/test_drain.py."""

from __future__ import annotations

import pytest
import yaml

from kapsule.reports.plan import format_json, format_markdown, format_text
from kapsule.stackfile.messages import StackConfigError
from tests.conftest import render_stack
from tests.test_engine_records import RECORDS, plan_of

POOL = "scaleway:kubernetes/pool:Pool"


def test_every_pool_is_bound_to_its_clusters_drain_hook(stack):
    pools = render_stack(stack).by_type(POOL)
    assert pools
    assert {tuple(pool.before_delete) for pool in pools} == {("cluster-drain-pools",)}


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"drain_timeout": "600"}, "bare number"),
        ({"drain_timeout": "ten minutes"}, "not a Go duration"),
        ({"drain": "no"}, "valid boolean"),
    ],
)
def test_the_drain_keys_are_validated(values, words):
    rendering = render_stack("dev", lambda c: c["kapsule:pools"]["default"].update(values), check=False)
    assert isinstance(rendering.error, StackConfigError) and words in str(rendering.error)


def test_a_pool_replacement_is_drained_first_for_up_to_its_timeout(tmp_path):
    plan, _ = plan_of(tmp_path, "scaleway", RECORDS / "scaleway" / "edits" / "b.yaml")  # node type DEV1-M -> DEV1-L
    pool = next(c for c in plan.changes if c.resource.type == POOL and c.action == "replace")
    assert pool.drain.startswith(
        "drained first: its nodes are cordoned and their pods evicted, honouring PodDisruptionBudgets, for up to 30m"
    )
    assert "drain: drained first" in format_text(plan)
    assert "It is drained first" in format_markdown([plan])


def test_with_the_drain_off_the_plan_says_workloads_stop_at_once(tmp_path):
    base = yaml.safe_load((RECORDS / "scaleway" / "edits" / "b.yaml").read_text())
    base["config"]["kapsule:pools"]["default"].update(drain=False, drain_timeout="5m")
    edited = tmp_path / "b.yaml"
    edited.write_text(yaml.safe_dump(base))
    plan, _ = plan_of(tmp_path / "off", "scaleway", edited)
    pool = next(c for c in plan.changes if c.resource.type == POOL and c.action == "replace")
    assert pool.drain == "drain is off for this pool (drain: false): its workloads stop at once with its nodes"
    removed, _ = plan_of(tmp_path / "removed", "scaleway", RECORDS / "scaleway" / "edits" / "e.yaml")
    deleted = next(c for c in removed.changes if c.resource.type == POOL and c.action == "delete")
    assert "for up to 30m" in deleted.drain, "a pool no longer declared is drained with the defaults"
    assert '"drain": "drained first' in format_json([removed])


@pytest.mark.parametrize(
    ("selector", "labels", "chosen"),
    [
        ({}, {"app": "web"}, True),  # a policy/v1 budget's empty selector: every pod of its namespace
        (None, {"app": "web"}, False),
        ({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "1"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "api"}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, {"app": "api"}, True),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}, {}, False),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, {}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, {"app": "web"}, False),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {"app": ""}, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, {"app": "x"}, False),
        (
            {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "t", "operator": "Exists"}]},
            {"app": "web"},
            False,
        ),
        ({"matchExpressions": [{"key": "app", "operator": "Near", "values": ["web"]}]}, {"app": "web"}, False),
        ({"matchExpressions": ["app"]}, {"app": "web"}, False),
    ],
)
def test_a_budget_s_selector_is_matched_by_kubernetes_rules(selector, labels, chosen):
    from components.drain import selects

    assert selects(selector, labels) is chosen
