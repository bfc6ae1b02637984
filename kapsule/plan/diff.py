"""How one desired resource differs from its recorded copy, walked the way the provider and the engine
compare them. The rules that decide a replacement live in `replacement.py`. Pure logic: no Pulumi runtime."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..names import DEFAULTS_KEY, PROVIDER_TYPE_PREFIX, SECRET, SECRET_PLACEHOLDER
from ..resources.model import SEALED, Secret, Unknown, any_leaf
from ..state.records import RecordedResource
from .outcome import Action
from .replacement import (
    COMPARED_AS,
    COMPARED_WHOLE,
    COMPUTED_WHEN_UNSET,
    REPLACE_WHEN,
    REPLACED_WITH,
    SECRET_DATA,
    forces_replacement,
    under,
)

#: The label pulumi-kubernetes put on objects it created with client-side apply; its Check keeps it on
#: an object whose recorded inputs have it, so the program not declaring it is no change.
MANAGED_BY = ("app.kubernetes.io/managed-by", "pulumi")

#: Top-level inputs the engine adds to a provider's recorded inputs; the program never declares them.
ENGINE_INPUTS = frozenset({"version", "pluginDownloadURL"})


@dataclass
class Diff:
    """The difference between a desired resource and its recorded copy."""

    action: Action
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    sealed: list[str] = field(default_factory=list)
    """Paths whose recorded value is ciphertext and whose new value is a `secure:` value: the plan cannot
    compare them offline, so they may change although nothing else says so."""


# longer than 60 lines: the engine's diff in its order (ignoreChanges, replacement, detailed paths), one pass
def diff_resource(
    type_: str,
    desired: dict[str, Any],
    recorded: RecordedResource,
    *,
    ignore_changes: tuple[str, ...] | list[str] = (),
    upstream: frozenset[str] = frozenset(),
    provider_replaced: bool = False,
    provider_inputs: dict[str, Any] | None = None,
    tainted: bool = False,
    fed_by_renewed: frozenset[str] | None = None,
) -> Diff:
    """Compare desired inputs with recorded state the way the provider would.

    A bridged (Terraform-based) provider diffs the new inputs against the resource's prior *state*: the
    recorded outputs, which hold the live values as last read or refreshed. The recorded inputs only
    say which properties the program set before (a property set then and unset now is removed, unless
    the provider filled it in). pulumi-kubernetes diffs against the recorded inputs, after normalising
    the new ones as its Check does (a Secret's `stringData` becomes base64 `data`).

    `upstream` holds the types of the resources this one depends on that are created or replaced.
    A value that is still unknown only differs when there is such a resource; otherwise it is a
    secret the state holds as ciphertext, and is not compared. `provider_inputs` are the desired inputs
    of the resource's explicit provider; `tainted` (or a pending replacement) in state means replace.
    `fed_by_renewed` names the top-level properties computed from a created or replaced resource (the
    engine's property dependencies); without it, any such dependency counts for every property.
    """
    upstream_changed = bool(upstream)
    changed: dict[str, tuple[Any, Any]] = {}
    sealed: list[str] = []
    bridged = DEFAULTS_KEY in recorded.inputs
    defaults = recorded.defaults | COMPUTED_WHEN_UNSET.get(type_, frozenset())
    if bridged:
        whole = COMPARED_WHOLE.get(type_, frozenset())
        pairs = _walk_state(desired, recorded.outputs, recorded.inputs, "", defaults=defaults, top=True, whole=whole)
    else:
        olds = _without_kept_label(recorded.inputs, desired) if type_.startswith("kubernetes:") else recorded.inputs
        news = _checked_secret(desired) if type_ == SECRET else desired
        pairs = _walk(news, olds, "", top=True, bridged=False, defaults=defaults)
    for path, old, new in pairs:
        if _ignored(path, ignore_changes):
            continue
        if type_.startswith(PROVIDER_TYPE_PREFIX) and path in ENGINE_INPUTS:
            continue
        normalise = COMPARED_AS.get((type_, path))
        if normalise is not None and normalise(old) == normalise(new):
            continue
        renewed = upstream_changed if fed_by_renewed is None else _top(path) in fed_by_renewed
        if not _differs(old, new, renewed):
            if _blind(old, new):
                sealed.append(path)
            continue
        # A value that is now a secret may have been recorded in clear: never show it beside its sealed successor.
        changed[path] = (Secret(old) if _has_secret(new) and old is not None and not _has_secret(old) else old, new)
    reasons = []
    rules = REPLACE_WHEN.get(type_, {})
    for path, (old, new) in changed.items():
        prop = forces_replacement(type_, path)
        if prop is not None:
            reasons.append(f"{prop} changed: the provider replaces the resource")
        elif path in rules:
            reason = rules[path](_reveal(old), _reveal(new))
            if reason:
                reasons.append(reason)
        elif (
            type_ == SECRET and path.split(".")[0].split("[")[0] in SECRET_DATA and not _secret_mutable(provider_inputs)
        ):
            reasons.append(
                "its data changed and the Kubernetes provider does not set enableSecretMutable: it is replaced"
            )
    if tainted:
        reasons.append("the state marks it tainted or pending replacement")
    if changed and REPLACED_WITH.get(type_) in upstream:
        reasons.append(f"it depends on a {REPLACED_WITH[type_]} that is created or replaced")
    if provider_replaced:
        reasons.append("its Kubernetes provider is replaced (the cluster it points at is new)")
    reasons = sorted(set(reasons))
    if reasons:
        return Diff("replace", changed, reasons)
    return Diff("update" if changed else "same", changed, [], sealed)


def _without_kept_label(olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """Recorded inputs without the managed-by label, unless the program declares that label itself."""
    metadata = olds.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    key, value = MANAGED_BY
    declared = ((news.get("metadata") or {}).get("labels") or {}) if isinstance(news.get("metadata"), dict) else {}
    if not isinstance(metadata, dict) or not isinstance(labels, dict) or labels.get(key) != value or key in declared:
        return olds
    rest = {k: v for k, v in labels.items() if k != key}
    trimmed = {k: v for k, v in metadata.items() if k != "labels"}
    if rest or "labels" in (news.get("metadata") or {}):
        trimmed["labels"] = rest
    return {**olds, "metadata": trimmed}


def _top(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def _secret_mutable(provider_inputs: dict[str, Any] | None) -> bool:
    value = _reveal((provider_inputs or {}).get("enableSecretMutable"))
    return value is True or value == "true"


def _ignored(path: str, ignore_changes: tuple[str, ...] | list[str]) -> bool:
    return any(under(path, ignored) for ignored in ignore_changes)


def _walk(
    new: Any, old: Any, path: str, *, top: bool = False, bridged: bool, defaults: frozenset[str] = frozenset()
) -> Iterator[tuple[str, Any, Any]]:
    """Every leaf path where the two values may differ, as (path, old, new)."""
    if isinstance(new, dict) and isinstance(old, dict) and not _is_secret(new) and not _is_secret(old):
        nested_defaults = frozenset(old.get(DEFAULTS_KEY) or ()) if not top else defaults
        for key in sorted(set(new) | set(old)):
            if key.startswith("__"):
                continue
            child = _join(path, key)
            if key not in new:
                # A recorded input the program no longer sets: removed, unless the provider filled it in.
                if key in nested_defaults or (not bridged and top):
                    continue
                yield child, old[key], None
            elif key not in old:
                yield child, None, new[key]
            else:
                yield from _walk(new[key], old[key], child, bridged=bridged)
        return
    yield path, old, new


def _walk_state(
    new: Any,
    state: Any,
    prior: Any,
    path: str,
    *,
    defaults: frozenset[str] = frozenset(),
    top: bool = False,
    whole: frozenset[str] = frozenset(),
) -> Iterator[tuple[str, Any, Any]]:
    """Every leaf path where the new inputs may differ from a bridged resource's prior state, as (path, old, new).

    `state` is the recorded outputs at this path, `prior` the recorded inputs. A key only in the state is
    computed by the provider: no change. A key the program set before (in `prior`) and no longer sets is
    removed, unless the provider filled it in (`__defaults`, or Optional and Computed at the top level).
    The bridge's bookkeeping (`__defaults`, `__meta`, `__pulumi_raw_state_delta`) is never compared.
    A path in `whole` (a set, in the provider's schema) is compared as one value.
    """
    if isinstance(new, dict) and isinstance(state, dict) and not _is_secret(new) and not _is_secret(state):
        prior = prior if isinstance(prior, dict) and not _is_secret(prior) else {}
        filled = defaults if top else frozenset(prior.get(DEFAULTS_KEY) or ())
        for key in sorted(set(new) | set(prior)):
            if key.startswith("__"):
                continue
            child = _join(path, key)
            if key not in new:
                if key not in filled:
                    yield child, state.get(key, prior.get(key)), None
            elif key in state and child in whole:
                yield child, state[key], new[key]
            elif key in state:
                yield from _walk_state(new[key], state[key], prior.get(key), child)
            else:
                yield child, prior.get(key), new[key]
        return
    if isinstance(new, list) and isinstance(state, list) and len(new) == len(state):
        priors = prior if isinstance(prior, list) and len(prior) == len(new) else [None] * len(new)
        for index, (item, recorded, before) in enumerate(zip(new, state, priors, strict=True)):
            yield from _walk_state(item, recorded, before, f"{path}[{index}]")
        return
    yield path, state, new


def _checked_secret(inputs: dict[str, Any]) -> dict[str, Any]:
    """A Secret's inputs as pulumi-kubernetes' Check records them: `stringData` merged into `data`, base64-encoded.

    (pulumi-kubernetes, provider/pkg/clients/unstructured.go, `normalizeSecret`: "StringData overwrites Data".)
    A value the plan cannot see (unknown, or a `secure:` placeholder) stays as it is, sealed.
    """
    string_data = inputs.get("stringData")
    if string_data is None:
        return inputs
    sealed = isinstance(string_data, Secret)
    result = {k: v for k, v in inputs.items() if k != "stringData"}
    if not isinstance(_reveal(string_data), dict):
        result["data"] = string_data  # not known yet: it becomes `data` all the same
        return result
    string_data = _reveal(string_data)
    data = dict(_reveal(inputs.get("data")) or {})
    for key, value in string_data.items():
        plain = _reveal(value)
        data[key] = (
            Secret(base64.b64encode(plain.encode()).decode())
            if isinstance(plain, str) and SECRET_PLACEHOLDER not in plain
            else value
        )
    result["data"] = Secret(data) if sealed or isinstance(inputs.get("data"), Secret) else data
    return result


def _blind(old: Any, new: Any) -> bool:
    """Whether the pair was compared blind: ciphertext on the recorded side, a value the plan cannot read on the new."""
    return any_leaf(_reveal(old), lambda leaf: leaf is SEALED) and any_leaf(
        new, lambda leaf: isinstance(leaf, str) and SECRET_PLACEHOLDER in leaf
    )


def _join(path: str, key: str) -> str:
    if not path:
        return key
    if key.replace("_", "").replace("-", "").isalnum():
        return f"{path}.{key}"
    return f'{path}["{key}"]'


def _is_secret(value: Any) -> bool:
    return isinstance(value, Secret)


def _differs(old: Any, new: Any, upstream_changed: bool) -> bool:
    old_plain, new_plain = _reveal(old), _reveal(new)
    if any_leaf(old_plain, lambda leaf: leaf is SEALED):
        # Ciphertext: equal unless the new value is unknown because something upstream changes.
        return upstream_changed and any_leaf(new_plain, _unknown)
    if any_leaf(new_plain, _unknown):
        return True
    return not _same(old_plain, new_plain)


def _same(old: Any, new: Any) -> bool:
    """Equal, where a `secure:` placeholder in the new value matches whatever plaintext the state holds.

    The plan cannot decrypt a `secure:` value. A value that only became secret is no change to the
    engine either: a bridged provider sees plaintext and reports no diff.
    """
    old, new = _reveal(old), _reveal(new)
    if isinstance(new, str) and SECRET_PLACEHOLDER in new:
        pattern = ".*".join(re.escape(part) for part in new.split(SECRET_PLACEHOLDER))
        return isinstance(old, str) and re.fullmatch(pattern, old, re.S) is not None
    if isinstance(new, dict) and isinstance(old, dict):
        new = {k: v for k, v in new.items() if not k.startswith("__")}
        old = {k: v for k, v in old.items() if not k.startswith("__")}
        return new.keys() == old.keys() and all(_same(old[key], new[key]) for key in new)
    if isinstance(new, list) and isinstance(old, list):
        return len(new) == len(old) and all(_same(o, n) for o, n in zip(old, new, strict=True))
    return old == new


def _has_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(_has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secret(v) for v in value)
    return False


def _reveal(value: Any) -> Any:
    while isinstance(value, Secret):
        value = value.value
    return value


def _unknown(leaf: Any) -> bool:
    return isinstance(leaf, Unknown)
