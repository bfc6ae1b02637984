"""The engine's resources as the rules read them: plain dicts and lists, the one shape the offline plan gives them.

pulumi_policy hands a stack policy each resource's properties wrapped in read-only proxies (a Mapping and a
Sequence that raise on an unknown value), never `dict` and `list`. The rules check `isinstance(x, list)` to
tell a value from an unknown one, so through the proxies every list looked unknown and every rule that reads
one (source ranges, tags) passed in the engine what the offline plan refused. Unwrapped here, an unknown
value becomes the plan's own UNKNOWN marker, and both runs give each rule the same input.

Numbers cross the engine's wire as protobuf doubles (`2` arrives as `2.0`, in properties and in the policy
config alike), so a whole number is read back as the int the program and the config file wrote: a rule that
asks `isinstance(x, int)` (a pool's min_size) and a message that shows `/8` read the same in both runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kapsule.resources.model import UNKNOWN, ResourceView


def plain(value: Any) -> Any:
    """`value` with every mapping a dict and every sequence (but text) a list; an unknown value is UNKNOWN."""
    from pulumi_policy.proxy import UnknownValueError

    def item(container: Any, key: Any) -> Any:
        try:
            return plain(container[key])
        except UnknownValueError:
            return UNKNOWN

    if isinstance(value, Mapping):
        return {key: item(value, key) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [item(value, index) for index in range(len(value))]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def settings(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """A policy's config as the engine passes it, as the rule's settings: plain values, no enforcement level."""
    return {key: plain(value) for key, value in (config or {}).items() if key != "enforcementLevel"}


def subjects(resources: Iterable[Any]) -> list[ResourceView]:
    """pulumi_policy's resources (`PolicyResource`: type, name, urn, props, opts) as the rules see them."""
    return [
        ResourceView(r.resource_type, r.name, r.urn, plain(r.props), bool(getattr(r.opts, "protect", False)))
        for r in resources
    ]
