"""`kapsule rotate` offline: the order (oldest first), both sides matched and what is on one side only, each
pool's `max_unavailable`, the refusals of the command line, the Scaleway calls as the real SDK sends them
(to a loopback API), the formats, and `max_node_age_days` in the schema and the policy."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kapsule.cli.main import main
from kapsule.reports.rotate import format_rotate_json, format_rotate_markdown, format_rotate_text
from kapsule.rotate.nodes import KubeNode, PoolRule, ScalewayNode, due, kube_node, match, out_of_service
from kapsule.rotate.plan import Blocker, Rotation, RotationPlan, policy_check
from kapsule.upgrade.path import Check
from tests.scaleway_api import CLUSTER_ID, node, pool, serve

NOW = datetime(2026, 11, 21, 12, tzinfo=timezone.utc)
POOLS = [PoolRule("default", "p1", 30, 1, 0), PoolRule("big", "p2", 20, 2, 0)]


def scw(name: str, pool_id: str, days: float, status: str = "ready") -> ScalewayNode:
    return ScalewayNode(
        f"id-{name}", name, pool_id, f"scaleway://instance/fr-par-1/{name}", NOW - timedelta(days=days), status
    )


def kube(name: str, ready: bool = True, cordoned: bool = False) -> KubeNode:
    return KubeNode(name, f"scaleway://instance/fr-par-1/{name}", ready, cordoned)


def test_nodes_past_their_pools_age_come_oldest_first_across_pools():
    nodes = [scw("a", "p1", 31), scw("b", "p1", 45), scw("c", "p2", 21), scw("d", "p1", 29), scw("e", "p2", 19)]
    matched = match(POOLS, nodes, [kube(n.name) for n in nodes])
    assert [m.scaleway.name for m in due(matched.members, POOLS, NOW)] == ["b", "a", "c"]


def test_a_node_on_one_side_only_or_claimed_twice_is_reported_and_never_a_member():
    nodes = [scw("a", "p1", 40), scw("b", "p1", 40), scw("c", "p1", 40), scw("other", "p9", 90)]
    twin = KubeNode("c-twin", "scaleway://instance/fr-par-1/c", True, False)
    matched = match(POOLS, nodes, [kube("a"), kube("c"), twin, kube("ghost"), kube("other")])
    assert [m.scaleway.name for m in matched.members] == ["a"]
    assert matched.alone == [
        "Scaleway node b (pool default, ready) has no Kubernetes Node with provider id scaleway://instance/fr-par-1/b: left alone",
        "Scaleway node c (pool default): its provider id is claimed more than once (c, c-twin): left alone",
        "Kubernetes Node ghost has no Scaleway node in this cluster with provider id scaleway://instance/fr-par-1/ghost: left alone",
    ]


def test_a_node_object_from_the_api_server_is_read_defensively():
    assert kube_node({"metadata": {"name": "n"}, "spec": {"providerID": "p", "unschedulable": True}}) == KubeNode(
        "n", "p", False, True
    )
    ready = {"metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert kube_node(ready) == KubeNode("n", "", True, False)
    assert kube_node({"metadata": {"name": ["not", "a", "name"]}}) is None
    assert kube_node({"metadata": "x", "spec": [], "status": 3}) is None


@pytest.mark.parametrize(
    ("max_unavailable", "max_surge", "down", "size", "refused"),
    [
        (1, 0, [], None, None),
        (1, 0, ["x"], None, "1 node(s) already out of service (x)"),
        (2, 0, ["x"], None, None),
        (2, 0, ["x", "y"], None, "2 node(s) already out of service (x, y)"),
        (0, 0, [], None, "max_unavailable is 0 and max_surge is 0"),
        # max_unavailable 0 with a surge: the plan passes (a surge node is added first) unless a node is down ...
        (0, 1, [], None, None),
        (0, 1, ["x"], None, "1 node(s) already out of service (x), and upgrade_policy.max_unavailable is 0"),
        # ... and --apply lets the node go only once the others in service are the pool's size before the surge
        (0, 1, [], 4, "only 3 other node(s) of its 4 are in service"),
        (0, 1, ["y"], 3, "only 2 other node(s) of its 3 are in service (y not in service)"),
        (0, 1, [], 3, None),
    ],
)
def test_a_pool_never_has_more_nodes_out_of_service_than_its_upgrade_policy_allows(
    max_unavailable, max_surge, down, size, refused
):
    rule = PoolRule("default", "p1", 30, max_unavailable, max_surge)
    nodes = [scw("a", "p1", 40), scw("x", "p1", 1), scw("y", "p1", 1), scw("z", "p1", 1), scw("w", "p2", 1, "creating")]
    kubes = [kube("a"), kube("x", cordoned="x" in down), kube("y", ready="y" not in down), kube("z"), kube("w")]
    members = match([rule, POOLS[1]], nodes, kubes).members
    why = out_of_service(rule, members, nodes, "id-a", size)
    if refused is None:
        assert why is None
    else:
        assert why is not None and refused in why
    if size is None:
        check = policy_check([rule], members, nodes, [m for m in members if m.scaleway.name == "a"])
        assert check.status == ("blocked" if refused else "passed")


def test_a_scaleway_node_not_ready_counts_as_out_of_service_even_without_its_kubernetes_node():
    rule = PoolRule("default", "p1", 30, 1, 0)
    nodes = [scw("a", "p1", 40), scw("b", "p1", 1, "creating")]
    members = match([rule], nodes, [kube("a")]).members
    assert "1 node(s) already out of service (b)" in out_of_service(rule, members, nodes, "id-a")


def test_a_ready_scaleway_node_with_no_kubernetes_node_serves_nothing():
    """A node Scaleway called `ready` that never registered in Kubernetes once counted as serving: `--apply`
    took a second node of a max_unavailable 1 pool out of service."""
    rule = PoolRule("default", "p1", 30, 1, 0)
    nodes = [scw("a", "p1", 40), scw("b", "p1", 1), scw("ghost", "p1", 1)]
    members = match([rule], nodes, [kube("a"), kube("b")]).members
    assert "1 node(s) already out of service (ghost)" in (out_of_service(rule, members, nodes, "id-a") or "")


def test_a_created_at_without_a_zone_or_that_is_no_date_is_an_unknown_age():
    """`2026-01-01T00:00:00` (no zone) and `12345` once crashed rotate and the drift check with a TypeError."""
    from datetime import datetime

    from kapsule.rotate.scaleway import _aware

    assert _aware(datetime(2026, 1, 1)) is None and _aware(12345) is None and _aware("2026-01-01") is None
    zoned = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert _aware(zoned) == zoned


@pytest.mark.parametrize("size", [None, "abc", True, -1, 10**6, 2.5])
def test_a_malformed_pool_size_from_the_api_is_one_scaleway_error(size):
    """`size: null` or `"abc"` once escaped as a TypeError or ValueError traceback."""
    from types import SimpleNamespace

    from kapsule.rotate.scaleway import Kapsule, ScalewayError

    kapsule = Kapsule.__new__(Kapsule)
    kapsule.region = "fr-par"
    kapsule.api = SimpleNamespace(get_pool=lambda **_: SimpleNamespace(size=size, min_size=1, max_size=3))
    with pytest.raises(ScalewayError, match="not whole numbers from 0 to 1000"):
        kapsule.pool_size("p1")


def plan(**changes) -> RotationPlan:
    result = RotationPlan("dev", "stacks/Pulumi.dev.yaml", NOW, {"default": 30, "spare": None})
    result.due = [
        Rotation("default", "scw-old", "id-old", NOW - timedelta(days=45), 45.0, 30),
        Rotation("default", "scw-older`<b>", "id-2", NOW - timedelta(days=31), 31.0, 30),
    ]
    result.alone = ["Kubernetes Node ghost has no Scaleway node: left alone"]
    result.checks = [Check("scaleway-nodes", "nodes", "passed"), Check("kubernetes-nodes", "kube", "passed")]
    for key, value in changes.items():
        setattr(result, key, value)
    return result


def test_the_formats_say_the_same_thing():
    stopped = Blocker("scw-old", "node scw-old could not be drained within 60 s", "let the budgets allow a disruption")
    done = plan(applied=True, rotated=["scw-old"], stopped=stopped)
    text = format_rotate_text(done)
    assert "1. scw-old (pool default): 45.0 days, over 30  (replaced)" in text
    assert "pool spare: no max_node_age_days (not rotated)" in text
    assert "one side only: Kubernetes Node ghost" in text
    assert "Blocked: 1 blocker(s)." in text and "fix: let the budgets allow a disruption" in text
    document = json.loads(format_rotate_json(done))
    assert [d["node"] for d in document["due"]] == ["scw-old", "scw-older`<b>"]
    assert document["stopped"] == {"node": "scw-old", "reason": stopped.reason, "fix": stopped.fix}
    assert document["rotated"] == ["scw-old"] and document["applied"] is True
    markdown = format_rotate_markdown(done)
    assert "| 1 | `scw-old` | `default` | 45.0 days | 30 | yes |" in markdown
    assert "| 2 | `scw-older'<b>` |" in markdown  # a name from the API stays inline code, its backtick made inert
    assert "2 node(s) to rotate" in format_rotate_text(plan())
    assert "Nothing to rotate" in format_rotate_text(plan(due=[]))


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["rotate", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_offline_the_plan_says_which_checks_could_not_run(capsys, monkeypatch, tmp_path):
    for name in ("SCW_ACCESS_KEY", "SCW_SECRET_KEY", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCW_CONFIG_PATH", str(tmp_path / "none.yaml"))
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN", raising=False)
    code, out, err = cli(capsys, "--stack", "dev", "--format", "json")
    document = json.loads(out)
    assert code == 2, "not known is never 'nothing to do'"
    assert {c["name"] for c in document["not_run"]} == {c["name"] for c in document["checks"]}
    assert "no Scaleway credentials" in document["checks"][0]["why"]
    assert "no credentials" in document["checks"][1]["why"]
    assert document["pools"] == [{"name": "default", "max_node_age_days": 30}]
    code, out, err = cli(capsys, "--stack", "dev", "--apply")
    assert code == 1 and out == "" and err.startswith("--apply: the nodes could not be read, so nothing was touched")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--stack", "nope"], "stacks/Pulumi.nope.yaml: does not exist"),
        (["--stack", "local"], "stacks/Pulumi.local.yaml: declares no kapsule:cluster and kapsule:pools"),
        (["--stack", "dev", "--deadline", "soon"], "write a Go duration"),
        (["--stack", "dev", "--deadline", "0s"], "no time at all"),
        (["--stack", "dev", "--max-nodes", "0"], "a whole number of nodes, 1 or more"),
        (["--stack", "dev", "--stack", "prod"], "--stack is given twice"),
        (["--stack", "dev", "--format", "yaml"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(capsys, argv, expected):
    try:
        code = main(["rotate", *argv])
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code == 1 and expected in err and "Traceback" not in err


def test_a_kubeconfig_file_that_is_none_is_bad_input(capsys, tmp_path):
    bad = tmp_path / "kubeconfig"
    bad.write_text("not: [a kubeconfig")
    code, out, err = cli(capsys, "--stack", "dev", "--kubeconfig", str(bad))
    assert code == 1 and err.startswith(f"--kubeconfig {bad}: ") and out == ""


@pytest.fixture
def scaleway(monkeypatch):
    yield from serve(monkeypatch)


def test_the_scaleway_calls_are_the_sdks_own_requests(scaleway):
    from kapsule.rotate.scaleway import Kapsule, client

    scaleway.pools = [pool("p1", "default-1a2b3c4")]
    scaleway.nodes = [node(f"n{i}", f"scw-{i}", "p1", f"scaleway://instance/fr-par-1/{i}", NOW) for i in range(150)]
    kapsule = Kapsule(client(), "fr-par")
    assert kapsule.cluster_id("kapsule-rotate") == CLUSTER_ID
    assert [p for p in kapsule.pools(CLUSTER_ID)] == [("p1", "default-1a2b3c4")]
    assert len(kapsule.nodes(CLUSTER_ID)) == 150
    kapsule.replace("n7")
    base = "/k8s/v1/regions/fr-par"
    assert [(m, p, q.get("page")) for m, p, q, _ in scaleway.requests] == [
        ("GET", f"{base}/clusters", ["1"]),
        ("GET", f"{base}/clusters/{CLUSTER_ID}/pools", ["1"]),
        ("GET", f"{base}/clusters/{CLUSTER_ID}/nodes", ["1"]),
        ("GET", f"{base}/clusters/{CLUSTER_ID}/nodes", ["2"]),
        ("POST", f"{base}/nodes/n7/replace", None),
    ]
    assert scaleway.requests[0][2]["name"] == ["kapsule-rotate"]
    assert scaleway.requests[-1][3] == {}, "ReplaceNode's body is an empty object"


def test_a_refused_or_silent_scaleway_api_is_one_error_naming_the_call(scaleway, monkeypatch):
    import kapsule.rotate.scaleway as module
    from kapsule.rotate.scaleway import Kapsule, ScalewayError, client

    scaleway.nodes = [node("n1", "scw-1", "p1", "scaleway://instance/fr-par-1/1", NOW)]
    scaleway.replace_status = 409
    kapsule = Kapsule(client(), "fr-par")
    with pytest.raises(ScalewayError, match=r"^replace_node n1: ScalewayException"):
        kapsule.replace("n1")
    with pytest.raises(ScalewayError, match="no cluster\\(s\\) named absent"):
        kapsule.cluster_id("absent")
    with pytest.raises(ScalewayError, match="no answer within 0.2 s"):
        module.bounded(lambda: __import__("time").sleep(5), "list_nodes", seconds=0.2)


def test_max_node_age_days_is_validated_and_prods_policy_requires_it_at_most_30():
    from components.pool import Pool, PoolSpec
    from kapsule.names import POOL_COMPONENT
    from kapsule.resources.model import ResourceView
    from policy.rules import evaluate, stack_config

    assert Pool.TYPE == POOL_COMPONENT
    assert PoolSpec(node_type="DEV1-M", size=1, max_node_age_days=30).max_node_age_days == 30
    for wrong in (0, 366, "30", True, 7.5):
        with pytest.raises(ValueError):
            PoolSpec(node_type="DEV1-M", size=1, max_node_age_days=wrong)
    config = stack_config("prod")

    def found(inputs):
        pools = [ResourceView(POOL_COMPONENT, "fr-par-1", "urn:x", inputs, False)]
        return [(level, v.message) for level, v in evaluate(pools, config) if v.rule == "max-node-age"]

    assert found({"maxNodeAgeDays": 30}) == []
    assert found({"maxNodeAgeDays": 31}) == [("mandatory", "pool fr-par-1: max_node_age_days 31 is over 30; lower it")]
    assert found({}) == [("mandatory", "pool fr-par-1: max_node_age_days is not set; set it to 30 or fewer")]
    assert [
        v for _, v in evaluate([ResourceView(POOL_COMPONENT, "p", "urn:x", {}, False)], {}) if v.rule == "max-node-age"
    ] == []


@pytest.mark.parametrize(
    ("fields", "surged", "restored"),
    [
        ({"autoscaling": False, "size": 2, "min_size": 1, "max_size": 3}, {"size": 3}, {"size": 2}),
        (
            {"autoscaling": True, "size": 2, "min_size": 2, "max_size": 10},
            {"size": 3, "min_size": 3, "max_size": 10},
            {"size": 2, "min_size": 2, "max_size": 10},
        ),
        (
            {"autoscaling": True, "size": 3, "min_size": 1, "max_size": 3},
            {"size": 4, "min_size": 4, "max_size": 4},
            {"size": 3, "min_size": 1, "max_size": 3},
        ),
    ],
)
def test_a_surge_asks_update_pool_for_one_node_more_and_puts_back_exactly_what_was_there(
    scaleway, fields, surged, restored
):
    from kapsule.rotate.scaleway import Kapsule, client

    scaleway.pools = [pool("p1", "default-1a2b3c4", **fields)]
    kapsule = Kapsule(client(), "fr-par")
    before = kapsule.pool_size("p1")
    kapsule.resize("p1", before.surged(1))
    kapsule.resize("p1", before.restore())
    base = "/k8s/v1/regions/fr-par"
    assert [(m, p, b) for m, p, _, b in scaleway.requests] == [
        ("GET", f"{base}/pools/p1", {}),  # the SDK sends an empty JSON body with a GET
        ("PATCH", f"{base}/pools/p1", surged),
        ("PATCH", f"{base}/pools/p1", restored),
    ]
    assert scaleway.pools[0] | fields == scaleway.pools[0]


def test_a_refused_surge_is_one_error_naming_the_call(scaleway):
    from kapsule.rotate.scaleway import Kapsule, ScalewayError, client

    scaleway.pools = [pool("p1", "default-1a2b3c4")]
    scaleway.update_status = 403
    with pytest.raises(ScalewayError, match=r"^update_pool p1: "):
        Kapsule(client(), "fr-par").resize("p1", {"size": 3})


KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: c
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
clusters: [{{name: c, cluster: {{server: "{server}"}}}}]
users: [{{name: u, user: {user}}}]
"""


