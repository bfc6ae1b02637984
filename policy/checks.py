"""Each rule's check: a plain function from the rendered resources and the rule's settings to what it found."""

from __future__ import annotations

import fnmatch
from fractions import Fraction

from components.annotations import PREFIX
from kapsule.names import (
    ACL,
    CLUSTER,
    DELETE_ADDITIONAL_RESOURCES,
    LB_IP,
    MIN_SIZE,
    NODE_TYPE,
    POOL,
    POOL_COMPONENT,
    PRIVATE_NETWORK,
    PUBLIC_GATEWAY,
    PUBLIC_GATEWAY_IP,
    REGISTRY,
    SERVICE,
    VPC,
)
from kapsule.resources.model import ResourceView
from policy.ranges import Ranges
from policy.text import shows_anything

PRIVATE_LB = PREFIX + "private"


#: Scaleway resources of this project that carry tags (`key=value` strings).
TAGGED = (CLUSTER, POOL, PRIVATE_NETWORK, VPC, PUBLIC_GATEWAY, PUBLIC_GATEWAY_IP, LB_IP)


def of_type(resources: list[ResourceView], type_: str) -> list[ResourceView]:
    return [r for r in resources if r.type == type_]


def _mapping(value: object) -> dict:
    """`value` when it is a mapping; an unknown (None, or the plan's marker) or another type reads as empty."""
    return value if isinstance(value, dict) else {}


def autohealing(resources, settings):
    return [
        (p, f"pool {p.name}: autohealing is off")
        for p in of_type(resources, POOL)
        if p.inputs.get("autohealing") is False
    ]


def autoscaled(resources, settings):
    least = settings["minNodes"]
    found = []
    for pool in of_type(resources, POOL):
        if pool.inputs.get("autoscaling") is False:
            found.append(
                (
                    pool,
                    f"pool {pool.name}: autoscaling is off; production pools scale between at least {least} nodes and more",
                )
            )
        elif isinstance(pool.inputs.get(MIN_SIZE), int) and pool.inputs[MIN_SIZE] < least:
            found.append((pool, f"pool {pool.name}: min_size {pool.inputs['minSize']} is below {least}"))
    return found


def node_age(resources, settings):
    longest = settings["maxDays"]
    found = []
    for pool in of_type(resources, POOL_COMPONENT):
        days = pool.inputs.get("maxNodeAgeDays")
        if days is None:
            found.append((pool, f"pool {pool.name}: max_node_age_days is not set; set it to {longest} or fewer"))
        elif isinstance(days, int) and days > longest:
            found.append((pool, f"pool {pool.name}: max_node_age_days {days} is over {longest}; lower it"))
    return found


def zones(resources, settings):
    zones = {p.inputs.get("zone") for p in of_type(resources, POOL)}
    # A platform stack has no pools of its own: their zones are the cluster stack's to judge; a zone not known
    # yet (None, or the plan's marker) is judged once it is.
    if not zones or not all(isinstance(zone, str) for zone in zones) or len(zones) >= settings["minZones"]:
        return []
    listed = ", ".join(sorted(zones)) or "none"
    return [(None, f"pools span {len(zones)} zone(s) ({listed}); production needs at least {settings['minZones']}")]


def private_registry(resources, settings):
    return [
        (r, f"registry namespace {r.name} is public")
        for r in of_type(resources, REGISTRY)
        if r.inputs.get("isPublic") is True
    ]


def keep_volumes(resources, settings):
    return [
        (
            c,
            f"cluster {c.inputs.get('name', c.name)}: delete_additional_resources is true, so deleting the cluster deletes its volumes",
        )
        for c in of_type(resources, CLUSTER)
        if c.inputs.get(DELETE_ADDITIONAL_RESOURCES) is True
    ]


def protected(resources, settings):
    kinds = {CLUSTER: "cluster", PRIVATE_NETWORK: "private network", REGISTRY: "registry namespace"}
    return [
        (r, f"{kinds[r.type]} {r.name} is not protected (protect: true)")
        for r in resources
        if r.type in kinds and not r.protect
    ]


def dedicated(resources, settings):
    return [
        (
            c,
            f"cluster {c.inputs.get('name', c.name)}: type {c.inputs.get('type')} shares its control plane; use a dedicated type",
        )
        for c in of_type(resources, CLUSTER)
        if isinstance(c.inputs.get("type"), str) and "dedicated" not in c.inputs["type"]
    ]


def node_types(resources, settings):
    allowed = settings["allowedNodeTypes"]
    return [
        (p, f"pool {p.name}: node type {p.inputs['nodeType']} is not allowed ({', '.join(allowed)})")
        for p in of_type(resources, POOL)
        if isinstance(p.inputs.get(NODE_TYPE), str)
        and not any(fnmatch.fnmatchcase(p.inputs[NODE_TYPE], a) for a in allowed)
    ]


def tags(resources, settings):
    found = []
    for resource in resources:
        tags = resource.inputs.get("tags")
        if resource.type not in TAGGED or not isinstance(tags, list):
            continue
        # A required tag counts only with a value that shows: `env=`, a bare `env` or `env=\u2800` says nothing.
        keys = {key for key, _, value in (str(tag).partition("=") for tag in tags) if shows_anything(value)}
        missing = [key for key in settings["requiredTags"] if key not in keys]
        if missing:
            found.append(
                (resource, f"{resource.type.split(':')[-1]} {resource.name}: missing tag(s) {', '.join(missing)}")
            )
    return found


