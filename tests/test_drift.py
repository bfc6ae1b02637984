"""Drift offline: the generated workflow, the issue kept through a local fake of `gh` (open, update, close),
the report's escaping and masking, and reading the engine's events into drifted paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from kapsule.drift.model import MASK, Step, collect, parse_path, value_at
from kapsule.drift.report import DriftReport, drift_document, format_drift_markdown, format_drift_text
from kapsule.names import ROOT
from kapsule.stackfile.stacks import deploy_order

DRIFT = ROOT / ".github" / "workflows" / "drift.yml"
SERVICE = "urn:pulumi:prod::kapsule::kapsule:load_balancer:LoadBalancerService$kubernetes:core/v1:Service::api"
SECRET = "urn:pulumi:prod::kapsule::kapsule:registry:RegistryPullSecret$kubernetes:core/v1:Secret::registry-pull-apps"
KEY = "service.beta.kubernetes.io/scw-loadbalancer-type"


def test_the_drift_workflow_runs_nightly_and_on_demand_never_on_pull_requests_with_minimal_permissions():
    workflow = yaml.safe_load(DRIFT.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"schedule", "workflow_dispatch"} and triggers["schedule"][0]["cron"]
    assert workflow["permissions"] == {"contents": "read", "issues": "write"}
    job = workflow["jobs"]["drift"]
    assert job["strategy"]["matrix"]["stack"] == [name for name, _ in deploy_order(ROOT)]
    assert job["environment"] == "${{ matrix.stack }}"
    deploy = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy-stack.yml").read_text())["jobs"]["up"]["env"]
    assert {k: v for k, v in job["env"].items()} == deploy  # the deploy job's credentials, no more
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert all("${{" not in run for run in runs)
    assert any('python -m kapsule.engine drift --stack "$STACK" --format markdown' in run for run in runs)
    assert any('python -m kapsule.drift.issue --stack "$STACK" --code "$CODE"' in run for run in runs)


FAKE_GH = textwrap.dedent(
    '''
    #!/usr/bin/env python3
    """A local fake of the GitHub CLI: the REST issues listing (filtered and paged as GitHub does), label create,
    and the issue commands, keeping issues in a JSON file and logging each call. What it creates, the workflow's
    own account (github-actions[bot]) authors."""
    import json, os, sys
    store = os.environ["FAKE_GH_STORE"]
    issues = json.load(open(store)) if os.path.exists(store) else []
    args = sys.argv[1:]
    with open(store + ".log", "a") as log:
        log.write(json.dumps(args) + "\\n")
    def opt(name):
        return args[args.index(name) + 1]
    def fields():
        return dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-f")
    if args[:1] == ["api"] and "repos/{owner}/{repo}/issues" in args:
        answer = os.environ.get("FAKE_GH_ANSWER", "")  # a hostile answer: endless, or nested past any parser
        if answer == "endless":
            while True:
                sys.stdout.write("[" * 65536)
        if answer == "deep":
            print("[" * 100000 + "]" * 100000)
            sys.exit(0)
        f = fields()
        unfiltered = answer == "unfiltered"  # the listing's filters not applied: every open issue comes back
        found = [
            i for i in issues
            if i["state"] == f["state"]
            and (unfiltered or not f.get("labels") or f["labels"] in i.get("labels", []))
            and (unfiltered or not f.get("creator") or i.get("user", {}).get("login") == f["creator"])
        ]
        size, page = int(f.get("per_page", 30)), int(f.get("page", 1))
        shown = found[(page - 1) * size : page * size]
        print(json.dumps([
            {"number": i["number"], "title": i["title"], "body": i["body"], "user": i.get("user", {}),
             "labels": [{"name": n} for n in i.get("labels", [])]}
            for i in shown
        ]))
        sys.exit(0)
    elif args[:2] == ["label", "create"]:
        sys.exit(0)
    elif args[:2] == ["issue", "create"]:
        number = len(issues) + 1
        issues.append({"number": number, "title": opt("--title"), "body": opt("--body"), "state": "open", "comments": [],
                       "user": {"login": "github-actions[bot]", "type": "Bot"}, "labels": [opt("--label")]})
        print(f"https://github.com/o/r/issues/{number}")
    elif args[:2] == ["issue", "edit"]:
        issue = next(i for i in issues if i["number"] == int(args[2]))
        issue["body"] = opt("--body")
    elif args[:2] == ["issue", "close"]:
        issue = next(i for i in issues if i["number"] == int(args[2]))
        issue["state"] = "closed"
        issue["comments"].append(opt("--comment"))
    else:
        sys.exit("fake gh: unexpected " + " ".join(args))
    json.dump(issues, open(store, "w"))
    '''
).lstrip()


def keep(
    tmp_path: Path, stack: str, code: int, report: str | None = None, answer: str = ""
) -> subprocess.CompletedProcess:
    (tmp_path / "bin").mkdir(exist_ok=True)
    gh = tmp_path / "bin" / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(0o755)
    args = [sys.executable, "-m", "kapsule.drift.issue", "--stack", stack, "--code", str(code)]
    if report is not None:
        (tmp_path / "drift.md").write_text(report)
        args += ["--report", str(tmp_path / "drift.md")]
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "FAKE_GH_STORE": str(tmp_path / "issues.json"),
        "FAKE_GH_ANSWER": answer,
    }
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)


def issues(tmp_path: Path) -> list[dict]:
    return json.loads((tmp_path / "issues.json").read_text()) if (tmp_path / "issues.json").exists() else []


def report_of(stack: str, live: str) -> str:
    drifted = collect(
        [
            Step(
                "refresh",
                SERVICE,
                "kubernetes:core/v1:Service",
                {f'metadata.annotations["{KEY}"]': "update"},
                {"inputs": {"metadata": {"annotations": {KEY: "LB-S"}}}},
                {"outputs": {"metadata": {"annotations": {KEY: live}}}},
            )
        ]
    )
    return format_drift_markdown(DriftReport(stack, drifted))


def test_the_issue_is_opened_on_drift_updated_while_it_stays_and_closed_once_clean(tmp_path):
    # Someone's own issue with the same title, without the report's marker, is never taken over.
    (tmp_path / "issues.json").write_text(
        json.dumps([{"number": 1, "title": "Drift in stack prod", "body": "my notes", "state": "open", "comments": []}])
    )
    first = keep(tmp_path, "prod", 2, report_of("prod", "LB-GP-M"))
    assert first.returncode == 0, first.stderr
    assert "issue opened https://github.com/o/r/issues/2" in first.stdout
    again = keep(tmp_path, "prod", 2, report_of("prod", "LB-GP-L"))
    assert again.returncode == 0 and "issue #2 updated" in again.stdout
    opened = [i for i in issues(tmp_path) if i["state"] == "open"]
    assert (
        [i["number"] for i in opened] == [1, 2]
        and "LB-GP-L" in opened[1]["body"]
        and "LB-GP-M" not in opened[1]["body"]
    )
    other = keep(tmp_path, "dev", 2, report_of("dev", "LB-GP-M"))
    assert other.returncode == 0 and len(issues(tmp_path)) == 3  # each stack its own issue
    clean = keep(tmp_path, "prod", 0)
    assert clean.returncode == 0 and "issue #2 closed" in clean.stdout
    closed = next(i for i in issues(tmp_path) if i["number"] == 2)
    assert closed["state"] == "closed" and "No drift in stack prod any more" in closed["comments"][0]
    assert next(i for i in issues(tmp_path) if i["number"] == 1)["state"] == "open"
    assert "no open issue" in keep(tmp_path, "prod", 0).stdout


def test_a_check_that_did_not_work_changes_no_issue_and_fails(tmp_path):
    result = keep(tmp_path, "prod", 1)
    assert result.returncode == 1 and "did not work" in result.stderr
    assert not (tmp_path / "issues.json.log").exists()
    wrong = keep(tmp_path, "prod", 2, report_of("dev", "x"))
    assert wrong.returncode == 1 and "not the markdown drift report of stack prod" in wrong.stderr


def test_text_set_live_cannot_mention_link_or_inject_html_in_the_issue():
    hostile = "@org/admins [click](https://evil.example) <img src=x onerror=alert(1)> | `tick`"
    body = report_of("prod", hostile)
    row = next(line for line in body.splitlines() if line.startswith("| `kubernetes"))
    assert "`@org/admins [click](https://evil.example) <img src=x onerror=alert(1)> \\| 'tick'`" in row
    outside = row.replace(row[row.index("`@org") : row.index("'tick'`") + 7], "")
    assert "@org" not in outside and "<img" not in outside and "](" not in outside


def test_a_secret_is_masked_and_paths_are_read_as_the_engine_writes_them():
    assert parse_path('metadata.annotations["a.b/c"]') == ["metadata", "annotations", "a.b/c"]
    assert parse_path("spec.ports[0].port") == ["spec", "ports", 0, "port"]
    assert value_at({"spec": {"ports": [{"port": 80}]}}, "spec.ports[0].port") == 80
    drifted = collect(
        [
            Step(
                "refresh",
                SECRET,
                "kubernetes:core/v1:Secret",
                {'data[".dockerconfigjson"]': "update"},
                {"inputs": {"data": {".dockerconfigjson": "c2VjcmV0LW9uZQ=="}}},
                {"outputs": {"data": {".dockerconfigjson": "c2VjcmV0LXR3bw=="}}},
            ),
            Step("refresh", SERVICE, "kubernetes:core/v1:Service", {}, {"inputs": {}}, {"outputs": {}}),
        ]
    )
    [secret] = drifted
    assert [(p.declared, p.live) for p in secret.paths] == [(MASK, MASK)]
    text = format_drift_text(DriftReport("prod", drifted))
    assert "c2VjcmV0" not in text and "[secret]" in text


def test_a_step_the_preview_would_take_shows_the_stack_files_value_and_a_resource_gone_live_is_a_create():
    drifted = collect(
        [
            Step(
                "refresh",
                SERVICE,
                "kubernetes:core/v1:Service",
                {"spec.ports[0].port": "update"},
                {"inputs": {"spec": {"ports": [{"port": 80}]}}},
                {"outputs": {"spec": {"ports": [{"port": 8080}]}}},
            ),
            Step(
                "update",
                SERVICE,
                "kubernetes:core/v1:Service",
                {"spec.ports[0].port": "update"},
                {},
                {"inputs": {"spec": {"ports": [{"port": 443}]}}},
            ),
            Step("refresh", SECRET, "kubernetes:core/v1:Secret", {}, {"inputs": {}}, {}),
        ]
    )
    service, secret = sorted(drifted, key=lambda d: d.type, reverse=True)
    assert [(p.path, p.declared, p.live) for p in service.paths] == [("spec.ports[0].port", 443, 8080)]
    assert secret.action == "create" and secret.paths[0].live == "gone"


FIXTURES = ROOT / "tests" / "fixtures"
CLUSTER_ID = "fr-par/0c4e2f1a-7b3d-4e5f-8a9b-1c2d3e4f5a6b"


def scaleway_side():
    """The Scaleway API's list responses in its wire format, read through the Scaleway SDK's own unmarshallers."""
    from scaleway.block.v1alpha1.marshalling import unmarshal_ListVolumesResponse
    from scaleway.lb.v1.marshalling import unmarshal_ListLbsResponse

    lbs = unmarshal_ListLbsResponse(json.loads((FIXTURES / "scaleway_list_lbs_response.json").read_text())).lbs
    volumes = unmarshal_ListVolumesResponse(
        json.loads((FIXTURES / "scaleway_list_volumes_response.json").read_text())
    ).volumes
    return lbs, volumes


BARE_ID = CLUSTER_ID.rsplit("/", 1)[-1]
GONE_SERVICE_LB = "6e1b3c2a-0d4f-4b8e-9a51-1f2d3c4b5a60"
LIVE_SERVICE = {
    "metadata": {
        "uid": "0f0f0f0f-0000-4000-8000-000000000000",
        "annotations": {
            "service.beta.kubernetes.io/scw-loadbalancer-id": "fr-par-1/7f2c4d3b-1e5a-4c9f-8b62-2a3e4d5c6b71"
        },
    }
}


def csi_volumes():
    """The fixture's volumes, named as a CSI driver with this cluster's prefix names them, and look-alikes:
    9b4e free (no PV), 0c5f held by this cluster's PV, another cluster's volume in use, a look-alike name
    without the cluster's ID, one of ours still attached, one of ours with IOPS no product has."""
    import dataclasses

    _, volumes = scaleway_side()
    free, held, _ = volumes
    own = f"{BARE_ID}_"
    return [
        dataclasses.replace(free, name=own + free.name),
        dataclasses.replace(held, name=own + held.name),
        dataclasses.replace(
            held,
            id="aaaaaaaa-0000-4000-8000-000000000001",
            name="ffffffff-0000-4000-8000-000000000000_pvc-11111111-2222-4333-8444-555555555555",
        ),
        dataclasses.replace(
            free, id="aaaaaaaa-0000-4000-8000-000000000002", name="pvc-22222222-2222-4333-8444-555555555555"
        ),
        dataclasses.replace(
            held, id="aaaaaaaa-0000-4000-8000-000000000003", name=own + "pvc-33333333-2222-4333-8444-555555555555"
        ),
        dataclasses.replace(
            free,
            id="aaaaaaaa-0000-4000-8000-000000000004",
            name=own + "pvc-44444444-2222-4333-8444-555555555555",
            specs=dataclasses.replace(free.specs, perf_iops=7000),
        ),
    ]