def test_the_writer_runs_no_credential_plugin_and_writes_no_key_to_disk(tmp_path, monkeypatch):
    import base64
    import tempfile

    from kapsule.rotate.kube import WriteError, Writer

    exec_user = "{exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}}"
    with pytest.raises(WriteError, match=r"users\['u'\]\.user\.exec: .* runs no credential plugin"):
        Writer(KUBECONFIG.format(server="https://127.0.0.1:1", user=exec_user), 0.0)
    with pytest.raises(WriteError, match=r"auth-provider"):
        Writer(KUBECONFIG.format(server="https://127.0.0.1:1", user="{auth-provider: {name: oidc}}"), 0.0)
    from datetime import datetime as clock

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "admin")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(clock(2026, 1, 1))
        .not_valid_after(clock(2036, 1, 1))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem_certificate = certificate.public_bytes(serialization.Encoding.PEM)
    user = (
        f"{{client-certificate-data: {base64.b64encode(pem_certificate).decode()}, "
        f"client-key-data: {base64.b64encode(pem_key).decode()}}}"
    )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    writer = Writer(KUBECONFIG.format(server="https://127.0.0.1:1", user=user), 0.0)
    assert writer.api.configuration.cert_file is None and writer.api.configuration.key_file is None
    assert list(scratch.iterdir()) == [], "no certificate or key file is written"


