"""The writes of a rotation (cordon, eviction, uncordon) through the Kubernetes Python client, on the credentials
the project's own kubeconfig reader parsed (`kapsule.upgrade.kubeconfig`): no credential plugin runs (an `exec:`
or `auth-provider:` user is refused, as the upgrade refuses it), and the client's kubeconfig loader is not used,
so it writes no certificate or key to a temporary file. The client's HTTP pool is replaced by one whose TLS
context holds the CA and the client certificate, the key loaded from memory (`ssl_context`).

Every request has a deadline: the rotation's `--deadline` (or, for putting a node back as it was, a short grace
after it), at most `REQUEST_SECONDS` each, the body read as the upgrade reads its own (`read_body`: chunk by
chunk against the clock, at most 16 MiB); and the whole run makes at most `MAX_REQUESTS`. Who controls the
answers: the API server, and through it anyone who may write a pod in any namespace (names, annotations)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3

from ..upgrade.answers import BodyError, Watchdog, read_body
from ..upgrade.kubeconfig import KubeconfigError, parse_kubeconfig, ssl_context

#: One request, its body included.
REQUEST_SECONDS = 30.0
#: Requests of one run: a drain polls once a second, a run lasts hours at most.
MAX_REQUESTS = 50_000
#: Putting a node back as it was (uncordon) may run this long after the deadline.
GRACE_SECONDS = 60.0


class WriteError(RuntimeError):
    """A write could not be made in time or within the budget: the message names the call, never a credential."""


class _BoundedPool(urllib3.PoolManager):
    """urllib3's pool manager, each request within the writer's deadline and each answer read within bounds."""

    def __init__(self, deadline: float, **options: Any) -> None:
        super().__init__(num_pools=2, maxsize=2, **options)
        self.deadline = deadline
        self.requests = 0
        self.watchdog = Watchdog()
        pools: dict[str, Any] = self.pool_classes_by_scheme  # urllib3's HTTP and HTTPS connection pools
        self.pool_classes_by_scheme = {  # each scheme's pool, its connections watched
            scheme: type(pool.__name__, (pool,), {"ConnectionCls": self.watchdog.watched(pool.ConnectionCls)})
            for scheme, pool in pools.items()
        }

    # PoolManager.urlopen's own signature, which urllib3's RequestMethods declares differently
    def urlopen(self, method: str, url: str, redirect: bool = True, **kw: Any) -> urllib3.BaseHTTPResponse:  # type: ignore[override]
        path = urlsplit(url).path
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise WriteError(f"{method} {path}: the rotation's deadline passed")
        if self.requests >= MAX_REQUESTS:
            raise WriteError(f"{method} {path}: the rotation makes at most {MAX_REQUESTS} requests")
        self.requests += 1
        seconds = min(left, REQUEST_SECONDS)
        ends = time.monotonic() + seconds
        kw.update(
            preload_content=False,
            decode_content=False,
            retries=False,
            timeout=urllib3.Timeout(connect=min(seconds, 10.0), read=seconds),
        )
        kw.setdefault("headers", {})["Accept-Encoding"] = "identity"
        if redirect:
            redirect = False  # never followed: a redirect would carry the credential elsewhere
        with self.watchdog.until(ends):
            try:
                response = super().urlopen(method, url, redirect=redirect, **kw)
            except Exception:
                if self.watchdog.fired:  # the status line or the headers came too slowly
                    raise WriteError(f"{method} {path}: the answer did not finish within {seconds:.0f}s") from None
                raise
            try:
                body = read_body(response, ends, seconds)
            except BodyError as error:
                raise WriteError(f"{method} {path}: {error}") from None
            finally:
                response.release_conn()
        return urllib3.HTTPResponse(
            body=body, headers=response.headers, status=response.status, reason=response.reason, preload_content=True
        )


class Writer:
    """The Kubernetes client's ApiClient on parsed credentials, every request within `deadline` (monotonic)."""

    def __init__(self, kubeconfig: str, deadline: float, base: Path | None = None) -> None:
        from kubernetes import client

        try:
            access = parse_kubeconfig(kubeconfig, base)
            options: dict[str, Any] = {}
            if access.server.startswith("https://"):
                options["ssl_context"] = ssl_context(access)
                if access.tls_server_name:
                    options["server_hostname"] = access.tls_server_name
        except KubeconfigError as error:
            raise WriteError(f"the kubeconfig cannot be used: {error}") from None
        configuration = client.Configuration(host=access.server)
        if access.token:
            configuration.api_key = {"authorization": access.token}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        self.pool = _BoundedPool(deadline, **options)
        self.api = client.ApiClient(configuration)
        self.api.rest_client.pool_manager.clear()
        self.api.rest_client.pool_manager = self.pool

    def grace(self) -> None:
        """Let the next requests (putting a node back as it was) run a short while past the deadline."""
        self.pool.deadline = max(self.pool.deadline, time.monotonic() + GRACE_SECONDS)

    def uncordon(self, node: str) -> None:
        """Mark the node schedulable again."""
        from kubernetes import client

        self.grace()
        client.CoreV1Api(self.api).patch_node(node, {"spec": {"unschedulable": False}})

    def close(self) -> None:
        """Close the connections."""
        self.pool.clear()
