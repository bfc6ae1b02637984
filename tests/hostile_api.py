"""A small API server of the tests' own, on loopback, that answers as a hostile kube-apiserver would: the
tests give it the answer of each path (JSON, a status, a body sent slowly, endless pages). Every loop it
runs is bounded in count and in time, and the fixture that starts it always stops it."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: No handler of this server runs longer than this, whatever the client does.
HANDLER_SECONDS = 20.0

Answer = Callable[["Handler", dict[str, list[str]]], None]


class Handler(BaseHTTPRequestHandler):
    """Answers a GET from the server's routes; records the request (its path and headers)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this each answer waits 40 ms
    server: HostileServer

    def log_message(self, *args: Any) -> None:  # the tests' output stays quiet
        return

    def do_GET(self) -> None:  # noqa: N802 http.server's name
        url = urlsplit(self.path)
        self.server.requests.append((url.path, dict(self.headers)))
        route = self.server.routes.get(url.path)
        if route is None:
            self.send_json({"kind": "Status", "code": 404}, status=404)
            return
        route(self, parse_qs(url.query))

    def send_json(self, document: Any, status: int = 200, reason: str | None = None) -> None:
        self.send_bytes(json.dumps(document).encode(), status, reason)

    def send_bytes(
        self, body: bytes, status: int = 200, reason: str | None = None, kind: str = "application/json"
    ) -> None:
        self.send_response(status, reason)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have gone: that is its right
            self.wfile.write(body)

    def send_slowly(self, total: int = 1_000_000, every: float = 0.2) -> None:
        """Headers at once, then one byte every `every` seconds: never finished within HANDLER_SECONDS."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        ends = time.monotonic() + HANDLER_SECONDS
        try:
            self.wfile.write(b"{")
            while time.monotonic() < ends:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(every)
        except OSError:
            return


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, Answer] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def json(self, path: str, document: Any, status: int = 200, reason: str | None = None) -> None:
        self.routes[path] = lambda handler, query: handler.send_json(document, status, reason)

    def pages(self, path: str, items: list[Any]) -> None:
        """A list answered page by page, as the API server pages with `limit` and `continue`."""

        def answer(handler: Handler, query: dict[str, list[str]]) -> None:
            limit = int(query.get("limit", ["500"])[0])
            start = int(query.get("continue", ["0"])[0])
            page = items[start : start + limit]
            more = str(start + limit) if start + limit < len(items) else None
            handler.send_json({"kind": "List", "metadata": {"continue": more} if more else {}, "items": page})

        self.routes[path] = answer


class Running:
    """A HostileServer serving in a thread; stopped by `stop`, which the fixture always calls."""

    def __init__(self) -> None:
        self.server = HostileServer()
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def kubeconfig(url: str, user: dict[str, Any]) -> str:
    """A kubeconfig whose current context is the server at `url` with `user`."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": url}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )


def helm_release(namespace: str, name: str, manifest: str) -> dict[str, Any]:
    """A release Secret as Helm 3 stores it: base64 (the Secret's) of base64 of gzipped JSON."""
    release = {"name": name, "chart": {"metadata": {"name": name, "version": "1.0.0"}}, "manifest": manifest}
    packed = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return {
        "metadata": {"name": f"sh.helm.release.v1.{name}.v1", "namespace": namespace, "labels": {"name": name}},
        "type": "helm.sh/release.v1",
        "data": {"release": base64.b64encode(packed).decode()},
    }
