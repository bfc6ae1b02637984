"""Recorded state: what Pulumi last wrote down as live, read from a stack export or a local checkpoint.

Two files carry the same resources: `pulumi stack export` (`{"deployment": {...}}`) and the local file
backend's checkpoint (`{"checkpoint": {"latest": {...}}}`). Secrets in them are either ciphertext, which
this module never decrypts (it becomes `SEALED`), or, in an export made with `--show-secrets`,
JSON plaintext, which is kept only inside a `Secret` so it is masked wherever it is shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..names import DEFAULTS_KEY, STACK_TYPE
from ..resources.model import SEALED, Secret
from ..resources.urns import name_of

#: The marker Pulumi puts in a JSON object that stands for a secret value.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


class StateError(Exception):
    """A state file that cannot be read as Pulumi state; the message names the file."""


@dataclass
class RecordedResource:
    """One resource as the last deployment left it."""

    urn: str
    type: str
    custom: bool
    id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    parent: str = ""
    protect: bool = False
    provider: str = ""
    replace: bool = False
    """The state marks it tainted or pending replacement: the next update replaces it."""

    @property
    def name(self) -> str:
        """The logical name the URN ends with."""
        return name_of(self.urn)

    @property
    def defaults(self) -> frozenset[str]:
        """Top-level inputs the provider filled in itself (a bridged provider lists them in `__defaults`)."""
        return frozenset(self.inputs.get(DEFAULTS_KEY) or ())


@dataclass
class RecordedState:
    """Every recorded resource of one stack, by URN, and where it was read from."""

    source: str
    resources: dict[str, RecordedResource]
    pending: list[str] = field(default_factory=list)
    """Operations the engine had started and not finished (an interrupted update): `create of <urn>`."""

    def get(self, urn: str) -> RecordedResource | None:
        """The recorded resource with this URN, if any."""
        return self.resources.get(urn)

    @property
    def outputs(self) -> dict[str, Any] | None:
        """The stack's own outputs (its `pulumi:pulumi:Stack` resource's), or None when it has none recorded."""
        stack = next((r for r in self.resources.values() if r.type == STACK_TYPE), None)
        return dict(stack.outputs) if stack is not None else None

    def renamed(self, aliased: Mapping[str, str]) -> RecordedState:
        """This state with each resource found through an alias under its new URN (`aliased`: new -> old)."""
        if not aliased:
            return self
        old_to_new = {old: new for new, old in aliased.items()}
        resources = {
            old_to_new.get(urn, urn): replace(recorded, urn=old_to_new[urn]) if urn in old_to_new else recorded
            for urn, recorded in self.resources.items()
        }
        return RecordedState(self.source, resources, list(self.pending))


def decode(value: Any, shown: str = "state", depth: int = 0) -> Any:
    """A state value with its secrets turned into `Secret` (plaintext) or `SEALED` (ciphertext)."""
    if depth > MAX_STATE_DEPTH:
        raise StateError(
            f"{shown}: not a readable Pulumi state file (a value nests deeper than {MAX_STATE_DEPTH} levels)"
        )
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            if "plaintext" in value:
                try:
                    plaintext = json.loads(value["plaintext"])
                except (TypeError, ValueError, RecursionError):
                    raise StateError(
                        f"{shown}: a secret's plaintext is not JSON; export it again with `pulumi stack export --show-secrets`"
                    ) from None
                return Secret(decode(plaintext, shown, depth + 1))
            return Secret(SEALED)
        return {k: decode(v, shown, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, shown, depth + 1) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: The fields of a recorded resource this reads, with the JSON type the engine writes them as.
RESOURCE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "urn": str,
    "type": str,
    "custom": bool,
    "delete": bool,
    "id": str,
    "inputs": dict,
    "outputs": dict,
    "parent": str,
    "protect": bool,
    "taint": bool,
    "pendingReplacement": bool,
    "provider": str,
    "dependencies": list,
}


#: Bounds on what a state file holds: a real export nests about ten levels and holds a few objects per
#: property; these keep a hostile file from a traceback or from gigabytes of small objects.
MAX_STATE_DEPTH = 64