HELD_PV = {
    "metadata": {"name": "pvc-6d7e8f9a-0b1c-4d2e-8f3a-4b5c6d7e8f9a"},
    "spec": {"csi": {"driver": "csi.scaleway.com", "volumeHandle": "fr-par-1/0c5f7a6e-4b8d-4f2c-9e95-5d6b7a8f9e04"}},
}


def test_unmanaged_lists_only_what_it_can_prove_is_this_clusters_with_its_cost_labelled_an_estimate():
    import dataclasses

    from kapsule.cost.prices import load_prices
    from kapsule.drift.unmanaged import format_orphans, orphans

    lbs, _ = scaleway_side()
    lbs.append(dataclasses.replace(lbs[0], id="look-alike", name="x" + lbs[0].name))
    prices = load_prices()
    found = orphans(CLUSTER_ID, lbs, csi_volumes(), [LIVE_SERVICE], [HELD_PV], prices)
    assert [(o.kind, o.id) for o in found.orphans] == [
        ("load balancer", GONE_SERVICE_LB),
        ("block volume", "9b4e6f5d-3a7c-4e1b-8d84-4c5a6f7e8d93"),
        ("block volume", "aaaaaaaa-0000-4000-8000-000000000004"),
    ]
    lb, volume, odd = found.orphans
    assert lb.product == "LB-S" and lb.monthly == round(prices.monthly(prices.load_balancers["LB-S"]), 2)
    assert volume.product == "sbs_15k 50 GB" and volume.monthly == round(
        prices.monthly(prices.block_storage_per_gb["sbs_15k"], 50), 2
    )
    assert odd.monthly is None and odd.product == "sbs, IOPS 7000 50 GB"
    notes = format_orphans(found, prices.currency)
    assert "its Service (UID 3f6e8d2c-1a4b-4c5d-9e7f-0a1b2c3d4e5f) is gone" in notes[0]
    assert f"estimated {prices.currency} {lb.monthly:.2f} a month" in notes[0]
    assert "not priced: its IOPS are not a catalog product's" in notes[2] and "sbs_5k" not in notes[2]
    assert notes[-1].startswith(f"unmanaged resources cost {prices.currency} {lb.monthly + volume.monthly:.2f} a month")
    assert "2 of them estimates; 1 not priced" in notes[-1]
    # Another cluster's load balancer, a look-alike name, the hand-made volume: never listed.
    assert not any(
        n in " ".join(notes)
        for n in ("ffffffff", "database-backups", "look-alike", "aaaaaaaa-0000-4000-8000-000000000003")
    )


