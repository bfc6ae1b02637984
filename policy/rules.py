"""The platform team's rules for Kapsule stacks, as plain functions over resources.

Importable without starting the policy pack (constructing `pulumi_policy.PolicyPack` blocks forever):
`policy/__main__.py` wraps these rules for `pulumi preview --policy-pack policy`, and
`python -m kapsule plan` runs the same rules over the rendered program.

Every rule reads resource properties as the engine records them (camelCase inputs). A property that
is unknown during a preview (absent or None) is not judged.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.annotations import PREFIX
from kapsule.files import FileProblem, MissingFile, read_regular
from kapsule.model import ResourceView
from kapsule.names import (
    CLUSTER,
    DELETE_ADDITIONAL_RESOURCES,
    LB_IP,
    MIN_SIZE,
    NODE_TYPE,
    POOL,
    PRIVATE_NETWORK,
    PUBLIC_GATEWAY,
    PUBLIC_GATEWAY_IP,
    REGISTRY,
    SERVICE,
    VPC,
)
from policy.ranges import Ranges
from policy.text import shows_anything

Level = Literal["advisory", "mandatory", "disabled"]
LEVELS: tuple[str, ...] = ("advisory", "mandatory", "disabled")
CONFIG_DIR = Path(__file__).resolve().parent / "config"

PRIVATE_LB = PREFIX + "private"
#: Scaleway resources of this project that carry tags (`key=value` strings).
TAGGED = (CLUSTER, POOL, PRIVATE_NETWORK, VPC, PUBLIC_GATEWAY, PUBLIC_GATEWAY_IP, LB_IP)


@dataclass(frozen=True)
class Violation:
    """One broken rule on one resource (or on the stack, with no urn)."""

    rule: str
    message: str
    urn: Optional[str] = None


Check = Callable[[list[ResourceView], Mapping[str, Any]], list[tuple[Optional[ResourceView], str]]]


class Settings(BaseModel):
    """A rule's settings: one home for their types, bounds and defaults, from which the pack's JSON schema comes."""

    model_config = ConfigDict(extra="forbid", strict=True)


NodeTypeList = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class MinNodes(Settings):
    minNodes: int = Field(default=2, ge=1)


class MinZones(Settings):
    minZones: int = Field(default=2, ge=1)


class AllowedNodeTypes(Settings):
    allowedNodeTypes: NodeTypeList = ["DEV1-M", "DEV1-L", "DEV1-XL", "PRO2-*", "GP1-*", "POP2-*"]


class RequiredTags(Settings):
    requiredTags: list[Annotated[str, Field(min_length=1, pattern=r"^[^=]+$")]] = Field(default=["env", "owner"], min_length=1)


class SourceRanges(Settings):
    widestIPv4Prefix: int = Field(default=8, ge=0, le=32)
    widestIPv6Prefix: int = Field(default=32, ge=0, le=128)


class Budget(Settings):
    maxMonthly: float = Field(default=0, ge=0, allow_inf_nan=False)
    bound: Literal["low", "high"] = "high"


@dataclass(frozen=True)
class Rule:
    """A rule: its name, what it asks, its enforcement level unless configured, and its settings' model."""

    name: str
    description: str
    level: Level
    check: Check
    model: Optional[type[Settings]] = None

    @property
    def settings(self) -> dict[str, Any]:
        """Each setting's default."""
        return self.model().model_dump() if self.model else {}

    @property
    def schema(self) -> dict[str, dict[str, Any]]:
        """Each setting's JSON schema: the pack declares it to the CLI, and the offline plan checks the same model."""
        if self.model is None:
            return {}
        properties = self.model.model_json_schema()["properties"]
        return {key: {k: v for k, v in value.items() if k not in ("title", "default")} for key, value in properties.items()}

    def run(self, resources: list[ResourceView], settings: Optional[Mapping[str, Any]] = None) -> list[Violation]:
        """Judge every resource; `settings` override the rule's defaults."""
        merged = {**self.settings, **(settings or {})}
        return [Violation(self.name, message, subject.urn if subject else None) for subject, message in self.check(resources, merged)]


