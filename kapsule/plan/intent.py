"""Where the stack file's intent and Scaleway's effect differ, and the plan alone would say "no change" or
"replace": a setting the provider keeps live once the stack file stops setting it, and a control-plane
downgrade that Scaleway refuses in place only for a while. Pure logic over the changes and recorded state.

Scaleway's provider keeps an Optional+Computed setting's live value when the program stops setting it
(scaleway/terraform-provider-scaleway issue #4239: removing `open_id_connect_config`, an autoscaler key or a
pool's security group changes nothing live). A move to a smaller control plane is refused during the larger
type's commitment (`ClusterType.commitment_delay`, 30 days for the dedicated types) and while etcd holds more
than the smaller type allows (`ClusterType.max_etcd_size`); the provider asks for the cluster's available types,
which the offline plan cannot, so it shows the replacement the provider makes when the smaller type is not
among them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from ..names import CLUSTER, POOL
from ..state.records import RecordedState
from .outcome import Change
from .replacement import CLUSTER_TYPE_ORDER

#: The commitment of a dedicated control plane: no move to a smaller type within it (Scaleway's offer).
COMMITMENT_DAYS = 30

#: Settings the provider keeps live when the stack file stops setting them: (type, input) -> (stack key, how).
KEPT_WHEN_REMOVED: dict[tuple[str, str], tuple[str, str]] = {
    (CLUSTER, "openIdConnectConfig"): (
        "cluster.oidc",
        "the API server keeps trusting that issuer; to stop it, clear the cluster's OpenID Connect settings in "
        "Scaleway's console (or its UpdateCluster call), then run `pulumi refresh`",
    ),
    (CLUSTER, "autoscalerConfig"): (
        "cluster.autoscaler",
        "to change it, set the key to the value you want "
        "(docs/stack-keys.md gives Scaleway's default where it is known)",
    ),
    (POOL, "securityGroupId"): (
        "pools.{name}.security_group_id",
        "the nodes stay in that security group; to change it, set the key to the group you want",
    ),
}


def intent_notes(changes: list[Change], state: RecordedState | None) -> list[str]:
    """One note per setting the stack file removed that stays live, and per control-plane downgrade."""
    if state is None:
        return []
    notes: list[str] = []
    for change in changes:
        recorded = state.get(change.resource.urn)
        if recorded is None or change.action in ("create", "delete"):
            continue
        desired = change.resource.inputs
        for (type_, key), (stack_key, how) in KEPT_WHEN_REMOVED.items():
            if change.resource.type != type_:
                continue
            where = stack_key.format(name=change.resource.name)
            for sub, live in _removed(recorded.inputs.get(key), desired.get(key)):
                notes.append(
                    f"{change.resource.name}: the stack file no longer sets {where}{'.' + _snake(sub) if sub else ''}, "
                    f"and Scaleway keeps the live value {live!r}: nothing changes; {how}"
                )
        if change.resource.type == CLUSTER and "type" in change.changed:
            note = downgrade_note(change, recorded.outputs)
            if note:
                notes.append(note)
    return notes


def _removed(old: Any, new: Any) -> list[tuple[str | None, Any]]:
    """(sub-key or None, live value) for each value set before and unset now; a mapping is compared key by key."""
    if _unset(old):
        return []
    if isinstance(old, dict):
        new = new if isinstance(new, dict) else {}
        return [(k, v) for k, v in old.items() if not _unset(v) and _unset(new.get(k))]
    return [(None, old)] if _unset(new) else []


def _snake(name: str) -> str:
    """`scaleDownUnneededTime` -> `scale_down_unneeded_time`: the stack key of an input property."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _unset(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def downgrade_note(change: Change, outputs: dict[str, Any]) -> str | None:
    """When a move to a smaller control plane of the same family becomes possible in place, or None."""
    old, new = change.changed["type"]
    family = next((f for f in CLUSTER_TYPE_ORDER if old in f and new in f), None)
    if family is None or family.index(new) >= family.index(old):
        return None
    since = _day(outputs.get("createdAt"))
    created = (
        f" (created {since}; if it was created as {old}, from {since + timedelta(days=COMMITMENT_DAYS)})"
        if since
        else ""
    )
    return (
        f"{change.resource.name}: type {old} -> {new} is a downgrade; Scaleway makes it in place (and the provider "
        f"then updates rather than replaces) only once the {COMMITMENT_DAYS}-day commitment of {old} has ended, "
        f"counted from the day the cluster moved to {old}{created}, and etcd holds less than "
        f"{new}'s quota (`max_etcd_size` of the API's ListClusterTypes). Until then the plan shows the replacement; "
        f"to keep the cluster, leave type at {old} and apply the downgrade when both hold"
    )


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
