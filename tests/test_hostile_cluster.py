"""The upgrade preflight against a hostile API server of the tests' own on loopback (tests/hostile_api.py): what
anyone with a namespace, or the server itself, can send. Each case was once a leak, a fail-open, a traceback
or a hang; each stays a regression test. The real kube-apiserver cases are in tests/e2e/test_upgrade.py."""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from datetime import date

import pytest

from kapsule.upgrade.preflight import CHECKS
from tests.hostile_api import Running, helm_release, kubeconfig
from tests.test_upgrade import project, upgrade

TOKEN = "kapsule-test-token-5f0c1b2e9d"
#: A day when 1.33 and 1.34 are supported and not deprecated (1.34 is, from 2026-09-29, and a new cluster on it is
#: refused) and 1.36 is out: the path from the stack's 1.33 is 1.34, 1.35, 1.36.
SUPPORTED_1_33 = date(2026, 8, 1)
POOL = "default-1a2b3c4"
BLOCKING_PDB = {
    "metadata": {"namespace": "shop", "name": "web"},
    "spec": {"minAvailable": 1},
    "status": {"disruptionsAllowed": 0, "expectedPods": 1, "currentHealthy": 1, "desiredHealthy": 1},
}


@pytest.fixture
def server():
    running = Running()
    try:
        yield running.server
    finally:
        running.stop()


def healthy(server, pods=None, budgets=None, secrets=None, nodes=None) -> None:
    """A small cluster that answers well: two nodes of the default pool, what the test gives, /metrics allowed."""
    server.json("/version", {"gitVersion": "v1.33.5"})
    server.json(
        "/apis",
        {
            "groups": [
                {
                    "name": "admissionregistration.k8s.io",
                    "preferredVersion": {"groupVersion": "admissionregistration.k8s.io/v1"},
                    "versions": [{"groupVersion": "admissionregistration.k8s.io/v1"}],
                },
                {
                    "name": "policy",
                    "preferredVersion": {"groupVersion": "policy/v1"},
                    "versions": [{"groupVersion": "policy/v1"}],
                },
            ]
        },
    )
    server.json("/api/v1", {"resources": [{"name": "pods", "kind": "Pod", "namespaced": True, "verbs": ["list"]}]})
    server.json(
        "/apis/admissionregistration.k8s.io/v1",
        {
            "resources": [
                {
                    "name": "validatingadmissionpolicies",
                    "kind": "ValidatingAdmissionPolicy",
                    "namespaced": False,
                    "verbs": ["list"],
                }
            ]
        },
    )
    server.json("/apis/policy/v1", {"resources": []})
    server.pages("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", [])
    server.pages(
        "/api/v1/nodes",
        nodes
        if nodes is not None
        else [
            {
                "metadata": {"name": f"node-{i}", "labels": {"k8s.scaleway.com/pool-name": POOL}},
                "status": {"allocatable": {"cpu": "4", "memory": "8Gi"}},
            }
            for i in (1, 2)
        ],
    )
    server.pages("/api/v1/pods", pods or [])
    server.pages("/apis/policy/v1/poddisruptionbudgets", budgets or [])
    server.pages("/api/v1/secrets", secrets or [])
    server.routes["/metrics"] = lambda handler, query: handler.send_bytes(b"# nothing\n", kind="text/plain")


def run(tmp_path, capsys, server, *argv, user=None, fmt="text"):
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "kubeconfig"
    config.write_text(kubeconfig(server.url, user or {"token": TOKEN}))
    root = project(tmp_path)
    with pytest.MonkeyPatch.context() as patch:  # the plan --write runs reads the same day
        patch.setenv("KAPSULE_TODAY", SUPPORTED_1_33.isoformat())
        return upgrade(
            root, capsys, "--to", "1.36", "--kubeconfig", str(config), "--format", fmt, *argv, day=SUPPORTED_1_33
        )


def checks(out: str) -> dict[str, dict]:
    return {check["name"]: check for check in json.loads(out)["steps"][0]["preflight"]}


