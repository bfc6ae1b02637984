"""One verdict per rule: the policy pack, fed the resources as the engine hands them to it (protobuf values
read back by pulumi_policy, wrapped in its unknown-checking proxies), finds exactly what the offline plan
finds on the same stack. The end-to-end tier (tests/e2e/test_policy_verdicts.py) compares against the real
engine; this compares the two readings of one rendering, on every core."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from kapsule.names import ROOT
from kapsule.plan.elsewhere import Elsewhere
from kapsule.plan.render import render
from kapsule.resources.model import ResourceView, unsealed
from kapsule.stackfile.reading import read_stack_file
from policy.engine_view import settings, subjects
from policy.rules import RULES, evaluate, resolve, stack_config
from tests.conftest import copy_project


def over_the_wire(value: Any) -> Any:
    """A value as the analyzer receives it: a protobuf Struct (numbers are doubles), read back as pulumi_policy does."""
    struct = struct_pb2.Struct()
    struct.update({"v": json.loads(json.dumps(value, default=str))})
    return json_format.MessageToDict(struct)["v"]


def offline(root: Path, stack: str) -> tuple[list[ResourceView], list[tuple[str, str, str]]]:
    config, secret_keys, _ = read_stack_file(root / "stacks" / f"Pulumi.{stack}.yaml")
    # As plan_stack renders it: what the stack reads from elsewhere (here the local kubeconfig) stands in.
    rendering = render(stack, Elsewhere(config, None).config, secret_keys, preview=True, program=root / "__main__.py")
    views = [ResourceView(r.type, r.name, r.urn, unsealed(r.inputs), r.protect) for r in rendering.resources]
    found = evaluate(views, stack_config(stack, root / "policy" / "config"))
    return views, [(level, v.rule, v.message) for level, v in found]


def in_the_pack(views: list[ResourceView], config: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What policy/__main__.py's validate reports for each rule, at the level the engine enforces it."""
    resources = [
        SimpleNamespace(
            resource_type=v.type,
            name=v.name,
            urn=v.urn,
            props=unknown_checking_proxy(deserialize_properties(over_the_wire(v.inputs))),
            opts=SimpleNamespace(protect=v.protect),
        )
        for v in views
    ]
    found = []
    for rule in RULES:
        level, _ = resolve(config)[rule.name]
        if level == "disabled":
            continue
        entry = config.get(rule.name)
        wire_config = over_the_wire({**rule.settings, **entry}) if isinstance(entry, dict) else rule.settings
        for violation in rule.run(subjects(resources), settings(over_the_wire(wire_config))):
            found.append((level, violation.rule, violation.message))
    return found


def open_to_all(config: dict[str, Any]) -> None:
    config["kapsule:services"]["web"]["source_ranges"] = ["0.0.0.0/0"]


def slash_eights(config: dict[str, Any]) -> None:
    config["kapsule:services"]["web"]["source_ranges"] = [f"{first}.0.0.0/8" for first in range(1, 256)]


def too_wide(config: dict[str, Any]) -> None:
    config["kapsule:services"]["api"]["source_ranges"] = ["10.0.0.0/7", "172.16.0.0/12"]


@pytest.mark.parametrize(
    "edit", [None, open_to_all, slash_eights, too_wide], ids=lambda e: getattr(e, "__name__", "shipped")
)
def test_the_pack_gives_the_offline_plans_verdict_on_the_local_stack(tmp_path, edit):
    root = copy_project(tmp_path / "project", {"local": edit} if edit else None)
    views, expected = offline(root, "local")
    config = stack_config("local", root / "policy" / "config")
    assert in_the_pack(views, config) == expected
    if edit is None:
        assert expected == []
    else:
        assert any(level == "mandatory" and rule == "load-balancer-source-ranges" for level, rule, _ in expected)


def test_integral_numbers_and_unknowns_read_as_the_offline_plan_reads_them():
    from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE

    from kapsule.resources.model import UNKNOWN
    from policy.engine_view import plain

    proxied = unknown_checking_proxy({"a": [1.0, 0.5, "x"], "b": UNKNOWN_ARRAY_VALUE, "c": {"d": 2.0}})
    assert plain(proxied) == {"a": [1, 0.5, "x"], "b": UNKNOWN, "c": {"d": 2}}
    assert type(plain(proxied)["a"][0]) is int
    assert settings({"enforcementLevel": "mandatory", "widestIPv4Prefix": 16.0}) == {"widestIPv4Prefix": 16}


def test_the_shipped_local_stack_passes_its_own_offline_plan():
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "plan", "--stack", "local", "--no-state"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 2), result.stderr
