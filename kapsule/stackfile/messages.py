"""The error sentences of a stack file: one error naming the file, then each key path, what is wrong and
what is allowed. Pure logic."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from components.spec import SpecError

from ..names import CONFIG_NAMESPACE
from .keys import PLAIN_KEY, key_part


class StackConfigError(Exception):
    """A stack file that breaks the schema: one message naming the file, each key path, value and what is allowed."""

    def __init__(self, stack_file: str, problems: list[tuple[str, str]]) -> None:
        self.stack_file = stack_file
        self.problems = problems
        lines = [f"{stack_file}: invalid stack config"]
        lines += [f"  {path}: {message}" for path, message in problems]
        super().__init__("\n".join(lines))


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def namespace_problem(key: str, namespace: str, name: str, namespaces: tuple[str, ...]) -> tuple[str, str]:
    shown = key if PLAIN_KEY.fullmatch(key.replace(":", "", 1)) else repr(key)
    close = difflib.get_close_matches(namespace, namespaces, n=1, cutoff=0.6)
    hint = f"; did you mean `{close[0]}:{name}`?" if close else ""
    return (
        shown,
        f"unknown config namespace {namespace!r}: a stack file here uses {', '.join(f'`{n}:`' for n in namespaces)}{hint}",
    )


def format_path(loc: tuple[Any, ...]) -> str:
    """`("cluster", "autoscaler", "expander")` -> `kapsule:cluster.autoscaler.expander`; list indexes in brackets."""
    if not loc:
        return f"{CONFIG_NAMESPACE}:(root)"
    text = f"{CONFIG_NAMESPACE}:{loc[0]}" if PLAIN_KEY.fullmatch(str(loc[0])) else f"{CONFIG_NAMESPACE}:{loc[0]!r}"
    for part in loc[1:]:
        text += key_part(part)
    return text


def describe(item: Mapping[str, Any], schema: type[BaseModel]) -> list[tuple[str, str]]:
    """One pydantic error as (key path, sentence) pairs: a component validator's SpecError holds several."""
    loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part.startswith("function-")))
    error = (item.get("ctx") or {}).get("error")
    if isinstance(error, SpecError):
        return [(format_path(loc + problem.path), problem.message) for problem in error.problems]
    return [_describe_one(item, loc, schema)]


def _describe_one(item: Mapping[str, Any], loc: tuple[Any, ...], schema: type[BaseModel]) -> tuple[str, str]:
    kind = item["type"]
    value = item.get("input")
    error = (item.get("ctx") or {}).get("error")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(schema, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return format_path(loc), f"unknown key; {hint}allowed keys here: {', '.join(allowed)}"
    if kind == "missing":
        return format_path(loc), "is required"
    if kind == "literal_error":
        expected = item["ctx"]["expected"].replace("'", "")
        return format_path(loc), f"{shown(value)} is not allowed; allowed: {expected}"
    if kind == "value_error":
        return format_path(loc), str(error)
    if kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
        key = str(loc[-1]) if loc and PLAIN_KEY.fullmatch(str(loc[-1])) else "key"
        aside = " (an unquoted 1.30 even becomes 1.3)" if isinstance(value, float) else ""
        return format_path(
            loc
        ), f'YAML read this as the number {value!r}, not text{aside}: quote it, as in `{key}: "{value}"`'
    message = item["msg"]
    return format_path(loc), f"{message[0].lower()}{message[1:]} (got {shown(value)})"


def shown(value: Any) -> str:
    """A value as an error message may quote it: a mapping or list by its kind only (it may hold anything),
    a credential-looking text by what it looks like, and nothing longer than a line."""
    from .secrets import looks_like  # the one credential rule

    if isinstance(value, dict):
        return f"a mapping of {len(value)} key(s)"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    looks = looks_like(value, "") if isinstance(value, str) else None
    if looks:
        return f"a value that looks like {looks}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The keys a mapping at `loc` below `model` accepts, for an unknown-key message."""
    current = model
    for part in loc:
        current = unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
        else:
            args = typing.get_args(current)
            current = args[-1] if args else None
    current = unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def unwrap(annotation: Any) -> Any:
    """Optional[X] -> X, Optional[X | Y] -> X | Y, Annotated[X, ...] -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = options[0] if len(options) == 1 else typing.Union[tuple(options)]  # noqa: UP007 (built from a runtime tuple)
        else:
            return annotation