def test_unmanaged_attributes_no_volume_without_a_pv_that_shows_the_clusters_own_prefix():
    from kapsule.cost.prices import load_prices
    from kapsule.drift.unmanaged import format_orphans, orphans

    prices = load_prices()
    found = orphans(CLUSTER_ID, [], csi_volumes(), [], [], prices)
    assert found.orphans == []
    notes = format_orphans(found, prices.currency)
    assert notes[0].startswith("nothing unmanaged") and "6 block volume(s)" in notes[1] and "not attributed" in notes[1]


def test_orphans_with_no_drift_are_reported_in_every_format_and_exit_2(monkeypatch, capsys):
    """Billed orphans keep the drift issue open: exit 2 (the issue is opened or kept), drift or not."""
    from kapsule.engine import drift as drift_command

    monkeypatch.setattr(drift_command, "_has_state", lambda stack: True)
    # Node age is its own finding (tests/test_drift_age.py): here it was read, and nothing is past its age.
    monkeypatch.setattr(drift_command, "node_age", lambda stack, root: ([], ""))
    monkeypatch.setattr(drift_command.driver, "drift_preview", lambda stack, root, on_event: None)
    note = "unmanaged load balancer x (id, fr-par-1, LB-S): its Service is gone; estimated EUR 9.00 a month"
    monkeypatch.setattr(drift_command, "unmanaged_notes", lambda stack, root: ([note], 1))
    for fmt in ("text", "markdown", "json"):
        code = drift_command.run_drift("dev", fmt, unmanaged=True)
        out = capsys.readouterr().out
        assert code == 2, fmt
        assert "load balancer x" in out
    monkeypatch.setattr(drift_command, "unmanaged_notes", lambda stack, root: (["nothing unmanaged"], 0))
    assert drift_command.run_drift("dev", "markdown", unmanaged=True) == 0
    assert "nothing unmanaged" in capsys.readouterr().out