def source_ranges(resources, settings):
    found = []
    for service in of_type(resources, SERVICE):
        spec = _mapping(service.inputs.get("spec"))  # unknown during a preview: judged as what is known
        annotations = _mapping(_mapping(service.inputs.get("metadata")).get("annotations"))
        if spec.get("type") != "LoadBalancer" or annotations.get(PRIVATE_LB) == "true":
            continue
        listed = spec.get("loadBalancerSourceRanges")
        if listed is not None and not isinstance(listed, list):
            continue  # unknown during a preview
        if not listed:
            found.append(
                (service, f"Service {service.name}: a public load balancer open to every address (no source_ranges)")
            )
            continue
        ranges = Ranges.of(listed)
        if ranges.unreadable:
            found.append(
                (
                    service,
                    f"Service {service.name}: source range(s) {', '.join(map(repr, ranges.unreadable))} are no CIDR (a.b.c.d/n or an IPv6 prefix)",
                )
            )
        open_families = ranges.open_families()
        for family in open_families:
            found.append(
                (
                    service,
                    f"Service {service.name}: a public load balancer open to every {family} address (its source ranges cover the whole space)",
                )
            )
        for family, share in ranges.open_share().items():
            allowed_share = settings[f"maxOpenShare{family}"]
            if family not in open_families and share > Fraction(str(allowed_share)):
                found.append(
                    (
                        service,
                        f"Service {service.name}: its source ranges open {_percent(share)} of the {family} address "
                        f"space, more than the {_percent(Fraction(str(allowed_share)))} allowed (maxOpenShare{family})",
                    )
                )
        wide = [
            n
            for n in ranges.wider_than(settings["widestIPv4Prefix"], settings["widestIPv6Prefix"])
            if f"IPv{n.version}" not in open_families
        ]
        if wide:
            allowed = f"/{settings['widestIPv4Prefix']} for IPv4, /{settings['widestIPv6Prefix']} for IPv6"
            found.append(
                (
                    service,
                    f"Service {service.name}: source range(s) {', '.join(map(str, wide))} wider than allowed ({allowed})",
                )
            )
    return found


def api_server_allow_list(resources, settings):
    """Each cluster's API server: an allow-list whose ranges, together, open at most the allowed share of each
    family. The union counts (Ranges.open_share, as for load balancers); Scaleway's own ranges are not counted."""
    acls = of_type(resources, ACL)
    found = [
        (
            c,
            f"cluster {c.inputs.get('name', c.name)}: the API server is open to every address "
            "(no kapsule:cluster.api_access; Scaleway's default)",
        )
        for c in of_type(resources, CLUSTER)
        if not acls
    ]
    limits = {"IPv4": settings["maxIPv4Share"], "IPv6": settings["maxIPv6Share"]}
    for acl in acls:
        rules = acl.inputs.get("aclRules")
        if acl.inputs.get("noIpAllowed") is True or not isinstance(rules, list):
            continue  # full isolation, or not known during a preview
        ranges = Ranges.of(rule["ip"] for rule in rules if isinstance(rule, dict) and isinstance(rule.get("ip"), str))
        if ranges.unreadable:
            found.append(
                (acl, f"API server allow-list {acl.name}: {', '.join(map(repr, ranges.unreadable))} are no CIDR")
            )
        for family, share in ranges.open_share().items():
            if share > Fraction(limits[family]):
                found.append(
                    (
                        acl,
                        f"API server allow-list {acl.name}: its {family} ranges open {_share(share)} of every {family} "
                        f"address, more than the {_share(Fraction(limits[family]))} allowed",
                    )
                )
    return found


def _share(share: Fraction) -> str:
    """A share of an address space as a reader compares it: `1/256 (0.39%)`; the union as a count of /N."""
    if share == 0:
        return "none"
    return f"{share.numerator}/{share.denominator}" if share.numerator < 10**6 else f"{float(share):.3g}"


def _percent(share: Fraction) -> str:
    """A share as a percentage to four significant digits: 99.61%, 1%, 0.0001%."""
    text = f"{float(share) * 100:.4g}"
    if text == "100" and share < 1:  # every address but a few is not everyone
        text = f"{float(share) * 100:.12g}"
    return f"{text}%"


def budget(resources, settings):
    from kapsule.cost.estimate import money, price_stack  # the same numbers as `kapsule cost` and the plan

    limit = settings["maxMonthly"]
    if limit <= 0:
        return []
    cost = price_stack(resources)
    spent = cost.high if settings["bound"] == "high" else cost.low
    found = []
    if spent > limit:
        at = "with every autoscaled pool at its maximum" if settings["bound"] == "high" else "at its minimum size"
        found.append(
            (
                None,
                f"the stack costs {money(spent, cost.currency)} a month {at}, over its budget of {money(limit, cost.currency)}",
            )
        )
    found += [(None, f"not in the budget: {item}") for item in cost.unpriced]
    return found
