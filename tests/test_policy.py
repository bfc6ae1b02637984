"""The policy pack: rules as plain functions, per-stack enforcement, the pack's wiring, and the plan reporting them."""

from __future__ import annotations

import runpy
from typing import Any

import pulumi_policy
import pytest
import yaml

from kapsule.exits import EXIT_INVALID
from kapsule.names import ROOT
from kapsule.plan.stack import plan_stack
from kapsule.resources.model import UNKNOWN, ResourceView
from policy.rules import RULES, PolicyConfigError, evaluate, resolve, stack_config
from tests.conftest import STACKS, copy_project

RULE = {rule.name: rule for rule in RULES}


def pool(name: str, **props: Any) -> ResourceView:
    base = {
        "autohealing": True,
        "autoscaling": True,
        "minSize": 2,
        "zone": "fr-par-1",
        "nodeType": "PRO2-S",
        "tags": ["env=prod", "owner=platform"],
    }
    return ResourceView("scaleway:kubernetes/pool:Pool", name, f"urn:pool:{name}", {**base, **props})


def cluster(protect: bool = True, **props: Any) -> ResourceView:
    base = {
        "name": "kapsule-prod",
        "type": "kapsule-dedicated-8",
        "deleteAdditionalResources": False,
        "version": "1.35",
        "tags": ["env=prod", "owner=platform"],
    }
    return ResourceView("scaleway:kubernetes/cluster:Cluster", "cluster", "urn:cluster", {**base, **props}, protect)


def messages(rule: str, resources: list[ResourceView], **settings: Any) -> list[str]:
    return [v.message for v in RULE[rule].run(resources, settings)]


@pytest.mark.parametrize(
    ("rule", "bad", "good", "message"),
    [
        ("prod-autohealing", [pool("a", autohealing=False)], [pool("a")], "pool a: autohealing is off"),
        ("prod-autoscaled-pools", [pool("a", minSize=1)], [pool("a", minSize=2)], "pool a: min_size 1 is below 2"),
        (
            "prod-autoscaled-pools",
            [pool("a", autoscaling=False)],
            [pool("a")],
            "pool a: autoscaling is off; production pools scale between at least 2 nodes and more",
        ),
        (
            "prod-multi-zone",
            [pool("a"), pool("b")],
            [pool("a"), pool("b", zone="fr-par-2")],
            "pools span 1 zone(s) (fr-par-1); production needs at least 2",
        ),
        (
            "prod-keep-volumes",
            [cluster(deleteAdditionalResources=True)],
            [cluster()],
            "cluster kapsule-prod: delete_additional_resources is true, so deleting the cluster deletes its volumes",
        ),
        ("prod-protected", [cluster(protect=False)], [cluster()], "cluster cluster is not protected (protect: true)"),
        (
            "prod-dedicated-control-plane",
            [cluster(type="kapsule")],
            [cluster()],
            "cluster kapsule-prod: type kapsule shares its control plane; use a dedicated type",
        ),
        (
            "allowed-node-types",
            [pool("a", nodeType="PLAY2-NANO")],
            [pool("a", nodeType="GP1-XS")],
            "pool a: node type PLAY2-NANO is not allowed (DEV1-M, DEV1-L, DEV1-XL, PRO2-*, GP1-*, POP2-*)",
        ),
        ("required-tags", [pool("a", tags=["env=prod"])], [pool("a")], "Pool a: missing tag(s) owner"),
        # A tag without a value says nothing: `env: ""` renders as a bare `env`, and `env=` is no better.
        ("required-tags", [pool("a", tags=["env", "owner=platform"])], [pool("a")], "Pool a: missing tag(s) env"),
        ("required-tags", [pool("a", tags=["env=", "owner=platform"])], [pool("a")], "Pool a: missing tag(s) env"),
    ],
)
def test_each_rule_flags_what_it_forbids_and_passes_the_rest(rule, bad, good, message):
    assert messages(rule, good) == []
    found = messages(rule, bad)
    assert len(found) == 1 and found[0].startswith(message)