def _of(resources: list[ResourceView], type_: str) -> list[ResourceView]:
    return [r for r in resources if r.type == type_]


def _autohealing(resources, settings):
    return [(p, f"pool {p.name}: autohealing is off") for p in _of(resources, POOL) if p.inputs.get("autohealing") is False]


def _autoscaled(resources, settings):
    least = settings["minNodes"]
    found = []
    for pool in _of(resources, POOL):
        if pool.inputs.get("autoscaling") is False:
            found.append((pool, f"pool {pool.name}: autoscaling is off; production pools scale between at least {least} nodes and more"))
        elif isinstance(pool.inputs.get(MIN_SIZE), int) and pool.inputs[MIN_SIZE] < least:
            found.append((pool, f"pool {pool.name}: min_size {pool.inputs['minSize']} is below {least}"))
    return found


def _zones(resources, settings):
    zones = {p.inputs.get("zone") for p in _of(resources, POOL)}
    # A platform stack has no pools of its own: their zones are the cluster stack's to judge.
    if not zones or None in zones or len(zones) >= settings["minZones"]:
        return []
    listed = ", ".join(sorted(zones)) or "none"
    return [(None, f"pools span {len(zones)} zone(s) ({listed}); production needs at least {settings['minZones']}")]


def _private_registry(resources, settings):
    return [(r, f"registry namespace {r.name} is public") for r in _of(resources, REGISTRY) if r.inputs.get("isPublic") is True]


def _keep_volumes(resources, settings):
    return [
        (c, f"cluster {c.inputs.get('name', c.name)}: delete_additional_resources is true, so deleting the cluster deletes its volumes")
        for c in _of(resources, CLUSTER)
        if c.inputs.get(DELETE_ADDITIONAL_RESOURCES) is True
    ]


def _protected(resources, settings):
    kinds = {CLUSTER: "cluster", PRIVATE_NETWORK: "private network", REGISTRY: "registry namespace"}
    return [(r, f"{kinds[r.type]} {r.name} is not protected (protect: true)") for r in resources if r.type in kinds and not r.protect]


def _dedicated(resources, settings):
    return [
        (c, f"cluster {c.inputs.get('name', c.name)}: type {c.inputs.get('type')} shares its control plane; use a dedicated type")
        for c in _of(resources, CLUSTER)
        if isinstance(c.inputs.get("type"), str) and "dedicated" not in c.inputs["type"]
    ]


def _node_types(resources, settings):
    allowed = settings["allowedNodeTypes"]
    return [
        (p, f"pool {p.name}: node type {p.inputs['nodeType']} is not allowed ({', '.join(allowed)})")
        for p in _of(resources, POOL)
        if isinstance(p.inputs.get(NODE_TYPE), str) and not any(fnmatch.fnmatchcase(p.inputs[NODE_TYPE], a) for a in allowed)
    ]


def _tags(resources, settings):
    found = []
    for resource in resources:
        tags = resource.inputs.get("tags")
        if resource.type not in TAGGED or not isinstance(tags, list):
            continue
        # A required tag counts only with a value that shows: `env=`, a bare `env` or `env=\u2800` says nothing.
        keys = {key for key, _, value in (str(tag).partition("=") for tag in tags) if shows_anything(value)}
        missing = [key for key in settings["requiredTags"] if key not in keys]
        if missing:
            found.append((resource, f"{resource.type.split(':')[-1]} {resource.name}: missing tag(s) {', '.join(missing)}"))
    return found


