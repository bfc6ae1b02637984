"""The README is the manual: every stack key the schema accepts is documented there."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from components.annotations import LoadBalancerSpec
from kapsule.config import StackConfig
from kapsule.messages import _unwrap
from kapsule.names import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def leaves(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted key paths of every scalar (or list/mapping of scalars) a model accepts."""
    keys = []
    for name, field in model.model_fields.items():
        annotation = _unwrap(field.annotation)
        if annotation is LoadBalancerSpec:
            # One table documents the load balancer keys wherever they appear.
            keys += leaves(annotation) + [prefix + name]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += leaves(annotation, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def test_every_stack_key_is_in_the_readme():
    missing = []
    for section, field in StackConfig.model_fields.items():
        annotation = _unwrap(field.annotation)
        if typing.get_origin(annotation) is dict and isinstance(typing.get_args(annotation)[1], type) and issubclass(typing.get_args(annotation)[1], BaseModel):
            annotation = typing.get_args(annotation)[1]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            missing += [f"{section}: {k}" for k in leaves(annotation) if f"`{k}`" not in README]
        elif f"`{section}`" not in README:
            missing.append(section)
    assert missing == []


def test_readme_commands_are_the_makefile_targets():
    makefile = (ROOT / "Makefile").read_text()
    assert "make preview" in README and "make test" in README
    assert "\npreview:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
