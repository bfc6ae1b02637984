"""`kapsule upgrade` offline: the path for every pair of catalog minors, the refusals, the warnings, `--write` on
every real stack and on the engine-record stack against its real-engine export, the formats, and the parts
the preflight is made of (the removals table, Helm release decoding, room to move)."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from components.catalog import Catalog, MinorSupport, load_catalog
from kapsule.cli.main import parser
from kapsule.cli.upgrade import run_upgrade
from kapsule.names import ROOT
from kapsule.stackfile.reading import read_stack_file
from kapsule.stackfile.schema import parse
from kapsule.upgrade.helm import decode_release
from kapsule.upgrade.path import UpgradeError, plan_path
from kapsule.upgrade.preflight import CHECKS
from kapsule.upgrade.removals import REMOVALS_FILE, load_removals, parse_module, removals_document
from kapsule.upgrade.room import room_findings
from kapsule.upgrade.write import edited
from tests.conftest import STACKS

DAY = date(2026, 11, 21)
#: A day when 1.33 was still supported and 1.36 released (Scaleway's calendar): the three-step path existed.
BEFORE = date(2026, 8, 1)
RECORDS = ROOT / "tests" / "fixtures" / "engine-records"
CLUSTER_STACKS = [
    s
    for s in STACKS
    if "kapsule:cluster" in yaml.safe_load((ROOT / "stacks" / f"Pulumi.{s}.yaml").read_text())["config"]
]


def project(
    tmp_path: Path, version: str = "1.33", stack: str = "edge", source: Path = ROOT / "stacks" / "Pulumi.dev.yaml"
) -> Path:
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    (root / "policy" / "config").mkdir(parents=True)
    shutil.copy(ROOT / "__main__.py", root / "__main__.py")
    text = source.read_text()
    (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(text.replace('version: "1.35"', f'version: "{version}"'))
    (root / "policy" / "config" / f"{stack}.json").write_text("{}")
    return root


def upgrade(root: Path, capsys, *argv: str, stack: str = "edge", day: date = DAY) -> tuple[int, str, str]:
    args = parser().parse_args(["upgrade", "--stack", stack, *argv])
    code = run_upgrade(args, day, root=root)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def spec_at(version: str, auto: bool = True, pool_version: str | None = None):
    config = {k: v for k, v in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml").config.items()}
    cluster = json.loads(config["kapsule:cluster"])
    cluster["version"], cluster["auto_upgrade"]["enabled"] = version, auto
    if pool_version:
        cluster["upgrade_pools"] = False
        pools = json.loads(config["kapsule:pools"])
        pools["default"]["version"] = pool_version
        config["kapsule:pools"] = json.dumps(pools)
    config["kapsule:cluster"] = json.dumps(cluster)
    return parse("stacks/Pulumi.dev.yaml", config)


def test_the_bar_a_stack_on_133_planned_to_136_takes_three_steps_and_names_the_preflight(tmp_path, capsys):
    code, out, err = upgrade(project(tmp_path), capsys, "--to", "1.36", "--format", "json", day=BEFORE)
    report = json.loads(out)
    assert code == 2, err
    assert [step["version"] for step in report["steps"]] == ["1.34", "1.35", "1.36"]
    assert report["blockers"] == [] and all(step["blockers"] == [] for step in report["steps"])
    assert {c["name"] for c in report["steps"][0]["preflight"]} >= {
        "removed-apis",
        "deprecated-api-requests",
        "disruption-budgets",
        "room-to-move",
    }
    assert all(c["status"] == "not run" and "no credentials" in c["why"] for c in report["steps"][0]["preflight"])
    assert upgrade(project(tmp_path / "b"), capsys, "--to", "1.20")[0] == 1


@pytest.mark.parametrize("start,target", list(itertools.combinations_with_replacement(["1.34", "1.35", "1.36"], 2)))
def test_the_path_between_every_pair_of_supported_minors_is_one_minor_per_step(start, target):
    plan = plan_path(
        "dev", "stacks/Pulumi.dev.yaml", spec_at(start), start, "the stack file", target, load_catalog(), DAY
    )
    first, last = int(start.split(".")[1]), int(target.split(".")[1])
    assert [step.version for step in plan.steps] == [f"1.{m}" for m in range(first + 1, last + 1)]
    assert all(step.pools for step in plan.steps)  # never true of an empty pool list
    assert all(pool.follows and pool.version == step.version for step in plan.steps for pool in step.pools)


def test_a_minor_past_its_end_of_support_starts_the_path_where_scaleway_moves_it(tmp_path, capsys):
    """On the day, 1.33 is past its end of support: Scaleway moves the cluster to 1.34 by force, so the path starts
    there, and the plan says so with the date."""
    plan = plan_path(
        "dev", "stacks/Pulumi.dev.yaml", spec_at("1.33"), "1.33", "the stack file", "1.36", load_catalog(), DAY
    )
    assert [step.version for step in plan.steps] == ["1.35", "1.36"]
    assert plan.warnings == [
        "1.33 reached its end of support on 2026-11-04: Scaleway moves the cluster by force to 1.34's latest patch "
        "within 30 days, by 2026-12-04; set the version to 1.34 before then, so the stack file matches the cluster; "
        "the path starts from 1.34: apply its first step once Scaleway has moved it"
    ]
    code, out, _ = upgrade(project(tmp_path), capsys, "--to", "1.36", "--format", "json")
    assert code == 2 and [step["version"] for step in json.loads(out)["steps"]] == ["1.35", "1.36"]


@pytest.mark.parametrize(
    "target,message",
    [
        ("1.34", "Kapsule never downgrades a cluster"),
        ("1.20", "1.20 is not a Kubernetes version Kapsule offers"),
        ("1.37", "1.37 is not a Kubernetes version Kapsule offers"),
        ("1.36.1", "give the minor (1.36)"),
        ("latest", "not a Kubernetes minor"),
        ("1.33", "1.33 reached end of support on 2026-11-04"),
    ],
)
def test_a_target_the_catalog_does_not_offer_or_a_downgrade_is_refused(target, message):
    with pytest.raises(UpgradeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_path(
            "dev", "stacks/Pulumi.dev.yaml", spec_at("1.35"), "1.35", "the stack file", target, load_catalog(), DAY
        )


def test_the_command_refuses_with_exit_1_and_one_line(tmp_path, capsys):
    root = project(tmp_path, "1.35")
    code, out, err = upgrade(root, capsys, "--to", "1.34")
    assert code == 1 and out == "" and err.count("\n") == 1 and "never downgrades" in err
    code, _, err = upgrade(root, capsys, "--to", "1.36", stack="nope")
    assert code == 1 and "stacks/Pulumi.nope.yaml: does not exist" in err


def test_a_platform_stack_is_refused_naming_the_stack_its_cluster_belongs_to(tmp_path, capsys):
    root = project(tmp_path, stack="apps", source=ROOT / "stacks" / "Pulumi.local.yaml")
    path = root / "stacks" / "Pulumi.apps.yaml"
    path.write_text(
        path.read_text().replace(
            "kubeconfig_file: .tools/local/kubeconfig", "stack_reference: organization/kapsule/dev"
        )
    )
    code, _, err = upgrade(root, capsys, "--to", "1.36", stack="apps")
    assert code == 1
    assert (
        "cluster belongs to the stack organization/kapsule/dev" in err
        and "python -m kapsule upgrade --stack dev" in err
    )


def test_the_warnings_a_minor_ending_within_90_days_and_a_target_that_is_not_the_newest():
    catalog = load_catalog()
    late = date(2026, 9, 1)  # 1.34 ends on 2026-11-29, in 89 days
    plan = plan_path("dev", "stacks/Pulumi.dev.yaml", spec_at("1.33"), "1.33", "the stack file", "1.35", catalog, late)
    assert any("1.34 reaches end of support on 2026-11-29, in 89 days" in w for w in plan.steps[0].warnings)
    assert plan.steps[1].warnings == []
    assert any("1.35 is not the newest supported minor: 1.36 is" in w for w in plan.warnings)
    newest = plan_path("dev", "stacks/Pulumi.dev.yaml", spec_at("1.35"), "1.35", "the stack file", "1.36", catalog, DAY)
    assert newest.warnings == []


def test_a_pinned_stack_steps_through_each_minors_latest_patch_and_needs_a_catalog_that_knows_it():
    catalog = load_catalog()
    patched = Catalog(
        catalog.as_of,
        catalog.source,
        tuple(MinorSupport(**{**v.__dict__, "latest_patch": f"{v.minor}.7"}) for v in catalog.versions),
    )
    plan = plan_path(
        "dev", "stacks/Pulumi.dev.yaml", spec_at("1.34.2", auto=False), "1.34.2", "the stack file", "1.36", patched, DAY
    )
    assert [step.version for step in plan.steps] == ["1.35.7", "1.36.7"]
    with pytest.raises(
        UpgradeError, match="lists no patch of 1.35: refresh it with `python -m kapsule versions refresh`"
    ):
        plan_path(
            "dev",
            "stacks/Pulumi.dev.yaml",
            spec_at("1.34.2", auto=False),
            "1.34.2",
            "the stack file",
            "1.36",
            catalog,
            DAY,
        )


def test_pools_left_behind_say_how_far_and_block_past_the_skew_rule():
    spec = spec_at("1.33.1", auto=False, pool_version="1.33.1")
    catalog = load_catalog()
    patched = Catalog(
        catalog.as_of,
        catalog.source,
        tuple(MinorSupport(**{**v.__dict__, "latest_patch": f"{v.minor}.0"}) for v in catalog.versions),
    )
    plan = plan_path("dev", "stacks/Pulumi.dev.yaml", spec, "1.33.1", "the stack file", "1.36", patched, BEFORE)
    notes = [step.pools[0].note for step in plan.steps]
    assert notes[0].startswith("stays on 1.33.1 (its version is pinned): 1 minor(s) behind")
    assert all(not step.blockers for step in plan.steps)  # three minors behind is still allowed
    later = Catalog(
        patched.as_of,
        patched.source,
        (*patched.versions, MinorSupport("1.37", date(2026, 7, 15), None, None, "1.37.0")),
    )
    plan = plan_path("dev", "stacks/Pulumi.dev.yaml", spec, "1.33.1", "the stack file", "1.37", later, BEFORE)
    assert [bool(step.blockers) for step in plan.steps] == [False, False, False, True]
    assert "pool default: 1.33.1 is 4 minors behind the cluster's 1.37.0" in plan.steps[-1].blockers[0]


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_write_changes_only_the_version_line_of_every_real_stack_and_it_still_validates(tmp_path, capsys, stack):
    root = tmp_path / "project"
    shutil.copytree(ROOT / "stacks", root / "stacks")
    shutil.copytree(ROOT / "policy", root / "policy")
    shutil.copy(ROOT / "__main__.py", root / "__main__.py")
    path = root / "stacks" / f"Pulumi.{stack}.yaml"
    before = path.read_text()
    code, out, err = upgrade(root, capsys, "--to", "1.36", "--write", "--accept-unchecked", *CHECKS, stack=stack)
    after = path.read_text()
    assert code == 2, err
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=False) if a != b]
    assert len(before.splitlines()) == len(after.splitlines()) and len(changed) == 1
    assert changed[0][1].strip() == 'version: "1.36"'
    assert [line for line in before.splitlines() if "#" in line and "version" not in line] == [
        line for line in after.splitlines() if "#" in line and "version" not in line
    ]
    assert json.loads(parse(stack, read_stack_file(path).config).model_dump_json())["cluster"]["version"] == "1.36"
    assert (
        "kapsule:cluster.version is now '1.36'" in out and "no recorded state: every resource shows as a create" in out
    )


def test_write_against_the_real_engine_export_shows_the_cluster_updated_in_place(tmp_path, capsys):
    """The engine-record stack in the dev form (edit t: auto_upgrade, 1.35) against the export the real engine
    wrote at 1.35.2: the step to 1.36 is an update of the cluster, as edit a (1.35.2 to 1.35.3) was recorded."""
    root = project(tmp_path, stack="eng", source=RECORDS / "scaleway" / "edits" / "t.yaml")
    code, out, err = upgrade(
        root,
        capsys,
        "--to",
        "1.36",
        "--write",
        "--accept-unchecked",
        *CHECKS,
        "--format",
        "json",
        "--state",
        str(RECORDS / "scaleway" / "export.json"),
        stack="eng",
    )
    report = json.loads(out)
    assert code == 2, err
    assert report["written"] == {"file": "stacks/Pulumi.eng.yaml", "version": "1.36", "cluster_action": "update"}
    assert (
        'version: "1.36"' in (root / "stacks" / "Pulumi.eng.yaml").read_text()
        or "version: '1.36'" in (root / "stacks" / "Pulumi.eng.yaml").read_text()
    )


def test_the_edit_keeps_comments_and_quoting_and_refuses_a_flow_mapping():
    text = "config:\n  # the cluster\n  kapsule:cluster:\n    name: a  # its name\n    version: '1.34'  # bump me\n    auto_upgrade:\n      version: x\n"
    assert edited(text, "1.35", "f") == text.replace("'1.34'", "'1.35'")
    plain = "config:\n  kapsule:cluster:\n    version: 1.34.2\n"
    assert edited(plain, "1.35.1", "f") == 'config:\n  kapsule:cluster:\n    version: "1.35.1"\n'
    with pytest.raises(UpgradeError, match="set it to '1.35' by hand"):
        edited("config:\n  kapsule:cluster: {version: '1.34'}\n", "1.35", "f")


def test_the_markdown_is_the_step_comment_and_escapes_what_it_shows(tmp_path, capsys):
    code, out, _ = upgrade(project(tmp_path), capsys, "--to", "1.36", "--format", "markdown", day=BEFORE)
    assert code == 2
    assert out.startswith("<!-- kapsule-upgrade -->\n## Kapsule upgrade: `edge`, `1.33` to `1.36`")
    assert "This pull request is step 1 of 3: `kapsule:cluster.version` becomes `1.34`." in out
    assert "| 3 | `1.36` |" in out and "### Preflight" in out and "<script" not in out


def test_the_cli_prints_the_plan_and_exits_2_for_a_real_stack():
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "upgrade", "--stack", "dev", "--to", "1.36"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "KAPSULE_TODAY": "2026-11-21"},
    )
    assert result.returncode == 2, result.stderr
    assert "Step 1 of 1: kapsule:cluster.version 1.36" in result.stdout and "not run: no credentials" in result.stdout


def test_the_removals_table_parses_the_prerelease_lifecycle_of_k8s_io_api(tmp_path):
    package = tmp_path / "policy" / "v1beta1"
    package.mkdir(parents=True)
    (package / "register.go").write_text('package v1beta1\nconst GroupName = "policy"\n')
    (package / "zz_generated.prerelease-lifecycle.go").write_text(
        "func (in *PodDisruptionBudget) APILifecycleDeprecated() (major, minor int) {\n\treturn 1, 22\n}\n"
        "func (in *PodDisruptionBudget) APILifecycleReplacement() schema.GroupVersionKind {\n"
        '\treturn schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}\n}\n'
        "func (in *PodDisruptionBudget) APILifecycleRemoved() (major, minor int) {\n\treturn 1, 25\n}\n"
        "func (in *PodDisruptionBudgetList) APILifecycleRemoved() (major, minor int) {\n\treturn 1, 25\n}\n"
    )
    assert parse_module(tmp_path) == [
        {
            "group": "policy",
            "version": "v1beta1",
            "kind": "PodDisruptionBudget",
            "deprecated": "1.22",
            "removed": "1.25",
            "replacement": "policy/v1 PodDisruptionBudget",
        }
    ]
    source, removals = load_removals()
    assert "deprecation-guide" in source and any(
        r.api_version == "policy/v1beta1" and r.removed == "1.25" for r in removals
    )


def test_the_committed_removals_table_is_what_the_k8s_io_api_module_says():
    """Against the upstream source itself: the module `make engine` downloads through the Go module proxy."""
    from kapsule.upgrade.removals import API_MODULE_VERSION

    module = (
        Path(
            subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True).stdout.strip() or "/nonexistent"
        )
        / f"k8s.io/api@{API_MODULE_VERSION}"
    )
    if not module.is_dir():
        pytest.skip(f"k8s.io/api@{API_MODULE_VERSION} is not in the Go module cache (make engine downloads it)")
    assert json.loads(REMOVALS_FILE.read_text()) == removals_document(module, API_MODULE_VERSION)


def test_a_helm_release_is_read_as_helm_stores_it_and_a_bomb_is_refused():
    release = {
        "name": "web",
        "chart": {"metadata": {"name": "web", "version": "1.0.0"}},
        "manifest": "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\n",
    }
    stored = base64.b64encode(base64.b64encode(gzip.compress(json.dumps(release).encode()))).decode()
    assert decode_release(stored)["manifest"].startswith("apiVersion: policy/v1beta1")
    bomb = base64.b64encode(base64.b64encode(gzip.compress(b"[" * (40 * 1024 * 1024)))).decode()
    with pytest.raises(ValueError, match="MiB unpacked"):
        decode_release(bomb)
    with pytest.raises(ValueError, match="not base64"):
        decode_release("%%%")


def node(name, pool, cpu="2", memory="4Gi"):
    return {
        "metadata": {"name": name, "labels": {"k8s.scaleway.com/pool-name": pool}},
        "spec": {},
        "status": {"allocatable": {"cpu": cpu, "memory": memory}},
    }


def pod(node_name, cpu, memory, daemon=False):
    owners = [{"kind": "DaemonSet", "controller": True}] if daemon else [{"kind": "ReplicaSet", "controller": True}]
    return {
        "metadata": {"ownerReferences": owners},
        "spec": {"nodeName": node_name, "containers": [{"resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
    }


def test_room_to_move_counts_the_other_nodes_and_the_surge_and_says_it_is_an_estimate():
    nodes = [node("a", "default-1a2b3c4"), node("b", "default-1a2b3c4")]
    pods = [pod("a", "1500m", "1Gi"), pod("b", "1", "1Gi"), pod("a", "1", "1Gi", daemon=True)]
    [(text, blocks)] = room_findings({"default": (1, 0)}, nodes, pods)
    assert blocks and "moves 1.50 CPU and 1.00 GiB" in text and "have 1.00 CPU and 3.00 GiB free: does not fit" in text
    [(text, blocks)] = room_findings({"default": (1, 1)}, nodes, pods)
    assert not blocks and "and 1 surge node(s) have 3.00 CPU and 7.00 GiB free: fits" in text and "an estimate" in text
    [(text, blocks)] = room_findings({"other": (1, 0)}, nodes, pods)
    assert not blocks and "not estimated" in text


def test_a_kubeconfig_given_by_hand_that_is_not_one_is_bad_input(tmp_path, capsys):
    root = project(tmp_path)
    broken = tmp_path / "broken"
    broken.write_text("clusters: [")
    for given, message in (
        (broken, "the kubeconfig cannot be used"),
        (Path("/dev/zero"), "is not a regular file"),
        (tmp_path / "none", ""),
    ):
        code, out, err = upgrade(root, capsys, "--to", "1.36", "--kubeconfig", str(given))
        assert code == 1 and out == "" and message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("old", "new", "written"),
    [
        ('version: "1.33"', 'version: "1.33"\t# pinned by the team', True),
        ('version: "1.33"', "version: >-\n      1.33", False),
        ('version: "1.33"', 'version: "1.3\\\n      3"', False),
        ('version: "1.33"\n', 'version: "1.33"\x85', False),
    ],
    ids=["tab-before-comment", "block-scalar", "quoted-continuation", "nel-line-break"],
)
def test_write_on_a_stack_file_the_plan_accepts_edits_it_or_says_why_in_one_line(
    tmp_path, capsys, monkeypatch, old, new, written
):
    monkeypatch.setenv("KAPSULE_TODAY", BEFORE.isoformat())  # the day of the path and of the plan --write runs
    root = project(tmp_path)
    path = root / "stacks" / "Pulumi.edge.yaml"
    path.write_text(path.read_text().replace(old, new), newline="")
    read_stack_file(path)  # the plan reads it
    before = path.read_bytes()
    code, out, err = upgrade(root, capsys, "--to", "1.36", "--write", "--accept-unchecked", *CHECKS, day=BEFORE)
    assert "Traceback" not in err
    if written:
        assert code == 2, err
        assert 'version: "1.34"\t# pinned by the team' in path.read_text()
    else:
        assert code == 1 and err.count("\n") == 1 and "set it to '1.34' by hand" in err, err
        assert path.read_bytes() == before


def test_prods_max_unavailable_0_drains_one_node_at_a_time_onto_its_surge_node():
    """Prod's pools drain with max_unavailable 0 and max_surge 1: one node at a time, its pods onto the surge node."""
    prod = parse("stacks/Pulumi.prod.yaml", read_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml").config)
    policies = {name: (p.upgrade_policy.max_unavailable, p.upgrade_policy.max_surge) for name, p in prod.pools.items()}
    assert set(policies.values()) == {(0, 1)}
    nodes = [node("a", "default-1a2b3c4"), node("b", "default-1a2b3c4")]
    full = [pod("a", "1900m", "3Gi"), pod("b", "1900m", "3Gi")]
    [(text, blocks)] = room_findings({"default": (0, 1)}, nodes, full)
    assert not blocks and "draining its 1 fullest node(s) moves 1.90 CPU and 3.00 GiB" in text
    [(text, blocks)] = room_findings({"default": (0, 0)}, nodes, full)
    assert blocks and "does not fit" in text


def test_upgrade_pools_false_leaves_an_unpinned_pool_on_the_clusters_version_and_says_why():
    config = dict(read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml").config)
    cluster = json.loads(config["kapsule:cluster"])
    cluster["version"], cluster["upgrade_pools"] = "1.33", False
    config["kapsule:cluster"] = json.dumps(cluster)
    spec = parse("stacks/Pulumi.dev.yaml", config)
    plan = plan_path("dev", "stacks/Pulumi.dev.yaml", spec, "1.33", "the stack file", "1.36", load_catalog(), DAY)
    pools = [pool for step in plan.steps for pool in step.pools]
    assert pools and not any(pool.follows for pool in pools)
    assert all(pool.version == "1.33" and "cluster.upgrade_pools is false" in pool.note for pool in pools)


def test_each_step_carries_its_minors_end_of_support_and_each_pool_by_name_with_its_size_and_budget():
    plan = plan_path(
        "dev", "stacks/Pulumi.dev.yaml", spec_at("1.34"), "1.34", "the stack file", "1.36", load_catalog(), DAY
    )
    assert [(step.version, step.end_of_support) for step in plan.steps] == [
        ("1.35", date(2027, 3, 19)),
        ("1.36", date(2027, 9, 7)),
    ]
    assert {(pool.name, pool.nodes, pool.max_unavailable, pool.max_surge) for s in plan.steps for pool in s.pools} == {
        ("default", "1 to 3 nodes (autoscaled)", 1, 0)
    }
