"""One verdict per rule: the policy pack run by the real engine (`pulumi preview` with the pack, as `make
pulumi-preview` and `make up` run it) reports the same violations, at the same levels, as the offline plan
on the same stack, the shipped local stack and violating ones. The pack once let 0.0.0.0/0 through in the
engine (its resources arrive as pulumi_policy's proxies, which the rules read as unknown) while the
offline plan refused it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kapsule.engine import driver
from kapsule.plan.stack import plan_stack

RULE_LINE = re.compile(r"\[(mandatory|advisory)\]\s+([a-z0-9-]+)")


def offline_verdict(project: Path) -> tuple[set[tuple[str, str]], list[str]]:
    """(level, rule) of every violation the offline plan finds, and their messages."""
    plan = plan_stack("local", project, None)
    found, messages = set(), []
    for level, problems in (("mandatory", plan.errors), ("advisory", plan.warnings)):
        for problem in problems:
            match = re.search(r"\bpolicy ([a-z0-9-]+): (.*)", problem)
            if match:
                found.add((level, match.group(1)))
                messages.append(match.group(2))
    return found, messages


def engine_verdict(project: Path) -> tuple[set[tuple[str, str]], str, bool]:
    """(level, rule) of every violation the engine's run of the pack reports, its output, and whether it passed."""
    from pulumi.automation.errors import CommandError

    lines: list[str] = []
    try:
        driver.preview("local", root=project, on_output=lines.append, refresh=False)
        passed = True
    except CommandError as error:
        lines.append(str(error))
        passed = False
    text = "".join(lines)
    return {(m.group(1), m.group(2)) for m in RULE_LINE.finditer(text)}, text, passed


def ranges(values: list[str], service: str = "web") -> Callable[[dict[str, Any]], None]:
    def edit(config: dict[str, Any]) -> None:
        config["kapsule:services"][service]["source_ranges"] = values

    return edit


CASES: dict[str, Callable[[dict[str, Any]], None] | None] = {
    "shipped": None,
    "open to every IPv4 address": ranges(["0.0.0.0/0"]),
    "255 ranges of /8": ranges([f"{first}.0.0.0/8" for first in range(1, 256)]),
    "wider than /8": ranges(["10.0.0.0/7"], "api"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_engines_pack_and_the_offline_plan_give_one_verdict(deployed, edited, case):
    if CASES[case] is not None:
        edited(CASES[case])
    expected, messages = offline_verdict(deployed)
    found, text, passed = engine_verdict(deployed)
    assert found == expected, text[-3000:]
    for message in messages:
        assert message in text, (message, text[-3000:])
    assert passed == (not any(level == "mandatory" for level, _ in expected)), text[-3000:]
    if case == "shipped":
        assert expected == set() and passed
    else:
        assert ("mandatory", "load-balancer-source-ranges") in expected
