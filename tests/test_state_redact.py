"""The published state: the deploy job's own export script leaves no ciphertext and no salt, and the offline
plan against the redacted export is the plan against the full one, for every engine record and each edit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kapsule.names import ROOT
from kapsule.plan.stack import plan_stack
from kapsule.reports.plan import format_json
from kapsule.resources.model import SEALED, Secret
from kapsule.state.reading import read_state
from kapsule.state.redact import REDACTED, leftovers, redacted
from tests.test_engine_records import EDITS, RECORDS, REFUSED_BY_THE_OFFER, SETS, offering, project_for

#: Stands in for the Pulumi CLI in the deploy job: `pulumi stack export --stack S --file F` copies a record's export.
FAKE_PULUMI = """#!/bin/sh
[ "$1 $2 $3" = "stack export --stack" ] || { echo "fake pulumi: unexpected $*" >&2; exit 2; }
[ "$5" = "--file" ] || exit 2
cp "$FAKE_EXPORT" "$6"
"""


def deploy_export_script() -> str:
    job = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy-stack.yml").read_text(encoding="utf-8"))["jobs"][
        "up"
    ]
    [step] = [s for s in job["steps"] if "pulumi stack export" in s.get("run", "")]
    assert step["env"] == {"STACK": "${{ inputs.stack }}"}
    return step["run"]


@pytest.mark.parametrize("record_set", sorted(SETS))
def test_the_deploy_jobs_script_publishes_no_ciphertext_and_no_salt(tmp_path, record_set):
    """The deploy job uploaded the full export (the salt and verifier, the kubeconfig's and the keys'
    ciphertext) as an artifact anyone signed in could download for 90 days."""
    work = tmp_path / "work"
    (work / "bin").mkdir(parents=True)
    (work / ".venv").symlink_to(ROOT / ".venv")
    pulumi = work / "bin" / "pulumi"
    pulumi.write_text(FAKE_PULUMI)
    pulumi.chmod(0o755)
    (tmp_path / "runner").mkdir()
    stack = SETS[record_set]
    env = {
        **os.environ,
        "PATH": f"{work / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "STACK": stack,
        "RUNNER_TEMP": str(tmp_path / "runner"),
        "FAKE_EXPORT": str(RECORDS / record_set / "export.json"),
    }
    result = subprocess.run(
        ["bash", "-e", "-c", deploy_export_script()], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    published = (work / "recorded-state" / f"{stack}.json").read_text(encoding="utf-8")
    full = (RECORDS / record_set / "export.json").read_text(encoding="utf-8")
    assert '"ciphertext"' in full and '"salt"' in full  # the record is a real, full export
    assert "ciphertext" not in published and "salt" not in published and "secrets_providers" not in published
    assert published.count(REDACTED) == full.count("4dabf18193072939515e22adb298388d") > 0
    assert list((tmp_path / "runner").iterdir()) == []  # the full export did not outlive the step
    assert [p.name for p in (work / "recorded-state").iterdir()] == [f"{stack}.json"]


def plan_json(tmp_path: Path, record_set: str, stack_file: Path, export: Path) -> list:
    stack = SETS[record_set]
    state = read_state(export, "recorded-state", stack=stack)
    root = project_for(tmp_path / export.stem, stack, stack_file)
    return json.loads(format_json([plan_stack(stack, root, state)]))


CASES = [(name, None) for name in SETS] + EDITS


@pytest.mark.parametrize(("record_set", "edit"), CASES, ids=[f"{s}/{e or 'base'}" for s, e in CASES])
def test_the_plan_against_the_redacted_export_is_the_plan_against_the_full_one(tmp_path, monkeypatch, record_set, edit):
    if (record_set, edit) in REFUSED_BY_THE_OFFER:  # planned as tests/test_engine_records.py plans it
        patched = offering(*REFUSED_BY_THE_OFFER[record_set, edit])
        monkeypatch.setattr("components.pool.load_node_types", lambda: patched)
    full = RECORDS / record_set / "export.json"
    document = json.loads(full.read_text(encoding="utf-8"))
    public = tmp_path / "redacted.json"
    public.write_text(json.dumps(redacted(document)), encoding="utf-8")
    stack = SETS[record_set]
    stack_file = RECORDS / record_set / ("edits" if edit else "") / (f"{edit}.yaml" if edit else f"Pulumi.{stack}.yaml")
    assert plan_json(tmp_path, record_set, stack_file, public) == plan_json(tmp_path, record_set, stack_file, full)


def test_a_secret_the_export_held_in_plaintext_becomes_one_the_plan_cannot_see(tmp_path):
    """An export made with --show-secrets: the plan could read the value; redacted, it cannot (and says so)."""
    envelope = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "plaintext": '"hunter2"'}
    document = {
        "version": 3,
        "deployment": {
            "resources": [
                {
                    "urn": "urn:pulumi:dev::kapsule::pulumi:pulumi:Stack::kapsule-dev",
                    "type": "pulumi:pulumi:Stack",
                    "custom": False,
                    "outputs": {"kubeconfig": envelope, "nested": [{"a": envelope}]},
                }
            ],
            "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:x:v1:y:z"}},
        },
    }
    public = redacted(document)
    assert "hunter2" not in json.dumps(public) and leftovers(public) == []
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(public))
    outputs = read_state(path, stack="dev").outputs
    assert outputs == {"kubeconfig": Secret(SEALED), "nested": [{"a": Secret(SEALED)}]}


def test_redact_refuses_what_is_not_an_export_and_writes_nothing(tmp_path):
    for content in ("not json", json.dumps({"version": 99, "deployment": {}}), json.dumps([1])):
        source = tmp_path / "in.json"
        source.write_text(content)
        result = subprocess.run(
            [sys.executable, "-m", "kapsule", "state", "redact", "--in", str(source), "--out", str(tmp_path / "o")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr and str(source) in result.stderr
        assert not (tmp_path / "o").exists()