@contextlib.contextmanager
def trickling(first: bytes, drip: bytes, every: float) -> Iterator[int]:
    """A one-answer server on loopback (its port): `first`, then `drip` every `every` seconds, for 20 s at most;
    stopped when the block ends, whatever happened in it."""
    import socket
    import threading
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def answer() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        ends = time.monotonic() + 20  # bounded even when the client does not stop reading
        with contextlib.suppress(OSError):
            connection.sendall(first)
            while not stop.wait(every) and time.monotonic() < ends:
                connection.sendall(drip)
        connection.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def _writer(port: int) -> Any:
    """A rotation's writer to the server on `port`, its deadline a second away."""
    import time

    from kapsule.rotate.kube import Writer

    return Writer(KUBECONFIG.format(server=f"http://127.0.0.1:{port}", user="{token: abc}"), time.monotonic() + 1)


def test_every_write_has_a_deadline_even_when_the_answer_comes_slowly():
    import time

    from kubernetes import client

    from kapsule.rotate.kube import WriteError

    # An answer that never ends: one byte a tenth of a second.
    headers = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    with trickling(headers, b" ", 0.1) as port:
        writer = _writer(port)
        started = time.monotonic()
        with pytest.raises(WriteError, match="did not finish within"):
            client.CoreV1Api(writer.api).patch_node("n", {"spec": {"unschedulable": True}})
        assert time.monotonic() - started < 3
        with pytest.raises(WriteError, match="the rotation's deadline passed"):
            client.CoreV1Api(writer.api).patch_node("n", {"spec": {"unschedulable": True}})