SECRET = "kubernetes:core/v1:Secret"
PLANTED = "planted-5ecret-value"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _secret_step(live_annotations):
    applied = json.dumps({"apiVersion": "v1", "kind": "Secret", "stringData": {"password": PLANTED}})
    live = {"metadata": {"name": "db", "annotations": {**live_annotations, LAST_APPLIED: applied}}}
    return Step(
        "update",
        "urn:pulumi:dev::p::kubernetes:core/v1:Secret::db",
        SECRET,
        {f'metadata.annotations["{LAST_APPLIED}"]': "add", "metadata": "update", "stringData.password": "update"},
        old={"inputs": {}, "outputs": {**live, "stringData": {"password": PLANTED}}},
        new={"inputs": {"metadata": {"name": "db"}, "stringData": {"password": "declared-0ther"}}},
    )


def test_a_secrets_live_last_applied_annotation_and_string_data_never_reach_a_report():
    (item,) = collect([_secret_step({"team": "shop"})])
    report = DriftReport("dev", [item])
    shown = format_drift_text(report) + format_drift_markdown(report) + json.dumps(drift_document(report))
    assert PLANTED not in shown and "declared-0ther" not in shown
    paths = {p.path: p for p in item.paths}
    assert paths[f'metadata.annotations["{LAST_APPLIED}"]'].live == MASK
    assert paths["metadata"].live == {"name": "db", "annotations": {"team": "shop", LAST_APPLIED: MASK}}
    assert paths["stringData.password"].live == MASK and paths["stringData.password"].declared == MASK


