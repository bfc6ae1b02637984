"""Who may reach the API server, as the plan tells it: one line per cluster for its allow-list (open, the ranges
added and removed, full isolation), and a warning for a change that locks the CI automation out or opens the API
server to every address. The CI runs' own rules (`kapsule-run ...`) are left out of the comparison on both
sides: they are short-lived, and the recorded state of a deploy still holds its own. Pure logic."""

from __future__ import annotations

from typing import Any

from components.api_access import is_run_description

from ..names import ACL, CLUSTER
from ..resources.model import Secret, Unknown
from .outcome import Change

#: The stack key the lines point at.
KEY = "kapsule:cluster.api_access"
#: The repository variable that names a runner inside the private network (docs/api-access.md).
PRIVATE_RUNNER_SETTING = "KAPSULE_PRIVATE_RUNNER"

Rule = tuple[str, bool, str]
"""A rule as the provider compares it: (ip or "", scaleway_ranges, description)."""


def access_lines(changes: list[Change]) -> tuple[list[str], list[str]]:
    """(notes, warnings) about the API server's allow-list of each cluster the plan registers or deletes."""
    notes: list[str] = []
    warnings: list[str] = []
    acls = [c for c in changes if c.resource.type == ACL]
    clusters = [c for c in changes if c.resource.type == CLUSTER and c.action != "delete"]
    if clusters and not any(c.action != "delete" for c in acls):
        notes.append(
            f"API server: open to every address ({KEY} is not set, so Scaleway's default allow-list, 0.0.0.0/0, stays)"
        )
    for change in acls:
        note, warning = _acl_line(change)
        notes += [note] if note else []
        warnings += [warning] if warning else []
    return notes, warnings


def _acl_line(change: Change) -> tuple[str | None, str | None]:
    inputs = change.resource.inputs
    if change.action == "delete":
        warning = (
            f"API server allow-list: removing {KEY} resets the allow-list to Scaleway's default: the API server is "
            "open to every address (0.0.0.0/0)"
        )
        if _plain(inputs.get("noIpAllowed")) is True:
            warning += (
                "; it is fully isolated until then, so the deploy that removes it must run inside the private network "
                f"(locks out the CI automation's own access path otherwise: {PRIVATE_RUNNER_SETTING})"
            )
        return (
            f"API server allow-list: removed ({KEY} is gone): Scaleway sets it back to every address (0.0.0.0/0) "
            "and its own ranges",
            warning,
        )
    isolated = _plain(inputs.get("noIpAllowed")) is True
    new = _rules(inputs.get("aclRules"))
    if change.action == "create":
        if isolated:
            return f"API server allow-list: full isolation (no address; {KEY}.full_isolation)", _lockout()
        return f"API server allow-list: set to {_listed(new)} (every other address refused)", None
    old_value, new_value = change.changed.get("aclRules", (None, None))
    was_isolated = "noIpAllowed" in change.changed and _plain(change.changed["noIpAllowed"][0]) is True
    if not change.changed:
        if isolated:
            return "API server allow-list: unchanged, full isolation", None
        return f"API server allow-list: unchanged, {len(new or [])} rule(s)", None
    if isolated:
        return (
            f"API server allow-list: changes to full isolation (no address; {KEY}.full_isolation)",
            _lockout() if not was_isolated else None,
        )
    old, wanted = _rules(old_value), _rules(new_value)
    if old is None or wanted is None:
        return "API server allow-list: changes (its rules are known only once the engine runs)", None
    added = sorted(set(wanted) - set(old))
    removed = sorted(set(old) - set(wanted))
    parts = [f"adds {_listed(added)}"] if added else []
    parts += [f"removes {_listed(removed)}"] if removed else []
    line = "API server allow-list: " + ("; ".join(parts) or "rules rewritten, same ranges")
    if was_isolated:
        line += " (full isolation ends)"
    return line, None


def _lockout() -> str:
    return (
        f"{KEY}.full_isolation locks out the CI automation's own access path: hosted runners cannot open a fully "
        f"isolated API server, so deploy, drift and preview jobs need a runner inside the cluster's private network "
        f"(a self-hosted runner, named by the repository variable {PRIVATE_RUNNER_SETTING})"
    )


def _rules(value: Any) -> list[Rule] | None:
    """The rules of a recorded or declared `aclRules`, or None where any part is unknown."""
    value = _plain(value)
    if value is None:
        return []
    if not isinstance(value, list):
        return None
    rules = []
    for item in value:
        rule = _plain(item)
        if not isinstance(rule, dict) or any(isinstance(_plain(v), Unknown) for v in rule.values()):
            return None
        description = str(_plain(rule.get("description")) or "")
        if is_run_description(description):
            continue  # a CI run's own rule (kapsule/access): never part of the comparison
        rules.append((str(_plain(rule.get("ip")) or ""), bool(_plain(rule.get("scalewayRanges"))), description))
    return rules


def _listed(rules: list[Rule] | None) -> str:
    if not rules:
        return "no rule"
    shown = []
    for ip, scaleway, description in rules:
        what = "Scaleway's own ranges" if scaleway else ip
        shown.append(f"{what} ({description})" if description else what)
    return ", ".join(shown)


def _plain(value: Any) -> Any:
    while isinstance(value, Secret):
        value = value.value
    return value