def test_a_token_ending_in_a_newline_is_sent_trimmed_and_never_printed_in_any_format(tmp_path, capsys, server):
    healthy(server)
    for fmt in ("text", "json", "markdown"):
        code, out, err = run(tmp_path / fmt, capsys, server, user={"token": TOKEN + "\n"}, fmt=fmt)
        assert TOKEN not in out + err
        assert code == 2, err
    sent = {headers.get("Authorization") for _, headers in server.requests}
    assert sent == {f"Bearer {TOKEN}"}


def test_a_403_on_metrics_leaves_every_other_check_running_and_a_blocking_budget_exits_3(tmp_path, capsys, server):
    healthy(server, budgets=[BLOCKING_PDB])
    server.json("/metrics", {"kind": "Status", "code": 403}, status=403, reason="Forbidden")
    code, out, _ = run(tmp_path, capsys, server, fmt="json")
    found = checks(out)
    assert code == 3
    assert found["deprecated-api-requests"]["status"] == "not run" and "403" in found["deprecated-api-requests"]["why"]
    assert found["disruption-budgets"]["status"] == "blocked"
    assert any("PodDisruptionBudget shop/web" in b for b in json.loads(out)["blockers"])
    code, out, _ = run(tmp_path / "w", capsys, server, "--write")
    assert code == 3 and "Nothing blocks" not in out


def test_a_check_that_did_not_run_is_on_the_summary_line_and_write_needs_accept_unchecked(tmp_path, capsys, server):
    healthy(server)
    server.json("/metrics", {}, status=403, reason="Forbidden")
    code, out, err = run(tmp_path, capsys, server)
    assert code == 2
    assert "No blocker found, but 1 check(s) that could block did not run: deprecated-api-requests" in out
    root_file = tmp_path / "project" / "stacks" / "Pulumi.edge.yaml"
    before = root_file.read_text()
    code, out, err = run(tmp_path / "again", capsys, server, "--write")
    assert code == 1 and "--accept-unchecked deprecated-api-requests" in err
    assert (tmp_path / "again" / "project" / "stacks" / "Pulumi.edge.yaml").read_text() == before
    code, out, err = run(tmp_path / "third", capsys, server, "--write", "--accept-unchecked", "deprecated-api-requests")
    assert code == 2, err
    assert 'version: "1.34"' in (tmp_path / "third" / "project" / "stacks" / "Pulumi.edge.yaml").read_text()


NESTED = "[" * 100_000 + "]" * 100_000


