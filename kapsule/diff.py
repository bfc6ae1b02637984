"""How one desired resource differs from its recorded copy, with the provider's replacement rules.

Pure logic: no Pulumi runtime. The replacement table follows the provider semantics in the facts sheet
(cluster, pool, private network, registry namespace); for the other Scaleway resources it lists the
identity fields (zone, region, project, parent ids) that Scaleway cannot move in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from .names import (
    API_KEY,
    CLUSTER,
    GATEWAY_NETWORK,
    HELM_RELEASE,
    K8S_PROVIDER,
    LB_IP,
    NAMESPACE,
    POOL,
    PRIVATE_NETWORK,
    PUBLIC_GATEWAY,
    PUBLIC_GATEWAY_IP,
    REGISTRY,
    SECRET,
    SECRET_PLACEHOLDER,
    SERVICE,
    VPC,
)
from .model import SEALED, Secret, Unknown
from .outcome import Action
from .state import RecordedResource



#: Input properties (camelCase, as recorded) whose change makes the provider replace the resource.
REPLACE_ON: dict[str, tuple[str, ...]] = {
    # `type` and `privateNetworkId` replace only in some directions: see REPLACE_WHEN.
    CLUSTER: ("cni", "podCidr", "serviceCidr", "serviceDnsIp", "region", "projectId"),
    POOL: (
        "clusterId",
        "name",
        "nodeType",
        "containerRuntime",
        "placementGroupId",
        "rootVolumeType",
        "rootVolumeSizeInGb",
        "publicIpDisabled",
        "zone",
        "region",
        "privateNetworkId",
        "userData",
    ),
    PRIVATE_NETWORK: ("ipv4Subnet", "vpcId", "region", "projectId"),
    REGISTRY: ("name", "region", "projectId"),
    VPC: ("region", "projectId"),
    PUBLIC_GATEWAY: ("zone", "projectId", "ipId"),
    PUBLIC_GATEWAY_IP: ("zone", "projectId"),
    GATEWAY_NETWORK: ("gatewayId", "privateNetworkId", "zone"),
    LB_IP: ("zone", "projectId", "isIpv6"),
    API_KEY: ("applicationId", "expiresAt", "defaultProjectId"),
    NAMESPACE: ("metadata.name",),
    SECRET: ("metadata.name", "metadata.namespace", "type"),
    SERVICE: ("metadata.name", "metadata.namespace", "spec.clusterIP"),
    HELM_RELEASE: ("name", "namespace"),
}

#: Top-level inputs that are Optional and Computed in the provider schema: when the program stops setting
#: one, the provider keeps the live value, so removing it is no change.
COMPUTED_WHEN_UNSET: dict[str, frozenset[str]] = {
    CLUSTER: frozenset(
        {"type", "autoscalerConfig", "autoUpgrade", "openIdConnectConfig", "podCidr", "serviceCidr", "serviceDnsIp", "region", "projectId"}
    ),
    POOL: frozenset({"minSize", "maxSize", "upgradePolicy", "rootVolumeType", "rootVolumeSizeInGb", "zone", "region", "securityGroupId"}),
    PRIVATE_NETWORK: frozenset({"ipv4Subnet", "ipv6Subnets", "vpcId", "region", "projectId"}),
    REGISTRY: frozenset({"region", "projectId"}),
    VPC: frozenset({"region", "projectId"}),
    PUBLIC_GATEWAY: frozenset({"name", "zone", "projectId", "ipId", "bastionPort", "enableSmtp", "allowedIpRanges"}),
    LB_IP: frozenset({"zone", "projectId"}),
    API_KEY: frozenset({"defaultProjectId"}),
}

#: Control plane types a cluster can move up to in place; anything else is not among its available types.
CLUSTER_TYPE_ORDER: tuple[tuple[str, ...], ...] = (
    ("kapsule", "kapsule-dedicated-4", "kapsule-dedicated-8", "kapsule-dedicated-16"),
    ("multicloud", "multicloud-dedicated-4", "multicloud-dedicated-8", "multicloud-dedicated-16"),
)


def _cluster_type_change(old: Any, new: Any) -> Optional[str]:
    """The provider asks Scaleway for the cluster's available types: only a larger one of the same family."""
    for family in CLUSTER_TYPE_ORDER:
        if old in family and new in family and family.index(new) > family.index(old):
            return None
    return f"type {old!r} -> {new!r} is not among the cluster's available types: the provider replaces the cluster"


