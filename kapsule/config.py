"""The stack config schema (a composition of the component specs) and how a stack file is read."""

from __future__ import annotations

import difflib
import json
import math
import re
import stat
import types
import typing
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple, Optional

import yaml
from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator, model_validator

from components.version_catalog import Catalog, load_catalog
from components.catalog import REGISTRY_REGIONS, ZONES, is_kosmos, load_balancer_zone_problem, zone_problem
from components.cluster import ClusterSpec
from components.ingress import IngressSpec
from components.load_balancer import DNS_LABEL, LoadBalancerServiceSpec
from components.network import PrivateNetworkSpec
from components.pool import PoolSpec
from components.registry import RegistryNamespaceSpec
from components.spec import Spec, SpecError, Tags

from . import names


NAMESPACE = "kapsule"
#: Stands in for a `secure:` value when a stack is rendered without the key that decrypts it.
SECRET_PLACEHOLDER = names.SECRET_PLACEHOLDER
#: Pool names become Pulumi logical names and node labels.
POOL_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


class StackConfig(Spec):
    """Everything one environment declares under the `kapsule:` namespace of its stack file."""

    region: str = "fr-par"
    tags: Tags
    network: Optional[PrivateNetworkSpec] = None
    cluster: ClusterSpec
    pools: dict[str, PoolSpec] = Field(min_length=1)
    registry: Optional[RegistryNamespaceSpec] = None
    namespaces: list[str] = Field(default_factory=list)
    ingress: IngressSpec = Field(default_factory=IngressSpec)
    services: dict[str, LoadBalancerServiceSpec] = Field(default_factory=dict)
    _secret_values: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @property
    def secret_values(self) -> frozenset[str]:
        """The plain text of the stack's `secure:` values: sealed as Pulumi secrets wherever they are used."""
        return self._secret_values

    def with_secret_values(self, values: frozenset[str]) -> "StackConfig":
        """This config, knowing which of its values are secrets."""
        self._secret_values = frozenset(values)
        return self

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(DNS_LABEL, name):
                raise ValueError(f"{name!r} is not a Kubernetes namespace name (lower case letters, digits, dashes)")
        if len(set(value)) != len(value):
            raise ValueError(f"lists a namespace twice: {value}")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in ZONES:
            raise ValueError(f"{value!r} is not a Kapsule region; allowed: {', '.join(ZONES)}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> "StackConfig":
        kosmos = is_kosmos(self.cluster.type)
        if kosmos and self.network is not None:
            raise SpecError(("network",), f"is forbidden for a Kosmos cluster (cluster.type {self.cluster.type!r})")
        if not kosmos and self.network is None:
            raise SpecError(("network",), f"is required for a {self.cluster.type} cluster: Scaleway attaches Kapsule to a private network")
        gateway = self.network.public_gateway if self.network else None
        if gateway and gateway.zone and zone_problem(gateway.zone, self.region):
            raise SpecError(("network", "public_gateway", "zone"), zone_problem(gateway.zone, self.region))
        for name, pool in self.pools.items():
            if not POOL_NAME.match(name):
                raise SpecError(("pools", name), "pool names are 1 to 40 lower case letters, digits and dashes")
            if pool.zone and zone_problem(pool.zone, self.region):
                raise SpecError(("pools", name, "zone"), zone_problem(pool.zone, self.region))
            if pool.public_ip_disabled and gateway is None:
                raise SpecError(
                    ("pools", name, "public_ip_disabled"),
                    "true needs a Public Gateway on the private network: set network.public_gateway",
                )
            problem = pool.version_problem(self.cluster)
            if problem:
                raise SpecError(("pools", name, "version"), f"{pool.version!r} {problem}")
        if self.cluster.type == "kapsule" and sum(p.fewest_nodes for p in self.pools.values()) < 1:
            raise SpecError(("pools",), "a shared (kapsule) control plane must keep at least one node; raise a size or min_size")
        most = sum(p.most_nodes for p in self.pools.values())
        if most > self.cluster.max_nodes:
            raise SpecError(
                ("pools",),
                f"can grow to {most} nodes but a {self.cluster.type} control plane takes at most {self.cluster.max_nodes}",
            )
        self._check_kubernetes()
        if self.registry is not None:
            registry_region = self.registry.region or self.region
            if registry_region not in REGISTRY_REGIONS:
                raise SpecError(
                    ("registry", "region"),
                    f"{registry_region!r} has no Container Registry; allowed: {', '.join(REGISTRY_REGIONS)}",
                )
        return self

    def _check_kubernetes(self) -> None:
        """Namespaces exist before anything is put in them; load balancers sit where Scaleway allows."""
        available = {"default", *self.namespaces}
        if self.ingress.controller != "none":
            if self.ingress.namespace in self.namespaces:
                raise SpecError(
                    ("ingress", "namespace"),
                    f"{self.ingress.namespace!r} is created by the ingress controller; remove it from namespaces",
                )
            available.add(self.ingress.namespace)
        balancers = [(("services", name, "load_balancer"), svc.load_balancer) for name, svc in self.services.items()]
        if self.ingress.controller != "none":
            balancers.append((("ingress", "load_balancer"), self.ingress.load_balancer))
        for path, lb in balancers:
            problem = lb.zone and load_balancer_zone_problem(lb.zone, self.region)
            if problem:
                raise SpecError((*path, "zone"), problem)
        for name, service in self.services.items():
            if not re.match(DNS_LABEL, name):
                raise SpecError(("services", name), "service names are Kubernetes names: lower case letters, digits, dashes")
        targets = [(("services", name, "namespace"), service.namespace) for name, service in self.services.items()]
        if self.registry is not None:
            targets += [(("registry", "pull_secret_namespaces", i), n) for i, n in enumerate(self.registry.pull_secret_namespaces)]
        for path, namespace in targets:
            if namespace not in available:
                raise SpecError(
                    path, f"{namespace!r} is not created by this stack; add it to namespaces ({', '.join(sorted(available))})"
                )


class StackConfigError(Exception):
    """A stack file that breaks the schema: one message naming the file, each key path, value and what is allowed."""

    def __init__(self, stack_file: str, problems: list[tuple[str, str]]) -> None:
        self.stack_file = stack_file
        self.problems = problems
        lines = [f"{stack_file}: invalid stack config"]
        lines += [f"  {path}: {message}" for path, message in problems]
        super().__init__("\n".join(lines))


def version_findings(spec: StackConfig, today: date, catalog: Optional[Catalog] = None) -> tuple[list[tuple[str, str]], list[str]]:
    """The stack's Kubernetes versions against the catalog on `today`: errors as (key path, message), warnings."""
    catalog = catalog or load_catalog()
    pinned = [("cluster.version", spec.cluster.version)]
    pinned += [(f"pools.{name}.version", pool.version) for name, pool in spec.pools.items() if pool.version]
    errors: list[tuple[str, str]] = []
    warnings: dict[str, str] = {}  # one warning once, at the first key it applies to
    for path, version in pinned:
        error, warning = catalog.check(version, today)
        if error:
            errors.append((f"{NAMESPACE}:{path}", f"{version!r}: {error}"))
        if warning:
            warnings.setdefault(warning, f"{NAMESPACE}:{path}: {warning}")
    return errors, list(warnings.values())


def stack_file_path(stack: str, root: Path) -> Path:
    """Where a stack's config lives (`stackConfigDir: stacks`)."""
    return root / "stacks" / f"Pulumi.{stack}.yaml"


#: The config namespaces a stack file of this project may use: its own, its providers', Pulumi's.
NAMESPACES = (NAMESPACE, "scaleway", "kubernetes", "pulumi")


def parse(stack_file: str, config: dict[str, Any]) -> StackConfig:
    """Validate a stack's `kapsule:` config (Pulumi's string map); raise StackConfigError on any problem."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, raw in config.items():
        namespace, _, name = key.partition(":")
        if namespace not in NAMESPACES:
            problems.append(_namespace_problem(key, namespace, name))
            continue
        if namespace == NAMESPACE:
            values[name] = decode_value(raw)
    try:
        spec = StackConfig.model_validate(values)
    except ValidationError as error:
        problems += [_describe(item) for item in error.errors()]
    if problems:
        raise StackConfigError(stack_file, problems)
    return spec


def _namespace_problem(key: str, namespace: str, name: str) -> tuple[str, str]:
    shown = key if PLAIN_KEY.match(key.replace(":", "", 1)) else repr(key)
    close = difflib.get_close_matches(namespace, NAMESPACES, n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}:{name}`?" if close else ""
    return shown, f"unknown config namespace {namespace!r}: a stack file here uses {', '.join(f'`{n}:`' for n in NAMESPACES)}{hint}"


class StackFile(NamedTuple):
    """A stack file's config as Pulumi hands it to a program, and where its `secure:` values sit."""

    config: dict[str, str]
    """Each `namespace:key` with its value as JSON text (plain strings as they are)."""
    secret_keys: list[str]
    """The keys that hold a `secure:` value anywhere, as the engine lists them."""
    secure_paths: list[tuple[Any, ...]]
    """Each `secure:` leaf: the key, then the keys and list indexes below it."""


def read_stack_file(path: Path) -> StackFile:
    """Read a stack file as Pulumi hands config to a program, with the secret keys and `secure:` leaves.

    `secure:` values cannot be decrypted without the stack's key, so they become a placeholder marked secret.
    """
    display = _display(path)
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise StackConfigError(display, [("(file)", "is not a regular file (a device, pipe or directory)")])
        with path.open("rb") as handle:
            raw = handle.read(MAX_STACK_FILE_BYTES + 1)
        if len(raw) > MAX_STACK_FILE_BYTES:
            raise StackConfigError(display, [("(file)", f"is larger than {MAX_STACK_FILE_BYTES // 1024} KiB; a stack file is a few KiB")])
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise StackConfigError(display, [("(file)", "does not exist")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise StackConfigError(display, [("(file)", f"cannot be read: {error}")]) from None
    loader = SAFE_LOADER(text)
    try:
        node = loader.get_single_node()  # parsed once, checked for duplicate keys, then built safely
        duplicate = _duplicate_key(node)
        if duplicate:
            path_, message = duplicate
            raise StackConfigError(display, [(path_, message)])
        document = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        raise StackConfigError(display, [("(file)", f"is not valid YAML{_yaml_problem(error)}")]) from None
    except RecursionError:
        raise StackConfigError(display, [("(file)", "nests deeper than YAML can be read; stack files nest a few levels")]) from None
    finally:
        loader.dispose()
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise StackConfigError(display, [("(file)", "must be a mapping with a `config:` key")])
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackConfigError(display, [("config", "must be a mapping of `namespace:key` to values")])
    flat: dict[str, str] = {}
    secret_keys: list[str] = []
    secure_paths: list[tuple[Any, ...]] = []
    for key, value in config.items():
        key = str(key)
        shown = key if PLAIN_KEY.match(key.replace(":", "", 1)) else repr(key)
        if ":" not in key:
            hint = f"; did you mean `{NAMESPACE}:{key}`?" if shown == key else ""
            raise StackConfigError(display, [(shown, f"config keys are `namespace:key`{hint}")])
        problem = _json_problem(value, shown)
        if problem:
            raise StackConfigError(display, [problem])
        found: list[tuple[Any, ...]] = []
        value = _strip_secure(value, (key,), found)
        if found:
            secret_keys.append(key)
            secure_paths += found
        flat[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return StackFile(flat, secret_keys, secure_paths)


#: PyYAML's safe loader, with libyaml's parser where the wheel has it: no Python object tags, ever.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: A stack file is a few KiB; a larger one (or a device that never ends) is refused before it is parsed.
MAX_STACK_FILE_BYTES = 1024 * 1024


def _duplicate_key(node: Any, path: str = "", depth: int = 0, budget: Optional[list[int]] = None) -> Optional[tuple[str, str]]:
    """The first mapping key given twice in a composed YAML document, as (key path, message), or None.

    Pulumi's YAML reader refuses duplicate keys; PyYAML keeps the last one silently. The walk is
    bounded like the value walk: aliases may point at one node many times.
    """
    budget = budget if budget is not None else [MAX_VALUES]
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH or not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        return None
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _duplicate_key(item, f"{path}[{index}]", depth + 1, budget)
            if found:
                return found
        return None
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        child = (f"{path}{key_part(key)}" if path not in ("", "config") else str(key)) if key is not None else path
        line = key_node.start_mark.line + 1
        if key is not None and key in seen:
            return child, f"is given twice, at lines {seen[key]} and {line}; Pulumi refuses duplicate keys: keep one"
        if key is not None:
            seen[key] = line
        found = _duplicate_key(value_node, child, depth + 1, budget)
        if found:
            return found
    return None


#: Bounds on one config value: far above any real stack, far below what YAML aliases can expand to.
MAX_VALUES = 20_000
MAX_DEPTH = 32


def _json_problem(value: Any, key: str) -> Optional[tuple[str, str]]:
    """Why a YAML value cannot be a Pulumi config value (as JSON), as (key path, message), or None.

    The walk is bounded: a YAML alias may be referenced many times, and a document of a few lines
    can otherwise expand to billions of values.
    """
    count = 0
    stack: list[tuple[Any, str, int]] = [(value, key, 0)]
    while stack:
        item, path, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            return key, f"expands to more than {MAX_VALUES} values (YAML aliases?); a stack value is a few hundred at most"
        if depth > MAX_DEPTH:
            return path, f"nests more than {MAX_DEPTH} levels deep"
        if isinstance(item, dict):
            for child_key, child in item.items():
                if not isinstance(child_key, str):
                    return f"{path}[{child_key!r}]", "keys must be strings; quote the key"
                stack.append((child, f"{path}{key_part(child_key)}", depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, float) and (math.isnan(item) or math.isinf(item)):
            return path, f"{item!r} is not a number a stack value may hold"
        elif not (item is None or isinstance(item, (str, bool, int, float))):
            return path, f"is a YAML {type(item).__name__}; write it as a quoted string"
    return None


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error on one line: where, then what."""
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    what = " ".join(part for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part)
    return f"{where}: {what or str(error).splitlines()[0]}"


def _strip_secure(value: Any, path: tuple[Any, ...], found: list[tuple[Any, ...]]) -> Any:
    """`value` with each `secure:` leaf replaced by the placeholder; the leaves' paths go to `found`."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            found.append(path)
            return SECRET_PLACEHOLDER
        return {k: _strip_secure(v, (*path, k), found) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secure(v, (*path, i), found) for i, v in enumerate(value)]
    return value


def decode_value(raw: Any) -> Any:
    """Pulumi passes structured values as JSON text and plain strings as they are."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def format_path(loc: tuple[Any, ...]) -> str:
    """`("cluster", "autoscaler", "expander")` -> `kapsule:cluster.autoscaler.expander`; list indexes in brackets."""
    if not loc:
        return f"{NAMESPACE}:(root)"
    text = f"{NAMESPACE}:{loc[0]}" if PLAIN_KEY.match(str(loc[0])) else f"{NAMESPACE}:{loc[0]!r}"
    for part in loc[1:]:
        text += key_part(part)
    return text


#: A key printed as it is; anything else (spaces, control characters, empty) is printed quoted.
PLAIN_KEY = re.compile(r"^[A-Za-z0-9_./-]+$")


def key_part(part: Any) -> str:
    """One step of a key path: `.key`, `[0]` for a list index, `['odd key']` for a key that needs quoting."""
    if isinstance(part, int):
        return f"[{part}]"
    return f".{part}" if PLAIN_KEY.match(str(part)) else f"[{str(part)!r}]"


def _describe(item: dict[str, Any]) -> tuple[str, str]:
    loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part.startswith("function-")))
    kind = item["type"]
    value = item.get("input")
    error = (item.get("ctx") or {}).get("error")
    if isinstance(error, SpecError):
        return format_path(loc + error.path), error.message
    if kind == "extra_forbidden":
        allowed = _allowed_keys(StackConfig, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return format_path(loc), f"unknown key; {hint}allowed keys here: {', '.join(allowed)}"
    if kind == "missing":
        return format_path(loc), "is required"
    if kind == "literal_error":
        expected = item["ctx"]["expected"].replace("'", "")
        return format_path(loc), f"{value!r} is not allowed; allowed: {expected}"
    if kind == "value_error":
        return format_path(loc), str(error)
    if kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
        key = str(loc[-1]) if loc and PLAIN_KEY.match(str(loc[-1])) else "key"
        aside = " (an unquoted 1.30 even becomes 1.3)" if isinstance(value, float) else ""
        return format_path(loc), f"YAML read this as the number {value!r}, not text{aside}: quote it, as in `{key}: \"{value}\"`"
    message = item["msg"]
    return format_path(loc), f"{message[0].lower()}{message[1:]} (got {value!r})"


def _allowed_keys(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The keys a mapping at `loc` below `model` accepts, for an unknown-key message."""
    current = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
        else:
            args = typing.get_args(current)
            current = args[-1] if args else None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Optional[X] -> X, Annotated[X, ...] -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = options[0] if len(options) == 1 else annotation
            if len(options) != 1:
                return annotation
        else:
            return annotation
