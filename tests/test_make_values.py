"""Make never evaluates a value from the command line or the environment: `$(shell ...)` in STACK, FORMAT,
STATE or any other variable is text the program receives (and refuses), never a command make runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kapsule.names import ROOT

#: Stands in for .venv/bin/python: it records the arguments and the values it was given, and runs nothing.
FAKE_PYTHON = """#!/bin/sh
printf '%s\\n' "$*" "STACK=$STACK" "UP_STACK=$UP_STACK" "FORMAT=$FORMAT" "STATE=$STATE" >> "$(dirname "$0")/calls"
"""


def project(tmp_path: Path) -> Path:
    """A copy of the Makefile with a set-up .venv whose python records its calls, and an engine build that does
    nothing: each target runs its own recipe, as far as the program."""
    copy = tmp_path / "project"
    (copy / ".venv" / "bin").mkdir(parents=True)
    (copy / "tools" / "engine").mkdir(parents=True)
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, copy / name)
    for script in ("debian.sh", "build.sh"):
        (copy / "tools" / "engine" / script).write_text("true\n")
    python = copy / ".venv" / "bin" / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    for stamp in (".installed", ".on-path"):
        (copy / ".venv" / stamp).touch()
    return copy


HOSTILE = "$(shell touch pwned)"


@pytest.mark.parametrize("target", ["help", "preview", "plan", "up", "pulumi-preview", "down"])
@pytest.mark.parametrize("variable", ["STACK", "FORMAT", "STATE", "NO_STATE", "PULUMI_BACKEND_URL", "VENV", "OTHER"])
def test_a_shell_call_in_a_command_line_value_runs_nothing(tmp_path, target, variable):
    copy = project(tmp_path)
    environment = {k: v for k, v in os.environ.items() if k not in ("STACK", "FORMAT", "STATE", "NO_STATE", "VENV")}
    result = subprocess.run(
        ["make", "-s", target, f"{variable}={HOSTILE}"], cwd=copy, env=environment, capture_output=True, text=True
    )
    assert not (copy / "pwned").exists(), (target, variable, result.stdout, result.stderr)
    if variable == "STACK" and target != "help":
        calls = (copy / ".venv" / "bin" / "calls").read_text()
        assert f"STACK={HOSTILE}" in calls  # the program gets the text, and refuses it as a stack name


@pytest.mark.parametrize("target", ["help", "preview", "plan", "up"])
@pytest.mark.parametrize("variable", ["STACK", "FORMAT", "STATE", "NO_STATE", "PULUMI_BACKEND_URL"])
def test_a_shell_call_in_an_environment_value_runs_nothing(tmp_path, target, variable):
    copy = project(tmp_path)
    environment = {**os.environ, variable: HOSTILE}
    result = subprocess.run(["make", "-s", target], cwd=copy, env=environment, capture_output=True, text=True)
    assert not (copy / "pwned").exists(), (target, variable, result.stdout, result.stderr)


def test_the_values_still_reach_the_program_and_up_defaults_to_the_local_stack(tmp_path):
    copy = project(tmp_path)
    environment = {k: v for k, v in os.environ.items() if k not in ("STACK", "FORMAT", "STATE", "NO_STATE")}
    run = lambda *args: subprocess.run(["make", "-s", *args], cwd=copy, env=environment, check=True)  # noqa: E731
    calls = copy / ".venv" / "bin" / "calls"
    run("preview", "STACK=prod", "FORMAT=json", "STATE=recorded")
    assert calls.read_text().splitlines()[0] == "-m kapsule plan --stack prod --format json --state recorded"
    calls.unlink()
    run("up")
    assert "-m kapsule.engine up --stack local" in calls.read_text()
    calls.unlink()
    run("up", "STACK=dev")
    assert "-m kapsule.engine up --stack dev" in calls.read_text()