def _source_ranges(resources, settings):
    found = []
    for service in _of(resources, SERVICE):
        spec = service.inputs.get("spec") or {}
        annotations = (service.inputs.get("metadata") or {}).get("annotations") or {}
        if spec.get("type") != "LoadBalancer" or annotations.get(PRIVATE_LB) == "true":
            continue
        listed = spec.get("loadBalancerSourceRanges")
        if listed is not None and not isinstance(listed, list):
            continue  # unknown during a preview
        if not listed:
            found.append((service, f"Service {service.name}: a public load balancer open to every address (no source_ranges)"))
            continue
        ranges = Ranges.of(listed)
        if ranges.unreadable:
            found.append((service, f"Service {service.name}: source range(s) {', '.join(map(repr, ranges.unreadable))} are no CIDR (a.b.c.d/n or an IPv6 prefix)"))
        open_families = ranges.open_families()
        for family in open_families:
            found.append((service, f"Service {service.name}: a public load balancer open to every {family} address (its source ranges cover the whole space)"))
        wide = [n for n in ranges.wider_than(settings["widestIPv4Prefix"], settings["widestIPv6Prefix"]) if f"IPv{n.version}" not in open_families]
        if wide:
            allowed = f"/{settings['widestIPv4Prefix']} for IPv4, /{settings['widestIPv6Prefix']} for IPv6"
            found.append((service, f"Service {service.name}: source range(s) {', '.join(map(str, wide))} wider than allowed ({allowed})"))
    return found


def _budget(resources, settings):
    from kapsule.cost import money, price_stack  # the same numbers as `kapsule cost` and the plan

    limit = settings["maxMonthly"]
    if limit <= 0:
        return []
    cost = price_stack(resources)
    spent = cost.high if settings["bound"] == "high" else cost.low
    found = []
    if spent > limit:
        at = "with every autoscaled pool at its maximum" if settings["bound"] == "high" else "at its minimum size"
        found.append((None, f"the stack costs {money(spent, cost.currency)} a month {at}, over its budget of {money(limit, cost.currency)}"))
    found += [(None, f"not in the budget: {item}") for item in cost.unpriced]
    return found


RULES: tuple[Rule, ...] = (
    Rule("prod-autohealing", "Production pools have autohealing on.", "disabled", _autohealing),
    Rule(
        "prod-autoscaled-pools",
        "Production pools are autoscaled with at least two nodes.",
        "disabled",
        _autoscaled,
        MinNodes,
    ),
    Rule("prod-multi-zone", "Production pools span at least two zones.", "disabled", _zones, MinZones),
    Rule("prod-private-registry", "Production registry namespaces are private.", "disabled", _private_registry),
    Rule("prod-keep-volumes", "Deleting a production cluster keeps its volumes (delete_additional_resources false).", "disabled", _keep_volumes),
    Rule("prod-protected", "Production cluster, private network and registry namespace are protected.", "disabled", _protected),
    Rule("prod-dedicated-control-plane", "Production clusters have a dedicated control plane.", "disabled", _dedicated),
    Rule(
        "allowed-node-types",
        "Pools use node types the platform team allows.",
        "mandatory",
        _node_types,
        AllowedNodeTypes,
    ),
    Rule(
        "required-tags",
        "Tagged Scaleway resources carry the required tags.",
        "mandatory",
        _tags,
        RequiredTags,
    ),
    Rule(
        "load-balancer-source-ranges",
        "Public load balancers restrict their source ranges: no union that covers a whole family, no range wider than allowed.",
        "advisory",
        _source_ranges,
        SourceRanges,
    ),
    Rule(
        "max-monthly-cost",
        "The stack's monthly cost (the price catalog, 730 hours) stays within its budget.",
        "disabled",
        _budget,
        Budget,
    ),
)


class PolicyConfigError(ValueError):
    """A policy config file that names an unknown rule, level or setting."""