def test_registry_and_load_balancer_rules():
    public = ResourceView("scaleway:registry/namespace:Namespace", "registry", "urn:r", {"isPublic": True})
    assert messages("prod-private-registry", [public]) == ["registry namespace registry is public"]

    def service(annotations=None, **spec):
        return ResourceView(
            "kubernetes:core/v1:Service",
            "api",
            "urn:s",
            {"metadata": {"annotations": annotations or {}}, "spec": {"type": "LoadBalancer", **spec}},
        )

    assert messages("load-balancer-source-ranges", [service()]) == [
        "Service api: a public load balancer open to every address (no source_ranges)"
    ]
    assert messages("load-balancer-source-ranges", [service(loadBalancerSourceRanges=["10.0.0.0/8"])]) == []
    assert (
        messages(
            "load-balancer-source-ranges", [service({"service.beta.kubernetes.io/scw-loadbalancer-private": "true"})]
        )
        == []
    )


def test_unknown_values_during_a_preview_are_not_judged():
    unknown = ResourceView(
        "scaleway:kubernetes/pool:Pool",
        "a",
        "urn:a",
        {"nodeType": None, "autohealing": None, "tags": None, "zone": None},
    )
    acl = ResourceView("scaleway:kubernetes/acl:Acl", "cluster-api-access", "urn:acl", {"aclRules": None})
    for rule in RULES:
        assert rule.run([unknown, cluster(), acl]) == [], rule.name
    # The marker the engine's view and the offline plan both pass for an unknown (policy/engine_view.py), beside a
    # known pool: each rule judges what is known and passes over the rest, never a TypeError.
    marked = ResourceView(
        "scaleway:kubernetes/pool:Pool",
        "b",
        "urn:b",
        {"nodeType": UNKNOWN, "autohealing": UNKNOWN, "tags": UNKNOWN, "zone": UNKNOWN},
    )
    unknown_service = ResourceView("kubernetes:core/v1:Service", "api", "urn:s", {"spec": UNKNOWN, "metadata": UNKNOWN})
    marked_acl = ResourceView("scaleway:kubernetes/acl:Acl", "cluster-api-access", "urn:acl", {"aclRules": UNKNOWN})
    for rule in RULES:
        assert rule.run([marked, unknown, cluster(), marked_acl, unknown_service]) == [], rule.name


def test_settings_and_levels_come_from_the_stack_config():
    resolved = resolve(
        {"all": "advisory", "allowed-node-types": {"enforcementLevel": "mandatory", "allowedNodeTypes": ["PRO2-*"]}}
    )
    assert resolved["prod-autohealing"] == ("advisory", {})
    assert resolved["allowed-node-types"] == ("mandatory", {"allowedNodeTypes": ["PRO2-*"]})
    assert resolve({})["prod-autohealing"][0] == "disabled" and resolve({})["required-tags"][0] == "mandatory"
    found = evaluate(
        [pool("a", nodeType="DEV1-M", autohealing=False)],
        {"prod-autohealing": "advisory", "allowed-node-types": {"allowedNodeTypes": ["PRO2-*"]}},
    )
    assert [(level, v.rule) for level, v in found] == [
        ("advisory", "prod-autohealing"),
        ("mandatory", "allowed-node-types"),
    ]
    with pytest.raises(PolicyConfigError, match="unknown rule\\(s\\) prod-autohealin;"):
        resolve({"prod-autohealin": "mandatory"})
    with pytest.raises(PolicyConfigError, match="enforcement level 'block'; allowed: advisory, mandatory, disabled"):
        resolve({"required-tags": "block"})
    with pytest.raises(PolicyConfigError, match="required-tags has no setting tags; settings: requiredTags"):
        resolve({"required-tags": {"tags": ["env"]}})


