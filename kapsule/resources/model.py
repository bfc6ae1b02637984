"""What the engine sees of a program, as plain values: the markers for values this program cannot see,
a registered resource and a rendering. Pure data: no Pulumi runtime, so diff, state and the formatters
are tested directly."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..names import SECRET_PLACEHOLDER
from .urns import AliasSpec


class Marker:
    """A stand-in for a value this program cannot see; each subclass has a single instance."""

    _instances: dict[type, Marker] = {}
    text = ""

    def __new__(cls) -> Marker:
        return Marker._instances.setdefault(cls, super().__new__(cls))

    def __repr__(self) -> str:
        return self.text


class Unknown(Marker):
    """A value only the cloud knows, after apply."""

    text = "(known after apply)"


class Sealed(Marker):
    """A secret recorded as ciphertext: its value is unknown here, and is not compared."""

    text = SECRET_PLACEHOLDER


UNKNOWN = Unknown()
SEALED = Sealed()


@dataclass(frozen=True)
class Secret:
    """A value Pulumi keeps encrypted; rendered masked, never printed."""

    value: Any

    def __repr__(self) -> str:
        return SECRET_PLACEHOLDER


@dataclass
class Resource:
    """One registration as the engine would receive it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    protect: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """For each input property, the resources its value came from (not `depends_on`)."""
    provider: str = ""
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: list[str] = field(default_factory=list)
    """Outputs the provider marks secret (the engine encrypts them in state)."""
    aliases: list[AliasSpec] = field(default_factory=list)
    """The old identities the program gives the resource (`opts.aliases`)."""
    before_delete: list[str] = field(default_factory=list)
    """The resource hooks the engine runs before it deletes the resource (a pool's drain)."""


@dataclass
class Rendering:
    """What a stack's program declares: its resources (sorted by URN) and its stack outputs."""

    stack: str
    resources: list[Resource]
    outputs: dict[str, Any]
    error: BaseException | None = None
    """What the program raised, when `render(..., check=False)` was asked to keep going."""
    warnings: list[str] = field(default_factory=list)
    """What the program logged as warnings (`pulumi.log.warn`), in order."""

    def by_type(self, type_: str) -> list[Resource]:
        """The resources of one type token."""
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        """The single resource of a type token; fails when there is not exactly one."""
        found = self.by_type(type_)
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources of type {type_}, expected 1")
        return found[0]


@dataclass(frozen=True)
class ResourceView:
    """A resource as a policy rule or a price reads it: what the engine records of it, secrets unsealed."""

    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    protect: bool = False
    outputs: Mapping[str, Any] = field(default_factory=dict)
    """Live outputs, when the state knows them (an autoscaled pool's current size)."""


def nested_secrets(value: Any) -> Any:
    """A value whose secrets sit where the engine keeps them: on the `secure:` values themselves.

    The SDK's mock runtime seals a whole object around a `secure:` value placed inside it (a Service's
    `metadata` around one annotation); the engine records only that value as secret (recorded real runs,
    `kubernetes/k8` and `k13`). A secret that holds no `secure:` placeholder (one made from a resource's
    secret output) stays whole.
    """
    if isinstance(value, Secret):
        return (
            _seal_placeholders(value.value)
            if isinstance(value.value, (dict, list)) and _has_placeholder(value.value)
            else value
        )
    return rebuilt(value, lambda node: nested_secrets(node) if isinstance(node, Secret) else node)


def rebuilt(value: Any, node: Callable[[Any], Any]) -> Any:
    """`value` with its mappings and lists rebuilt, and `node` giving the replacement of everything else in it
    (a Secret included, whole: `node` decides whether to look inside)."""
    if isinstance(value, dict):
        return {key: rebuilt(item, node) for key, item in value.items()}
    if isinstance(value, list):
        return [rebuilt(item, node) for item in value]
    return node(value)


def any_leaf(value: Any, test: Callable[[Any], bool]) -> bool:
    """Whether any leaf of a value (inside secrets, mappings and lists) passes `test`."""
    if isinstance(value, Secret):
        return any_leaf(value.value, test)
    if isinstance(value, dict):
        return any(any_leaf(v, test) for v in value.values())
    if isinstance(value, list):
        return any(any_leaf(v, test) for v in value)
    return test(value)


def _has_placeholder(value: Any) -> bool:
    return any_leaf(value, lambda leaf: isinstance(leaf, str) and SECRET_PLACEHOLDER in leaf)


def _seal_placeholders(value: Any) -> Any:
    def seal(node: Any) -> Any:
        if isinstance(node, Secret):
            return nested_secrets(node)
        return Secret(node) if isinstance(node, str) and SECRET_PLACEHOLDER in node else node

    return rebuilt(value, seal)


def unsealed(value: Any) -> Any:
    """A value with its Secret wrappers removed, for rules and prices that read it and print nothing of it."""
    return rebuilt(value, lambda node: unsealed(node.value) if isinstance(node, Secret) else node)


def masked(value: Any) -> Any:
    """A value safe to print or serialise: secrets replaced, unknowns named."""
    if isinstance(value, Secret) and isinstance(value.value, Unknown):
        return f"{SECRET_PLACEHOLDER} (known after apply)"
    if isinstance(value, (Secret, Sealed)):
        return SECRET_PLACEHOLDER
    if isinstance(value, Unknown):
        return "(known after apply)"
    if isinstance(value, dict):
        return {k: masked(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value
