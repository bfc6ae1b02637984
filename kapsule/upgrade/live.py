"""Read-only access to a live cluster for the preflight: JSON lists, discovery, the metrics text, every read
bounded, through the Kubernetes Python client's own ApiClient (its kubeconfig handling, TLS and auth)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

#: One page of a list; a response (a page, the discovery, the metrics) is read up to MAX_RESPONSE_BYTES.
PAGE = 500
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: Objects read per kind at most: a cluster with more is read in part, and the check says so.
MAX_OBJECTS = 20_000
TIMEOUT = (5, 30)
#: The metadata of a list and nothing else: managedFields and annotations are all the API check needs.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


class LiveError(RuntimeError):
    """The cluster could not be read: the message says what was asked and the status, never a credential."""


class Live:
    """A cluster reached through a kubeconfig, read with GET requests only."""

    def __init__(self, api_client: Any) -> None:
        self.api = api_client
        self.truncated: list[str] = []

    def get(
        self,
        path: str,
        query: list[tuple[str, Any]] | None = None,
        accept: str = "application/json",
        raw: bool = False,
    ) -> Any:
        """One GET, its body read within the bound; JSON decoded unless `raw`."""
        from kubernetes.client.exceptions import ApiException

        try:
            response = self.api.call_api(
                path,
                "GET",
                query_params=query or [],
                header_params={"Accept": accept},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=TIMEOUT,
            )[0]
        except ApiException as error:
            raise LiveError(f"GET {path}: {error.status} {error.reason}") from None
        except Exception as error:  # noqa: BLE001 urllib3's connection errors carry the address, never a token
            raise LiveError(
                f"GET {path}: {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else 'no answer'}"
            ) from None
        body = response.read(MAX_RESPONSE_BYTES + 1)
        response.release_conn()
        if len(body) > MAX_RESPONSE_BYTES:
            raise LiveError(f"GET {path}: the answer is over {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB")
        if raw:
            return body.decode("utf-8", "replace")
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            raise LiveError(f"GET {path}: the answer is not JSON") from None

    def items(self, path: str, *, metadata_only: bool = False, selector: str | None = None) -> Iterator[dict[str, Any]]:
        """Every object of a list, page by page, at most MAX_OBJECTS (the rest is noted in `truncated`)."""
        token, seen = None, 0
        while True:
            query: list[tuple[str, Any]] = [("limit", PAGE)]
            if token:
                query.append(("continue", token))
            if selector:
                query.append(("labelSelector", selector))
            page = self.get(path, query, METADATA_ONLY if metadata_only else "application/json")
            for item in page.get("items") or []:
                if isinstance(item, dict):
                    seen += 1
                    if seen > MAX_OBJECTS:
                        self.truncated.append(f"{path}: only the first {MAX_OBJECTS} objects were read")
                        return
                    yield item
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return

    def version(self) -> str:
        """The API server's `gitVersion` (`v1.35.4`)."""
        return str(self.get("/version").get("gitVersion", "unknown"))

    def served(self) -> dict[tuple[str, str], tuple[str, bool]]:
        """Each (group, kind) the server serves, with the list path of its preferred version and whether it is namespaced."""
        found: dict[tuple[str, str], tuple[str, bool]] = {}
        versions = [("", "/api/v1")]
        for group in self.get("/apis").get("groups") or []:
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            others = [v.get("groupVersion") for v in group.get("versions") or [] if v.get("groupVersion") != preferred]
            versions += [(group.get("name", ""), f"/apis/{gv}") for gv in [preferred, *others] if gv]
        for group, base in versions:
            for resource in self.get(base).get("resources") or []:
                name = resource.get("name", "")
                if "/" in name or "list" not in (resource.get("verbs") or []):
                    continue
                found.setdefault(
                    (group, resource.get("kind", "")), (f"{base}/{name}", bool(resource.get("namespaced")))
                )
        return found


def connect(kubeconfig: str) -> Live:
    """A Live reader on a kubeconfig's text (see `kubernetes_client` for the files its client library writes)."""
    from components.drain import kubernetes_client

    try:
        return Live(kubernetes_client(kubeconfig))
    except Exception as error:  # noqa: BLE001 the client's kubeconfig errors name a key, never its value
        raise LiveError(
            f"the kubeconfig cannot be used: {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
        ) from None
