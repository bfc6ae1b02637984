"""When a change replaces a resource, and what a replacement destroys: the providers' rules as tables.

Pure data and logic: no Pulumi runtime. The replacement table follows the provider semantics in the facts
sheet (cluster, pool, private network, registry namespace) and the provider schemas (ForceNew,
CustomizeDiff, DiffSuppressFunc); for the other Scaleway resources it lists the identity fields (zone,
region, project, parent ids) that Scaleway cannot move in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.api_access import is_run_description

from ..names import (
    ACL,
    API_KEY,
    CLUSTER,
    DELETE_ADDITIONAL_RESOURCES,
    GATEWAY_NETWORK,
    HELM_RELEASE,
    K8S_PROVIDER,
    LB_IP,
    MAX_SIZE,
    MIN_SIZE,
    NAMESPACE,
    NODE_TYPE,
    POOL,
    PRIVATE_NETWORK,
    PROJECT_ID,
    PUBLIC_GATEWAY,
    PUBLIC_GATEWAY_IP,
    REGISTRY,
    ROOT_VOLUME_SIZE,
    ROOT_VOLUME_TYPE,
    SECRET,
    SERVICE,
    VPC,
)

#: Input properties (camelCase, as recorded) whose change makes the provider replace the resource.
REPLACE_ON: dict[str, tuple[str, ...]] = {
    # `type` and `privateNetworkId` replace only in some directions: see REPLACE_WHEN.
    # autoscaler_config.skip_nodes_with_local_storage: "Changes to this field will recreate a new cluster
    # resource" (the pinned pulumiverse-scaleway 1.60 SDK's ClusterAutoscalerConfigArgs docstring).
    CLUSTER: (
        "cni",
        "podCidr",
        "serviceCidr",
        "serviceDnsIp",
        "region",
        PROJECT_ID,
        "autoscalerConfig.skipNodesWithLocalStorage",
    ),
    POOL: (
        "clusterId",
        "name",
        NODE_TYPE,
        "containerRuntime",
        "placementGroupId",
        ROOT_VOLUME_TYPE,
        ROOT_VOLUME_SIZE,
        "publicIpDisabled",
        "zone",
        "region",
        "privateNetworkId",
        "userData",
    ),
    PRIVATE_NETWORK: ("ipv4Subnet", "vpcId", "region", PROJECT_ID),
    REGISTRY: ("name", "region", PROJECT_ID),
    VPC: ("region", PROJECT_ID),
    PUBLIC_GATEWAY: ("zone", PROJECT_ID, "ipId"),
    PUBLIC_GATEWAY_IP: ("zone", PROJECT_ID),
    GATEWAY_NETWORK: ("gatewayId", "privateNetworkId", "zone"),
    LB_IP: ("zone", PROJECT_ID, "isIpv6"),
    API_KEY: ("applicationId", "expiresAt", "defaultProjectId"),
    # terraform-provider-scaleway internal/services/k8s/acl.go, aclSchema: `cluster_id` ForceNew (compared
    # without its region, dsf.Locality) and `region` (regional.Schema(), ForceNew); the rules change in place.
    ACL: ("clusterId", "region"),
    NAMESPACE: ("metadata.name",),
    SECRET: ("metadata.name", "metadata.namespace", "type"),
    SERVICE: ("metadata.name", "metadata.namespace", "spec.clusterIP"),
    HELM_RELEASE: ("name", "namespace"),
}

#: Top-level inputs that are Optional and Computed in the provider schema: when the program stops setting
#: one, the provider keeps the live value, so removing it is no change.
COMPUTED_WHEN_UNSET: dict[str, frozenset[str]] = {
    CLUSTER: frozenset(
        {
            "type",
            "autoscalerConfig",
            "autoUpgrade",
            "openIdConnectConfig",
            "podCidr",
            "serviceCidr",
            "serviceDnsIp",
            "region",
            PROJECT_ID,
        }
    ),
    POOL: frozenset(
        {MIN_SIZE, MAX_SIZE, "upgradePolicy", ROOT_VOLUME_TYPE, ROOT_VOLUME_SIZE, "zone", "region", "securityGroupId"}
    ),
    PRIVATE_NETWORK: frozenset({"ipv4Subnet", "ipv6Subnets", "vpcId", "region", PROJECT_ID}),
    REGISTRY: frozenset({"region", PROJECT_ID}),
    VPC: frozenset({"region", PROJECT_ID}),
    PUBLIC_GATEWAY: frozenset({"name", "zone", PROJECT_ID, "ipId", "bastionPort", "enableSmtp", "allowedIpRanges"}),
    LB_IP: frozenset({"zone", PROJECT_ID}),
    API_KEY: frozenset({"defaultProjectId"}),
    ACL: frozenset({"region"}),
}

#: Control plane types a cluster can move up to in place; anything else is not among its available types.
CLUSTER_TYPE_ORDER: tuple[tuple[str, ...], ...] = (
    ("kapsule", "kapsule-dedicated-4", "kapsule-dedicated-8", "kapsule-dedicated-16"),
    ("multicloud", "multicloud-dedicated-4", "multicloud-dedicated-8", "multicloud-dedicated-16"),
)


def _cluster_type_change(old: Any, new: Any) -> str | None:
    """The provider asks Scaleway for the cluster's available types: only a larger one of the same family."""
    for family in CLUSTER_TYPE_ORDER:
        if old in family and new in family and family.index(new) > family.index(old):
            return None
    return f"type {old!r} -> {new!r} is not among the cluster's available types: the provider replaces the cluster"


