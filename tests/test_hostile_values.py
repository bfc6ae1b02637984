"""Values that only look valid, names that collide, and what recorded state may smuggle into a plan:
each is refused with one clear error, or shown escaped and masked. State comes from the real engine's
exports (tests/fixtures/engine-records), edited the way a corrupt or hostile file would be."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kapsule.exits import EXIT_CHANGES
from kapsule.names import ROOT
from kapsule.reports.plan import format_json, format_markdown, format_text
from kapsule.stackfile.messages import StackConfigError
from kapsule.state.reading import read_state
from kapsule.state.records import StateError
from tests.conftest import render_stack
from tests.test_engine_records import RECORDS, as_recorded, plan_of, project_for

SCALEWAY = RECORDS / "scaleway"
KUBERNETES = RECORDS / "kubernetes"


def refused(edit) -> StackConfigError:
    rendering = render_stack("dev", edit, check=False)
    assert isinstance(rendering.error, StackConfigError), repr(rendering.error)
    assert rendering.resources == []
    return rendering.error


@pytest.mark.parametrize("version", ["1.35\n", "１.35", "01.035", "1.35 ", "1.٣5"])
def test_a_version_that_only_looks_valid_is_refused(version):
    error = refused(lambda c: c["kapsule:cluster"].update(version=version))
    assert "kapsule:cluster.version" in str(error) and "not a Kubernetes version" in str(error)


def test_a_cluster_name_or_pool_key_with_a_line_break_is_refused():
    assert "kapsule:cluster.name" in str(refused(lambda c: c["kapsule:cluster"].update(name="x\n")))
    error = refused(lambda c: c["kapsule:pools"].update({"default\n": c["kapsule:pools"].pop("default")}))
    assert "pool names are 1 to 40 lower case letters" in str(error)


@pytest.mark.parametrize("value", ["\x1b[31mred", "bell\a", "line\rback", "two\nlines", "rtl\u202eevil"])
def test_control_characters_in_tags_are_refused(value):
    error = refused(lambda c: c["kapsule:tags"].update(team=value))
    assert "kapsule:tags" in str(error) and "control character" in str(error)
    assert value not in str(error), "the message escapes what it quotes"


def test_the_command_line_refuses_a_stack_name_with_a_line_break():
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "plan", "--stack", "dev\n"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 1 and "is not a stack name" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("live", ["1.35\n", 1.35, None, ""])
def test_a_recorded_version_that_is_no_version_is_refused(tmp_path, live):
    document = json.loads((SCALEWAY / "export.json").read_text())
    cluster = next(r for r in document["deployment"]["resources"] if r["type"] == "scaleway:kubernetes/cluster:Cluster")
    cluster["outputs"]["version"] = live
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    plan, _ = plan_of(tmp_path, "scaleway", SCALEWAY / "Pulumi.eng.yaml", path)
    assert any("the recorded version" in error and "not a Kubernetes version" in error for error in plan.errors), (
        plan.errors
    )
    assert plan.exit_code == 1


def test_a_service_named_like_the_ingress_controllers_in_its_namespace_collides():
    def edit(config):
        config["kapsule:ingress"]["namespace"] = "ingress"
        config["kapsule:services"] = {
            "ingress": {
                "namespace": "ingress",
                "selector": {"app": "x"},
                "ports": [{"name": "http", "port": 80, "target_port": 80}],
            }
        }

    error = refused(edit)
    assert (
        "kapsule:services.ingress: the ingress controller already has a Service 'ingress' in namespace 'ingress'"
        in str(error)
    )


def test_a_namespace_every_cluster_has_is_not_declared():
    error = refused(lambda c: c.update({"kapsule:namespaces": ["default"]}))
    assert "'default' exists in every cluster already" in str(error)


@pytest.mark.parametrize("ident", [None, ""])
def test_a_resource_recorded_without_an_id_is_corrupt_state_not_a_replacement(tmp_path, ident):
    document = json.loads((SCALEWAY / "export.json").read_text())
    cluster = next(r for r in document["deployment"]["resources"] if r["type"] == "scaleway:kubernetes/cluster:Cluster")
    if ident is None:
        del cluster["id"]
    else:
        cluster["id"] = ident
    path = tmp_path / "eng.json"
    path.write_text(json.dumps(document))
    with pytest.raises(StateError, match="has no id; the state is corrupt"):
        read_state(path, stack="eng")
    from tests.conftest import copy_project

    root = copy_project(tmp_path / "full")
    (root / "stacks" / "Pulumi.eng.yaml").write_bytes((SCALEWAY / "Pulumi.eng.yaml").read_bytes())
    (root / "policy" / "config" / "eng.json").write_text("{}")
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "plan", "--stack", "eng", "--state", str(path)],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "the state is corrupt" in result.stderr and "DESTROYS" not in result.stdout


def _edited_export(tmp_path: Path, edit) -> Path:
    document = json.loads((KUBERNETES / "export.json").read_text())
    edit(document["deployment"]["resources"])
    path = tmp_path / "engk.json"
    path.write_text(json.dumps(document))
    return path


def test_stack_outputs_added_removed_or_changed_are_changes(tmp_path):
    def edit(resources):
        stack = next(r for r in resources if r["type"] == "pulumi:pulumi:Stack")
        stack["outputs"].pop("registry_endpoint")
        stack["outputs"]["retired"] = "x"
        stack["outputs"]["apiserver_url"] = "https://old.example:6443"

    plan, _ = plan_of(tmp_path, "kubernetes", KUBERNETES / "Pulumi.engk.yaml", _edited_export(tmp_path, edit))
    assert [urn for urn, action in as_recorded(plan).items() if action != "same"] == []
    # region and service_ips: changed since the record (OUTPUTS_CHANGED_SINCE)
    assert set(plan.output_changes) == {"registry_endpoint", "retired", "apiserver_url", "region", "service_ips"}
    assert plan.exit_code == EXIT_CHANGES
    text = format_text(plan)
    assert "+   registry_endpoint: rg.fr-par.scw.cloud/kapsule-engk-images" in text
    assert "-   retired: x" in text and "~   apiserver_url: https://old.example:6443 -> " in text
    assert "retired" in json.loads(format_json([plan]))[0]["output_changes"]


def test_a_deleted_secrets_data_is_masked_in_every_format(tmp_path):
    """A recorded Secret about to be deleted printed its data in clear under --format json."""
    clear = "c3VwZXItc2VjcmV0LXRva2Vu"

    def edit(resources):
        secret = next(r for r in resources if r["type"] == "kubernetes:core/v1:Secret")
        secret["inputs"]["data"] = {".dockerconfigjson": clear}
        secret["inputs"]["stringData"] = {"token": "super-secret-token"}
        secret["urn"] = secret["urn"].replace("registry-pull-apps", "registry-pull-old")

    plan, _ = plan_of(tmp_path, "kubernetes", KUBERNETES / "Pulumi.engk.yaml", _edited_export(tmp_path, edit))
    deleted = next(c for c in plan.changes if c.resource.name == "registry-pull-old")
    assert deleted.action == "delete"
    for output in (format_json([plan]), format_text(plan), format_markdown([plan])):
        assert clear not in output and "super-secret-token" not in output


def test_names_from_state_cannot_inject_markdown_or_terminal_escapes(tmp_path):
    hostile = "x\n# Owned @org/team `code` <b>\x1b[31m"

    def edit(resources):
        namespace = next(r for r in resources if r["type"] == "kubernetes:core/v1:Namespace")
        namespace["urn"] = namespace["urn"].rsplit("::", 1)[0] + "::" + hostile

    plan, _ = plan_of(tmp_path, "kubernetes", KUBERNETES / "Pulumi.engk.yaml", _edited_export(tmp_path, edit))
    markdown = format_markdown([plan])
    text = format_text(plan)
    assert "\x1b" not in markdown + text and "\n# Owned" not in markdown + text
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", markdown, flags=re.S))
    assert "@org" not in prose and "<b>" not in prose, "a mention or HTML outside code"
    caution = next(line for line in markdown.splitlines() if line.startswith("> Deleting"))
    assert caution.startswith("> Deleting `x\\n# Owned @org/team 'code' <b>\\x1b[31m` (`kubernetes:core/v1:Namespace`)")


def test_the_pull_request_comment_keeps_every_caution_and_the_details_that_fit(tmp_path):
    """140 pools in one stack pushed the destructive pool replacement of another out of the comment."""
    destructive, _ = plan_of(tmp_path / "b", "scaleway", SCALEWAY / "edits" / "b.yaml")
    assert destructive.destructive
    big_file = tmp_path / "Pulumi.big.yaml"
    document = (SCALEWAY / "Pulumi.eng.yaml").read_text()
    pools = "".join(f"    p{i}:\n      node_type: DEV1-M\n      zone: fr-par-1\n      size: 1\n" for i in range(140))
    big_file.write_text(
        document.replace("  kapsule:pools:\n", "  kapsule:pools:\n" + pools).replace("max_nodes", "max_nodes")
    )
    from kapsule.plan.stack import plan_stack

    big_root = project_for(tmp_path / "big", "eng", big_file)
    big = plan_stack("eng", big_root, None)
    big.stack = "big"
    small, _ = plan_of(tmp_path / "c", "scaleway", SCALEWAY / "edits" / "c.yaml")
    small.stack = "small"
    markdown = format_markdown([big, destructive, small])
    assert len(markdown) <= 65536
    assert "> Replacing `default` (`scaleway:kubernetes/pool:Pool`) destroys every node of the pool" in markdown
    assert "_The details of `big` do not fit in one comment" in markdown
    assert "maxSize: 3 -> 5" in markdown, "the stacks that fit keep their details"


def test_a_bare_url_in_a_sentence_from_outside_never_becomes_a_link():
    """GitHub autolinks `https://…` and `www.…` even in escaped text: the scheme and the host are broken."""
    from kapsule.reports.plan import prose

    shown = prose("kubeconfig from https://attacker.example/x, see www.attacker.example or HTTP://A.example")
    assert "://" not in shown and "www." not in shown
    assert (
        shown.replace("\u200b", "")
        == "kubeconfig from https://attacker.example/x, see www.attacker.example or HTTP://A.example"
    )
