"""How a stack file is read: bounded, parsed once with PyYAML's safe loader, duplicate keys refused, and
each value handed over as Pulumi hands config to a program. Pure logic: no Pulumi runtime."""

from __future__ import annotations

import json
import math
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from ..files import FileProblem, read_regular
from ..names import CONFIG_NAMESPACE, SECRET_PLACEHOLDER
from .keys import PLAIN_KEY, key_part
from .messages import StackConfigError, display_path, shown


def stack_file_path(stack: str, root: Path) -> Path:
    """Where a stack's config lives (`stackConfigDir: stacks`)."""
    return root / "stacks" / f"Pulumi.{stack}.yaml"


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
    A plan reads the file, then the program it runs reads it again: the second read of an unchanged file
    is the first one's answer.
    """
    try:
        status = path.stat()
    except OSError:
        return _read(path)  # the read names the problem
    found = _read_unchanged(path, status.st_mtime_ns, status.st_size, status.st_ino)
    return StackFile(dict(found.config), list(found.secret_keys), list(found.secure_paths))


@lru_cache(maxsize=16)
def _read_unchanged(path: Path, mtime_ns: int, size: int, inode: int) -> StackFile:
    return _read(path)


def _read(path: Path) -> StackFile:
    display = display_path(path)
    try:
        text = read_regular(path, MAX_STACK_FILE_BYTES, "a stack file is a few KiB").decode("utf-8")
    except FileProblem as error:
        raise StackConfigError(display, [("(file)", str(error))]) from None
    except UnicodeDecodeError as error:
        raise StackConfigError(
            display, [("(file)", f"is not UTF-8 text ({error.reason} at byte {error.start})")]
        ) from None
    if _too_deep(text):
        raise StackConfigError(display, [("(file)", TOO_DEEP)])
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
        raise StackConfigError(display, [("(file)", TOO_DEEP)]) from None
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
    for raw_key, raw_value in config.items():
        key = str(raw_key)
        shown = key if PLAIN_KEY.fullmatch(key.replace(":", "", 1)) else repr(key)
        if ":" not in key:
            hint = f"; did you mean `{CONFIG_NAMESPACE}:{key}`?" if shown == key else ""
            raise StackConfigError(display, [(shown, f"config keys are `namespace:key`{hint}")])
        problem = _json_problem(raw_value, shown)
        if problem:
            raise StackConfigError(display, [problem])
        found: list[tuple[Any, ...]] = []
        try:
            value = _strip_secure(raw_value, (key,), found)
        except _SecureProblem as secure:
            raise StackConfigError(display, [secure.args]) from None
        if found:
            secret_keys.append(key)
            secure_paths += found
        flat[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return StackFile(flat, secret_keys, secure_paths)


#: PyYAML's safe loader, with libyaml's parser where the wheel has it: no Python object tags, ever.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: A stack file is a few KiB; a larger one (or a device that never ends) is refused before it is parsed.
MAX_STACK_FILE_BYTES = 1024 * 1024


TOO_DEEP = "nests deeper than YAML can be read; stack files nest a few levels"


def _too_deep(text: str) -> bool:
    """Whether the document nests more than MAX_DEPTH collections, found from libyaml's events.

    The events come from a parser that keeps its own stack; composing nodes recurses in C, so a few KiB of
    `[[[[...` would overflow the process stack (a segmentation fault) before any depth check on the nodes.
    A YAML error is left for the composing pass to report.
    """
    loader = SAFE_LOADER(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    return True
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return False
    finally:
        loader.dispose()
    return False


def _duplicate_key(
    node: Any, path: str = "", depth: int = 0, budget: list[int] | None = None
) -> tuple[str, str] | None:
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


def _json_problem(value: Any, key: str) -> tuple[str, str] | None:
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
            return (
                key,
                f"expands to more than {MAX_VALUES} values (YAML aliases?); a stack value is a few hundred at most",
            )
        if depth > MAX_DEPTH:
            return path, f"nests more than {MAX_DEPTH} levels deep"
        if isinstance(item, dict):
            for child_key, child in item.items():
                if not isinstance(child_key, str):
                    return f"{path}[{child_key!r}]", "keys must be strings; quote the key"
                if control_character(child_key, allowed=""):
                    return (
                        f"{path}[{child_key!r}]",
                        f"the key holds the control character {control_character(child_key, allowed='')!r}; keys are printable text",
                    )
                stack.append((child, f"{path}{key_part(child_key)}", depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str) and control_character(item):
            return (
                path,
                f"holds the control character {control_character(item)!r}; values are printable text (line breaks and tabs aside)",
            )
        elif isinstance(item, float) and (math.isnan(item) or math.isinf(item)):
            return path, f"{item!r} is not a number a stack value may hold"
        elif not (item is None or isinstance(item, (str, bool, int, float))):
            return path, f"is a YAML {type(item).__name__}; write it as a quoted string"
    return None


def control_character(text: str, allowed: str = "\n\t") -> str | None:
    """The first control character (C0, DEL, C1, line and paragraph separators, bidirectional overrides) in
    `text` that is not in `allowed`, or None: such characters would move a terminal's cursor or rewrite a line."""
    if text.isprintable():
        return None
    for character in text:
        if (
            not character.isprintable()
            and character not in allowed
            and character != " "
            and unicodedata.category(character) in CONTROL_CATEGORIES
        ):
            return character
    return None