def test_every_stack_has_a_valid_policy_config_and_prod_enforces_the_prod_rules():
    for stack in STACKS:
        resolve(stack_config(stack), stack)
    prod = resolve(stack_config("prod"))
    assert {name: level for name, (level, _) in prod.items() if name.startswith("prod-")} == {
        name: "mandatory" for name in RULE if name.startswith("prod-")
    }
    assert {level for name, (level, _) in resolve(stack_config("dev")).items() if name.startswith("prod-")} == {
        "disabled"
    }


def test_the_plan_reports_violations_mandatory_as_errors_advisory_as_warnings(tmp_path):
    def weaken(config):
        config["kapsule:pools"]["fr-par-2"]["autohealing"] = False
        config["kapsule:registry"].update(is_public=True, pull_secret_namespaces=[])
        config["kapsule:cluster"]["delete_additional_resources"] = True

    root = copy_project(tmp_path / "project", {"prod": weaken})
    plan = plan_stack("prod", root)
    assert plan.errors == [
        "stacks/Pulumi.prod.yaml: policy prod-autohealing: pool fr-par-2: autohealing is off",
        "stacks/Pulumi.prod.yaml: policy prod-private-registry: registry namespace registry is public",
        "stacks/Pulumi.prod.yaml: policy prod-keep-volumes: cluster kapsule-prod: delete_additional_resources is true, "
        "so deleting the cluster deletes its volumes",
    ]
    assert plan.exit_code == EXIT_INVALID
    assert plan.warnings == [
        "stacks/Pulumi.prod.yaml: policy load-balancer-source-ranges: Service ingress: a public load balancer open to "
        "every address (no source_ranges)",
        "stacks/Pulumi.prod.yaml: policy load-balancer-source-ranges: Service api: a public load balancer open to "
        "every IPv4 address (its source ranges cover the whole space)",
    ]
    assert plan_stack("prod").errors == []


def test_the_pack_registers_every_rule_and_reports_through_the_engine(monkeypatch):
    packs = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda name, policies, **kw: packs.append((name, policies)))
    runpy.run_path(str(ROOT / "policy" / "__main__.py"))
    ((name, policies),) = packs
    assert name == "kapsule-guardrails"
    assert [(p.name, p.enforcement_level.value) for p in policies] == [(r.name, r.level) for r in RULES]
    tags = next(p for p in policies if p.name == "required-tags")
    assert tags.config_schema.properties == {
        "requiredTags": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "pattern": "^[^=]+$"},
            "minItems": 1,
            "default": ["env", "owner"],
        }
    }

    options = pulumi_policy.PolicyResourceOptions(False, [], None, [], pulumi_policy.PolicyCustomTimeouts(0, 0, 0), [])
    resource = pulumi_policy.PolicyResource(
        "scaleway:kubernetes/pool:Pool",
        {"nodeType": "PRO2-S", "tags": ["env=dev"]},
        "urn:pool",
        "default",
        options,
        None,
        None,
        [],
        {},
    )
    reported = []
    tags.validate(
        pulumi_policy.StackValidationArgs([resource], {"requiredTags": ["env", "owner"]}),
        lambda m, urn=None: reported.append((m, urn)),
    )
    assert reported == [("Pool default: missing tag(s) owner", "urn:pool")]


def test_the_pack_runs_in_the_project_environment():
    settings = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert settings["runtime"] == {"name": "python", "options": {"virtualenv": "../.venv"}}
    requirements = (ROOT / "requirements.txt").read_text()
    assert "pulumi-policy==" in requirements


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (
            {"allowed-node-types": {"allowedNodeTypes": "PRO2-*"}},
            'allowed-node-types.allowedNodeTypes: "PRO2-*" is not valid',
        ),
        ({"required-tags": {"requiredTags": "env"}}, 'required-tags.requiredTags: "env" is not valid'),
        ({"required-tags": {"requiredTags": ["env", 3]}}, "required-tags.requiredTags[1]: 3 is not valid"),
        ({"prod-multi-zone": {"minZones": "2"}}, 'prod-multi-zone.minZones: "2" is not valid'),
        ({"prod-autoscaled-pools": {"minNodes": 0}}, "prod-autoscaled-pools.minNodes: 0 is not valid"),
    ],
)
def test_settings_are_checked_against_the_schema_the_pack_declares(config, words):
    with pytest.raises(PolicyConfigError) as raised:
        resolve(config, "policy/config/prod.json")
    assert words in str(raised.value) and "expected {" in str(raised.value)


