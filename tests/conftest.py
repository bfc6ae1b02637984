"""Shared test helpers: render a real stack file (optionally edited) under the mock runtime."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.catalog import TODAY_VARIABLE
from kapsule.names import NOT_COPIED, ROOT
from kapsule.plan.render import render
from kapsule.resources.model import Rendering
from kapsule.stackfile.reading import read_stack_file, stack_file_path
from kapsule.stackfile.stacks import stack_names

STACKS = tuple(stack_names(ROOT))


def stack_config(stack: str) -> tuple[dict[str, Any], list[str]]:
    """A real stack file's `kapsule:` values decoded, and its secret keys."""
    stack_file = read_stack_file(stack_file_path(stack, ROOT))
    return {k: _decode(v) for k, v in stack_file.config.items()}, stack_file.secret_keys


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def encode(config: dict[str, Any]) -> dict[str, str]:
    """Config values as Pulumi hands them to a program: JSON text for structures, strings as they are."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def render_stack(
    stack: str,
    edit: Callable[[dict[str, Any]], None] | None = None,
    *,
    preview: bool = False,
    check: bool = True,
) -> Rendering:
    """Run the real `__main__.py` with a real stack file's config, after `edit` changes a copy of it."""
    config, secret_keys = stack_config(stack)
    config = copy.deepcopy(config)
    if edit is not None:
        edit(config)
    return render(stack, encode(config), secret_keys, preview=preview, check=check)


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    """Each real stack name in turn."""
    return request.param


@pytest.fixture
def write_program(tmp_path: Path) -> Callable[[str], Path]:
    """Write a small Pulumi program that uses the components, for component-level tests."""

    def write(source: str) -> Path:
        path = tmp_path / "__main__.py"
        path.write_text(source, encoding="utf-8")
        return path

    return write


def copy_project(destination: Path, edits: dict[str, Callable[[dict[str, Any]], None]] | None = None) -> Path:
    """A copy of the project whose stack files have been edited: `edits[stack]` changes the `config:` map."""
    import shutil

    import yaml

    shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(*NOT_COPIED))
    for stack, edit in (edits or {}).items():
        path = destination / "stacks" / f"Pulumi.{stack}.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        edit(document["config"])
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return destination


# Versions are checked against the catalog as of a fixed day, so that the suite means the same next year.
os.environ[TODAY_VARIABLE] = "2026-11-21"