def _private_network_change(old: Any, new: Any) -> str | None:
    """Attaching a network to a cluster without one migrates it; moving it to another network (or none) replaces it."""
    if not old:
        return None
    return "privateNetworkId changed from one network to another: the provider replaces the resource"


#: Replacement rules that depend on the old and new value (the provider's CustomizeDiff): a reason, or None.
REPLACE_WHEN: dict[str, dict[str, Callable[[Any, Any], str | None]]] = {
    CLUSTER: {"type": _cluster_type_change, "privateNetworkId": _private_network_change},
}


def _without_locality(value: Any) -> Any:
    """`fr-par/<uuid>` -> `<uuid>`: the provider compares ids without their region or zone."""
    return value.rsplit("/", 1)[-1] if isinstance(value, str) else value


def _without_case_and_hyphens(value: Any) -> Any:
    """`DEV1-M` and `dev1m` are one node type to the provider."""
    return value.lower().replace("-", "") if isinstance(value, str) else value


def _acl_rule_set(value: Any) -> Any:
    """`acl_rules` is a TypeSet (acl.go): order does not count, nor the computed `id` and `srn` of each rule,
    nor an unset field against the false or empty value Read writes back (flattenACL). The CI runs' own rules
    (`kapsule-run ...` descriptions, kapsule/access) are left out on both sides: they are short-lived, the deploy
    records its own before it takes it out, and the offline plan has no run of its own to hand over."""
    if not isinstance(value, list):
        return value
    rules = []
    for rule in value:
        if not isinstance(rule, dict):
            return value
        if is_run_description(rule.get("description")):
            continue
        rules.append((rule.get("ip") or "", bool(rule.get("scalewayRanges")), rule.get("description") or ""))
    return sorted(rules)


#: Properties compared as one value, not element by element: the provider's TypeSets.
COMPARED_WHOLE: dict[str, frozenset[str]] = {ACL: frozenset({"aclRules"})}

#: How the provider normalises a value before comparing it (its DiffSuppressFunc).
COMPARED_AS: dict[tuple[str, str], Callable[[Any], Any]] = {
    (CLUSTER, "privateNetworkId"): _without_locality,
    (POOL, NODE_TYPE): _without_case_and_hyphens,
    (POOL, "securityGroupId"): _without_locality,
    (PUBLIC_GATEWAY, "ipId"): _without_locality,
    (PUBLIC_GATEWAY, "type"): lambda value: value.lower() if isinstance(value, str) else value,
    (ACL, "clusterId"): _without_locality,
    (ACL, "aclRules"): _acl_rule_set,
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


def destroys(type_: str, inputs: dict[str, Any]) -> str | None:
    """What replacing or deleting a resource with these inputs destroys, or None when nothing live is lost."""
    if type_ == SERVICE and (inputs.get("spec") or {}).get("type") != "LoadBalancer":
        return None
    text = DESTROYS.get(type_)
    if text and type_ == CLUSTER and inputs.get(DELETE_ADDITIONAL_RESOURCES) is True:
        # The provider's own words: it also deletes "the cluster's private network (if empty)".
        network = inputs.get("privateNetworkId")
        named = f" ({network})" if isinstance(network, str) and network else ""
        text += (
            ", the volumes and load balancers Kubernetes created, and the cluster's private network"
            f"{named} if nothing else is attached to it (delete_additional_resources is true)"
        )
    return text


def replace_paths(type_: str) -> tuple[str, ...]:
    """The property paths that replace a resource of `type_`."""
    return REPLACE_ON.get(type_, ())


def under(path: str, prop: str) -> bool:
    """Whether a property path (`metadata.labels["a"]`, `taints[0].key`) is `prop` or lies below it."""
    return path == prop or path.startswith(prop + ".") or path.startswith(prop + "[")


def forces_replacement(type_: str, path: str) -> str | None:
    """The replacement property that `path` falls under, if any."""
    for prop in replace_paths(type_):
        if under(path, prop):
            return prop
    return None
