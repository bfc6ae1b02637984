"""Pure logic, without the Pulumi runtime: catalog rules, tags, durations, key paths, stack file reading."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.offers import ZONES, default_zone, node_type_problem, zone_problem
from components.spec import GO_DURATION, render_tags
from kapsule.names import ROOT, SECRET_PLACEHOLDER
from kapsule.stackfile.messages import StackConfigError, format_path
from kapsule.stackfile.reading import read_stack_file


@pytest.mark.parametrize(
    "node_type", ["DEV1-M", "DEV1-L", "PRO2-XXS", "PRO2-L", "GP1-XS", "POP2-2C-8G", "COPARM1-4C-16G", "PLAY2-NANO"]
)
def test_node_types_that_run_kubernetes(node_type):
    assert node_type_problem(node_type) is None


@pytest.mark.parametrize("node_type", ["NOPE-XL", "POP2-HC-8C-16G"])
def test_a_node_type_the_node_type_table_lacks_is_refused_with_the_refresh(node_type):
    """Nothing is known of its zones, storage or service: the refresh rereads the Instance API's server types."""
    assert "is not an Instance type the node-type table knows (components/node_types.json" in node_type_problem(
        node_type
    )
    assert "python -m kapsule catalog refresh" in node_type_problem(node_type)


def test_every_node_type_still_offered_has_a_price():
    """A type the table accepts is priced (an estimate until the refresh reads it): every cost total stays whole.
    A type past its end of service is refused before cost, so it may lack one."""
    from components.node_types import load_node_types
    from kapsule.cost.prices import load_prices

    prices = load_prices().node_types
    offered = [t.name for t in load_node_types().types.values() if not t.end_of_service]
    assert [name for name in offered if name not in prices] == []
    assert "L4-1-24G" in offered and prices["L4-1-24G"].estimate


@pytest.mark.parametrize("node_type", ["DEV1-S", "PLAY2-PICO", "STARDUST1-S"])
def test_node_types_too_small(node_type):
    assert "too small" in node_type_problem(node_type)


@pytest.mark.parametrize("node_type", ["dev1-m", "DEV1", "", "PRO2 S"])
def test_strings_that_are_not_node_types(node_type):
    assert "not an Instance type" in node_type_problem(node_type)


def test_every_region_zone_pair():
    for region, zones in ZONES.items():
        assert default_zone(region) == zones[0]
        for other, other_zones in ZONES.items():
            for zone in other_zones:
                assert (zone_problem(zone, region) is None) == (region == other)


@given(st.dictionaries(st.text(min_size=1), st.text()), st.dictionaries(st.text(min_size=1), st.text()))
def test_tags_merge_later_wins_and_sort(first, second):
    merged = {**first, **second}
    expected = [f"{key}={merged[key]}" if merged[key] else key for key in sorted(merged)]
    assert render_tags(first, second) == expected


@pytest.mark.parametrize("text", ["5s", "500ms", "10m", "1h30m", "1.5s", "300us"])
def test_go_durations(text):
    assert GO_DURATION.fullmatch(text)


@pytest.mark.parametrize("text", ["10000", "5", "s", "5 s", "5sec", "-5s", ""])
def test_not_go_durations(text):
    assert not GO_DURATION.fullmatch(text)


def test_key_paths():
    assert format_path(("cluster", "autoscaler", "expander")) == "kapsule:cluster.autoscaler.expander"
    assert format_path(("pools", "default", "taints", 0, "effect")) == "kapsule:pools.default.taints[0].effect"


def test_stack_file_reading_turns_secure_values_into_marked_placeholders(tmp_path):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(
        "config:\n"
        "  kapsule:region: fr-par\n"
        "  kapsule:token:\n    secure: v1:abc\n"
        "  kapsule:cluster:\n    name: x\n    oidc:\n      client_id:\n        secure: v1:def\n"
    )
    flat, secret_keys, secure_paths = read_stack_file(path)
    assert secure_paths == [("kapsule:token",), ("kapsule:cluster", "oidc", "client_id")]
    assert flat["kapsule:region"] == "fr-par"
    assert flat["kapsule:token"] == SECRET_PLACEHOLDER
    assert json.loads(flat["kapsule:cluster"])["oidc"]["client_id"] == SECRET_PLACEHOLDER
    assert sorted(secret_keys) == ["kapsule:cluster", "kapsule:token"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("config: [1, 2]\n", "mapping of `namespace:key`"),
        ("- a\n- b\n", "must be a mapping"),
        ("config:\n  region: fr-par\n", "did you mean `kapsule:region`"),
        ("config:\n  kapsule:region: [unclosed\n", "not valid YAML"),
    ],
)
def test_unreadable_stack_files(tmp_path, text, words):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(text)
    with pytest.raises(StackConfigError) as raised:
        read_stack_file(path)
    assert words in str(raised.value)


def test_missing_stack_file(tmp_path):
    with pytest.raises(StackConfigError, match="does not exist"):
        read_stack_file(tmp_path / "Pulumi.nope.yaml")


def test_the_pure_modules_load_without_the_pulumi_runtime():
    """Diff, state, formatting, messages and the components' specs and rules import no Pulumi runtime."""
    import subprocess
    import sys

    pure = [
        "kapsule.resources.model", "kapsule.names", "kapsule.resources.urns", "kapsule.state.records", "kapsule.state.reading",
        "kapsule.state.backend", "kapsule.plan.diff", "kapsule.plan.replacement", "kapsule.plan.outcome", "kapsule.plan.safety",
        "kapsule.reports.plan", "kapsule.stackfile.messages", "kapsule.stackfile.reading", "kapsule.cost.estimate",
        "kapsule.cost.prices", "kapsule.stackfile.secrets", "kapsule.stackfile.stacks", "kapsule.generated.workflows",
        "components.spec", "components.catalog", "components.offers", "components.versions", "components.annotations", "components.load_balancer_spec",
    ]  # fmt: skip
    check = (
        "import sys; "
        + "; ".join(f"import {m}" for m in pure)
        + "; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_kubernetes', 'pulumiverse_scaleway')))"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_stack_file_read_again_unchanged_is_parsed_once_and_a_changed_one_again(tmp_path, monkeypatch):
    import os

    from kapsule.stackfile import reading as stack_file

    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  kapsule:region: fr-par\n", encoding="utf-8")
    parsed = []
    real = stack_file._read
    monkeypatch.setattr(stack_file, "_read", lambda p: parsed.append(p) or real(p))
    first = stack_file.read_stack_file(path)
    first.config["kapsule:region"] = "edited by a caller"
    assert stack_file.read_stack_file(path).config == {"kapsule:region": "fr-par"} and len(parsed) == 1
    path.write_text("config:\n  kapsule:region: nl-ams\n", encoding="utf-8")
    os.utime(path, ns=(1, 1))
    assert stack_file.read_stack_file(path).config == {"kapsule:region": "nl-ams"} and len(parsed) == 2