CHUNKED = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    ("first", "drip"),
    [
        (b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a"),  # one header line that never ends
        (CHUNKED, b"0"),  # a chunk-size line that never ends
        (CHUNKED + b"2\r\n{}\r\n0\r\n", b"X-Trailer: y\r\n"),  # a finished body, then trailers without end
    ],
    ids=["headers", "chunk-size", "trailers"],
)
def test_an_answer_read_line_by_line_still_stops_at_the_request_s_deadline(first, drip):
    """Each recv has its own socket timeout; an answer that trickles in lines (headers, a chunked body's size
    lines and trailers) is stopped by the watchdog at the deadline, and is never taken for a whole answer."""
    import time

    from kubernetes import client

    from kapsule.rotate.kube import WriteError

    with trickling(first, drip, 0.02) as port:
        writer = _writer(port)
        started = time.monotonic()
        with pytest.raises(WriteError, match="did not finish within 1s"):
            client.CoreV1Api(writer.api).patch_node("n", {"spec": {"unschedulable": True}})
        assert time.monotonic() - started < 5


def test_the_command_line_is_built_without_the_rotation_s_clients():
    """Every command (a plan among them) builds the whole parser: the rotate command's arguments come without the
    Scaleway SDK, the Kubernetes client or the rotation itself, which only `rotate` loads."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    check = (
        "import sys; import kapsule.cli.main as m; import gc; gc.disable(); m.parser(); m._loaded(); "
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('scaleway', 'kubernetes', 'requests') "
        "or n.startswith(('kapsule.rotate', 'kapsule.cli.rotate.', 'kapsule.upgrade')) or n == 'kapsule.cli.rotate'))"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