def test_a_stack_without_a_readable_policy_config_is_refused(tmp_path):
    with pytest.raises(PolicyConfigError, match=r"policy/config/prod.json: missing; every stack has a policy config"):
        stack_config("prod", tmp_path)
    (tmp_path / "prod.json").write_text("{not json")
    with pytest.raises(PolicyConfigError, match=r"policy/config/prod.json: not valid JSON"):
        stack_config("prod", tmp_path)
    (tmp_path / "prod.json").write_text("[]")
    with pytest.raises(PolicyConfigError, match="must be a JSON object"):
        stack_config("prod", tmp_path)


def test_the_plan_fails_closed_without_a_policy_config(tmp_path):
    import subprocess
    import sys

    from tests.conftest import copy_project

    project = copy_project(tmp_path / "project")
    (project / "policy" / "config" / "prod.json").unlink()
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "plan", "--stack", "prod", "--no-state"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        result.returncode == 1
        and "policy/config/prod.json: missing" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_the_version_catalog_has_one_owner_the_program():
    assert "supported-kubernetes-version" not in {rule.name for rule in RULES}


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"required-tags": {"requiredTags": []}}, "should have at least 1 item"),
        ({"required-tags": {"requiredTags": ["env=dev"]}}, "should match pattern"),
        ({"max-monthly-cost": {"maxMonthly": float("inf")}}, "finite number"),
    ],
)
def test_policy_settings_that_would_switch_a_rule_off_are_refused(settings, words):
    with pytest.raises(PolicyConfigError, match=words):
        resolve(settings)


def test_a_tag_key_holding_an_equals_sign_is_refused():
    """`env=dev: ""` rendered as the tag `env=dev` and satisfied required-tags without a value of its own."""
    from kapsule.stackfile.messages import StackConfigError
    from tests.conftest import render_stack

    rendering = render_stack("dev", lambda c: c["kapsule:tags"].update({"env=dev": ""}), check=False)
    assert isinstance(rendering.error, StackConfigError) and "is not a tag key" in str(rendering.error)


@pytest.mark.parametrize(
    "ranges, message",
    [
        (["0.0.0.0/0"], "Service api: a public load balancer open to every IPv4 address"),
        (["0.0.0.0/1", "128.0.0.0/1"], "Service api: a public load balancer open to every IPv4 address"),
        (
            ["10.0.0.0/8", "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"],
            "Service api: a public load balancer open to every IPv4 address",
        ),
        (["::/1", "8000::/1"], "Service api: a public load balancer open to every IPv6 address"),
        (["::ffff:0:0/96"], "Service api: a public load balancer open to every IPv4 address"),
        (["10.0.0.0/7"], "Service api: source range(s) 10.0.0.0/7 wider than allowed (/8 for IPv4, /32 for IPv6)"),
        (["2001::/16"], "Service api: source range(s) 2001::/16 wider than allowed"),
        (["not-a-cidr"], "Service api: source range(s) 'not-a-cidr' are no CIDR"),
    ],
)
def test_source_ranges_are_judged_by_the_address_space_they_cover(ranges, message):
    """Any union that covers a whole family is open to everyone; the rule once checked only that the list was not empty."""
    service = ResourceView(
        "kubernetes:core/v1:Service",
        "api",
        "urn:s",
        {"metadata": {}, "spec": {"type": "LoadBalancer", "loadBalancerSourceRanges": ranges}},
    )
    found = messages("load-balancer-source-ranges", [service])
    assert len(found) == 1 and found[0].startswith(message), found


