"""CI's own way through the allow-list: `kapsule access open|close` through the Scaleway SDK against a loopback
fake of the Scaleway API (each request's method, path and body), the runner's address from a hostile address
service, and the workflow steps' own scripts run under bash."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from kapsule.access.acl import AccessError, close_access, open_access
from kapsule.access.address import AddressError, parse_address, runner_address
from tests.conftest import ROOT, copy_project

CLUSTER_ID = "11111111-2222-3333-4444-555555555555"
PROJECT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
ENVIRON = {"GITHUB_RUN_ID": "987", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "up", "GITHUB_WORKFLOW": "Deploy one stack"}
OTHER_RUN = {
    "id": "r-other",
    "ip": "51.15.9.9/32",
    "description": "kapsule-run 555-2 drift/prod Drift until 2026-11-21T15:00:00Z",
}
EXPIRED_RUN = {
    "id": "r-old",
    "ip": "51.15.8.8/32",
    "description": "kapsule-run 111-1 drift/prod Drift until 2026-11-20T03:00:00Z",
}
OFFICE = {"id": "r-office", "ip": "203.0.113.0/24", "description": "office egress, example range to replace"}


@contextmanager
def serve(handle: Callable[[BaseHTTPRequestHandler, str, bytes], tuple[int, bytes, float]]) -> Iterator[str]:
    """A loopback HTTP server answering with `handle`, stopped on exit even on failure."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, answer, delay = handle(self, self.command, body)
            time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                pass

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class FakeScaleway:
    """The K8s API's cluster list and ACL calls, as Scaleway answers them; every request recorded."""

    def __init__(self, rules: list[dict[str, Any]], clusters: list[dict[str, Any]] | None = None) -> None:
        self.rules = [dict(rule, region="fr-par", scaleway_ranges=False) for rule in rules]
        self.clusters = (
            clusters if clusters is not None else [{"id": CLUSTER_ID, "name": "kapsule-prod", "region": "fr-par"}]
        )
        self.requests: list[tuple[str, str, Any]] = []
        self.add_status = 200
        self.status = 200
        self.added = 0
        self.delay = 0.0

    @staticmethod
    def page(key: str, items: list[dict[str, Any]], query: str) -> bytes:
        """One page of a list, as Scaleway pages it (`page` from 1, `page_size`, `total_count`)."""
        asked = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
        page, size = int(asked.get("page", 1)), int(asked.get("page_size", 20))
        return json.dumps({key: items[(page - 1) * size : page * size], "total_count": len(items)}).encode()

    def __call__(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> tuple[int, bytes, float]:
        path, _, query = handler.path.partition("?")
        self.requests.append((method, path, json.loads(body) if body else None))
        acls = f"/k8s/v1/regions/fr-par/clusters/{CLUSTER_ID}/acls"
        if method == "GET" and self.status != 200:
            return self.status, json.dumps({"message": "no", "type": "denied"}).encode(), 0
        if method == "GET" and path == "/k8s/v1/regions/fr-par/clusters":
            assert f"project_id={PROJECT}" in query and "name=kapsule-prod" in query, query
            return 200, self.page("clusters", self.clusters, query), self.delay
        if method == "GET" and path == acls:
            return 200, self.page("rules", self.rules, query), self.delay
        if method == "POST" and path == acls:
            if self.add_status != 200:
                return (
                    self.add_status,
                    json.dumps({"message": "insufficient permissions", "type": "permissions_denied"}).encode(),
                    0,
                )
            added = [
                dict(rule, id=f"r-new-{self.added + i}", region="fr-par")
                for i, rule in enumerate(json.loads(body)["acls"])
            ]
            self.added += len(added)
            self.rules += added
            return 200, json.dumps({"rules": added}).encode(), 0
        if method == "DELETE" and path.startswith("/k8s/v1/regions/fr-par/acls/"):
            self.rules = [r for r in self.rules if r["id"] != path.rsplit("/", 1)[1]]
            return 204, b"", 0
        return 404, json.dumps({"message": "not found"}).encode(), 0


@pytest.fixture
def scaleway(monkeypatch):
    """A fake Scaleway API on loopback, and the SDK pointed at it through its own settings (SCW_API_URL)."""

    def start(rules: list[dict[str, Any]], **kwargs: Any):
        fake = FakeScaleway(rules, **kwargs)
        server = serve(fake)
        url = server.__enter__()
        stops.append(server)
        for key, value in scw_environment(url).items():
            monkeypatch.setenv(key, value)
        return fake

    stops: list[Any] = []
    yield start
    for server in stops:
        server.__exit__(None, None, None)


def scw_environment(url: str) -> dict[str, str]:
    return {
        "SCW_API_URL": url,
        "SCW_ACCESS_KEY": "SCWAAAAAAAAAAAAAAAAA",
        "SCW_SECRET_KEY": "00000000-0000-0000-0000-000000000000",
        "SCW_DEFAULT_PROJECT_ID": PROJECT,
        "SCW_CONFIG_PATH": "/nonexistent/kapsule-test-config.yaml",
    }


def test_open_adds_the_runners_one_address_and_hands_the_runs_rules_to_the_program(scaleway, tmp_path):
    fake = scaleway([OFFICE, OTHER_RUN, EXPIRED_RUN])
    github_env = tmp_path / "github_env"
    line = open_access("prod", environ={**ENVIRON, "GITHUB_ENV": str(github_env)}, now=NOW, address="51.15.20.30/32")
    mine = "kapsule-run 987-1 up/prod Deploy-one-stack until 2026-11-21T18:00:00Z"
    assert fake.requests == [
        ("GET", "/k8s/v1/regions/fr-par/clusters", {}),
        ("GET", f"/k8s/v1/regions/fr-par/clusters/{CLUSTER_ID}/acls", {}),
        (
            "POST",
            f"/k8s/v1/regions/fr-par/clusters/{CLUSTER_ID}/acls",
            {"acls": [{"ip": "51.15.20.30/32", "description": mine}]},
        ),
    ]
    assert line.endswith(f"allowed 51.15.20.30/32 to reach cluster kapsule-prod until 2026-11-21 18:00 UTC ({mine})")
    handed = exported(github_env)
    assert handed["KAPSULE_API_ACCESS_CLUSTER"] == f"fr-par/{CLUSTER_ID}"
    # The other run's rule, still its own, is kept; the expired one is not handed over, so a deploy removes it.
    assert json.loads(handed["KAPSULE_API_ACCESS_RUN_RULES"]) == [
        {"ip": OTHER_RUN["ip"], "description": OTHER_RUN["description"]},
        {"ip": "51.15.20.30/32", "description": mine},
    ]


def exported(github_env: Path) -> dict[str, str]:
    """The variables a step wrote to `$GITHUB_ENV`, the last value of each."""
    return dict(line.partition("=")[::2] for line in github_env.read_text().splitlines())  # type: ignore[misc]


def test_close_deletes_only_this_runs_rules(scaleway):
    mine = {
        "id": "r-mine",
        "ip": "51.15.20.30/32",
        "description": "kapsule-run 987-1 up/prod Deploy until 2026-11-21T18:00:00Z",
    }
    fake = scaleway(
        [OFFICE, OTHER_RUN, mine, {**OFFICE, "id": "r-lookalike", "description": "kapsule-run 987-1 but not ours"}]
    )
    line = close_access("prod", environ=ENVIRON)
    assert fake.requests[-1] == ("DELETE", "/k8s/v1/regions/fr-par/acls/r-mine", {})
    assert [r[0] for r in fake.requests].count("DELETE") == 1
    assert "removed 1 rule(s) of job 987-1 up/prod" in line


def test_a_first_deploy_hands_its_rule_over_for_the_cluster_it_creates(scaleway, tmp_path):
    fake = scaleway([], clusters=[{"id": "x", "name": "kapsule-prod-old", "region": "fr-par"}])
    github_env = tmp_path / "github_env"
    line = open_access("prod", environ={**ENVIRON, "GITHUB_ENV": str(github_env)}, now=NOW, address="51.15.20.30")
    assert [r[0] for r in fake.requests] == ["GET"]
    assert "does not exist yet" in line and "51.15.20.30/32" in github_env.read_text()


def test_a_read_only_key_says_a_runner_inside_the_private_network_is_needed(scaleway):
    fake = scaleway([OFFICE])
    fake.add_status = 403
    with pytest.raises(AccessError) as raised:
        open_access("prod", environ=ENVIRON, now=NOW, address="51.15.20.30")
    message = str(raised.value)
    assert "\n" not in message and "HTTP 403" in message and "read-only key" in message
    assert "self-hosted runner" in message and "KAPSULE_PRIVATE_RUNNER" in message


def test_full_isolation_refuses_in_one_line_before_any_call(scaleway, tmp_path):
    fake = scaleway([])
    root = copy_project(
        tmp_path / "project",
        {"prod": lambda c: c["kapsule:cluster"].__setitem__("api_access", {"full_isolation": True})},
    )
    with pytest.raises(AccessError) as raised:
        open_access("prod", environ=ENVIRON, now=NOW, address="51.15.20.30", root=root)
    assert "kapsule:cluster.api_access.full_isolation" in str(raised.value)
    assert "self-hosted runner" in str(raised.value) and "\n" not in str(raised.value)
    assert fake.requests == []
    assert close_access("prod", environ=ENVIRON, root=root).endswith("nothing to close")


def test_a_slow_scaleway_api_is_a_one_line_refusal_within_the_deadline(scaleway, monkeypatch):
    import kapsule.access.acl as acl

    fake = scaleway([OFFICE])
    fake.delay = 5
    with pytest.raises(AccessError, match="did not answer list the clusters within 0.5 s"):
        open_access("prod", environ=ENVIRON, now=NOW, address="51.15.20.30", scaleway=lambda r: acl.Scaleway(r, 0.5))


def test_outside_a_ci_run_nothing_is_opened(scaleway):
    fake = scaleway([OFFICE])
    with pytest.raises(AccessError, match="only for a CI run"):
        open_access("prod", environ={}, now=NOW, address="51.15.20.30")
    assert fake.requests == []


# The address service: hostile answers.


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"51.15.20.0/24\n", "a range of 256 addresses"),
        (b"10.0.0.7", "a private or reserved address"),
        (b"51.15.20.30 51.15.20.31", "2 values"),
        (b"51.15.20.30\n2a01:4f8::1\n", "2 values"),
        (b"", "nothing"),
        (b"   \n", "nothing"),
        (b"127.0.0.1", "a loopback address"),
        (b"x" * 10_000, "more than 256 bytes"),
        (b"\xff\xfe51.15.20.30", "not plain ASCII text"),
        (b"<html>51.15.20.30</html>", "is not an IP address"),
        (b"51.15.20.30\x1b[2J", "is not an IP address"),
    ],
)
def test_a_hostile_address_answer_is_refused_in_one_line(body, words):
    with pytest.raises(AddressError) as raised:
        parse_address(body, "the address service")
    assert words in str(raised.value) and "\n" not in str(raised.value) and "\x1b" not in str(raised.value)