def _private_network_change(old: Any, new: Any) -> Optional[str]:
    """Attaching a network to a cluster without one migrates it; moving it to another network (or none) replaces it."""
    if not old:
        return None
    return "privateNetworkId changed from one network to another: the provider replaces the resource"


#: Replacement rules that depend on the old and new value (the provider's CustomizeDiff): a reason, or None.
REPLACE_WHEN: dict[str, dict[str, Callable[[Any, Any], Optional[str]]]] = {
    CLUSTER: {"type": _cluster_type_change, "privateNetworkId": _private_network_change},
}


def _without_locality(value: Any) -> Any:
    """`fr-par/<uuid>` -> `<uuid>`: the provider compares ids without their region or zone."""
    return value.rsplit("/", 1)[-1] if isinstance(value, str) else value


def _without_case_and_hyphens(value: Any) -> Any:
    """`DEV1-M` and `dev1m` are one node type to the provider."""
    return value.lower().replace("-", "") if isinstance(value, str) else value


#: How the provider normalises a value before comparing it (its DiffSuppressFunc).
COMPARED_AS: dict[tuple[str, str], Callable[[Any], Any]] = {
    (CLUSTER, "privateNetworkId"): _without_locality,
    (POOL, "nodeType"): _without_case_and_hyphens,
    (POOL, "securityGroupId"): _without_locality,
    (PUBLIC_GATEWAY, "ipId"): _without_locality,
    (PUBLIC_GATEWAY, "type"): lambda value: value.lower() if isinstance(value, str) else value,
}

#: pulumi-kubernetes replaces a Secret whose data changes, unless its provider sets enableSecretMutable.
SECRET_DATA = ("data", "stringData")

#: Replacements that depend on what changes upstream: the Kubernetes provider is replaced (and every
#: object behind it with it) only when its kubeconfig comes from a new cluster, not when a pool it
#: waits for is replaced.
REPLACED_WITH: dict[str, str] = {K8S_PROVIDER: CLUSTER}

#: What replacing or deleting a resource of these types destroys.
DESTROYS: dict[str, str] = {
    CLUSTER: "the control plane and every workload on it",
    POOL: "every node of the pool and the pods on them, with the nodes' local volumes",
    PRIVATE_NETWORK: "the private network the cluster and its nodes are attached to",
    REGISTRY: "every image pushed to the registry namespace",
    LB_IP: "the reserved load balancer IP address: DNS records pointing at it stop working",
    NAMESPACE: "the namespace and every workload, volume claim and secret in it",
    SERVICE: "the Scaleway load balancer of the Service and, unless its IP is reserved, its address",
}


def destroys(type_: str, inputs: dict[str, Any]) -> Optional[str]:
    """What replacing or deleting a resource with these inputs destroys, or None when nothing live is lost."""
    if type_ == SERVICE and (inputs.get("spec") or {}).get("type") != "LoadBalancer":
        return None
    text = DESTROYS.get(type_)
    if text and type_ == CLUSTER and inputs.get("deleteAdditionalResources") is True:
        text += ", and the volumes and load balancers Kubernetes created (delete_additional_resources is true)"
    return text


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


def replace_paths(type_: str) -> tuple[str, ...]:
    """The property paths that replace a resource of `type_`."""
    return REPLACE_ON.get(type_, ())


def forces_replacement(type_: str, path: str) -> Optional[str]:
    """The replacement property that `path` falls under, if any."""
    for prop in replace_paths(type_):
        if path == prop or path.startswith(prop + ".") or path.startswith(prop + "["):
            return prop
    return None