def test_a_nested_last_applied_annotation_is_one_clear_finding_and_the_managed_fields_still_block(
    tmp_path, capsys, server
):
    healthy(server)
    policies = [
        {"metadata": {"name": "deep", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": NESTED}}},
        {
            "metadata": {
                "name": "old",
                "managedFields": [{"manager": "kubectl", "apiVersion": "admissionregistration.k8s.io/v1beta1"}],
            }
        },
    ]
    server.pages("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", policies)
    code, out, err = run(tmp_path, capsys, server, fmt="json")
    assert "Traceback" not in err
    removed = checks(out)["removed-apis"]
    assert removed["status"] == "blocked" and code == 3
    assert any("ValidatingAdmissionPolicy deep" in f and "nested too deeply" in f for f in removed["findings"])
    assert any(
        "ValidatingAdmissionPolicy old (stored fields written by kubectl)" in b for b in json.loads(out)["blockers"]
    )


def test_helm_releases_are_read_and_nested_json_or_yaml_in_one_is_a_finding_not_a_crash(tmp_path, capsys, server):
    removed_api = (
        "apiVersion: admissionregistration.k8s.io/v1beta1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: p\n"
    )
    deep_yaml = "a: " + "[" * 50_000 + "]" * 50_000 + "\n"
    secrets = [
        helm_release("shop", "old-chart", "---\n" + removed_api),
        helm_release("shop", "deep-yaml", deep_yaml),
        helm_release("shop", "deep-flow", "---\n" + "- " * 5_000 + "x\n"),
    ]
    healthy(server, secrets=secrets)
    code, out, err = run(tmp_path, capsys, server, fmt="json")
    assert "Traceback" not in err and code == 3
    removed = checks(out)["removed-apis"]
    assert any(
        "Helm release shop/old-chart (old-chart-1.0.0): ValidatingAdmissionPolicy p" in b
        for b in json.loads(out)["blockers"]
    )
    assert any(
        "shop/deep-yaml (unreadable release: a document nested deeper than 64 levels)" in f for f in removed["findings"]
    )
    assert any("shop/deep-flow (unreadable release" in f for f in removed["findings"])


def test_a_body_that_never_finishes_is_not_run_within_the_deadline_and_other_checks_still_report(
    tmp_path, capsys, server
):
    healthy(server, budgets=[BLOCKING_PDB])
    server.routes["/api/v1/pods"] = lambda handler, query: handler.send_slowly()
    started = time.monotonic()
    code, out, _ = run(tmp_path, capsys, server, "--deadline", "3s", fmt="json")
    took = time.monotonic() - started
    found = checks(out)
    assert took < 8, took
    assert found["pods-without-controller"]["status"] == "not run"
    assert "did not finish" in found["pods-without-controller"]["why"]
    assert found["room-to-move"]["status"] == "not run"
    assert found["disruption-budgets"]["status"] == "blocked" and code == 3


def test_endless_continue_tokens_on_empty_pages_stop_at_the_request_budget(tmp_path, capsys, server):
    healthy(server, budgets=[BLOCKING_PDB])
    counter = iter(range(1, 100_000))
    server.routes["/api/v1/pods"] = lambda handler, query: handler.send_json(
        {"metadata": {"continue": f"t{next(counter)}"}, "items": []}
    )
    started = time.monotonic()
    code, out, _ = run(tmp_path, capsys, server, fmt="json")
    assert time.monotonic() - started < 30
    why = checks(out)["pods-without-controller"]["why"]
    assert re.match(r"budget exceeded after \d+ objects \(400 requests", why), why
    assert sum(1 for path, _ in server.requests if path == "/api/v1/pods") <= 400
    assert checks(out)["disruption-budgets"]["status"] == "blocked" and code == 3


def test_twenty_thousand_api_groups_stop_at_the_request_budget(tmp_path, capsys, server):
    healthy(server)
    groups = [
        {"name": f"g{i}.example.com", "preferredVersion": {"groupVersion": f"g{i}.example.com/v1"}}
        for i in range(20_000)
    ]
    server.json("/apis", {"groups": groups})
    for i in range(20_000):
        server.json(f"/apis/g{i}.example.com/v1", {"resources": []})
    code, out, _ = run(tmp_path, capsys, server, fmt="json")
    removed = checks(out)["removed-apis"]
    assert removed["status"] == "not run" and removed["why"].startswith("budget exceeded after 0 objects (400 requests")
    assert len(server.requests) < 500


def test_a_30_mib_page_is_refused_not_held(tmp_path, capsys, server):
    healthy(server)
    page = json.dumps({"items": [{"metadata": {"name": "x" * (30 * 2**20)}}]}).encode()
    server.routes["/api/v1/pods"] = lambda handler, query: handler.send_bytes(page)
    code, out, _ = run(tmp_path, capsys, server, fmt="json")
    assert "over 16 MiB" in checks(out)["pods-without-controller"]["why"]


@pytest.mark.parametrize(
    ("route", "answer", "check"),
    [
        ("/api/v1/pods", {"items": ["not an object"]}, "pods-without-controller"),
        ("/api/v1/pods", [1, 2], "pods-without-controller"),
        ("/api/v1/nodes", {"items": [{"status": {}}]}, "room-to-move"),
        ("/apis/policy/v1/poddisruptionbudgets", {"items": [{"status": ["not", "a", "status"]}]}, "disruption-budgets"),
    ],
)
def test_a_malformed_answer_makes_its_check_not_run_and_no_traceback(tmp_path, capsys, server, route, answer, check):
    healthy(server)
    server.json(route, answer)
    code, out, err = run(tmp_path, capsys, server, fmt="json")
    assert "Traceback" not in err and code in (2, 3), err
    assert checks(out)[check]["status"] == "not run"


def test_a_quantity_that_overflows_makes_room_to_move_not_run(tmp_path, capsys, server):
    nodes = [
        {
            "metadata": {"name": f"node-{i}", "labels": {"k8s.scaleway.com/pool-name": POOL}},
            "status": {"allocatable": {"cpu": "9e999999", "memory": "8Gi"}},
        }
        for i in (1, 2)
    ]
    healthy(server, nodes=nodes)
    code, out, err = run(tmp_path, capsys, server, fmt="json")
    assert "Traceback" not in err
    room = checks(out)["room-to-move"]
    assert room["status"] == "not run" and "out of range" in room["why"]


def test_outside_text_reaches_the_terminal_inert(tmp_path, capsys, server):
    budget = dict(BLOCKING_PDB, metadata={"namespace": "shop", "name": "web\x1b[2J\u202eevil"})
    healthy(server, budgets=[budget])
    server.json("/metrics", {}, status=403, reason="Forbidden\x1b]0;title\x07")
    code, out, _ = run(tmp_path, capsys, server)
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "web\\x1b[2J\\u202eevil" in out and "Forbidden\\x1b]0;title\\x07" in out


def test_a_warning_of_a_blocked_check_is_not_counted_as_a_blocker(tmp_path, capsys, server):
    short = {
        "metadata": {"namespace": "shop", "name": "short"},
        "spec": {"minAvailable": 2},
        "status": {"disruptionsAllowed": 0, "expectedPods": 2, "currentHealthy": 1, "desiredHealthy": 2},
    }
    healthy(server, budgets=[BLOCKING_PDB, short])
    code, out, _ = run(tmp_path, capsys, server, fmt="json")
    document = json.loads(out)
    assert [b for b in document["blockers"] if "PodDisruptionBudget" in b] == [
        b for b in document["blockers"] if "shop/web" in b
    ]
    assert not any("shop/short" in b for b in document["blockers"])
    assert any("warning: PodDisruptionBudget shop/short" in f for f in checks(out)["disruption-budgets"]["findings"])
    code, out, _ = run(tmp_path / "t", capsys, server)
    assert "Blocked: 1 blocker(s)" in out


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({"tokenFile": "/dev/zero"}, "is not a regular file"),
        ({"tokenFile": "/proc/self/environ"}, "holds NUL bytes"),
        ({"exec": {"command": "touch", "args": ["/tmp/kapsule-exec-ran"]}}, "runs no credential plugin"),
        ({"auth-provider": {"name": "oidc"}}, "runs no credential plugin"),
    ],
)
def test_a_kubeconfig_user_the_preflight_cannot_use_read_only_is_one_line(tmp_path, capsys, server, user, message):
    healthy(server)
    code, out, err = run(tmp_path, capsys, server, user=user)
    assert code == 1 and out == "" and err.count("\n") == 1 and message in err, err
    if "exec" in user or "auth-provider" in user:
        assert "`view` role" in err
    assert not server.requests