def test_the_address_service_is_read_within_its_deadline():
    with serve(lambda _h, m, b: (200, b"51.15.20.30\n", 0)) as url:
        assert runner_address(url) == "51.15.20.30/32"
    # The server answers after 5 s: the refusal names the 0.5 s deadline, so it came from the deadline.
    with serve(lambda _h, m, b: (200, b"51.15.20.30", 5)) as url, pytest.raises(AddressError, match="within 0.5 s"):
        runner_address(url, deadline=0.5)
    with pytest.raises(AddressError, match="did not answer"):
        runner_address("http://127.0.0.1:9/", deadline=2)


# The workflow steps, run as GitHub runs them: bash, their `env:` with expressions filled in, their `run:` script.

WORKFLOWS = ROOT / ".github" / "workflows"


def steps(workflow: str, job: str) -> list[dict[str, Any]]:
    return yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"][job]["steps"]


def access_steps(workflow: str, job: str) -> tuple[int, dict[str, Any], int, dict[str, Any]]:
    found = steps(workflow, job)
    opening = next(i for i, s in enumerate(found) if "kapsule access open" in s.get("run", ""))
    closing = next(i for i, s in enumerate(found) if "kapsule access close" in s.get("run", ""))
    return opening, found[opening], closing, found[closing]


@pytest.mark.parametrize(
    ("workflow", "job", "needs"),
    [
        ("deploy-stack.yml", "up", "pulumi/actions@"),
        ("preview.yml", "preview", "pulumi/actions@"),
        ("drift.yml", "drift", "Check drift"),
        ("rotate.yml", "rotate", "Rotate the nodes past their age"),
    ],
)
def test_every_job_that_needs_the_api_server_opens_before_and_always_closes_after(workflow, job, needs):
    found = steps(workflow, job)
    opening, open_step, closing, close_step = access_steps(workflow, job)
    user = next(i for i, s in enumerate(found) if s.get("uses", "").startswith(needs) or s.get("name") == needs)
    assert opening < user < closing
    assert close_step["if"] == "always()" and "if" not in open_step
    assert closing == len(found) - 1
    for step in (open_step, close_step):
        assert "${{" not in step["run"]  # values reach the shell through env: only
    runs_on = yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"][job]["runs-on"]
    # The preview runs a branch's code: on a runner of its own, never the deploys' (test_workflow_security.py).
    runner = "vars.KAPSULE_PREVIEW_RUNNER" if workflow == "preview.yml" else "vars.KAPSULE_PRIVATE_RUNNER"
    assert runner in runs_on and runner in open_step["env"]["KAPSULE_PRIVATE_RUNNER"]


