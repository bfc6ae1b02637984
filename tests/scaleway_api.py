"""A loopback HTTP server that answers as the Scaleway Kubernetes API does for the calls rotation makes, so that the
real Scaleway SDK (scaleway==2.12.0, pointed at it with SCW_API_URL) sends its real requests. Every request is
recorded (method, path, query, body) for the tests to assert. It is a test double of the API's answers only:
the requests are the SDK's own."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

CLUSTER_ID = "11111111-1111-4111-8111-111111111111"
ACCESS_KEY = "SCWXXXXXXXXXXXXXXXXX"
SECRET_KEY = "22222222-2222-4222-8222-222222222222"
PROJECT_ID = "33333333-3333-4333-8333-333333333333"


def node(
    node_id: str, name: str, pool_id: str, provider_id: str, created_at: datetime, status: str = "ready"
) -> dict[str, Any]:
    """A node as the API's JSON has it."""
    return {
        "id": node_id,
        "pool_id": pool_id,
        "cluster_id": CLUSTER_ID,
        "provider_id": provider_id,
        "region": "fr-par",
        "name": name,
        "conditions": {},
        "status": status,
        "public_ip_v4": None,
        "public_ip_v6": None,
        "error_message": None,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": created_at.isoformat().replace("+00:00", "Z"),
    }


def pool(pool_id: str, name: str, **fields: Any) -> dict[str, Any]:
    """A pool as the API's JSON has it (the fields the SDK unmarshals), `fields` replacing the defaults."""
    return {
        "id": pool_id,
        "cluster_id": CLUSTER_ID,
        "name": name,
        "status": "ready",
        "version": "1.35.2",
        "node_type": "dev1_m",
        "autoscaling": False,
        "size": 2,
        "min_size": 1,
        "max_size": 3,
        "container_runtime": "containerd",
        "autohealing": True,
        "tags": [],
        "kubelet_args": {},
        "zone": "fr-par-1",
        "root_volume_type": "l_ssd",
        "public_ip_disabled": False,
        "security_group_id": "",
        "region": "fr-par",
        "placement_group_id": None,
        "upgrade_policy": {"max_unavailable": 1, "max_surge": 0},
        "root_volume_size": None,
        "new_images_enabled": False,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "labels": {},
        "taints": [],
        "startup_taints": [],
    } | fields


@dataclass
class Api:
    """What the API holds and what it was asked; `on_replace(node_id)` runs when a ReplaceNode arrives,
    `on_update(pool_id, body)` when an UpdatePool does (after the pool's fields are changed)."""

    url: str = ""
    pools: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, list[str]], Any]] = field(default_factory=list)
    on_replace: Callable[[str], None] | None = None
    replace_status: int = 200
    on_update: Callable[[str, dict[str, Any]], None] | None = None
    update_status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def asked(self, method: str) -> list[tuple[str, str, dict[str, list[str]], Any]]:
        return [r for r in self.requests if r[0] == method]


def _handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, document: Any) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            query = parse_qs(url.query)
            with api.lock:
                api.requests.append((method, url.path, query, body))
            if self.headers.get("x-auth-token") != SECRET_KEY:
                return self._answer(401, {"message": "authentication is denied", "type": "denied_authentication"})
            base = "/k8s/v1/regions/fr-par"
            page = int(query.get("page", ["1"])[0])
            size = int(query.get("page_size", ["100"])[0])
            if method == "GET" and url.path == f"{base}/clusters":
                clusters = [{"id": CLUSTER_ID, "name": "kapsule-rotate"}]
                return self._answer(200, {"total_count": 1, "clusters": [_cluster(c) for c in clusters]})
            if method == "GET" and url.path == f"{base}/clusters/{CLUSTER_ID}/pools":
                chunk = api.pools[(page - 1) * size : page * size]
                return self._answer(200, {"total_count": len(api.pools), "pools": chunk})
            if method == "GET" and url.path == f"{base}/clusters/{CLUSTER_ID}/nodes":
                with api.lock:
                    chunk = api.nodes[(page - 1) * size : page * size]
                return self._answer(200, {"total_count": len(api.nodes), "nodes": chunk})
            if url.path.startswith(f"{base}/pools/") and method in ("GET", "PATCH"):
                pool_id = url.path.split("/")[-1]
                with api.lock:
                    found = next((p for p in api.pools if p["id"] == pool_id), None)
                if found is None:
                    return self._answer(404, {"message": "resource is not found", "type": "not_found"})
                if method == "PATCH":
                    if api.update_status != 200:
                        return self._answer(api.update_status, {"message": "quota exceeded", "type": "quotas_exceeded"})
                    with api.lock:
                        found.update({k: v for k, v in (body or {}).items() if k in ("size", "min_size", "max_size")})
                    if api.on_update:
                        api.on_update(pool_id, body or {})
                return self._answer(200, found)
            if method == "POST" and url.path.startswith(f"{base}/nodes/") and url.path.endswith("/replace"):
                node_id = url.path.split("/")[-2]
                found = next((n for n in api.nodes if n["id"] == node_id), None)
                if api.replace_status != 200 or found is None:
                    return self._answer(
                        api.replace_status if found else 404,
                        {"message": "resource is in a transient state", "type": "transient_state"},
                    )
                if api.on_replace:
                    api.on_replace(node_id)
                return self._answer(200, {**found, "status": "creating"})
            return self._answer(404, {"message": "resource is not found", "type": "not_found"})

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def do_PATCH(self) -> None:  # noqa: N802
            self._serve("PATCH")

    return Handler


def _cluster(base: dict[str, Any]) -> dict[str, Any]:
    return {
        **base,
        "type": "kapsule",
        "status": "ready",
        "version": "1.35.2",
        "region": "fr-par",
        "organization_id": PROJECT_ID,
        "project_id": PROJECT_ID,
        "tags": [],
        "cni": "cilium",
        "description": "",
        "cluster_url": "https://example.invalid",
        "dns_wildcard": "",
        "autoscaler_config": None,
        "auto_upgrade": None,
        "upgrade_available": False,
        "feature_gates": [],
        "admission_plugins": [],
        "apiserver_cert_sans": [],
        "iam_nodes_group_id": "",
        "commitment_ends_at": None,
        "acl_available": True,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "private_network_id": None,
        "open_id_connect_config": None,
    }


def serve(monkeypatch: Any) -> Iterator[Api]:
    """Start the API on a free loopback port, point the SDK at it, stop it afterwards."""
    api = Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("SCW_API_URL", api.url)
    monkeypatch.setenv("SCW_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("SCW_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("SCW_DEFAULT_PROJECT_ID", PROJECT_ID)
    monkeypatch.setenv("SCW_DEFAULT_REGION", "fr-par")
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