def test_a_token_file_that_is_a_fifo_is_refused_at_once(tmp_path, capsys, server):
    healthy(server)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    code, out, err = run(tmp_path, capsys, server, user={"tokenFile": str(fifo)})
    assert code == 1 and "not a regular file" in err and time.monotonic() - started < 5


def test_a_token_file_is_read_trimmed_relative_to_the_kubeconfig(tmp_path, capsys, server):
    healthy(server)
    (tmp_path / "token").write_text(TOKEN + "\n")
    code, out, err = run(tmp_path, capsys, server, user={"tokenFile": "token"})
    assert code == 2, err
    assert {headers.get("Authorization") for _, headers in server.requests} == {f"Bearer {TOKEN}"}
    assert TOKEN not in out + err


def test_every_check_name_is_a_flag_value(tmp_path, capsys):
    root = project(tmp_path)
    code, _, err = upgrade(root, capsys, "--to", "1.36", "--write", "--accept-unchecked", "nonsense")
    assert code == 1 and "nonsense: not a check" in err and ", ".join(CHECKS) in err


def test_the_client_key_is_never_written_to_a_file(tmp_path, capsys, monkeypatch):
    """A TLS server that asks for the client certificate: the preflight reaches it, and nothing lands in the
    temporary folder (the Kubernetes client used to write client-key-data there, and leave it on Ctrl-C)."""
    import base64

    from tests.tls import certificate_pair, tls_server

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setattr("tempfile.tempdir", None)
    ca, server_pair, client_pair = certificate_pair(tmp_path)
    with tls_server(server_pair, ca) as (url, server):
        healthy(server)
        config = tmp_path / "kubeconfig"
        document = json.loads(kubeconfig(url, {}))
        document["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(ca[0]).decode()
        document["users"][0]["user"] = {
            "client-certificate-data": base64.b64encode(client_pair[0]).decode(),
            "client-key-data": base64.b64encode(client_pair[1]).decode(),
        }
        config.write_text(json.dumps(document))
        root = project(tmp_path)
        code, out, err = upgrade(root, capsys, "--to", "1.36", "--kubeconfig", str(config), "--format", "json")
        assert code == 2, err
        assert server.requests, "the server was reached with the client certificate"
    assert list(temporary.iterdir()) == []


def test_the_deprecated_api_metric_is_read_among_megabytes_of_others_and_its_labels_reach_the_terminal_inert(
    tmp_path, capsys, server
):
    healthy(server)
    others = "".join(
        f'# HELP other_{n} a family the check does not read\n# TYPE other_{n} counter\nother_{n}{{code="200"}} {n}\n'
        for n in range(20_000)
    )
    metric = "apiserver_requested_deprecated_apis"
    ours = (
        f"# HELP {metric} [STABLE] Gauge of deprecated APIs that have been requested\n# TYPE {metric} gauge\n"
        f'{metric}{{group="flowcontrol.apiserver.k8s.io",removed_release="1.35",resource="flowschemas\x1b[2J",subresource="",version="v1beta3"}} 1\n'
        f'{metric}{{group="networking.k8s.io",removed_release="1.37",resource="servicecidrs",subresource="",version="v1beta1"}} 1\n'
        f'{metric}{{group="storage.k8s.io",removed_release="1.35",resource="csistoragecapacities",subresource="",version="v1beta1"}} 0\n'
    )
    text = (others[: len(others) // 2] + ours + others[len(others) // 2 :]).encode()
    server.routes["/metrics"] = lambda handler, query: handler.send_bytes(text, kind="text/plain")
    code, out, err = run(tmp_path, capsys, server, fmt="json")
    assert code == 3, err
    document = json.loads(out)
    requested = {step["version"]: step for step in document["steps"]}
    blockers = [b for b in requested["1.35"]["blockers"] if "a client still calls" in b]
    assert blockers == [
        f"{CHECKS['deprecated-api-requests']}: a client still calls flowcontrol.apiserver.k8s.io/v1beta3 flowschemas\x1b[2J, removed in 1.35: find the "
        "client in the API server's audit log or in `kubectl get --raw /metrics`"
    ]
    assert not any("a client still calls" in b for b in requested["1.36"]["blockers"])
    findings = checks(out)["deprecated-api-requests"]["findings"]
    assert (
        "warning: a client still calls networking.k8s.io/v1beta1 servicecidrs, deprecated, removed in 1.37" in findings
    )
    assert not any("csistoragecapacities" in f for f in findings)  # a gauge at 0: no client calls it
    code, out, _ = run(tmp_path / "text", capsys, server)
    assert code == 3 and "\x1b" not in out and "flowschemas\\x1b[2J" in out


class _Socket:
    def settimeout(self, seconds: float) -> None:
        raise OSError(9, "Bad file descriptor")


class _Answer:
    """A response whose body comes as the given chunks; a chunk that is an exception is raised in its turn."""

    def __init__(self, *chunks: bytes | Exception, sock: object = None) -> None:
        self.chunks = list(chunks)
        self.closed = False
        self.connection = type("Connection", (), {"sock": sock})()

    def read1(self, size: int) -> bytes:
        chunk = self.chunks.pop(0) if self.chunks else b""
        if isinstance(chunk, Exception):
            raise chunk
        return chunk[:size]

    def close(self) -> None:
        self.closed = True


def test_the_shared_body_reader_keeps_its_bounds_and_names_no_address():
    """`read_body` serves the preflight and the rotation's writes alike: whole bodies, charged chunk by chunk;
    a body over the limit, a broken one and a late one are each one sentence, the response closed."""
    from kapsule.upgrade.answers import CHUNK, MAX_RESPONSE_BYTES, BodyError, read_body

    charged: list[int] = []
    whole = _Answer(b"{", b'"a": 1}')
    assert read_body(whole, time.monotonic() + 5, 5, charged.append) == b'{"a": 1}' and charged == [1, 7]
    assert not whole.closed

    exact = _Answer(*[b"x" * CHUNK] * (MAX_RESPONSE_BYTES // CHUNK))
    assert len(read_body(exact, time.monotonic() + 5, 5)) == MAX_RESPONSE_BYTES and not exact.closed

    huge = _Answer(*[b"x" * CHUNK] * (MAX_RESPONSE_BYTES // CHUNK), b"x")
    with pytest.raises(BodyError, match="over 16 MiB"):
        read_body(huge, time.monotonic() + 5, 5)
    assert huge.closed

    broken = _Answer(b"{", ConnectionResetError("reset by 10.0.0.7:6443 with token abc"))
    with pytest.raises(BodyError) as raised:
        read_body(broken, time.monotonic() + 5, 5)
    assert str(raised.value) == "the answer broke off (ConnectionResetError)" and broken.closed

    late = _Answer(b"{")
    with pytest.raises(BodyError, match="did not finish within 5s"):
        read_body(late, time.monotonic() - 1, 5)
    assert late.closed

    # A socket that cannot take its timeout is a broken answer too; what `charge` raises (the preflight's byte
    # budget) goes through as it is. Either way the response is closed: a half-read connection never goes back
    # to a pool, where its unread rest would be read as the next answer.
    unusable = _Answer(b"{", sock=_Socket())
    with pytest.raises(BodyError, match=r"broke off \(OSError\)"):
        read_body(unusable, time.monotonic() + 5, 5)
    assert unusable.closed

    class Spent(Exception):
        pass

    def budget(size: int) -> None:
        raise Spent

    over_budget = _Answer(b"{", b"}")
    with pytest.raises(Spent):
        read_body(over_budget, time.monotonic() + 5, 5, budget)
    assert over_budget.closed


def test_the_shared_body_reader_stops_a_stalled_body_at_its_own_deadline_not_the_socket_s():
    """The connection's read timeout is long (15 s); a body that stalls after one byte stops at `ends` (1 s)."""
    import urllib3

    from kapsule.upgrade.answers import BodyError, read_body
    from tests.hostile_api import Handler

    released = threading.Event()

    def stall(handler: Handler, query: dict[str, list[str]]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "10")
        handler.end_headers()
        handler.wfile.write(b"{")
        handler.wfile.flush()
        released.wait(15)

    running = Running()
    try:
        running.server.routes["/stall"] = stall
        pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=15), retries=False)
        response = pool.request("GET", running.server.url + "/stall", preload_content=False)
        started = time.monotonic()
        with pytest.raises(BodyError, match="did not finish within 1s"):
            read_body(response, started + 1, 1)
        assert time.monotonic() - started < 8
    finally:
        released.set()
        running.stop()


@pytest.mark.parametrize(
    "start",
    [b"HTTP/1.1 200 OK\r\nX-Slow: ", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-A: "],
    ids=["headers", "trailers"],
)
def test_the_preflight_s_reader_stops_an_answer_that_trickles_in_lines_at_its_deadline(start):
    """Headers and trailers are read a line at a time, each recv with its own timeout: the watchdog shuts the
    socket at the request's deadline, and what is cut short is never read as an answer."""
    from kapsule.upgrade.kubeconfig import parse_kubeconfig
    from kapsule.upgrade.live import Limits, Live, LiveError
    from tests.hostile_api import Handler

    released = threading.Event()

    def trickle(handler: Handler, query: dict[str, list[str]]) -> None:
        handler.wfile.write(start)
        ends = time.monotonic() + 20
        with contextlib.suppress(OSError):
            while not released.wait(0.02) and time.monotonic() < ends:
                handler.wfile.write(b"a")
                handler.wfile.flush()

    running = Running()
    try:
        running.server.routes["/version"] = trickle
        live = Live(parse_kubeconfig(kubeconfig(running.server.url, {"token": "abc"})), Limits(deadline=2))
        started = time.monotonic()
        with pytest.raises(LiveError, match="did not finish within"):
            live.version()
        assert time.monotonic() - started < 6
    finally:
        released.set()
        running.stop()


def test_a_rotation_counts_only_the_budgets_that_select_a_pod_of_the_nodes_it_drains(server):
    """A budget that allows no disruption blocks a rotation only when it selects a pod on a node being drained:
    one elsewhere (another namespace, other labels, pods on other nodes) is not the rotation's to wait on."""
    from kapsule.rotate.apply import drain_check_results
    from kapsule.upgrade.kubeconfig import parse_kubeconfig
    from kapsule.upgrade.live import Limits, Live

    def pod(name: str, namespace: str, node: str, labels: dict[str, str]) -> dict:
        owner = [{"kind": "ReplicaSet", "name": name, "controller": True}]
        return {
            "metadata": {"name": name, "namespace": namespace, "labels": labels, "ownerReferences": owner},
            "spec": {"nodeName": node, "containers": [{"name": "c"}]},
        }

    def budget(namespace: str, selector: dict) -> dict:
        return {
            "metadata": {"namespace": namespace, "name": "held"},
            "spec": {"minAvailable": 1, "selector": selector},
            "status": {"disruptionsAllowed": 0, "expectedPods": 1, "currentHealthy": 1, "desiredHealthy": 1},
        }

    pods = [pod("web", "shop", "node-1", {"app": "web"}), pod("api", "shop", "node-2", {"app": "api"})]
    elsewhere = [
        budget("shop", {"matchLabels": {"app": "api"}}),  # its pod is on node-2
        budget("pay", {}),  # every pod of another namespace
        budget("shop", {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}),
    ]
    for budgets, blocked in ((elsewhere, False), ([*elsewhere, budget("shop", {})], True)):
        healthy(server, pods=pods, budgets=budgets)
        live = Live(parse_kubeconfig(kubeconfig(server.url, {"token": TOKEN})), Limits(deadline=30))
        found = drain_check_results(live, {POOL: (1, 0)}, {"node-1"})["disruption-budgets"]
        assert (found.status == "blocked") is blocked, found


def test_a_helm_release_that_takes_long_to_parse_is_stopped_at_the_preflight_s_deadline(server):
    """A release unpacks to up to 32 MiB and parsing it takes seconds of CPU between two requests: the parse
    checks the deadline as it goes, and what a release unpacks to counts against the bytes read."""
    from kapsule.upgrade.helm import release_manifests
    from kapsule.upgrade.kubeconfig import parse_kubeconfig
    from kapsule.upgrade.live import BudgetExceeded, Limits, Live

    manifest = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n" for i in range(100_000))
    healthy(server, secrets=[helm_release("shop", "big", manifest)])
    live = Live(parse_kubeconfig(kubeconfig(server.url, {"token": TOKEN})), Limits(deadline=1))
    started = time.monotonic()
    with pytest.raises(BudgetExceeded, match="deadline of 1s passed"):
        for _release in release_manifests(live):
            pass
    assert time.monotonic() - started < 5
    assert live.total.bytes > len(manifest)  # the Secret as read, and the manifest it unpacked to
