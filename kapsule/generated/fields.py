"""How a pydantic field reads in the generated reference: its kind, its default, its first line of description."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from components.spec import GoDuration, IPv4Address, IPv4Cidr, KubernetesVersion

from ..stackfile.messages import unwrap


def field_kind(field: Any) -> str:
    """A field's kind; pydantic moves a required field's `Annotated` validators into its metadata."""
    for named, text in NAMED_TYPES.items():
        if field.annotation is str and list(typing.get_args(named)[1:]) == list(field.metadata):
            return text
    return kind_of(field.annotation)


def model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in flatten(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def flatten(annotation: Any) -> list[Any]:
    found = [annotation]
    for arg in typing.get_args(annotation):
        found += flatten(arg)
    return found


def is_mapping_of_models(annotation: Any) -> bool:
    annotation = unwrap(annotation)
    return typing.get_origin(annotation) is dict and model_of(typing.get_args(annotation)[1]) is not None


def is_list_of_models(annotation: Any) -> bool:
    annotation = unwrap(annotation)
    return typing.get_origin(annotation) is list and model_of(typing.get_args(annotation)[0]) is not None


def kind_of(annotation: Any) -> str:
    """A short, readable form of a field's type: its allowed values, or its shape."""
    for named, text in NAMED_TYPES.items():
        if annotation in (named, named | None):
            return text
    annotation = unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(kind_of(arg) for arg in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        model = model_of(item)
        if model is not None:
            return "list of {" + ", ".join(model.model_fields) + "}"
        return f"list of {kind_of(item)}"
    if origin is dict:
        return f"mapping of {kind_of(typing.get_args(annotation)[0])} to {kind_of(typing.get_args(annotation)[1])}"
    names = {str: "text", int: "integer", float: "number", bool: "`true` `false`"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def default_of(field: Any) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "defaults"
        return f"`{value!r}`" if value not in ({}, []) else ("`{}`" if value == {} else "`[]`")
    value = field.default
    if value is None or value is PydanticUndefined:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return f"`{text}`"


def table_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def first_line(doc: str) -> str:
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


#: The project's constrained text types, by what they hold.
NAMED_TYPES: dict[Any, str] = {
    GoDuration: "Go duration (`500ms`, `10s`, `1h30m`)",
    IPv4Cidr: "IPv4 CIDR",
    IPv4Address: "IPv4 address",
    KubernetesVersion: "Kubernetes version (`x.y` or `x.y.z`)",
}