def test_a_secret_nested_inside_any_value_is_masked_at_its_depth():
    from kapsule.state.records import SECRET_SIG_KEY

    marked = {SECRET_SIG_KEY: "1b47061264138c4ac30d75fd1eb44270", "value": PLANTED}
    step = Step(
        "update",
        "urn:pulumi:dev::p::kubernetes:apiextensions.k8s.io:CustomResource::c",
        "kubernetes:apiextensions.k8s.io:CustomResource",
        {"spec": "update"},
        old={"outputs": {"spec": {"auth": [{"password": marked, "user": "app"}]}}},
        new={"inputs": {"spec": {"auth": [{"password": "x", "user": "app"}]}}},
    )
    (item,) = collect([step])
    assert item.paths[0].live == {"auth": [{"password": MASK, "user": "app"}]}
    assert PLANTED not in format_drift_text(DriftReport("dev", [item]))


def seed(tmp_path: Path, issues_: list[dict]) -> None:
    (tmp_path / "issues.json").write_text(json.dumps(issues_))


def look_alike(number: int, stack: str, body: str, login: str = "mallory", labels: tuple = ("kapsule-drift",)) -> dict:
    """An issue someone opened with the drift issue's title, marker and label: everything but the author."""
    return {
        "number": number,
        "title": f"Drift in stack {stack}",
        "body": body,
        "state": "open",
        "comments": [],
        "user": {"login": login, "type": "User"},
        "labels": list(labels),
    }


