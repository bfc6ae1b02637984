"""URNs and aliases as the Pulumi engine computes them. Pure logic: no Pulumi runtime.

Read in the engine's source (pkg/resource/deploy: `generateURN`, and the step generator's
`collapseAliasToUrn`, `inheritedChildAlias` and `generateAliases`), so that a renamed or re-typed
component finds its recorded state the way `pulumi up` would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ..names import STACK_TYPE


class AliasSpec(NamedTuple):
    """One alias a program gives a resource: a whole URN, or the parts that differ (empty means unchanged)."""

    urn: str = ""
    name: str = ""
    type: str = ""
    stack: str = ""
    project: str = ""
    parent: str = ""
    no_parent: bool = False


def qualified_type(urn: str) -> str:
    """The `parent$child` type chain a URN carries."""
    return urn.split("::")[2]


def name_of(urn: str) -> str:
    """The logical name a URN ends with (it may itself hold `::`)."""
    return urn.split("::", 3)[3]


def make_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """A resource's URN: the parent's whole qualified type (unless the parent is the stack), then its own type."""
    if parent and qualified_type(parent) != STACK_TYPE:
        type_ = qualified_type(parent) + "$" + type_
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def alias_urns(
    *,
    stack: str,
    project: str,
    parent: str,
    type_: str,
    name: str,
    aliases: tuple[AliasSpec, ...] | list[AliasSpec],
    parent_alias: str | None,
    matched: Mapping[str, str],
) -> list[str]:
    """Every old URN a resource may have had, in the engine's order, without repeats.

    `parent_alias` is the old URN the parent was found under, if it was found through an alias;
    `matched` maps each resource found through an alias to that old URN.
    """
    found: list[str] = []

    def add(urn: str) -> None:
        if urn not in found:
            found.append(urn)

    collapsed = [_collapse(alias, stack, project, parent, type_, name, matched) for alias in aliases]
    for urn in collapsed:
        add(urn)
    if parent and parent_alias:
        parent_name = name_of(parent)
        add(_inherited(stack, project, type_, name, parent_name, parent_alias))
        for urn in collapsed:
            add(
                _inherited(
                    stack, project, urn.split("::")[2].rsplit("$", 1)[-1], name_of(urn), parent_name, parent_alias
                )
            )
    return found


def _collapse(
    alias: AliasSpec, stack: str, project: str, parent: str, type_: str, name: str, matched: Mapping[str, str]
) -> str:
    if alias.urn:
        return alias.urn
    old_parent = parent
    if alias.parent:
        old_parent = matched.get(alias.parent, alias.parent)
    if alias.no_parent or (old_parent and qualified_type(old_parent) == STACK_TYPE):
        old_parent = ""
    return make_urn(alias.stack or stack, alias.project or project, old_parent, alias.type or type_, alias.name or name)


def _inherited(stack: str, project: str, child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
    """A child's URN under its parent's old URN; a name built from the parent's name follows its old name."""
    alias_name = child_name
    if child_name.startswith(parent_name):
        alias_name = name_of(parent_alias) + child_name[len(parent_name) :]
    return f"urn:pulumi:{stack}::{project}::{qualified_type(parent_alias)}${child_type}::{alias_name}"
