"""The workflows as privileged automation: which secrets each job that runs a pull request's code can see, and
in which environment; every third-party action pinned to a commit; zizmor and actionlint, pinned, offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kapsule.generated.workflows import ENVIRONMENT_SECRETS, documents
from kapsule.names import ROOT
from kapsule.stackfile.stacks import deploy_order

WORKFLOWS = ROOT / ".github" / "workflows"
#: Triggers under which a job's checkout is the pull request's own code (a branch of this repository's, or a
#: fork's head for the _target and workflow_run kinds when they check it out).
PULL_REQUEST_TRIGGERS = {"pull_request", "pull_request_target", "workflow_run"}
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
#: A secret read in an expression: `secrets.NAME`, `secrets['NAME']`, or the whole object (`toJSON(secrets)`).
SECRET = re.compile(r"\bsecrets(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*\]|(?![.\[\w]))")
#: Shell commands that fetch a pull request's code without actions/checkout.
FETCHES_CODE = re.compile(r"\b(?:git\s+(?:clone|fetch|pull|checkout)|gh\s+(?:pr\s+checkout|repo\s+clone))\b")


def secret_names(value: Any) -> set[str]:
    """Every secret the `${{ }}` expressions of `value` (a job, the workflow's env) read; `(every secret)` for the
    whole object."""
    found = set()
    for expression in EXPRESSION.findall(yaml.safe_dump(value)):
        for dotted, indexed in ((m.group(1), m.group(2)) for m in SECRET.finditer(expression)):
            found.add(dotted or indexed or "(every secret)")
    return found


PIN = re.compile(r"^\s*(?:-\s+)?uses:\s+([^\s@]+)(?:@([^\s#]+))?(?:\s+#\s*(\S+))?\s*$")


def load(text: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    document["on"] = document.pop(True, document.get("on"))
    return document


def environment_of(job: dict[str, Any]) -> str | None:
    environment = job.get("environment")
    return environment.get("name") if isinstance(environment, dict) else environment


def visibility(name: str, document: dict[str, Any]) -> dict[tuple[str, str, str], tuple[str | None, list[str]]]:
    """For every job that checks out a pull request's code and runs it, per stack of its matrix (or `-`):
    the environment it runs in and the secrets it can read."""
    triggers = set(document["on"]) if isinstance(document["on"], dict) else {document["on"]}
    if not triggers & PULL_REQUEST_TRIGGERS:
        return {}
    seen = {}
    workflow_level = secret_names(document.get("env") or {})
    for job_name, job in document["jobs"].items():
        checks_out = any(
            str(s.get("uses", "")).startswith("actions/checkout@") or FETCHES_CODE.search(str(s.get("run", "")))
            for s in job.get("steps", [])
        )
        calls = "uses" in job  # a reusable workflow runs the pull request's copy of itself
        if not (checks_out or calls):
            continue
        inherit = {"(every secret: inherit)"} if job.get("secrets") else set()
        secrets = sorted(secret_names(job) | workflow_level | inherit)
        stacks = (job.get("strategy") or {}).get("matrix", {}).get("stack") or ["-"]
        for stack in stacks:
            environment = environment_of(job)
            if environment is not None:
                environment = environment.replace("${{ matrix.stack }}", stack)
            seen[(name, job_name, stack)] = (environment, secrets)
    return seen


def every_pull_request_job() -> dict[tuple[str, str, str], tuple[str | None, list[str]]]:
    found = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        found.update(visibility(path.name, load(path.read_text(encoding="utf-8"))))
    return found


def test_no_job_that_runs_a_pull_requests_code_sees_a_repository_secret_or_another_stacks():
    """preview.yml once ran a branch's `make install` and program with the repository's Scaleway key and
    passphrase, in no environment: anyone with push access could decrypt prod's state or change prod."""
    found = every_pull_request_job()
    print(
        "\n".join(
            f"{k[0]} {k[1]} [{k[2]}]: environment {v[0]}, secrets {', '.join(v[1]) or 'none'}" for k, v in found.items()
        )
    )
    stacks = [name for name, _ in deploy_order(ROOT)]
    preview = set(ENVIRONMENT_SECRETS["{stack}-preview"])
    assert {k: v for k, v in found.items() if k[0] == "preview.yml"} == {
        ("preview.yml", "preview", stack): (f"{stack}-preview", sorted(preview)) for stack in stacks
    }
    for (workflow, job, stack), (environment, secrets) in found.items():
        where = f"{workflow} jobs.{job} [{stack}]"
        if environment is None:
            assert secrets == [], f"{where} reads {secrets} with no environment: repository-level secrets"
            continue
        assert environment == f"{stack}-preview", f"{where} runs in {environment}, not the stack's preview environment"
        assert set(secrets) <= preview, f"{where} reads {set(secrets) - preview}, which {environment} does not hold"


def test_every_job_reads_secrets_only_from_its_own_stacks_environment():
    """No workflow reads a repository-level secret: each secret is one that the job's environment holds."""
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = load(path.read_text(encoding="utf-8"))
        assert not secret_names(document.get("env") or {}), f"{path.name}: a workflow-level env reads a secret"
        for job_name, job in document["jobs"].items():
            assert "secrets" not in job, f"{path.name} jobs.{job_name} passes secrets down"
            secrets = secret_names(job)
            if not secrets:
                continue
            environment = environment_of(job) or ""
            kind = re.sub(r"\$\{\{ (matrix|inputs)\.stack \}\}", "{stack}", environment)
            assert kind in ENVIRONMENT_SECRETS, f"{path.name} jobs.{job_name}: secrets {secrets} in {environment!r}"
            assert secrets <= set(ENVIRONMENT_SECRETS[kind]), (path.name, job_name, secrets)


def pins(text: str) -> list[tuple[str, str, str | None]]:
    return [m.groups() for line in text.splitlines() if (m := PIN.match(line))]


def test_every_third_party_action_is_pinned_to_a_commit_with_its_version():
    """A moved tag (pulumi/actions@v7, sticky-pull-request-comment@v2) ran new code with secrets or a write token."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in WORKFLOWS.glob("*.yml")}
    texts.update({f"generated {p.name}": text for p, text in documents(ROOT).items()})
    by_action: dict[str, set[tuple[str, str | None]]] = {}
    count = 0
    for name, text in texts.items():
        assert len(pins(text)) == len(re.findall(r"^\s*(?:-\s+)?uses:", text, re.M)), name
        for action, ref, comment in pins(text):
            if action.startswith("./"):
                continue
            count += 1
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{name}: {action}@{ref} is not a full commit SHA"
            assert comment and re.fullmatch(r"v\d+\.\d+\.\d+", comment), (
                f"{name}: {action}@{ref} has no version comment"
            )
            by_action.setdefault(action, set()).add((ref, comment))
    assert count >= 20
    assert {action: len(refs) for action, refs in by_action.items()} == {action: 1 for action in by_action}


def tool(name: str) -> Path:
    tools = Path(os.environ.get("KAPSULE_TOOLS") or ROOT / ".tools") / "bin" / name
    if not tools.is_file():
        pytest.fail(f"{tools} is missing: run `make lint-tools` (actionlint, built from the Go module proxy)")
    return tools


def test_zizmor_finds_nothing_of_medium_severity_or_higher_offline():
    zizmor = shutil.which("zizmor", path=str(ROOT / ".venv" / "bin")) or shutil.which("zizmor")
    assert zizmor, "zizmor is pinned in requirements.txt: run make install"
    version = subprocess.run([zizmor, "--version"], capture_output=True, text=True, timeout=60).stdout
    assert version.strip() == "zizmor 1.33.1"
    result = subprocess.run(
        [
            zizmor,
            "--offline",
            "--no-progress",
            "--config",
            str(ROOT / ".github" / "zizmor.yml"),
            "--format",
            "json",
            "--min-severity",
            "medium",
            str(WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")},
    )
    findings = json.loads(result.stdout)
    assert [(f["ident"], f["locations"][0]["symbolic"]["key"]) for f in findings] == [], result.stderr[-2000:]
    assert result.returncode == 0, result.stderr[-2000:]


def test_actionlint_finds_nothing():
    actionlint = tool("actionlint")
    version = subprocess.run([str(actionlint), "-version"], capture_output=True, text=True, timeout=60).stdout
    assert version.splitlines()[0] == "v1.7.12"
    # shellcheck and pyflakes are not part of the pinned toolset: turned off, so the result is the same everywhere.
    result = subprocess.run(
        [str(actionlint), "-shellcheck=", "-pyflakes=", "-no-color", *sorted(map(str, WORKFLOWS.glob("*.yml")))],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_secret_reader_sees_every_way_to_name_a_secret():
    """A workflow-level env, `secrets['NAME']` and `toJSON(secrets)` once passed the visibility test unseen."""
    job = {"steps": [{"run": "x", "env": {"A": "${{ secrets['SCW_ACCESS_KEY'] }}", "B": "${{ toJSON(secrets) }}"}}]}
    assert secret_names(job) == {"SCW_ACCESS_KEY", "(every secret)"}
    assert secret_names({"C": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}", "D": "no secrets here"}) == {
        "PULUMI_CONFIG_PASSPHRASE"
    }
    document = load(
        "on: pull_request\nenv:\n  LEAK: ${{ secrets.SCW_ACCESS_KEY }}\njobs:\n  j:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: gh pr checkout 1 && make test\n"
    )
    assert visibility("w.yml", document) == {("w.yml", "j", "-"): (None, ["SCW_ACCESS_KEY"])}


def runners(document: dict[str, Any]) -> dict[str, str]:
    return {name: str(job.get("runs-on", "")) for name, job in document["jobs"].items() if "runs-on" in job}


def test_no_job_that_runs_a_pull_requests_code_shares_a_runner_with_a_job_that_holds_write_credentials():
    """preview.yml once ran on `vars.KAPSULE_PRIVATE_RUNNER`, the self-hosted runner the deploy uses: branch code
    could leave something behind on it for the next prod deploy. A GitHub-hosted label is a new machine each job."""
    pull_request, credentialed = set(), set()
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = load(path.read_text(encoding="utf-8"))
        runs_code = {job for (_, job, _) in visibility(path.name, document)}
        for name, runner in runners(document).items():
            if name in runs_code:
                pull_request.add(runner)
            elif secret_names(document["jobs"][name]):
                credentialed.add(runner)
    hosted = {"ubuntu-latest"}
    assert pull_request and credentialed
    assert (pull_request & credentialed) - hosted == set(), pull_request & credentialed
