"""The state the dev, staging and prod tests plan against (`tests/recorded.py`, derived from the program's
rendering: the real engine never ran those stacks) has the shape of a real export: checked here against
the real `scaleway` export of the record set's stack, rendered the same way."""

from __future__ import annotations

import json

from kapsule.plan.render import render
from kapsule.stackfile.reading import read_stack_file
from tests import recorded
from tests.test_engine_records import OUTPUTS_ADDED_SINCE, RECORDS


def test_a_rendered_export_has_the_real_exports_urns_types_fields_and_keys():
    stack_file = read_stack_file(RECORDS / "scaleway" / "Pulumi.eng.yaml")
    mine = {
        r["urn"]: r
        for r in recorded.export(render("eng", stack_file.config, stack_file.secret_keys, preview=False))["deployment"][
            "resources"
        ]
    }
    real = {
        r["urn"]: r for r in json.loads((RECORDS / "scaleway" / "export.json").read_text())["deployment"]["resources"]
    }
    assert sorted(mine) == sorted(real)
    bookkeeping = {"created", "modified", "additionalSecretOutputs"}  # the engine's own timestamps and options
    for urn, entry in mine.items():
        truth = real[urn]
        assert entry["type"] == truth["type"] and entry["custom"] == truth["custom"], urn
        assert set(entry) == set(truth) - bookkeeping, (urn, set(entry) ^ (set(truth) - bookkeeping))
        # The real cluster records `description` as the bridge filled it in; the program does not set it.
        assert set(entry.get("inputs", {})) == set(truth.get("inputs", {})) - {"description"}, urn
        assert set(entry.get("outputs", {})) - set(OUTPUTS_ADDED_SINCE) <= set(truth.get("outputs", {})), urn
        if "__defaults" in truth.get("inputs", {}):
            assert "__defaults" in entry["inputs"], urn
