"""Exit codes mean one thing each: 0 no changes, 1 error, 2 changes, 3 destructive; wrappers never widen them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from kapsule.names import ROOT
from tests.conftest import copy_project


def kapsule(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kapsule", *args], cwd=cwd, capture_output=True, text=True, timeout=180, env=env
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["plan", "--stack", "dev", "--bogus"], "unrecognized arguments"),
        (["plan"], "one of the arguments --stack --all is required"),
        (["plan", "--stack", "a" * 5000], "is not a stack name"),
        (["plan", "--stack", "dev", "--no-state", "--state", "x.json"], "give one or the other"),
        (["plan", "--stack", "dev", "--state", "/nonexistent/dev.json"], "does not exist"),
        (["plan", "--all", "--state", "/nonexistent"], "--state /nonexistent: does not exist"),
        (
            ["plan", "--stack", "dev", "--today", "2026-02-30"],
            "'2026-02-30' is not a day of the calendar: write it as YYYY-MM-DD",
        ),
        (["plan", "--stack", "dev", "--today", "20261121"], "'20261121' is not a day: write it as YYYY-MM-DD"),
        (["plan", "--stack", "dev", "--stack", "prod"], "--stack is given twice; give it once"),
        (["plan", "--stack", "nope"], "stacks/Pulumi.nope.yaml: does not exist; stacks: dev, prod, staging"),
    ],
)
def test_command_line_errors_exit_1_not_2(args, words):
    result = kapsule(*args)
    assert result.returncode == 1, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr


def test_a_bad_kapsule_today_is_one_line():
    import os

    result = kapsule("plan", "--stack", "dev", env={**os.environ, "KAPSULE_TODAY": "next tuesday"})
    assert result.returncode == 1
    assert (
        result.stderr
        == "KAPSULE_TODAY='next tuesday' is not a day: write it as YYYY-MM-DD, or unset it to check against today\n"
    )


def program_that(stack: str, does: str) -> str:
    main = (ROOT / "__main__.py").read_text()
    return f"import os, pulumi\nif pulumi.get_stack() == {stack!r}:\n    {does}\n" + main


@pytest.mark.parametrize(
    ("does", "words"),
    [
        ("os._exit(9)", "stacks/Pulumi.dev.yaml: the planner process died (exit code 9) before it finished"),
        ("raise RuntimeError('boom')", "stacks/Pulumi.dev.yaml: the planner failed:"),
    ],
)
def test_one_stack_that_dies_costs_only_its_own_plan(tmp_path, does, words):
    # dev is the first stack its worker takes: staging, queued behind it, must still be planned.
    project = copy_project(tmp_path / "project")
    (project / "__main__.py").write_text(program_that("dev", does))
    result = kapsule("plan", "--all", "--no-state", "--format", "json", cwd=project)
    assert result.returncode == 1
    assert words in result.stderr
    import json

    planned = {entry["stack"]: entry for entry in json.loads(result.stdout)}
    assert set(planned) == {"dev", "prod", "staging"}
    assert "error" in planned["dev"]
    assert planned["staging"]["summary"]["create"] > 10 and planned["prod"]["summary"]["create"] > 10


def test_plan_all_with_no_stack_files_is_an_error(tmp_path):
    project = copy_project(tmp_path / "project")
    for path in (project / "stacks").glob("Pulumi.*.yaml"):
        path.unlink()
    result = kapsule("plan", "--all", cwd=project)
    assert result.returncode == 1 and "no stack files" in result.stderr


def plan_worked() -> str:
    """The Makefile's wrapper around `kapsule plan`, as the shell sees it."""
    makefile = (ROOT / "Makefile").read_text()
    return re.search(r"^PLAN_WORKED = (.*)$", makefile, re.M).group(1).replace("$$", "$")


@pytest.mark.parametrize(("plan_code", "make_code"), [(0, 0), (2, 0), (3, 0), (1, 1), (130, 130), (4, 4)])
def test_make_accepts_only_0_2_and_3_and_keeps_any_other_code(plan_code, make_code):
    result = subprocess.run(["sh", "-c", f"(exit {plan_code}) {plan_worked()}"], capture_output=True, timeout=10)
    assert result.returncode == make_code
    makefile = (ROOT / "Makefile").read_text()
    assert makefile.count("$(PLAN_WORKED)") == 2 and "-ge 2" not in makefile


def test_the_example_consumer_sees_no_sdk_deprecation_warnings():
    example = ROOT / "examples" / "team-cluster"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", "/dev/null", "-p", "no:cacheprovider", str(example)],
        cwd=example,
        capture_output=True,
        text=True,
        timeout=180,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout
    assert "1 passed" in result.stdout and "warning" not in result.stdout.lower()


def test_versions_refresh_without_credentials_prints_one_line(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("SCW_")}
    result = kapsule("versions", "refresh", env={**env, "HOME": str(tmp_path)})
    assert result.returncode == 1
    assert (
        result.stderr
        == "versions refresh needs Scaleway credentials: set SCW_ACCESS_KEY and SCW_SECRET_KEY (or a scw profile)\n"
    )


def test_kapsule_today_is_written_yyyy_mm_dd_only():
    import os

    result = kapsule("plan", "--stack", "dev", "--no-state", env={**os.environ, "KAPSULE_TODAY": "20261121"})
    assert (
        result.returncode == 1
        and result.stderr
        == "KAPSULE_TODAY='20261121' is not a day: write it as YYYY-MM-DD, or unset it to check against today\n"
    )


def test_an_unwritable_output_and_ctrl_c_are_one_line_and_exit_1():
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "kapsule", "plan", "--stack", "dev", "--no-state"],
            cwd=ROOT,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=180,
        )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("cannot write the output (No space left on device)")
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "kapsule", "plan", "--all", "--no-state"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # still loading or planning: a plan of every stack takes longer
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1 and stderr == "interrupted\n"


def test_deploy_after_naming_itself_or_no_stack_is_refused_by_the_plan(tmp_path):
    for after, words in (("dev", "names this stack itself"), ("qa", "'qa' is not a stack; stacks: dev, prod, staging")):
        project = copy_project(
            tmp_path / after, {"dev": lambda config, after=after: config.update({"kapsule:deploy_after": after})}
        )
        result = kapsule("plan", "--stack", "dev", "--no-state", cwd=project)
        assert result.returncode == 1 and f"kapsule:deploy_after: {words}" in result.stderr, result.stderr


def test_a_secure_value_that_is_no_ciphertext_is_refused(tmp_path):
    project = copy_project(tmp_path / "project")
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace("kapsule:tags:\n", "kapsule:tags:\n    token:\n      secure: 12\n", 1))
    result = kapsule("plan", "--stack", "dev", "--no-state", cwd=project)
    assert result.returncode == 1 and "kapsule:tags.token: {secure: 12} is no ciphertext" in result.stderr, (
        result.stderr
    )