def test_an_issue_someone_else_opened_with_the_title_marker_and_label_is_never_written_to_or_closed(tmp_path):
    """Such an issue once got the report written into it, and was later closed by the workflow."""
    body = report_of("prod", "LB-GP-M")
    seed(tmp_path, [look_alike(1, "prod", body), look_alike(2, "prod", body, login="github-actions", labels=())])
    first = keep(tmp_path, "prod", 2, report_of("prod", "LB-GP-L"))
    assert first.returncode == 0 and "issue opened https://github.com/o/r/issues/3" in first.stdout, first.stderr
    clean = keep(tmp_path, "prod", 0)
    assert clean.returncode == 0 and "issue #3 closed" in clean.stdout
    others = [i for i in issues(tmp_path) if i["number"] in (1, 2)]
    assert [(i["state"], i["body"], i["comments"]) for i in others] == [("open", body, [])] * 2


def test_look_alikes_that_come_back_unfiltered_are_still_never_written_to(tmp_path):
    """The label and creator filters are GitHub's; the workflow checks author, type, label, title and marker
    itself too, so look-alikes in an answer that ignored the filters are left alone all the same."""
    body = report_of("prod", "LB-GP-M")
    crowd = [
        look_alike(1, "prod", body),  # another user, with the label
        look_alike(2, "prod", body, login="github-actions", labels=()),  # a look-alike login, no label
        {**look_alike(3, "prod", body, login="github-actions[bot]"), "user": {"login": "github-actions[bot]"}},
    ]
    seed(tmp_path, crowd)
    first = keep(tmp_path, "prod", 2, report_of("prod", "LB-GP-L"), answer="unfiltered")
    assert first.returncode == 0 and "issue opened https://github.com/o/r/issues/4" in first.stdout, first.stderr
    assert "issue #4 closed" in keep(tmp_path, "prod", 0, answer="unfiltered").stdout
    assert [(i["state"], i["body"]) for i in issues(tmp_path) if i["number"] < 4] == [("open", body)] * 3


@pytest.mark.parametrize(("answer", "words"), [("endless", "answered more than 8 MiB"), ("deep", "")])
def test_an_endless_or_nested_issue_listing_is_one_line_and_nothing_is_written(tmp_path, answer, words):
    result = keep(tmp_path, "prod", 2, report_of("prod", "LB-GP-L"), answer=answer)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("python -m kapsule.drift.issue: ") and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and issues(tmp_path) == []


def test_a_hundred_look_alikes_do_not_hide_the_workflows_own_issue(tmp_path):
    """With 100 issues of the same title the workflow once opened a second issue and left the real one open."""
    body = report_of("prod", "LB-GP-M")
    crowd = [look_alike(n, "prod", body) for n in range(1, 101)]
    seed(tmp_path, crowd)
    assert keep(tmp_path, "prod", 2, body).stdout.strip().endswith("issues/101")
    seed(tmp_path, [*issues(tmp_path), *[look_alike(n, "prod", body) for n in range(102, 202)]])
    again = keep(tmp_path, "prod", 2, report_of("prod", "LB-GP-L"))
    assert "issue #101 updated" in again.stdout, again.stdout + again.stderr
    assert "issue #101 closed" in keep(tmp_path, "prod", 0).stdout
    assert [i["number"] for i in issues(tmp_path) if i["state"] == "closed"] == [101]


def test_a_report_over_githubs_limit_is_cut_at_a_row_with_a_line_saying_where_the_whole_is(tmp_path):
    """150 rows of 300 characters (within the report's own bounds) made a 102,496-character body: no issue."""
    from kapsule.drift.issue import MAX_BODY_CHARACTERS

    head = report_of("prod", "LB-GP-M")
    rows = "".join(f"| `row {n}` | {'x' * 680} |\n" for n in range(150))  # 102,900 characters
    result = keep(tmp_path, "prod", 2, head + rows)
    assert result.returncode == 0, result.stderr
    [issue] = issues(tmp_path)
    assert len(issue["body"]) <= 65_536 and len(issue["body"]) > MAX_BODY_CHARACTERS - 400
    lines = issue["body"].splitlines()
    cut = next(n for n, line in enumerate(lines) if line.startswith("**The report was cut here:**"))
    assert lines[cut - 2].startswith("| `row ") and lines[cut - 2].endswith(" |")  # a whole row, then the cut
    kept = sum(1 for line in lines if line.startswith("| `row "))
    assert f"{150 - kept} more table row(s)" in lines[cut]
    assert "the whole report is in the job's summary and the `drift-prod` artifact" in lines[cut]