def resolve(config: Mapping[str, Any], source: str = "policy config") -> dict[str, tuple[Level, dict[str, Any]]]:
    """Each rule's enforcement level and settings under a Pulumi policy config (`{"all": level, rule: level | {...}}`)."""
    names = {rule.name for rule in RULES}
    unknown = sorted(set(config) - names - {"all"})
    if unknown:
        raise PolicyConfigError(f"{source}: unknown rule(s) {', '.join(unknown)}; rules: {', '.join(sorted(names))}")
    default = config.get("all")
    resolved: dict[str, tuple[Level, dict[str, Any]]] = {}
    for rule in RULES:
        entry = config.get(rule.name, default)
        level, settings = rule.level, {}
        if isinstance(entry, str):
            level = entry
        elif isinstance(entry, Mapping):
            settings = {k: v for k, v in entry.items() if k != "enforcementLevel"}
            level = entry.get("enforcementLevel", rule.level)
            extra = sorted(set(settings) - set(rule.settings))
            if extra:
                raise PolicyConfigError(f"{source}: {rule.name} has no setting {', '.join(extra)}; settings: {', '.join(rule.settings) or 'none'}")
            for key, value in settings.items():
                _check_setting(rule, key, value, source)
        elif entry is not None:
            raise PolicyConfigError(f"{source}: {rule.name} must be a level or an object, not {entry!r}")
        if level not in LEVELS:
            raise PolicyConfigError(f"{source}: {rule.name}: enforcement level {level!r}; allowed: {', '.join(LEVELS)}")
        resolved[rule.name] = (level, settings)
    return resolved


def _check_setting(rule: Rule, key: str, value: Any, source: str) -> None:
    """A setting against the rule's settings model, the one the pack's JSON schema comes from: `"PRO2-*"` is no list."""
    assert rule.model is not None
    try:
        rule.model.model_validate({key: value})
    except ValidationError as error:
        problem = error.errors()[0]
        where = "".join(f"[{part}]" for part in problem["loc"][1:])
        raise PolicyConfigError(
            f"{source}: {rule.name}.{key}{where}: {json.dumps(problem['input'])[:60]} is not valid: {problem['msg']}; "
            f"expected {json.dumps(rule.schema[key])} (default {json.dumps(rule.settings[key])})"
        ) from None


def stack_config(stack: str, directory: Path = CONFIG_DIR) -> dict[str, Any]:
    """The policy config of a stack (`policy/config/<stack>.json`); a stack without one is an error (fail closed)."""
    path = directory / f"{stack}.json"
    shown = f"policy/config/{stack}.json"
    try:
        raw = read_regular(path, MAX_POLICY_CONFIG_BYTES, "a policy config is a few hundred bytes")
    except MissingFile:
        raise PolicyConfigError(
            f"{shown}: missing; every stack has a policy config (copy policy/config/dev.json, or write {{}} for the rules' defaults)"
        ) from None
    except FileProblem as error:
        raise PolicyConfigError(f"{shown}: {error}") from None
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite)
    except UnicodeDecodeError as error:
        raise PolicyConfigError(f"{shown}: not UTF-8 text ({error.reason})") from None
    except RecursionError:
        raise PolicyConfigError(f"{shown}: not valid JSON (it nests too deep; a policy config nests three levels)") from None
    except ValueError as error:
        raise PolicyConfigError(f"{shown}: not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise PolicyConfigError(f"{shown}: must be a JSON object of rule names to levels or settings")
    return document


#: A policy config is a few hundred bytes; a larger file (or a device) is refused before it is parsed.
MAX_POLICY_CONFIG_BYTES = 256 * 1024


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: the stack files refuse duplicates, and so does this."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"the key {key!r} is given twice; keep one")
        document[key] = value
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a policy setting may hold")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text[:20]} is too large for a number")
    return value


def evaluate(resources: list[ResourceView], config: Mapping[str, Any], source: str = "policy config") -> list[tuple[Level, Violation]]:
    """Every violation of every enabled rule, with the level it is enforced at, in rule order."""
    found = []
    resolved = resolve(config, source)
    for rule in RULES:
        level, settings = resolved[rule.name]
        if level != "disabled":
            found += [(level, violation) for violation in rule.run(resources, settings)]
    return found