def diff_resource(
    type_: str,
    desired: dict[str, Any],
    recorded: RecordedResource,
    *,
    ignore_changes: tuple[str, ...] | list[str] = (),
    upstream: frozenset[str] = frozenset(),
    provider_replaced: bool = False,
    provider_inputs: Optional[dict[str, Any]] = None,
    tainted: bool = False,
    fed_by_renewed: Optional[frozenset[str]] = None,
) -> Diff:
    """Compare desired inputs with recorded inputs the way the provider would.

    `upstream` holds the types of the resources this one depends on that are created or replaced.
    A value that is still unknown only differs when there is such a resource; otherwise it is a
    secret the state holds as ciphertext, and is not compared. `provider_inputs` are the desired inputs
    of the resource's explicit provider; `tainted` (or a pending replacement) in state means replace.
    `fed_by_renewed` names the top-level properties computed from a created or replaced resource (the
    engine's property dependencies); without it, any such dependency counts for every property.
    """
    upstream_changed = bool(upstream)
    changed: dict[str, tuple[Any, Any]] = {}
    bridged = "__defaults" in recorded.inputs
    defaults = recorded.defaults | COMPUTED_WHEN_UNSET.get(type_, frozenset())
    olds = _without_kept_label(recorded.inputs, desired) if type_.startswith("kubernetes:") else recorded.inputs
    for path, old, new in _walk(desired, olds, "", top=True, bridged=bridged, defaults=defaults):
        if _ignored(path, ignore_changes):
            continue
        if type_.startswith("pulumi:providers:") and path in ENGINE_INPUTS:
            continue
        normalise = COMPARED_AS.get((type_, path))
        if normalise is not None and normalise(old) == normalise(new):
            continue
        renewed = upstream_changed if fed_by_renewed is None else _top(path) in fed_by_renewed
        if not _differs(old, new, renewed):
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
        elif type_ == SECRET and path.split(".")[0].split("[")[0] in SECRET_DATA and not _secret_mutable(provider_inputs):
            reasons.append("its data changed and the Kubernetes provider does not set enableSecretMutable: it is replaced")
    if tainted:
        reasons.append("the state marks it tainted or pending replacement")
    if changed and REPLACED_WITH.get(type_) in upstream:
        reasons.append(f"it depends on a {REPLACED_WITH[type_]} that is created or replaced")
    if provider_replaced:
        reasons.append("its Kubernetes provider is replaced (the cluster it points at is new)")
    reasons = sorted(set(reasons))
    if reasons:
        return Diff("replace", changed, reasons)
    return Diff("update" if changed else "same", changed, [])


def _without_kept_label(olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """Recorded inputs without the managed-by label, unless the program declares that label itself."""
    metadata = olds.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    key, value = MANAGED_BY
    declared = ((news.get("metadata") or {}).get("labels") or {}) if isinstance(news.get("metadata"), dict) else {}
    if not isinstance(labels, dict) or labels.get(key) != value or key in declared:
        return olds
    rest = {k: v for k, v in labels.items() if k != key}
    trimmed = {k: v for k, v in metadata.items() if k != "labels"}
    if rest or "labels" in (news.get("metadata") or {}):
        trimmed["labels"] = rest
    return {**olds, "metadata": trimmed}


def _top(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def _secret_mutable(provider_inputs: Optional[dict[str, Any]]) -> bool:
    value = _reveal((provider_inputs or {}).get("enableSecretMutable"))
    return value is True or value == "true"


def _ignored(path: str, ignore_changes: tuple[str, ...] | list[str]) -> bool:
    return any(path == i or path.startswith(i + ".") or path.startswith(i + "[") for i in ignore_changes)


def _walk(
    new: Any, old: Any, path: str, *, top: bool = False, bridged: bool, defaults: frozenset[str] = frozenset()
) -> Iterator[tuple[str, Any, Any]]:
    """Every leaf path where the two values may differ, as (path, old, new)."""
    if isinstance(new, dict) and isinstance(old, dict) and not _is_secret(new) and not _is_secret(old):
        nested_defaults = frozenset(old.get("__defaults") or ()) if not top else defaults
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
    if _any_leaf(old_plain, lambda leaf: leaf is SEALED):
        # Ciphertext: equal unless the new value is unknown because something upstream changes.
        return upstream_changed and _any_leaf(new_plain, _unknown)
    if _any_leaf(new_plain, _unknown):
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
        return new.keys() == old.keys() and all(_same(old[key], new[key]) for key in new)
    if isinstance(new, list) and isinstance(old, list):
        return len(new) == len(old) and all(_same(o, n) for o, n in zip(old, new))
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


def _any_leaf(value: Any, test: Callable[[Any], bool]) -> bool:
    if isinstance(value, Secret):
        return _any_leaf(value.value, test)
    if isinstance(value, dict):
        return any(_any_leaf(v, test) for v in value.values())
    if isinstance(value, list):
        return any(_any_leaf(v, test) for v in value)
    return test(value)
