"""The Scaleway SDK's calls within a deadline and its lists within a bound (`kapsule/scaleway.py`), and the commands
that read the Scaleway API through them (`catalog refresh`, `versions refresh`, `prices refresh`, `drift
--unmanaged`), against a loopback API that never answers or never stops listing. Who controls these answers:
Scaleway's API, and through it whatever any key of the project has created."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from kapsule.scaleway import PAGE_SIZE, NoAnswer, TooLong, paged, within
from tests.scaleway_api import ACCESS_KEY, PROJECT_ID, SECRET_KEY


def test_a_call_that_does_not_answer_is_left_at_its_deadline_and_an_error_keeps_its_type():
    released = threading.Event()
    try:
        started = time.monotonic()
        with pytest.raises(NoAnswer, match="k8s/v1 ListVersions: no answer within 0.2 s"):
            within(lambda: released.wait(20), "k8s/v1 ListVersions", 0.2)
        assert time.monotonic() - started < 5
    finally:
        released.set()
    with pytest.raises(KeyError):
        within(lambda: {}["missing"], "a call")
    assert within(lambda: 7, "a call") == 7


def test_a_list_is_read_page_by_page_up_to_its_bound_and_refused_past_it():
    def pages_of(total: int) -> Any:
        def read(page: int) -> SimpleNamespace:
            start = (page - 1) * PAGE_SIZE
            return SimpleNamespace(items=list(range(start, min(start + PAGE_SIZE, total))))

        return read

    assert paged(pages_of(300), "items", "a list", 300) == list(range(300))  # exactly the bound
    assert paged(pages_of(250), "items", "a list", 300) == list(range(250))
    with pytest.raises(TooLong, match="a list: more than 300 items"):
        paged(pages_of(301), "items", "a list", 300)
    endless = SimpleNamespace(items=[0] * PAGE_SIZE)
    with pytest.raises(TooLong):
        paged(lambda page: endless, "items", "an endless list", 1_000)


@contextlib.contextmanager
def hostile_api(monkeypatch: Any, answer: str) -> Iterator[None]:
    """A loopback Scaleway API that either never answers (`stall`, for 20 s at most) or lists full pages
    without end (`endless`); the SDK pointed at it with its own settings. Stopped when the block ends."""
    released = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802 http.server's name
            if answer == "stall":
                released.wait(20)
                return
            key = urlparse(self.path).path.rstrip("/").rsplit("/", 1)[-1]
            page = int(parse_qs(urlparse(self.path).query).get("page", ["1"])[0])
            items = [{"id": f"{page}-{i}", "name": f"x{i}"} for i in range(PAGE_SIZE)]
            body = json.dumps({key: items, "total_count": 10**9}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for name, value in {
        "SCW_API_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "SCW_ACCESS_KEY": ACCESS_KEY,
        "SCW_SECRET_KEY": SECRET_KEY,
        "SCW_DEFAULT_PROJECT_ID": PROJECT_ID,
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield
    finally:
        released.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_refresh_commands_stop_at_a_call_s_deadline_and_write_nothing(monkeypatch, capsys):
    from kapsule import scaleway
    from kapsule.catalog.refresh import refresh_command, refresh_versions_command
    from kapsule.cost.prices import refresh_prices

    monkeypatch.setattr(scaleway, "CALL_SECONDS", 0.5)
    written: list[str] = []
    monkeypatch.setattr("kapsule.catalog.refresh.write_catalog", lambda *args: written.append("catalog"))
    with hostile_api(monkeypatch, "stall"):
        for command, run in (
            ("catalog refresh", lambda: refresh_command("fr-par")),
            ("versions refresh", lambda: refresh_versions_command("fr-par")),
            ("prices refresh", lambda: refresh_prices("fr-par-1")),
        ):
            started = time.monotonic()
            assert run() == 1
            assert time.monotonic() - started < 10
            err = capsys.readouterr().err
            assert err.startswith(f"{command}: ") and "no answer within 0.5 s" in err and err.count("\n") == 1, err
    assert written == []


def test_a_list_that_never_ends_is_refused_not_followed(monkeypatch):
    from kapsule.cost.prices import MAX_PRODUCTS, public_products
    from kapsule.drift.unmanaged import MAX_LISTED, scaleway_resources

    with hostile_api(monkeypatch, "endless"):
        from scaleway import Client

        with pytest.raises(TooLong, match=f"more than {MAX_PRODUCTS} items"):
            public_products(Client.from_config_file_and_env())
        with pytest.raises(RuntimeError, match=f"TooLong: lb/v1 ListLbs in fr-par-1: more than {MAX_LISTED} items"):
            scaleway_resources("fr-par")


def test_the_sdk_s_config_file_is_checked_before_the_sdk_reads_it(monkeypatch, tmp_path, capsys):
    """A pipe named by SCW_CONFIG_PATH would hold the SDK's whole-file read forever, and a huge file fill memory:
    each is one sentence naming the file, and no key."""
    import os

    from kapsule.catalog.refresh import refresh_versions_command
    from kapsule.scaleway import MAX_CONFIG_BYTES, NoClient, client

    pipe = tmp_path / "config.yaml"
    os.mkfifo(pipe)
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    for path in (pipe, huge):
        monkeypatch.setenv("SCW_CONFIG_PATH", str(path))
        with pytest.raises(NoClient) as raised:
            client()
        assert str(raised.value).startswith(f"{path}: ") and SECRET_KEY not in str(raised.value)
    monkeypatch.setenv("SCW_CONFIG_PATH", str(pipe))
    assert refresh_versions_command("fr-par") == 1
    assert capsys.readouterr().err.startswith(f"versions refresh: {pipe}: ")
    monkeypatch.setenv("SCW_CONFIG_PATH", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("SCW_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("SCW_SECRET_KEY", SECRET_KEY)
    assert client().access_key == ACCESS_KEY  # no file: the environment alone, as the SDK reads it
