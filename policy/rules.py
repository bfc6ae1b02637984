"""The platform team's rules for Kapsule stacks, as plain functions over resources.

Importable without starting the policy pack (constructing `pulumi_policy.PolicyPack` blocks forever):
`policy/__main__.py` wraps these rules for `pulumi preview --policy-pack policy`, and
`python -m kapsule plan` runs the same rules over the rendered program.

Every rule reads resource properties as the engine records them (camelCase inputs). A property that
is unknown during a preview (absent or None) is not judged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from kapsule.files import FileProblem, MissingFile, read_regular
from kapsule.resources.model import ResourceView
from policy.checks import (
    api_server_allow_list,
    autohealing,
    autoscaled,
    budget,
    dedicated,
    keep_volumes,
    node_age,
    node_types,
    private_registry,
    protected,
    source_ranges,
    tags,
    zones,
)
from policy.model import (
    LEVELS,
    AllowedNodeTypes,
    ApiServerAllowList,
    Budget,
    Level,
    MaxNodeAge,
    MinNodes,
    MinZones,
    RequiredTags,
    Rule,
    SourceRanges,
    Violation,
)

CONFIG_DIR = Path(__file__).resolve().parent / "config"

RULES: tuple[Rule, ...] = (
    Rule("prod-autohealing", "Production pools have autohealing on.", "disabled", autohealing),
    Rule(
        "prod-autoscaled-pools",
        "Production pools are autoscaled with at least two nodes.",
        "disabled",
        autoscaled,
        MinNodes,
    ),
    Rule("prod-multi-zone", "Production pools span at least two zones.", "disabled", zones, MinZones),
    Rule("prod-private-registry", "Production registry namespaces are private.", "disabled", private_registry),
    Rule(
        "prod-keep-volumes",
        "Deleting a production cluster keeps its volumes (delete_additional_resources false).",
        "disabled",
        keep_volumes,
    ),
    Rule(
        "prod-protected",
        "Production cluster, private network and registry namespace are protected.",
        "disabled",
        protected,
    ),
    Rule("prod-dedicated-control-plane", "Production clusters have a dedicated control plane.", "disabled", dedicated),
    Rule(
        "allowed-node-types",
        "Pools use node types the platform team allows.",
        "mandatory",
        node_types,
        AllowedNodeTypes,
    ),
    Rule(
        "required-tags",
        "Tagged Scaleway resources carry the required tags.",
        "mandatory",
        tags,
        RequiredTags,
    ),
    Rule(
        "load-balancer-source-ranges",
        "Public load balancers restrict their source ranges: no union that covers a whole family, no range wider than allowed.",
        "advisory",
        source_ranges,
        SourceRanges,
    ),
    Rule(
        "api-server-allow-list",
        "Cluster API servers have an allow-list whose ranges open at most the allowed share of each address family.",
        "advisory",
        api_server_allow_list,
        ApiServerAllowList,
    ),
    Rule(
        "max-node-age",
        "Pools declare max_node_age_days, at most maxDays (Scaleway recommends replacing nodes every 30 days).",
        "disabled",
        node_age,
        MaxNodeAge,
    ),
    Rule(
        "max-monthly-cost",
        "The stack's monthly cost (the price catalog, 730 hours) stays within its budget.",
        "disabled",
        budget,
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
        level: object = rule.level
        settings: dict[str, Any] = {}
        if isinstance(entry, str):
            level = entry
        elif isinstance(entry, Mapping):
            settings = {k: v for k, v in entry.items() if k != "enforcementLevel"}
            level = entry.get("enforcementLevel", rule.level)
            extra = sorted(set(settings) - set(rule.settings))
            if extra:
                raise PolicyConfigError(
                    f"{source}: {rule.name} has no setting {', '.join(extra)}; settings: {', '.join(rule.settings) or 'none'}"
                )
            for key, value in settings.items():
                _check_setting(rule, key, value, source)
        elif entry is not None:
            raise PolicyConfigError(f"{source}: {rule.name} must be a level or an object, not {entry!r}")
        if level not in LEVELS:
            raise PolicyConfigError(f"{source}: {rule.name}: enforcement level {level!r}; allowed: {', '.join(LEVELS)}")
        resolved[rule.name] = (cast(Level, level), settings)  # one of LEVELS, checked just above
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
        document = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite
        )
    except UnicodeDecodeError as error:
        raise PolicyConfigError(f"{shown}: not UTF-8 text ({error.reason})") from None
    except RecursionError:
        raise PolicyConfigError(
            f"{shown}: not valid JSON (it nests too deep; a policy config nests three levels)"
        ) from None
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


def evaluate(
    resources: list[ResourceView], config: Mapping[str, Any], source: str = "policy config"
) -> list[tuple[Level, Violation]]:
    """Every violation of every enabled rule, with the level it is enforced at, in rule order."""
    found: list[tuple[Level, Violation]] = []
    resolved = resolve(config, source)
    for rule in RULES:
        level, settings = resolved[rule.name]
        if level != "disabled":
            found += [(level, violation) for violation in rule.run(resources, settings)]
    return found