def run_step(step: dict[str, Any], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """A step's script under bash -e, from the repository root, as the runner runs it, with a fake `gh` first on PATH
    that fails if anything calls it: the steps need no GitHub API."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/bash\necho "gh $*" >> {tmp_path / "gh.log"}\nexit 1\n')
    gh.chmod(0o755)
    script = step["run"].replace(".venv/bin/python", str(ROOT / ".venv" / "bin" / "python"))
    environment = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "KAPSULE_TODAY": "2026-11-21",
        **env,
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def step_env(step: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    """The step's `env:` with each expression replaced by the value the test gives it."""
    return {key: values.get(str(value), "") for key, value in step["env"].items()}


def test_the_deploy_steps_open_for_the_runners_address_and_close_it_again_under_bash(scaleway, tmp_path):
    fake = scaleway([OFFICE, EXPIRED_RUN])
    github_env = tmp_path / "github_env"
    _, open_step, _, close_step = access_steps("deploy-stack.yml", "up")
    base = {
        **scw_environment(os.environ["SCW_API_URL"]),
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_JOB": "up",
        "GITHUB_WORKFLOW": "Deploy",
        "GITHUB_ENV": str(github_env),
    }
    with serve(lambda _h, m, b: (200, b"51.15.20.30\n", 0)) as address_url:
        expressions = {"${{ inputs.stack }}": "prod", "${{ vars.KAPSULE_ADDRESS_URL }}": address_url}
        opened = run_step(open_step, {**base, **step_env(open_step, expressions)}, tmp_path)
    assert opened.returncode == 0, opened.stderr
    assert "allowed 51.15.20.30/32 to reach cluster kapsule-prod" in opened.stdout
    posted = [r for r in fake.requests if r[0] == "POST"]
    assert len(posted) == 1 and posted[0][2]["acls"][0]["ip"] == "51.15.20.30/32"
    assert posted[0][2]["acls"][0]["description"].startswith("kapsule-run 4242-2 up/prod Deploy until ")
    assert "KAPSULE_API_ACCESS_RUN_RULES=" in github_env.read_text()
    closed = run_step(close_step, {**base, **step_env(close_step, {"${{ inputs.stack }}": "prod"})}, tmp_path)
    assert closed.returncode == 0, closed.stderr
    assert fake.requests[-1] == ("DELETE", "/k8s/v1/regions/fr-par/acls/r-new-0", {})
    assert [r["id"] for r in fake.rules] == ["r-office", "r-old"]
    assert not (tmp_path / "gh.log").exists()


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"51.15.20.0/24", "a range of 256"),
        (b"192.168.0.4", "private"),
        (b"51.15.20.30,51.15.20.31", "is not an IP address"),
        (b"", "nothing"),
    ],
)
def test_the_open_step_refuses_a_hostile_address_in_one_line_and_adds_nothing(scaleway, tmp_path, answer, words):
    fake = scaleway([OFFICE])
    _, open_step, _, _ = access_steps("drift.yml", "drift")
    with serve(lambda _h, m, b: (200, answer, 0)) as address_url:
        expressions = {"${{ matrix.stack }}": "prod", "${{ vars.KAPSULE_ADDRESS_URL }}": address_url}
        env = {**scw_environment(os.environ["SCW_API_URL"]), "GITHUB_RUN_ID": "1", "GITHUB_ENV": str(tmp_path / "e")}
        result = run_step(open_step, {**env, **step_env(open_step, expressions)}, tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr, result.stderr
    assert fake.requests == []


def test_the_open_step_on_a_private_runner_opens_nothing(scaleway, tmp_path):
    fake = scaleway([OFFICE])
    _, open_step, _, close_step = access_steps("preview.yml", "preview")
    expressions = {"${{ matrix.stack }}": "prod", "${{ vars.KAPSULE_PREVIEW_RUNNER }}": "kapsule-inside"}
    for step in (open_step, close_step):
        result = run_step(step, {**scw_environment(os.environ["SCW_API_URL"]), **step_env(step, expressions)}, tmp_path)
        assert result.returncode == 0, result.stderr
    assert fake.requests == []


# Defects an adversarial review found: each test failed before its fix.

PYTHON = str(ROOT / ".venv" / "bin" / "python")


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m kapsule ...` as a workflow step runs it."""
    return subprocess.run(
        [PYTHON, "-m", "kapsule", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": "/tmp", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("key", "value", "action"),
    [
        ("SCW_SECRET_KEY", "TOPSECRET-value-with-wrong-shape", "open"),
        ("SCW_ACCESS_KEY", "SCWLEAKEDACCESSKEYXXXX1", "close"),
    ],
)
def test_a_malformed_scaleway_key_is_never_printed(scaleway, tmp_path, key, value, action):
    fake = scaleway([OFFICE])
    env = {
        **scw_environment(os.environ["SCW_API_URL"]),
        key: value,
        "GITHUB_RUN_ID": "5",
        "ADDR": "51.15.20.30",
        "GITHUB_ENV": str(tmp_path / "e"),
    }
    result = cli(
        ["access", action, "--stack", "prod", "--address-from-env", "ADDR"][: 4 if action == "close" else 6], env
    )
    assert result.returncode == 1
    assert value[:12] not in result.stdout + result.stderr
    assert "credentials are not usable" in result.stderr and len(result.stderr.splitlines()) == 1
    assert fake.requests == []


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"GITHUB_WORKFLOW": "Déploiement"}, "allowed 51.15.20.30/32"),
        ({"GITHUB_ENV": "DIRECTORY"}, "GITHUB_ENV"),
    ],
)
def test_hostile_job_environment_is_one_line_never_a_traceback(scaleway, tmp_path, env, words):
    scaleway([OFFICE])
    values = {
        **scw_environment(os.environ["SCW_API_URL"]),
        "GITHUB_RUN_ID": "5",
        "ADDR": "51.15.20.30",
        "GITHUB_ENV": str(tmp_path / "e"),
        **{k: (str(tmp_path) if v == "DIRECTORY" else v) for k, v in env.items()},
    }
    result = cli(["access", "open", "--stack", "prod", "--address-from-env", "ADDR"], values)
    assert "Traceback" not in result.stderr
    assert words in result.stdout + result.stderr
    assert len((result.stdout + result.stderr).strip().splitlines()) == 1


def test_platform_stacks_naming_each_other_are_one_refusal(tmp_path):
    def platform(reference: str) -> Callable[[dict[str, Any]], None]:
        def edit(config: dict[str, Any]) -> None:
            config.clear()
            config.update({"kapsule:region": "fr-par", "kapsule:namespaces": ["apps"]})
            config["kapsule:existing_cluster"] = {"stack_reference": reference}

        return edit

    root = copy_project(
        tmp_path / "p", {"dev": platform("organization/kapsule/staging"), "staging": platform("kapsule/dev")}
    )
    with pytest.raises(AccessError, match="go round in a circle"):
        open_access("dev", environ=ENVIRON, now=NOW, address="51.15.20.30", root=root)


@pytest.mark.parametrize("reference", ["otherorg/kapsule/prod", "organization/otherproject/prod", "otherproject/prod"])
def test_a_stack_reference_of_another_project_opens_nothing_here(scaleway, tmp_path, reference):
    fake = scaleway([OFFICE])

    def edit(config: dict[str, Any]) -> None:
        config.clear()
        config.update({"kapsule:region": "fr-par", "kapsule:namespaces": ["apps"]})
        config["kapsule:existing_cluster"] = {"stack_reference": reference}

    root = copy_project(tmp_path / "p", {"dev": edit})
    line = open_access("dev", environ=ENVIRON, now=NOW, address="51.15.20.30", root=root)
    assert line.endswith("nothing to do here") and fake.requests == []


def test_the_runs_own_rule_past_the_first_page_is_closed(scaleway):
    filler = [
        {"id": f"r-{i}", "ip": f"203.0.{i // 250}.{i % 250}/32", "description": f"someone {i}"} for i in range(120)
    ]
    mine = {
        "id": "r-mine",
        "ip": "51.15.20.30/32",
        "description": "kapsule-run 987-1 up/prod Deploy until 2026-11-21T18:00:00Z",
    }
    fake = scaleway([*filler, mine])
    assert "removed 1 rule(s)" in close_access("prod", environ=ENVIRON)
    assert fake.requests[-1] == ("DELETE", "/k8s/v1/regions/fr-par/acls/r-mine", {})


def test_look_alike_clusters_do_not_hide_the_real_one(scaleway, tmp_path):
    # Scaleway's name filter matches part of a name: 100 look-alikes come first.
    clusters = [{"id": f"id-{i}", "name": f"kapsule-prod-{i}", "region": "fr-par"} for i in range(100)]
    scaleway([OFFICE], clusters=[*clusters, {"id": CLUSTER_ID, "name": "kapsule-prod", "region": "fr-par"}])
    line = open_access("prod", environ={**ENVIRON, "GITHUB_ENV": str(tmp_path / "e")}, now=NOW, address="51.15.20.30")
    assert "allowed 51.15.20.30/32 to reach cluster kapsule-prod" in line


def test_an_endless_cluster_list_is_refused_past_its_bound(scaleway):
    scaleway(
        [OFFICE], clusters=[{"id": f"id-{i}", "name": f"kapsule-prod-{i}", "region": "fr-par"} for i in range(700)]
    )
    with pytest.raises(AccessError, match="more than 500 items"):
        open_access("prod", environ=ENVIRON, now=NOW, address="51.15.20.30")


def test_two_jobs_of_one_run_keep_each_others_rule(scaleway, tmp_path):
    def platform(config: dict[str, Any]) -> None:
        config.clear()
        config.update({"kapsule:region": "fr-par", "kapsule:namespaces": ["apps"]})
        config["kapsule:existing_cluster"] = {"stack_reference": "organization/kapsule/prod"}

    root = copy_project(tmp_path / "p", {"dev": platform})
    fake = scaleway([OFFICE])
    drift = {**ENVIRON, "GITHUB_JOB": "drift"}
    open_access("prod", environ={**drift, "GITHUB_ENV": str(tmp_path / "a")}, now=NOW, address="51.15.20.30", root=root)
    open_access("dev", environ={**drift, "GITHUB_ENV": str(tmp_path / "b")}, now=NOW, address="51.15.20.31", root=root)
    # The second job hands over the first one's rule, though both are of one run.
    assert "51.15.20.30/32" in exported(tmp_path / "b")["KAPSULE_API_ACCESS_RUN_RULES"]
    assert "removed 1 rule(s) of job 987-1 drift/prod" in close_access("prod", environ=drift, root=root)
    assert [r["ip"] for r in fake.rules] == ["203.0.113.0/24", "51.15.20.31/32"]


def test_a_planted_rule_that_never_expires_is_not_handed_over(scaleway, tmp_path):
    planted = {
        "id": "r-x",
        "ip": "45.33.32.156/32",
        "description": "kapsule-run 1-1 drift/prod Drift until 2999-01-01T00:00:00Z",
    }
    scaleway([OFFICE, planted])
    open_access("prod", environ={**ENVIRON, "GITHUB_ENV": str(tmp_path / "e")}, now=NOW, address="51.15.20.30")
    assert "45.33.32.156" not in (tmp_path / "e").read_text()


def test_more_live_run_rules_than_a_deploy_takes_is_one_refusal_before_anything_is_added(scaleway, tmp_path):
    """Any key of the project can add rules in the run format: past what the deploy's program takes
    (MAX_HANDED_RULES, `parse_run_rules`), `open` refuses at once instead of handing over a list the deploy fails on."""
    from components.api_access import MAX_HANDED_RULES, parse_run_rules
    from kapsule.access.scaleway import AccessError

    def rule(index: int) -> dict[str, str]:
        return {
            "id": f"r-{index}",
            "ip": f"45.33.{index // 250}.{index % 250}/32",
            "description": f"kapsule-run {index}-1 drift/prod Drift until 2026-11-21T14:00:00Z",
        }

    fake = scaleway([OFFICE, *[rule(i) for i in range(MAX_HANDED_RULES - 1)]])
    environ = {**ENVIRON, "GITHUB_ENV": str(tmp_path / "fits")}
    open_access("prod", environ=environ, now=NOW, address="51.15.20.30")
    handed = exported(tmp_path / "fits")["KAPSULE_API_ACCESS_RUN_RULES"]
    assert len(parse_run_rules(handed, NOW)) == MAX_HANDED_RULES  # exactly what the deploy takes
    fake.rules[:] = [OFFICE, *[rule(i) for i in range(MAX_HANDED_RULES)]]
    with pytest.raises(AccessError, match=f"{MAX_HANDED_RULES} live rules of other runs"):
        open_access("prod", environ={**ENVIRON, "GITHUB_ENV": str(tmp_path / "over")}, now=NOW, address="51.15.20.31")
    assert "51.15.20.31/32" not in [r["ip"] for r in fake.rules]


def test_without_the_key_a_still_restricted_live_list_is_opened_all_the_same(scaleway, tmp_path):
    root = copy_project(tmp_path / "p", {"prod": lambda c: c["kapsule:cluster"].pop("api_access")})
    fake = scaleway([OFFICE])  # the key is gone from the stack file; the live list is still the office's
    line = open_access(
        "prod", environ={**ENVIRON, "GITHUB_ENV": str(tmp_path / "e")}, now=NOW, address="51.15.20.30", root=root
    )
    assert "still restricted" in line and [r[0] for r in fake.requests] == ["GET", "GET", "POST"]
    assert "removed 1 rule(s)" in close_access("prod", environ=ENVIRON, root=root)
    # Scaleway's default lets every address in: nothing to open.
    open_list = scaleway([{"id": "r-all", "ip": "0.0.0.0/0", "description": "default"}])
    line = open_access("prod", environ=ENVIRON, now=NOW, address="51.15.20.30", root=root)
    assert line.endswith("nothing to open") and [r[0] for r in open_list.requests] == ["GET", "GET"]


def test_the_deploys_program_keeps_a_rule_another_job_added_after_its_open(scaleway, tmp_path, monkeypatch):
    from kapsule.names import ACL
    from tests.conftest import render_stack

    fake = scaleway([OFFICE])
    open_access("prod", environ={**ENVIRON, "GITHUB_ENV": str(tmp_path / "deploy")}, now=NOW, address="51.15.20.30")
    preview = {**ENVIRON, "GITHUB_RUN_ID": "1000", "GITHUB_JOB": "preview", "GITHUB_ENV": str(tmp_path / "preview")}
    open_access("prod", environ=preview, now=NOW, address="51.15.20.40")
    handed = exported(tmp_path / "deploy")
    assert "51.15.20.40" not in handed["KAPSULE_API_ACCESS_RUN_RULES"]  # opened after the deploy's open
    # The program re-reads the live run rules once the cluster is known, right before the allow-list: the
    # preview's rule stays. (The rules here expire on NOW's day; the program reads them against the real clock.)
    until = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for rule in fake.rules:
        rule["description"] = rule["description"].replace("2026-11-21T18:00:00Z", until)
    mine = next(r for r in fake.rules if r["ip"] == "51.15.20.30/32")
    monkeypatch.setenv(
        "KAPSULE_API_ACCESS_RUN_RULES", json.dumps([{"ip": mine["ip"], "description": mine["description"]}])
    )
    monkeypatch.setenv("KAPSULE_API_ACCESS_CLUSTER", handed["KAPSULE_API_ACCESS_CLUSTER"])
    rules = render_stack("prod").one(ACL).inputs["aclRules"]
    assert [r.get("ip") for r in rules][-2:] == ["51.15.20.30/32", "51.15.20.40/32"]
    # Without the cluster named, nothing is read again (the offline plan, a run that opened nothing).
    monkeypatch.delenv("KAPSULE_API_ACCESS_CLUSTER")
    assert [r.get("ip") for r in render_stack("prod").one(ACL).inputs["aclRules"]][-1] == "51.15.20.30/32"


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "does not know this key (HTTP 401"), (403, "read-only key"), (503, "HTTP 503, its side")],
)
def test_each_scaleway_refusal_says_what_it_is(scaleway, status, words):
    fake = scaleway([OFFICE])
    fake.status = status
    with pytest.raises(AccessError, match=words.replace("(", r"\(")):
        open_access("prod", environ=ENVIRON, now=NOW, address="51.15.20.30")


def test_the_address_service_is_https_only_and_never_redirected():
    with pytest.raises(AddressError, match="not an https URL"):
        runner_address("http://example.com/")
    with pytest.raises(AddressError, match="not an https URL"):
        runner_address("ftp://127.0.0.1/")

    def redirect(handler: BaseHTTPRequestHandler, method: str, body: bytes) -> tuple[int, bytes, float]:
        if handler.path == "/moved":
            return 200, b"51.15.20.99", 0
        handler.send_response(302)
        handler.send_header("Location", "/moved")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return 302, b"", 0

    with serve(redirect) as url, pytest.raises(AddressError, match="redirects"):
        runner_address(url + "/")