#: Unicode categories a stack value may not hold: controls, format characters (bidirectional overrides,
#: zero-width joiners) and line or paragraph separators.
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error on one line: where, then what."""
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    what = " ".join(part for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part)
    return f"{where}: {what or str(error).splitlines()[0]}"


class _SecureProblem(Exception):
    """A `secure:` value that is no ciphertext: (key path, message)."""


def _strip_secure(value: Any, path: tuple[Any, ...], found: list[tuple[Any, ...]]) -> Any:
    """`value` with each `secure:` leaf replaced by the placeholder; the leaves' paths go to `found`."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            if not isinstance(value["secure"], str) or not value["secure"]:
                where = str(path[0]) + "".join(key_part(part) for part in path[1:])
                raise _SecureProblem(
                    where,
                    f"{{secure: {shown(value['secure'])}}} is no ciphertext: set it with `pulumi config set --secret --path '{where}' ...`",
                )
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


def existing_cluster(config: dict[str, str]) -> dict[str, Any]:
    """A platform stack's `kapsule:existing_cluster` settings from its config (empty for any other stack)."""
    return _mapping(config, "existing_cluster")


def shared_registry(config: dict[str, str]) -> dict[str, Any]:
    """A stack's `kapsule:shared_registry` settings from its config (empty when it declares none)."""
    return _mapping(config, "shared_registry")


def _mapping(config: dict[str, str], key: str) -> dict[str, Any]:
    value = decode_value(config.get(f"{CONFIG_NAMESPACE}:{key}", "{}"))
    return value if isinstance(value, dict) else {}


def stack_references(config: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """Each stack the program reads through a StackReference (`organization/project/stack`), with what it reads
    there: the key path that names the output, and the output. Read from the raw config, before validation:
    a malformed value names no stack, and validation then says what is wrong with it."""
    found: dict[str, list[tuple[str, str]]] = {}
    existing = existing_cluster(config)
    cluster_reference = existing.get("stack_reference")
    if isinstance(cluster_reference, str):
        output = existing.get("output", "kubeconfig")
        found.setdefault(cluster_reference, []).append(
            ("existing_cluster.output", output if isinstance(output, str) else "kubeconfig")
        )
    shared = shared_registry(config)
    if shared:
        reference = shared.get("stack_reference", cluster_reference)
        output = shared.get("output", "registry_pull_config")
        if isinstance(reference, str):
            found.setdefault(reference, []).append(
                ("shared_registry.output", output if isinstance(output, str) else "registry_pull_config")
            )
    return found
