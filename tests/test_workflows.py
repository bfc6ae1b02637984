"""The GitHub workflows: valid against the workflow schema, wired as the docs say, running the commands they show."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml

from kapsule.names import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
# The manual: the README, and the page on state and CI that lists the commands the workflows run.
README = (ROOT / "README.md").read_text(encoding="utf-8") + (ROOT / "docs" / "state-and-ci.md").read_text(
    encoding="utf-8"
)
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the bare key `on` as true
    return document


def steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def test_every_workflow_is_valid_against_the_github_workflow_schema():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) == 7
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def commands(run: str) -> list[str]:
    """The make / pulumi / gh / python invocations of a `run:` block, as a user would type them."""
    text = (
        run.replace('"$STACK"', "<stack>")
        .replace('"recorded-state/$STACK.json"', "recorded-state/<stack>.json")
        .replace('"$full"', "full-export.json")
    )
    found = []
    for raw in text.splitlines():
        line = re.sub(r'^echo "run-id=\$\((.*)\)" >> "\$GITHUB_OUTPUT"$', r"\1", raw.strip())
        for piece in re.split(r"\s(?:&&|\|\|)\s", line):
            part = piece.split(" > ")[0].strip()
            part = re.sub(r"^\.venv/bin/python (-m kapsule state )", r"python \1", part)
            if re.match(r"^(make|pulumi|gh|python)\b", part):
                found.append(part)
    return found


def test_workflows_run_the_commands_the_readme_documents():
    seen = set()
    for path in WORKFLOWS.glob("*.yml"):
        for step in steps(workflow(path.name)):
            for command in commands(step.get("run", "")):
                seen.add(command)
                assert command in README, f"{path.name} runs `{command}`, which the README does not show"
            if step.get("uses", "").startswith("pulumi/actions@"):
                with_ = step["with"]
                flags = " --refresh" if with_.get("refresh") else ""
                flags += " --diff" if with_.get("diff") else ""
                assert with_["policyPacks"] == "policy"
                assert (
                    re.sub(r"\$\{\{ \w+\.stack \}\}", "<stack>", with_["policyPackConfigs"])
                    == "policy/config/<stack>.json"
                )
                flags += " --policy-pack policy --policy-pack-config policy/config/<stack>.json"
                assert f"pulumi {with_['command']} --stack <stack>{flags}" in README, path.name
    assert {"make test", "make install", "make -s plan FORMAT=markdown STATE=recorded-state"} <= seen
    for target in ("test", "install", "plan", "pulumi-preview", "up", "down", "engine"):
        assert re.search(rf"^{target}:", MAKEFILE, re.M), target
    # Locally, one driver runs the real engine (kapsule/engine/driver.py: --refresh, --diff, the policy pack).
    assert '$(PY) -m kapsule.engine preview --stack "$$UP_STACK"' in MAKEFILE
    assert '$(PY) -m kapsule.engine up --stack "$$UP_STACK"' in MAKEFILE


def test_pull_requests_get_tests_and_the_offline_plan_without_secrets():
    document = workflow("pull-request.yml")
    text = (WORKFLOWS / "pull-request.yml").read_text()
    assert "secrets." not in text
    assert list(document["on"]) == ["pull_request"]
    assert document["permissions"] == {"contents": "read", "actions": "read"}
    uploads = [s for s in steps(document) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads[0]["with"] == {"name": "kapsule-plan", "path": "plan.md", "retention-days": 7}
    comment = workflow("plan-comment.yml")
    assert comment["on"]["workflow_run"]["workflows"] == [document["name"]]
    assert comment["permissions"]["pull-requests"] == "write"
    sticky = [s for s in steps(comment) if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment@")]
    assert sticky[0]["with"]["path"] == "comment.md"
    assert not any(s.get("uses", "").startswith("actions/checkout") for s in steps(comment)), "never run PR code here"


def test_the_credentialed_preview_installs_the_program_before_pulumi_actions():
    document = workflow("preview.yml")
    assert document["permissions"] == {}
    preview = document["jobs"]["preview"]
    assert preview["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    assert preview["environment"] == "${{ matrix.stack }}-preview"
    assert preview["if"] == (
        "github.event.pull_request.head.repo.full_name == github.repository && vars.KAPSULE_PREVIEW == 'true'"
    )
    uses = [s.get("uses", s.get("run")).split("@")[0] for s in preview["steps"]]
    assert uses.index("make install") < uses.index("pulumi/actions")
    action = next(s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@"))["with"]
    assert action["command"] == "preview" and action["refresh"] is True and action["diff"] is True
    assert action["comment-on-pr"] is True


def test_merges_deploy_dev_then_staging_then_prod_in_their_environments():
    document = workflow("deploy.yml")
    assert document["on"]["push"]["branches"] == ["main"]
    assert document["concurrency"]["cancel-in-progress"] is False
    jobs = document["jobs"]
    assert list(jobs) == ["dev", "staging", "prod"]
    assert "needs" not in jobs["dev"] and jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    assert {job["with"]["stack"] for job in jobs.values()} == {"dev", "staging", "prod"}
    stack = workflow("deploy-stack.yml")
    up = stack["jobs"]["up"]
    assert up["environment"] == "${{ inputs.stack }}"
    uses = [s.get("uses", s.get("run")).split("@")[0] for s in up["steps"]]
    assert uses.index("make install") < uses.index("pulumi/actions")
    action = next(s for s in up["steps"] if s.get("uses", "").startswith("pulumi/actions@"))["with"]
    assert action["command"] == "up" and action["refresh"] is True
    assert up["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"
    artifact = next(s for s in up["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert artifact["with"]["name"] == "recorded-state-${{ inputs.stack }}"


def test_the_deploy_creates_the_export_directory_before_exporting():
    # `pulumi stack export --file` does not create missing directories: without this every deploy fails after `up`.
    up = workflow("deploy-stack.yml")["jobs"]["up"]
    export = next(s for s in up["steps"] if "pulumi stack export" in s.get("run", ""))
    lines = [line.strip() for line in export["run"].splitlines() if line.strip()]
    assert lines.index("mkdir -p recorded-state") < lines.index('pulumi stack export --stack "$STACK" --file "$full"')


def test_pull_requests_plan_against_recorded_state_or_say_nothing_is_deployed():
    job = next(
        j for j in workflow("pull-request.yml")["jobs"].values() if any(s.get("id") == "plan" for s in j["steps"])
    )
    plans = {s["id"]: s for s in job["steps"] if s.get("id", "").startswith("plan")}
    assert (
        "STATE=recorded-state" in plans["plan"]["run"]
        and plans["plan"]["if"] == "steps.deployment.outputs.run-id != ''"
    )
    assert (
        "NO_STATE=1" in plans["plan-new"]["run"] and plans["plan-new"]["if"] == "steps.deployment.outputs.run-id == ''"
    )


def test_adding_an_environment_is_its_stack_file_and_its_policy_config(tmp_path):
    """A new stack is planned, tested and deployed (after the stack it names) once `make generate` ran."""
    import shutil
    import subprocess
    import sys

    from kapsule.stackfile import stacks
    from tests.conftest import copy_project

    project = copy_project(tmp_path / "project")
    staging = (project / "stacks" / "Pulumi.staging.yaml").read_text(encoding="utf-8")
    (project / "stacks" / "Pulumi.qa.yaml").write_text(
        staging.replace("kapsule:deploy_after: dev", "kapsule:deploy_after: staging").replace(
            "kapsule-staging", "kapsule-qa"
        ),
        encoding="utf-8",
    )
    shutil.copy(project / "policy" / "config" / "staging.json", project / "policy" / "config" / "qa.json")
    assert [name for name, _ in stacks.deploy_order(project)] == ["dev", "staging", "prod", "qa"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kapsule", *args], cwd=project, capture_output=True, text=True)

    assert run("generate", "--check").returncode == 1
    assert run("generate").returncode == 0
    deploy = yaml.safe_load((project / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8"))
    assert deploy["jobs"]["qa"]["needs"] == "staging" and deploy["jobs"]["qa"]["with"]["stack"] == "qa"
    preview = yaml.safe_load((project / ".github" / "workflows" / "preview.yml").read_text(encoding="utf-8"))
    assert preview["jobs"]["preview"]["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod", "qa"]
    plan = run("plan", "--all", "--no-state", "--format", "json")
    assert plan.returncode == 2, plan.stderr
    assert [entry["stack"] for entry in json.loads(plan.stdout)] == ["dev", "staging", "prod", "qa"]  # deployment order


def test_a_deploy_order_that_names_no_stack_or_loops_is_one_error(tmp_path):
    from kapsule.stackfile import stacks
    from kapsule.stackfile.messages import StackConfigError
    from tests.conftest import copy_project

    project = copy_project(
        tmp_path / "project", {"dev": lambda config: config.update({"kapsule:deploy_after": "prod"})}
    )
    with pytest.raises(StackConfigError, match="the stacks dev, prod, staging wait for each other"):
        stacks.deploy_order(project)
    project = copy_project(tmp_path / "other", {"dev": lambda config: config.update({"kapsule:deploy_after": "qa"})})
    with pytest.raises(StackConfigError, match="'qa' is not a stack; stacks: dev, prod, staging"):
        stacks.deploy_order(project)


def test_no_workflow_splices_an_expression_into_a_shell_step():
    """`${{ inputs.stack }}` inside `run:` made a stack file name a command in the credentialed deploy job:
    values reach shell steps through `env:` only."""
    spliced = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = workflow(path.name)
        for job_name, job in document["jobs"].items():
            for index, step in enumerate(job.get("steps", [])):
                if "${{" in step.get("run", ""):
                    spliced.append(f"{path.name}: jobs.{job_name}.steps[{index}]")
    assert spliced == []
    export = next(
        s for s in workflow("deploy-stack.yml")["jobs"]["up"]["steps"] if "pulumi stack export" in s.get("run", "")
    )
    assert export["env"] == {"STACK": "${{ inputs.stack }}"} and '--stack "$STACK"' in export["run"]


@pytest.mark.parametrize("name", ["$(id)", "a b", "`id`", "${{ github.token }}", "dev\n", "dév", "x" * 101])
def test_discovery_and_generate_refuse_a_stack_file_name_that_is_not_a_stack_name(tmp_path, name):
    """`stacks/Pulumi.$(id).yaml` was planned by --all and written into deploy.yml and preview.yml."""
    from kapsule.stackfile import stacks
    from kapsule.stackfile.messages import StackConfigError
    from tests.conftest import copy_project

    project = copy_project(tmp_path / "project")
    shutil_copy = (project / "stacks" / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    (project / "stacks" / f"Pulumi.{name}.yaml").write_text(shutil_copy, encoding="utf-8")
    with pytest.raises(StackConfigError, match="is not a stack name"):
        stacks.stack_names(project)
    before = {p.name: p.read_text() for p in (project / ".github" / "workflows").glob("*.yml")}
    for args in (["generate"], ["plan", "--all", "--no-state"], ["cost", "--all"]):
        result = subprocess.run(
            [sys.executable, "-m", "kapsule", *args], cwd=project, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 1, (args, result.stderr)
        assert "is not a stack name: 1 to 100 ASCII letters, digits, '-', '_' or '.'; rename the file" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
    assert {p.name: p.read_text() for p in (project / ".github" / "workflows").glob("*.yml")} == before
    single = subprocess.run(
        [sys.executable, "-m", "kapsule", "plan", "--stack", name], cwd=project, capture_output=True, text=True
    )
    assert single.returncode == 1 and "is not a stack name" in single.stderr


def test_the_rotation_runs_weekly_and_on_demand_per_cluster_stack_in_its_environment():
    """`rotate --apply` per deployed cluster stack, in the stack's environment (prod's reviewers approve it), with
    the deploy job's credentials, the report in the job summary, and only a blocker or an error failing the job."""
    document = workflow("rotate.yml")
    assert set(document["on"]) == {"schedule", "workflow_dispatch"}
    job = document["jobs"]["rotate"]
    assert job["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    assert job["environment"] == "${{ matrix.stack }}"
    assert job["env"] == workflow("deploy-stack.yml")["jobs"]["up"]["env"]
    step = next(s for s in job["steps"] if "kapsule rotate" in s.get("run", ""))
    assert step["env"] == {"STACK": "${{ matrix.stack }}"}
    assert '--stack "$STACK" --apply' in step["run"] and '>> "$GITHUB_STEP_SUMMARY"' in step["run"]
    assert "--kubeconfig" not in step["run"], "the kubeconfig is read through the driver, never written to a file"
    assert {"run": "make engine"} in job["steps"]
