"""The stack file's JSON Schema for editors: generated from the stack schema, pointed at by every stack file,
accepting every real stack and refusing what the stack schema refuses by type."""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml

from kapsule.names import ROOT
from kapsule.stackfile.editor_schema import MODELINE, stack_file_schema

SCHEMA = stack_file_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def stack_document(stack: str) -> dict:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))


def test_the_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_stack_file_names_the_schema_and_passes_it(stack):
    assert (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8").splitlines()[0] == MODELINE
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(stack_document(stack))]
    assert errors == []


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda c: c["kapsule:pools"]["default"].update(size="3"), ["config", "kapsule:pools", "default", "size"]),
        (lambda c: c["kapsule:cluster"].update(cni="weave"), ["config", "kapsule:cluster", "cni"]),
        (lambda c: c["kapsule:cluster"].update(cnii="cilium"), ["config", "kapsule:cluster"]),
        (lambda c: c.update({"kapsule:regoin": "fr-par"}), ["config"]),
        (lambda c: c.pop("kapsule:cluster"), ["config"]),
    ],
)
def test_a_wrong_type_or_key_is_refused(edit, where):
    document = copy.deepcopy(stack_document("dev"))
    edit(document["config"])
    errors = list(VALIDATOR.iter_errors(document))
    assert errors and any(list(error.absolute_path)[: len(where)] == where for error in errors), [
        e.message for e in errors
    ]


def test_a_secure_value_is_accepted_wherever_text_is():
    document = copy.deepcopy(stack_document("dev"))
    document["config"]["kapsule:tags"]["owner"] = {"secure": "v1:abc"}
    assert list(VALIDATOR.iter_errors(document)) == []
    document["config"]["kapsule:tags"]["owner"] = {"secure": 12}
    assert list(VALIDATOR.iter_errors(document))
