"""Files that are not what they claim to be: too deep, endless, blocking, huge or corrupt. Each gets one
clear error and exit 1, never a crash, a hang or a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kapsule.files import FileProblem, read_regular
from kapsule.names import NOT_COPIED, ROOT
from kapsule.state.reading import read_state
from kapsule.state.records import StateError
from policy.rules import PolicyConfigError, stack_config

BASE_STATE = ROOT / "tests" / "fixtures" / "state-before-token-rename"


def project_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*NOT_COPIED))
    return project


def kapsule(project: Path, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PULUMI_BACKEND_URL": "file:///nonexistent-kapsule-backend"}
    return subprocess.run(
        [sys.executable, "-m", "kapsule", *args], cwd=project, capture_output=True, text=True, timeout=timeout, env=env
    )


def test_a_stack_file_of_thirty_thousand_brackets_is_the_nesting_error_not_a_segfault(tmp_path):
    """libyaml's C composer recursed 30,000 deep and killed the process (exit 139) before any depth check."""
    project = project_copy(tmp_path)
    (project / "stacks" / "Pulumi.deep.yaml").write_text("values: " + "[" * 30_000 + "\n", encoding="utf-8")
    (project / "policy" / "config" / "deep.json").write_text("{}", encoding="utf-8")
    result = kapsule(project, "plan", "--stack", "deep", "--no-state")
    assert result.returncode == 1, (result.returncode, result.stderr[-500:])
    assert (
        result.stderr
        == "stacks/Pulumi.deep.yaml: invalid stack config\n  (file): nests deeper than YAML can be read; stack files nest a few levels\n"
    )
    every = kapsule(project, "plan", "--all", "--no-state", "--format", "json")
    assert every.returncode == 1 and "nests deeper than YAML can be read" in every.stderr and "died" not in every.stderr


def test_the_regular_file_read_refuses_devices_and_pipes_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome: list[str] = []
    reader = threading.Thread(target=lambda: outcome.append(_problem(fifo)), daemon=True)
    reader.start()
    reader.join(10)
    assert outcome == ["is not a regular file (a device, pipe or directory)"], (
        "a FIFO with no writer must not hang the read"
    )
    assert _problem(Path("/dev/zero")) == "is not a regular file (a device, pipe or directory)"
    assert _problem(tmp_path) == "is not a regular file (a device, pipe or directory)"
    assert _problem(tmp_path / "missing") == "does not exist"
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2049)
    assert _problem(big, 2048) == "is larger than 2 KiB; small"
    assert read_regular(big, 4096, "small") == b"x" * 2049


def _problem(path: Path, limit: int = 1024) -> str:
    try:
        read_regular(path, limit, "small")
    except FileProblem as error:
        return str(error)
    return "read"


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "large", "duplicate", "infinite", "nan", "deep"])
def test_a_policy_config_is_read_within_bounds_and_strictly(tmp_path, kind):
    """A link to /dev/zero grew to 23 GB, a FIFO hung forever, a 300 MB file was read whole, a duplicate key
    kept the last value and 1e400 became infinity."""
    path = tmp_path / "dev.json"
    expected = {
        "dev-zero": "policy/config/dev.json: is not a regular file",
        "fifo": "policy/config/dev.json: is not a regular file",
        "large": "policy/config/dev.json: is larger than 256 KiB",
        "duplicate": "the key 'required-tags' is given twice; keep one",
        "infinite": "1e400 is too large for a number",
        "nan": "NaN is not a number a policy setting may hold",
        "deep": "policy/config/dev.json: not valid JSON",
    }[kind]
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "large":
        path.write_text('{"x": "' + "a" * (300 * 1024) + '"}')
    elif kind == "duplicate":
        path.write_text('{"required-tags": "mandatory", "required-tags": "disabled"}')
    elif kind == "infinite":
        path.write_text('{"max-monthly-cost": {"level": "mandatory", "maxMonthly": 1e400}}')
    elif kind == "nan":
        path.write_text('{"max-monthly-cost": {"level": "mandatory", "maxMonthly": NaN}}')
    else:
        path.write_text("[" * 100_000)
    with pytest.raises(PolicyConfigError) as caught:
        stack_config("dev", tmp_path)
    assert expected in str(caught.value)


def test_deep_state_is_not_a_readable_state_file(tmp_path):
    """200 KB of `[` and values nested 400 deep gave RecursionError tracebacks from plan and cost."""
    brackets = tmp_path / "brackets.json"
    brackets.write_text("[" * 200_000)
    with pytest.raises(StateError, match="not a readable Pulumi state file"):
        read_state(brackets)
    document = json.loads(_export_text())
    resource = next(r for r in document["deployment"]["resources"] if r.get("custom"))
    nested: object = "x"
    for _ in range(400):
        nested = {"a": nested}
    resource["outputs"]["deep"] = nested
    deep = tmp_path / "dev.json"
    deep.write_text(json.dumps(document))
    with pytest.raises(StateError, match="a value nests deeper than 64 levels"):
        read_state(deep)
    for command in (
        ["plan", "--stack", "dev", "--state", str(deep)],
        ["cost", "--stack", "dev", "--state", str(deep)],
        ["plan", "--all", "--state", str(tmp_path), "--format", "markdown"],
    ):
        result = kapsule(ROOT, *command)
        assert result.returncode == 1, (command, result.stderr[-300:])
        assert "Traceback" not in result.stderr + result.stdout and "RecursionError" not in result.stdout
        assert "not a readable Pulumi state file" in result.stderr + result.stdout


def test_a_state_of_millions_of_empty_objects_is_refused_before_it_is_parsed(tmp_path):
    """120 MB of `{}` took 3.1 GB of memory to parse."""
    path = tmp_path / "many.json"
    with path.open("w") as handle:
        handle.write('{"version": 3, "deployment": {"resources": [')
        handle.write("{}," * 2_100_000)
        handle.write("{}]}}")
    with pytest.raises(StateError, match="more than 2,000,000 objects and lists"):
        read_state(path)


def _export_text() -> str:
    import gzip

    return gzip.decompress((BASE_STATE / "dev.json.gz").read_bytes()).decode()