def test_the_widest_prefix_allowed_is_a_setting():
    service = ResourceView(
        "kubernetes:core/v1:Service",
        "api",
        "urn:s",
        {"spec": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8", "2001:db8::/48"]}},
    )
    rule = next(r for r in RULES if r.name == "load-balancer-source-ranges")
    assert rule.run([service]) == []
    assert [v.message for v in rule.run([service], {"widestIPv4Prefix": 16, "widestIPv6Prefix": 56})] == [
        "Service api: source range(s) 10.0.0.0/8, 2001:db8::/48 wider than allowed (/16 for IPv4, /56 for IPv6)"
    ]
    with pytest.raises(PolicyConfigError, match="widestIPv4Prefix"):
        resolve({"load-balancer-source-ranges": {"widestIPv4Prefix": 33}})


@pytest.mark.parametrize(
    "value", ["\u2800", "\u115f", "\u1160", "\u3164", "\uffa0", "\u200b\u200b", "\u00a0", "\u0301", "\u2028", " \t"]
)
def test_a_required_tag_needs_a_value_that_shows(value):
    """`env=\u2800` (braille blank) and `env=\u115f` (a Hangul filler) once passed as values."""
    assert messages("required-tags", [pool("a", tags=[f"env={value}", "owner=platform"])]) == [
        "Pool a: missing tag(s) env"
    ]
    assert messages("required-tags", [pool("a", tags=["env=prod\u2800", "owner=\u540d"])]) == []


def test_open_share_counts_the_union_of_each_family_once():
    """The share the ranges open, exactly: overlaps count once, mapped IPv6 counts as IPv4, families apart."""
    from fractions import Fraction

    from policy.ranges import Ranges

    slash8s = [f"{first}.0.0.0/8" for first in range(255)]
    assert Ranges.of(slash8s).open_share() == {"IPv4": Fraction(255, 256), "IPv6": 0}
    assert Ranges.of([*slash8s, "10.0.0.0/8", "::ffff:255.0.0.0/104"]).open_share()["IPv4"] == 1
    assert Ranges.of(["203.0.113.0/24", "203.0.113.7/32"]).open_share() == {"IPv4": Fraction(1, 2**24), "IPv6": 0}
    assert Ranges.of(["2001:db8::/32", "not a range"]).open_share() == {"IPv4": 0, "IPv6": Fraction(1, 2**32)}


def source_range_messages(ranges: list[str], settings: dict | None = None) -> list[str]:
    service = ResourceView(
        "kubernetes:core/v1:Service",
        "web",
        "urn:s",
        {"spec": {"type": "LoadBalancer", "loadBalancerSourceRanges": ranges}},
    )
    rule = next(r for r in RULES if r.name == "load-balancer-source-ranges")
    return [v.message for v in rule.run([service], settings)]


def test_the_share_of_the_address_space_the_ranges_open_has_a_limit():
    """255 ranges of /8 (99.6% of IPv4), or every address but one, once passed: each range was narrow enough."""
    import ipaddress

    slash8s = [f"{first}.0.0.0/8" for first in range(1, 256)]
    share = "more than the 1% allowed (maxOpenShareIPv4)"
    assert source_range_messages(slash8s) == [
        f"Service web: its source ranges open 99.61% of the IPv4 address space, {share}"
    ]
    everything = ipaddress.ip_network("0.0.0.0/0")
    but_one = [str(n) for n in everything.address_exclude(ipaddress.ip_network("192.0.2.1/32"))]
    assert source_range_messages(but_one, {"widestIPv4Prefix": 0}) == [
        f"Service web: its source ranges open 99.9999999767% of the IPv4 address space, {share}"
    ]
    assert source_range_messages(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]) == []  # 0.41%
    assert source_range_messages(slash8s, {"maxOpenShareIPv4": 1}) == []
    assert source_range_messages(["2001:db8::/32"] * 2, {"maxOpenShareIPv6": 0}) == [
        "Service web: its source ranges open 2.328e-08% of the IPv6 address space, "
        "more than the 0% allowed (maxOpenShareIPv6)"
    ]
    with pytest.raises(PolicyConfigError, match="maxOpenShareIPv4"):
        resolve({"load-balancer-source-ranges": {"maxOpenShareIPv4": 1.5}})
