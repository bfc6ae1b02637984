"""Drift from the engine's own events of a `pulumi preview --refresh`: each resource the refresh found changed
(old: recorded, new: live) and each step the preview would take (new: the stack file), with the provider's
detailed diff paths, the declared value beside the live one. Pure logic over plain event data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..state.records import SECRET_SIG_KEY as SECRET_SIGNATURE

MASK = "[secret]"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
#: Types whose values under these paths are secret whatever the event says. A Secret's live
#: last-applied-configuration annotation (anyone who runs `kubectl apply` on it writes one) holds its data.
SECRET_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "kubernetes:core/v1:Secret": (("data",), ("stringData",), ("metadata", "annotations", LAST_APPLIED))
}
_PATH = re.compile(r'\.?([A-Za-z0-9_$-]+)|\["((?:[^"\\]|\\.)*)"\]|\[([0-9]+)\]')
_NOT_DRIFT = ("same", "read", "refresh", "discard", "read-discard")


@dataclass(frozen=True)
class Step:
    """One resource event as the engine sent it: the phase (`refresh`, or the preview's op), and its states."""

    op: str
    urn: str
    type: str
    diff: dict[str, str]
    """Each detailed-diff path and its kind (`update`, `add`, `delete`, ...)."""
    old: dict[str, Any] = field(default_factory=dict)
    """The old state's inputs and outputs (`{"inputs": ..., "outputs": ...}`)."""
    new: dict[str, Any] = field(default_factory=dict)


@dataclass
class DriftPath:
    path: str
    kind: str
    declared: Any
    live: Any


@dataclass
class Drifted:
    urn: str
    type: str
    action: str
    """What `pulumi up` would do about it: `update`, `replace`, `create` (gone live), `delete`."""
    paths: list[DriftPath]

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


def parse_path(path: str) -> list[str | int]:
    """`metadata.annotations["a.b/c"]` or `spec.ports[0].port` as keys and indexes."""
    parts: list[str | int] = []
    for match in _PATH.finditer(path):
        name, quoted, index = match.groups()
        parts.append(int(index) if index is not None else (quoted.replace('\\"', '"') if quoted is not None else name))
    return parts


def value_at(document: Any, path: str) -> Any:
    """The value at a detailed-diff path, or None where the document has none."""
    value = document
    for part in parse_path(path):
        if isinstance(value, dict) and isinstance(value.get(SECRET_SIGNATURE), str):
            return MASK
        if isinstance(part, int) and isinstance(value, list) and part < len(value):
            value = value[part]
        elif isinstance(part, str) and isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def masked(kind: str, path: str, value: Any) -> Any:
    """A value as a report may show it: a secret (marked, or at or under a secret path of its type) is MASK; a
    value that holds a secret path (the whole `metadata`, say) has that part masked."""
    parts = tuple(parse_path(path))
    secrets = SECRET_FIELDS.get(kind, ())
    if any(parts[: len(secret)] == secret for secret in secrets):
        return MASK if value is not None else None
    holding = [secret[len(parts) :] for secret in secrets if secret[: len(parts)] == parts]
    if holding and isinstance(value, dict):
        value = masked("", "", value)
        for rest in holding:
            value = _mask_under(value, rest)
        return value
    if isinstance(value, dict):
        if isinstance(value.get(SECRET_SIGNATURE), str):
            return MASK
        return {k: masked("", "", v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked("", "", v) for v in value]
    return value


def _mask_under(value: Any, rest: tuple[str, ...]) -> Any:
    """`value` with the part at `rest` (a path of keys inside it) masked."""
    if not isinstance(value, dict) or rest[0] not in value:
        return value
    inner = MASK if len(rest) == 1 else _mask_under(value[rest[0]], rest[1:])
    return {**value, rest[0]: inner if value[rest[0]] is not None else None}


def _state(side: dict[str, Any], key: str) -> Any:
    return side.get(key) if isinstance(side.get(key), dict) else {}


def collect(steps: list[Step]) -> list[Drifted]:
    """Every drifted resource: a preview step that would change it (its paths: stack file against live), or, where
    the preview did not get that far, the refresh's own diff (recorded against live)."""
    refreshed = {s.urn: s for s in steps if s.op == "refresh" and (s.diff or not s.new)}
    planned = {s.urn: s for s in steps if s.op not in _NOT_DRIFT}
    found = []
    for urn in sorted(set(refreshed) | set(planned)):
        refresh, step = refreshed.get(urn), planned.get(urn)
        source = step or refresh
        if source is None:  # never: the urn comes from one of the two
            continue
        live_side = refresh.new if refresh and refresh.new else (step.old if step else {})
        live = _state(live_side, "outputs") or _state(live_side, "inputs")
        declared = _state(step.new, "inputs") if step and step.new else _state(refresh.old if refresh else {}, "inputs")
        kind = source.type
        diff = (step.diff if step and step.diff else None) or (refresh.diff if refresh else {})
        if refresh and not refresh.new:
            action, paths = "create", [DriftPath("(resource)", "delete", "declared", "gone")]
        else:
            action = step.op if step else "update"
            paths = [
                DriftPath(
                    path, how, masked(kind, path, value_at(declared, path)), masked(kind, path, value_at(live, path))
                )
                for path, how in sorted(diff.items())
            ]
        found.append(
            Drifted(
                urn, kind, {"create-replacement": "replace", "delete-replaced": "replace"}.get(action, action), paths
            )
        )
    return found


def step_from_event(metadata: Any, phase: str | None = None) -> Step:
    """A Step from the Automation API's StepEventMetadata."""

    def side(state: Any) -> dict[str, Any]:
        return {"inputs": state.inputs or {}, "outputs": state.outputs or {}} if state is not None else {}

    op = phase or (metadata.op.value if hasattr(metadata.op, "value") else str(metadata.op))
    diff = {
        path: (d.diff_kind.value if hasattr(d.diff_kind, "value") else str(d.diff_kind))
        for path, d in (metadata.detailed_diff or {}).items()
    }
    return Step(op, metadata.urn, metadata.type, diff, side(metadata.old), side(metadata.new))
