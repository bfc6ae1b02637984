"""Who reaches the API server: the stack key, the registered `kubernetes.Acl` and its order, every refusal, the
policy rule's share, the plan's lines, and the diff rules the provider's source gives (acl.go)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from components.api_access import (
    RUN_RULES_VARIABLE,
    ApiAccessSpec,
    api_access_problems,
    parse_run_rules,
    single_address_problem,
)
from components.spec import SpecError
from kapsule.names import ACL, CLUSTER, K8S_PROVIDER
from kapsule.plan.access import access_lines
from kapsule.plan.diff import diff_resource
from kapsule.plan.outcome import Change
from kapsule.resources.model import Resource, ResourceView
from kapsule.stackfile.messages import StackConfigError
from kapsule.state.records import RecordedResource
from policy.rules import RULES, evaluate
from policy.rules import stack_config as policy_config
from tests.conftest import render_stack

#: A run's rule, still its own for an hour (the program refuses one that claims more than MAX_TTL ahead).
UNTIL = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
RUN_RULE = {"ip": "51.15.20.30/32", "description": f"kapsule-run 987-1 up/prod Deploy until {UNTIL}"}


def access(**values):
    return lambda c: c["kapsule:cluster"].__setitem__("api_access", values)


# The registered ACL and its dependency order (the SDK's mock runtime running the real __main__.py).


def test_a_stack_with_allowed_ranges_registers_one_acl_on_its_cluster_and_the_provider_waits_for_it():
    rendering = render_stack("prod")
    acl = rendering.one(ACL)
    cluster = rendering.one(CLUSTER)
    component = next(r for r in rendering.resources if r.type == "kapsule:cluster:Cluster")
    assert acl.parent == component.urn
    assert acl.inputs["clusterId"] == cluster.id
    assert cluster.urn in acl.property_dependencies["clusterId"]
    assert acl.inputs["aclRules"] == [
        {"ip": "203.0.113.0/24", "description": "office egress, example range to replace"},
        {"ip": "198.51.100.16/28", "description": "VPN egress, example range to replace"},
        {"ip": "2001:db8:1200::/48", "description": "office IPv6 egress, example range to replace"},
    ]
    assert "noIpAllowed" not in acl.inputs
    provider = rendering.one(K8S_PROVIDER)
    assert acl.urn in provider.depends_on
    # Everything in the Kubernetes layer goes through that provider, so waits for the allow-list too.
    assert all(r.provider.startswith(provider.urn) for r in rendering.resources if r.type.startswith("kubernetes:"))


def test_without_the_key_no_acl_is_registered_and_scaleways_default_stays():
    rendering = render_stack("dev")
    assert rendering.by_type(ACL) == []
    assert all(not d.endswith("cluster-api-access") for d in rendering.one(K8S_PROVIDER).depends_on)


def test_the_local_stack_is_unaffected():
    from kapsule.access.acl import open_access
    from kapsule.stackfile.schema import parse
    from tests.conftest import encode, stack_config

    config, _ = stack_config("local")
    assert (
        parse("stacks/Pulumi.local.yaml", encode(config)).cluster is None
    )  # a platform stack: no allow-list of its own
    line = open_access("local", environ={}, now=None)  # type: ignore[arg-type]
    assert line.endswith("nothing to do here")


def test_full_isolation_sets_no_ip_allowed_and_no_rule():
    acl = render_stack("dev", access(full_isolation=True)).one(ACL)
    assert acl.inputs["noIpAllowed"] is True
    assert "aclRules" not in acl.inputs


def test_scaleway_ranges_is_its_own_rule():
    rules = render_stack("dev", access(scaleway_ranges=True)).one(ACL).inputs["aclRules"]
    assert rules == [{"scalewayRanges": True, "description": "Scaleway's own ranges (api_access.scaleway_ranges)"}]


def test_a_runs_own_rule_is_kept_while_it_runs(monkeypatch):
    monkeypatch.setenv(RUN_RULES_VARIABLE, json.dumps([RUN_RULE]))
    rules = render_stack("prod").one(ACL).inputs["aclRules"]
    assert rules[-1] == RUN_RULE and len(rules) == 4
    # Full isolation takes no rule at all, the run's included.
    assert "aclRules" not in render_stack("prod", access(full_isolation=True)).one(ACL).inputs


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        json.dumps([{"ip": "10.0.0.1/32", "description": RUN_RULE["description"]}]),
        json.dumps([{"ip": "51.15.20.0/24", "description": RUN_RULE["description"]}]),
        json.dumps([{"ip": "51.15.20.30/32", "description": "office"}]),
        json.dumps([{**RUN_RULE, "extra": 1}]),
        json.dumps({"ip": "51.15.20.30/32"}),
    ],
)
def test_a_broken_hand_over_of_run_rules_is_one_error_and_registers_nothing(monkeypatch, value):
    import pulumi

    monkeypatch.setenv(RUN_RULES_VARIABLE, value)
    rendering = render_stack("prod", check=False)
    assert isinstance(rendering.error, pulumi.RunError)
    assert RUN_RULES_VARIABLE in str(rendering.error) and "\n" not in str(rendering.error)
    assert rendering.by_type(ACL) == []


# Every refusal: one message naming the stack file, the key path and what is allowed; nothing registered.

REFUSALS = [
    (
        access(full_isolation=True, allowed=[{"range": "203.0.113.0/24", "description": "office"}]),
        "kapsule:cluster.api_access.full_isolation",
        ["cannot be combined with allowed"],
    ),
    (
        access(full_isolation=True, scaleway_ranges=True),
        "kapsule:cluster.api_access.full_isolation",
        ["cannot be combined with scaleway_ranges"],
    ),
    (access(), "kapsule:cluster.api_access", ["allows nobody", "remove api_access to keep Scaleway's default"]),
    (
        access(allowed=[{"range": "203.0.113.7/24", "description": "office"}]),
        "kapsule:cluster.api_access.allowed[0].range",
        ["write '203.0.113.0/24'"],
    ),
    (
        access(allowed=[{"range": "203.0.113.7", "description": "office"}]),
        "kapsule:cluster.api_access.allowed[0].range",
        ["write '203.0.113.7/32'"],
    ),
    (
        access(allowed=[{"range": "office", "description": "office"}]),
        "kapsule:cluster.api_access.allowed[0].range",
        ["is not a CIDR"],
    ),
    (
        access(
            allowed=[
                {"range": "203.0.113.0/24", "description": "a"},
                {"range": "203.0.113.0/24", "description": "b"},
            ]
        ),
        "kapsule:cluster.api_access.allowed[1].range",
        ["listed already (allowed[0])"],
    ),
    (
        access(allowed=[{"range": "203.0.113.0/24", "description": "kapsule-run 1-1 x until 2026-01-01T00:00:00Z"}]),
        "kapsule:cluster.api_access.allowed[0].description",
        ["CI automation's own rules"],
    ),
    (
        access(allowed=[{"range": "203.0.113.0/24"}]),
        "kapsule:cluster.api_access.allowed[0].description",
        ["is required"],
    ),
    (access(full_isolation="yes"), "kapsule:cluster.api_access.full_isolation", ["valid boolean"]),
    (
        access(alowed=[]),
        "kapsule:cluster.api_access.alowed",
        ["unknown key", "did you mean 'allowed'", "full_isolation"],
    ),
]


@pytest.mark.parametrize(("edit", "path", "words"), REFUSALS)
def test_api_access_refusals(edit, path, words):
    rendering = render_stack("dev", edit, check=False)
    error = rendering.error
    assert isinstance(error, StackConfigError), repr(error)
    message = str(error)
    assert message.startswith("stacks/Pulumi.dev.yaml: invalid stack config")
    line = next((text for text in message.splitlines() if text.strip().startswith(path + ":")), None)
    assert line is not None, message
    for word in words:
        assert word in line, (word, line)
    assert rendering.resources == []


def test_a_kosmos_cluster_needs_scaleways_ranges_and_cannot_be_isolated():
    listed = ApiAccessSpec(allowed=[{"range": "203.0.113.0/24", "description": "office"}])
    problems = api_access_problems(listed, cluster_type="multicloud")
    assert [(p.path, "scaleway_ranges: true" in p.message) for p in problems] == [(("scaleway_ranges",), True)]
    isolated = ApiAccessSpec(full_isolation=True)
    assert [p.path for p in api_access_problems(isolated, cluster_type="multicloud")] == [("full_isolation",)]
    assert api_access_problems(isolated, cluster_type="kapsule") == []


def test_the_spec_built_directly_refuses_isolation_with_ranges():
    with pytest.raises(SpecError, match="full_isolation: full isolation allows no address"):
        ApiAccessSpec(full_isolation=True, allowed=[{"range": "203.0.113.0/24", "description": "office"}])


@pytest.mark.parametrize("where", ["cluster", "existing_cluster"])
def test_a_platform_stack_cannot_declare_it_the_cluster_stack_owns_it(where):
    allowed = {"allowed": [{"range": "203.0.113.0/24", "description": "office"}]}

    def edit(config):
        if where == "cluster":
            config["kapsule:cluster"] = {"api_access": allowed}
        else:
            config["kapsule:existing_cluster"]["api_access"] = allowed
        config["kapsule:namespaces"] = ["default"]  # another problem, reported together

    rendering = render_stack("local", edit, check=False)
    message = str(rendering.error)
    assert isinstance(rendering.error, StackConfigError), message
    assert f"  kapsule:{where}.api_access: a platform stack (existing_cluster) cannot declare" in message
    assert "the cluster stack owns the allow-list" in message
    assert "kapsule:namespaces" in message
    assert rendering.resources == []


# The replacement and comparison rules of terraform-provider-scaleway's internal/services/k8s/acl.go.


def recorded_acl(rules, cluster_id="fr-par/1111", region="fr-par"):
    inputs = {"__defaults": [], "clusterId": cluster_id, "region": region, "aclRules": rules}
    live = [{**rule, "id": f"id-{i}", "srn": "srn", "scalewayRanges": False} for i, rule in enumerate(rules)]
    return RecordedResource(
        urn="urn:pulumi:prod::kapsule::x$scaleway:kubernetes/acl:Acl::cluster-api-access",
        type=ACL,
        custom=True,
        inputs=inputs,
        outputs={**inputs, "aclRules": live, "id": cluster_id},
        id=cluster_id,
    )


A = {"ip": "203.0.113.0/24", "description": "office"}
B = {"ip": "198.51.100.16/28", "description": "VPN"}


def test_acl_rules_are_a_set_compared_without_their_computed_ids():
    recorded = recorded_acl([A, B])
    assert (
        diff_resource(ACL, {"clusterId": "fr-par/1111", "region": "fr-par", "aclRules": [B, A]}, recorded).action
        == "same"
    )
    changed = diff_resource(ACL, {"clusterId": "fr-par/1111", "region": "fr-par", "aclRules": [A]}, recorded)
    assert changed.action == "update" and list(changed.changed) == ["aclRules"]


def test_acl_cluster_id_is_compared_without_its_region_and_replaces_when_it_changes():
    recorded = recorded_acl([A])
    assert diff_resource(ACL, {"clusterId": "1111", "region": "fr-par", "aclRules": [A]}, recorded).action == "same"
    moved = diff_resource(ACL, {"clusterId": "fr-par/2222", "region": "fr-par", "aclRules": [A]}, recorded)
    assert moved.action == "replace" and "clusterId changed" in moved.reasons[0]
    assert diff_resource(ACL, {"clusterId": "1111", "region": "nl-ams", "aclRules": [A]}, recorded).action == "replace"


# The plan's lines.


def change(action, inputs, changed=None):
    resource = Resource(
        urn=f"urn::{action}", type=ACL, name="cluster-api-access", parent="", custom=True, inputs=inputs
    )
    return Change(resource=resource, action=action, changed=changed or {})


def cluster_change():
    resource = Resource(urn="urn::c", type=CLUSTER, name="cluster", parent="", custom=True, inputs={})
    return Change(resource=resource, action="same")


def test_the_plan_says_an_api_server_without_the_key_is_open_to_every_address():
    notes, warnings = access_lines([cluster_change()])
    assert notes == [
        "API server: open to every address (kapsule:cluster.api_access is not set, so Scaleway's default allow-list, "
        "0.0.0.0/0, stays)"
    ]
    assert warnings == []


def test_the_plan_shows_ranges_added_and_removed_on_one_line():
    old = [{**A, "id": "1", "scalewayRanges": False}, {**B, "id": "2", "scalewayRanges": False}]
    new = [B, {"ip": "192.0.2.0/24", "description": "new office"}]
    notes, warnings = access_lines([cluster_change(), change("update", {"aclRules": new}, {"aclRules": (old, new)})])
    assert notes == ["API server allow-list: adds 192.0.2.0/24 (new office); removes 203.0.113.0/24 (office)"]
    assert warnings == []


def test_a_change_to_full_isolation_is_flagged_as_locking_out_the_automation():
    notes, warnings = access_lines(
        [change("update", {"noIpAllowed": True}, {"noIpAllowed": (False, True), "aclRules": ([A], None)})]
    )
    assert notes == [
        "API server allow-list: changes to full isolation (no address; kapsule:cluster.api_access.full_isolation)"
    ]
    assert len(warnings) == 1 and "locks out the CI automation's own access path" in warnings[0]
    assert "KAPSULE_PRIVATE_RUNNER" in warnings[0]
    _, created = access_lines([change("create", {"noIpAllowed": True})])
    assert created == warnings


def test_run_rules_are_left_out_of_the_offline_plan_on_both_sides():
    # The recorded state of a deploy still holds its own run rule (exported before the close step): no change.
    recorded = recorded_acl([A, RUN_RULE])
    assert diff_resource(ACL, {"clusterId": "fr-par/1111", "region": "fr-par", "aclRules": [A]}, recorded).action == (
        "same"
    )
    declared = diff_resource(
        ACL, {"clusterId": "fr-par/1111", "region": "fr-par", "aclRules": [A, RUN_RULE]}, recorded_acl([A])
    )
    assert declared.action == "same"
    # Beside a real change, the line names the ranges only.
    notes, _ = access_lines([change("update", {"aclRules": [B]}, {"aclRules": ([A, RUN_RULE], [B])})])
    assert notes == ["API server allow-list: adds 198.51.100.16/28 (VPN); removes 203.0.113.0/24 (office)"]


def test_removing_the_key_is_flagged_as_opening_the_api_server():
    notes, warnings = access_lines([cluster_change(), change("delete", {"aclRules": [A]})])
    assert any("removed (kapsule:cluster.api_access is gone)" in n for n in notes)
    assert warnings == [
        "API server allow-list: removing kapsule:cluster.api_access resets the allow-list to Scaleway's default: the "
        "API server is open to every address (0.0.0.0/0)"
    ]
    _, isolated = access_lines([change("delete", {"noIpAllowed": True})])
    assert len(isolated) == 1 and "locks out the CI automation's own access path" in isolated[0]
    assert "KAPSULE_PRIVATE_RUNNER" in isolated[0]


def test_the_prod_plan_has_its_allow_list_line():
    from kapsule.plan.stack import plan_stack

    plan = plan_stack("prod")
    assert any(n.startswith("API server allow-list: set to 203.0.113.0/24") for n in plan.notes), plan.notes
    assert not any("api-server-allow-list" in e for e in plan.errors)


# The policy rule: the union of the declared ranges opens at most a configurable share of each family.

RULE = next(r for r in RULES if r.name == "api-server-allow-list")


def acl_view(*ips, isolated=False):
    inputs = {"noIpAllowed": True} if isolated else {"aclRules": [{"ip": ip, "description": "x"} for ip in ips]}
    return ResourceView(ACL, "cluster-api-access", "urn:acl", inputs)


CLUSTER_VIEW = ResourceView(CLUSTER, "cluster", "urn:cluster", {"name": "kapsule-prod"})


def test_the_rule_judges_the_union_per_family():
    settings = {"maxIPv4Share": 2**-8, "maxIPv6Share": 2**-32}
    assert RULE.run([CLUSTER_VIEW, acl_view("10.0.0.0/8")], settings) == []
    # Two halves of 10.0.0.0/8 and a /9 beside them: 3/512 of IPv4 together, over 1/256.
    found = RULE.run([CLUSTER_VIEW, acl_view("10.0.0.0/9", "10.128.0.0/9", "11.0.0.0/9")], settings)
    assert [v.message for v in found] == [
        "API server allow-list cluster-api-access: its IPv4 ranges open 3/512 of every IPv4 address, "
        "more than the 1/256 allowed"
    ]
    # Overlaps count once.
    assert RULE.run([CLUSTER_VIEW, acl_view("10.0.0.0/8", "10.0.0.0/9", "10.1.0.0/16")], settings) == []
    ipv6 = RULE.run([CLUSTER_VIEW, acl_view("2001:db8::/31")], settings)
    assert len(ipv6) == 1 and "IPv6 ranges open 1/2147483648" in ipv6[0].message
    assert RULE.run([CLUSTER_VIEW, acl_view(isolated=True)], settings) == []


def test_the_rule_refuses_a_cluster_without_allow_list():
    found = RULE.run([CLUSTER_VIEW], RULE.settings)
    assert [v.message for v in found] == [
        "cluster kapsule-prod: the API server is open to every address "
        "(no kapsule:cluster.api_access; Scaleway's default)"
    ]
    assert RULE.run([], RULE.settings) == []  # a platform stack: the cluster stack's rule


def test_prod_enforces_it_and_refuses_a_list_that_opens_more_than_its_share():
    config = policy_config("prod")
    wide = [CLUSTER_VIEW, acl_view("0.0.0.0/1", "128.0.0.0/2")]
    found = [(level, v.rule) for level, v in evaluate(wide, config) if v.rule == "api-server-allow-list"]
    assert found == [("mandatory", "api-server-allow-list")]
    # One /16's worth in all, as prod allows, passes.
    assert [
        v
        for _, v in evaluate(
            [
                CLUSTER_VIEW,
                acl_view(
                    "203.0.113.0/24",
                    "198.51.0.0/17",
                    "198.51.128.0/18",
                    "198.51.192.0/19",
                    "198.51.224.0/20",
                    "198.51.240.0/21",
                    "198.51.248.0/22",
                    "198.51.252.0/23",
                    "198.52.0.0/24",
                ),
            ],
            config,
        )
        if v.rule == "api-server-allow-list"
    ] == []


def test_prods_plan_fails_when_its_allow_list_opens_too_much(tmp_path):
    rendering_edit = access(allowed=[{"range": "0.0.0.0/0", "description": "everyone"}])
    from tests.conftest import copy_project

    root = copy_project(tmp_path / "project", {"prod": rendering_edit})
    from kapsule.plan.stack import plan_stack

    plan = plan_stack("prod", root)
    assert any(
        "policy api-server-allow-list: API server allow-list cluster-api-access: its IPv4 ranges open 1/1" in e
        for e in plan.errors
    ), plan.errors
    assert plan.exit_code == 1


# Run rules and the runner's address, as the program and the command read them.


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("51.15.20.0/24", "a range of 256 addresses"),
        ("10.1.2.3", "a private or reserved address"),
        ("192.168.1.1/32", "a private or reserved address"),
        ("127.0.0.1", "a loopback address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("::ffff:51.15.20.30", "IPv4-mapped"),
        ("224.0.0.1", "a multicast address"),
        ("0.0.0.0", "the unspecified address"),
        ("100.64.0.1", "not a globally routable address"),
        ("", "no address"),
        ("my-runner", "is not an IP address"),
    ],
)
def test_only_one_public_address_is_a_runners_address(text, words):
    problem = single_address_problem(text)
    assert problem is not None and words in problem


def test_public_addresses_of_both_families_are_accepted():
    assert single_address_problem("51.15.20.30") is None
    assert single_address_problem("51.15.20.30/32") is None
    assert single_address_problem("2a01:4f8::1/128") is None


def test_run_rules_hand_over_round_trips():
    assert [tuple(r) for r in parse_run_rules(json.dumps([RUN_RULE]))] == [(RUN_RULE["ip"], RUN_RULE["description"])]
    assert parse_run_rules("") == []


def rule_for(run: int, until: str = UNTIL) -> dict[str, str]:
    return {
        "ip": f"51.15.{run // 250}.{run % 250 + 1}/32",
        "description": f"kapsule-run {run}-1 up/prod Deploy until {until}",
    }


def test_the_hand_over_is_bounded_in_size_and_in_rules():
    # Valid JSON padded past 64 KiB: refused on its size alone.
    with pytest.raises(ValueError, match="characters; it holds a few rules"):
        parse_run_rules(json.dumps([RUN_RULE]) + " " * (64 * 1024))
    fifty = [rule_for(run) for run in range(50)]
    assert len(parse_run_rules(json.dumps(fifty))) == 50
    with pytest.raises(ValueError, match="at most 50"):
        parse_run_rules(json.dumps([*fifty, rule_for(50)]))


def test_a_rule_that_claims_to_stay_longer_than_a_run_can_is_never_a_runs_rule():
    planted = rule_for(1, "2999-01-01T00:00:00Z")
    with pytest.raises(ValueError, match="at most 24 h ahead"):
        parse_run_rules(json.dumps([planted]))
    from components.api_access import run_rule

    now = datetime.now(timezone.utc)
    assert run_rule(planted["ip"], planted["description"], now) is None
    assert run_rule(RUN_RULE["ip"], RUN_RULE["description"], now) is not None
    # The old form without the job is no run's rule either.
    assert run_rule("51.15.20.30/32", f"kapsule-run 987-1 Deploy until {UNTIL}") is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2606:4700::1%eth0", "zone id"),
        ("2606:4700::1%eth0/128", "zone id"),
        ("2002:3310:141e::1", "a 6to4 address"),
        ("192.88.99.1", "a 6to4 relay anycast address"),
        ("3fff::1", "a documentation address"),
        ("64:ff9b::3310:141e", "64:ff9b::3310:141e is"),
    ],
)
def test_translated_and_zoned_addresses_are_no_runners_address(text, words):
    problem = single_address_problem(text)
    assert problem is not None and words in problem, problem


def test_a_declared_range_with_a_zone_id_is_refused():
    with pytest.raises(SpecError, match="zone id"):
        ApiAccessSpec(allowed=[{"range": "2606:4700::%eth0/32", "description": "office"}])
