"""Recorded state that must be refused, read within bounds, or read the way the CLI reads it."""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from kapsule.exits import EXIT_DESTRUCTIVE
from kapsule.plan.stack import plan_stack
from kapsule.state.backend import NoState, checkpoint_path, find_state
from kapsule.state.reading import MAX_STATE_BYTES, read_state
from kapsule.state.records import StateError
from tests import recorded
from tests.conftest import copy_project, render_stack


@pytest.fixture(scope="module")
def export() -> dict:
    """The dev stack as `pulumi up` would have recorded it."""
    return recorded.export(render_stack("dev"))


def edited(export: dict, tmp_path: Path, edit: Callable[[dict], Any], name: str = "dev.json") -> Path:
    document = json.loads(json.dumps(export))
    edit(document)
    return recorded.write(tmp_path / name, document)


def resource(document: dict, type_: str) -> dict:
    return next(r for r in document["deployment"]["resources"] if r["type"] == type_)


POOL = "scaleway:kubernetes/pool:Pool"


def test_a_tainted_or_pending_replacement_resource_is_replaced(tmp_path, export):
    for flag in ("taint", "pendingReplacement"):
        path = edited(export, tmp_path, lambda d, flag=flag: resource(d, POOL).update({flag: True}), f"{flag}.json")
        plan = plan_stack("dev", copy_project(tmp_path / flag), read_state(path, stack="dev"))
        pool = next(c for c in plan.changes if c.resource.type == POOL)
        assert pool.action == "replace", flag
        assert "the state marks it tainted or pending replacement" in pool.reasons
        assert plan.exit_code == EXIT_DESTRUCTIVE


def test_pending_operations_are_a_warning_that_names_them(tmp_path, export):
    def interrupted(document: dict) -> None:
        pool = resource(document, POOL)
        document["deployment"]["pending_operations"] = [{"resource": pool, "type": "updating"}]

    path = edited(export, tmp_path, interrupted)
    plan = plan_stack("dev", copy_project(tmp_path / "p"), read_state(path, stack="dev"))
    pool_urn = resource(json.loads(path.read_text()), POOL)["urn"]
    assert any(f"1 pending operation(s): updating of {pool_urn}" in w and "pulumi refresh" in w for w in plan.warnings)


def test_the_newest_checkpoint_variant_is_read_zstd_included(tmp_path, export):
    stacks = tmp_path / ".pulumi" / "stacks" / "kapsule"
    stacks.mkdir(parents=True)
    checkpoint = {"version": 3, "checkpoint": {"stack": "organization/kapsule/dev", "latest": export["deployment"]}}
    old = stacks / "dev.json"
    old.write_text(json.dumps({"version": 3, "checkpoint": {"stack": "dev", "latest": {"resources": []}}}))
    os.utime(old, (time.time() - 60, time.time() - 60))
    newest = stacks / "dev.json.zst"
    newest.write_bytes(zstandard.ZstdCompressor().compress(json.dumps(checkpoint).encode()))
    assert checkpoint_path("dev", tmp_path) == newest
    state = find_state("dev", tmp_path, None, {"PULUMI_BACKEND_URL": f"file://{tmp_path}"})
    assert state is not None and len(state.resources) == len(export["deployment"]["resources"])


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: None, "the state of stack 'dev', not 'prod'"),
        (
            lambda d: [
                r.update(urn=r["urn"].replace("::kapsule::", "::webshop::")) for r in d["deployment"]["resources"]
            ],
            "the state of project 'webshop'",
        ),
        (lambda d: d["deployment"]["resources"].append(dict(d["deployment"]["resources"][3])), "is recorded twice"),
        (lambda d: d.update(version=7), "state version 7 is not one this reads (3, 4)"),
        (lambda d: d.update(version="3"), 'state version "3" is not one this reads'),
        (
            lambda d: resource(d, POOL).update(protect="false"),
            'protect is "false", but Pulumi writes true or false there',
        ),
        (lambda d: resource(d, POOL).update(inputs=["x"]), 'inputs is ["x"], but Pulumi writes an object there'),
        (
            lambda d: resource(d, POOL)["outputs"].update(
                size={"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": "hunter2"}
            ),
            "a secret's plaintext is not JSON",
        ),
        (lambda d: d["deployment"].update(resources={}), "deployment.resources is {}, but Pulumi writes a list there"),
    ],
)
def test_state_that_does_not_belong_is_refused_with_one_line(tmp_path, export, edit, words):
    path = edited(export, tmp_path, edit)
    stack = "prod" if "not 'prod'" in words else "dev"
    with pytest.raises(StateError) as raised:
        read_state(path, stack=stack)
    message = str(raised.value)
    assert words in message and "\n" not in message and "hunter2" not in message


def test_a_recorded_version_that_is_not_a_version_is_refused(tmp_path, export):
    path = edited(
        export,
        tmp_path,
        lambda d: resource(d, "scaleway:kubernetes/cluster:Cluster")["outputs"].update(version="latest"),
    )
    plan = plan_stack("dev", copy_project(tmp_path / "p"), read_state(path, stack="dev"))
    assert any("recorded version 'latest' is not a Kubernetes version" in e for e in plan.errors)


def test_given_state_that_holds_nothing_for_the_stack_is_an_error(tmp_path):
    (tmp_path / "exports").mkdir()
    with pytest.raises(NoState, match="holds no dev.json export.*--no-state"):
        find_state("dev", tmp_path, tmp_path / "exports")
    with pytest.raises(NoState, match="no such file"):
        find_state("dev", tmp_path, tmp_path / "missing.json")
    assert find_state("dev", tmp_path, tmp_path / "exports", required=False) is None


def test_a_remote_backend_without_an_export_is_an_error(tmp_path):
    with pytest.raises(NoState, match=r"PULUMI_BACKEND_URL is 's3://state'.*pulumi stack export.*--no-state"):
        find_state(
            "dev",
            tmp_path,
            None,
            {"PULUMI_BACKEND_URL": "s3://state?endpoint=https://s3.fr-par.scw.cloud&region=fr-par"},
        )
    assert find_state("dev", tmp_path, None, {"PULUMI_BACKEND_URL": "s3://state"}, required=False) is None


def test_a_compression_bomb_is_refused_without_expanding_it(tmp_path):
    bomb = tmp_path / "dev.json"
    with gzip.open(bomb, "wb", compresslevel=9) as handle:
        chunk = b" " * (16 * 2**20)
        for _ in range(MAX_STATE_BYTES // len(chunk) + 2):
            handle.write(chunk)
    assert bomb.stat().st_size < 2 * 2**20
    with pytest.raises(StateError, match="decompresses to more than 256 MiB"):
        read_state(bomb)


def test_devices_and_pipes_are_refused_at_once(tmp_path):
    with pytest.raises(StateError, match="not a regular file"):
        read_state(Path("/dev/zero"))
    fifo = tmp_path / "dev.json"
    os.mkfifo(fifo)
    with pytest.raises(StateError, match="not a regular file"):
        read_state(fifo)
