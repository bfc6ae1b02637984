"""`python -m kapsule plan` as a user runs it: output, exit codes, no traceback, no secrets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from kapsule.exits import EXIT_CHANGES
from kapsule.names import NOT_COPIED, ROOT
from tests.conftest import render_stack


def kapsule(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run the command with no recorded state (a backend directory that holds none)."""
    env = {**os.environ, "PULUMI_BACKEND_URL": "file:///nonexistent-kapsule-backend"}
    return subprocess.run(
        [sys.executable, "-m", "kapsule", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


def test_plan_dev_prints_the_resource_tree():
    result = kapsule("plan", "--stack", "dev")
    assert result.returncode == EXIT_CHANGES, result.stderr
    out = result.stdout
    count = len(render_stack("dev", preview=True).resources)
    assert out.startswith(
        f"Stack dev (stacks/Pulumi.dev.yaml), no recorded state, so every resource is a create: {count} to create\n"
    )
    assert "+  scaleway:kubernetes/cluster:Cluster  cluster" in out
    assert "+  scaleway:kubernetes/pool:Pool  default  [ignore_changes: size]" in out
    assert "      name: kapsule-dev" in out
    assert "kubeconfig: [secret]" in out


def test_plan_all_as_json():
    result = kapsule("plan", "--all", "--format", "json")
    assert result.returncode == EXIT_CHANGES, result.stderr
    document = json.loads(result.stdout)
    assert [plan["stack"] for plan in document] == ["dev", "staging", "prod"]  # deployment order
    prod = document[2]
    cluster = next(r for r in prod["resources"] if r["type"] == "scaleway:kubernetes/cluster:Cluster")
    assert cluster["action"] == "create" and cluster["protect"] is True
    assert cluster["properties"]["type"] == "kapsule-dedicated-8"
    assert prod["outputs"]["kubeconfig"] == "[secret] (known after apply)"


def test_invalid_stack_file_fails_with_the_message_only(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*NOT_COPIED))
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("cni: cilium", "cni: weave"))
    result = kapsule("plan", "--stack", "dev", cwd=project)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("stacks/Pulumi.dev.yaml: invalid stack config\n  kapsule:cluster.cni: 'weave'")
    assert "Traceback" not in result.stderr


def test_unknown_stack_is_an_error():
    result = kapsule("plan", "--stack", "nope")
    assert result.returncode == 1
    assert "stacks/Pulumi.nope.yaml" in result.stderr and "does not exist" in result.stderr


def test_the_command_works_from_any_directory_inside_the_repository():
    """`make install` puts the repository on .venv's path: paths are then the repository's, not the cwd's."""
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "plan", "--stack", "dev", "--no-state", "--format", "json"],
        cwd=ROOT / "docs",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)[0]["stack_file"] == "stacks/Pulumi.dev.yaml"
