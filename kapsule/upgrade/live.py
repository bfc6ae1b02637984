"""Read-only access to a live cluster: JSON lists page by page, discovery, the metrics text; GET only.

Who controls what is read: the API server, and through it anyone who may write an object in any namespace
(annotations, Helm release Secrets, labels). So every answer is hostile input, read under one budget
(`Limits`): an overall deadline, a cap on requests and on bytes per check and in all, a per-request timeout
that also covers a body sent slowly (the body is read chunk by chunk against the clock, not only with the
socket's timeout, which starts again at every chunk), a cap on each answer's size and a JSON decode whose
nesting is bounded. A check over its budget stops with BudgetExceeded: it is never silently partial.

The kubeconfig is read by `kubeconfig.py` (no plugin runs, the key stays in memory); requests go through
urllib3, the HTTP library the Kubernetes Python client itself uses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from .answers import BodyError, Watchdog, read_body
from .kubeconfig import Access, KubeconfigError, parse_kubeconfig, ssl_context

#: One page of a list.
PAGE = 500


#: The metadata of a list and nothing else: managedFields and annotations are all the API check needs.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


@dataclass(frozen=True)
class Limits:
    """The preflight's budget. A cluster of 10,000 pods reads in about 30 requests and 100 MiB."""

    deadline: float = 120.0
    """Seconds for the whole preflight (`--deadline`)."""
    request_timeout: float = 30.0
    """Seconds for one request, its body included."""
    requests_per_check: int = 400
    requests: int = 1_500
    bytes_per_check: int = 512 * 1024 * 1024
    bytes: int = 1024 * 1024 * 1024
    objects_per_check: int = 100_000


class LiveError(RuntimeError):
    """The cluster could not be read: the message says what was asked and the status, never a credential."""


class BudgetExceeded(LiveError):
    """A check used up its part of the budget (or the preflight's): it did not run in full, so not at all."""


@dataclass
class Tally:
    """What a check (or the whole preflight) has spent."""

    requests: int = 0
    bytes: int = 0
    objects: int = 0


def loads(data: bytes | str, what: str) -> Any:
    """JSON from outside: ValueError (never RecursionError) for nesting deeper than the decoder's stack allows."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply to read") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{what} is not JSON") from None


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0][:200]}" if text else type(error).__name__


class Live:
    """A cluster reached through a kubeconfig's Access, read with GET requests only, within `limits`."""

    def __init__(self, access: Access, limits: Limits = Limits()) -> None:
        import urllib3

        self.limits = limits
        self.deadline = time.monotonic() + limits.deadline
        self.total = Tally()
        self.spent = Tally()
        self._token = access.token
        url = urlsplit(access.server)
        self._prefix = url.path.rstrip("/")
        options: dict[str, Any] = {"retries": False, "maxsize": 2, "block": False}
        if url.scheme == "https":
            options["ssl_context"] = ssl_context(access)
            if access.tls_server_name:
                options["server_hostname"] = access.tls_server_name
        self._watchdog = Watchdog()
        self._pool = urllib3.connection_from_url(f"{url.scheme}://{url.netloc}", **options)
        self._pool.ConnectionCls = self._watchdog.watched(self._pool.ConnectionCls)

    @contextmanager
    def check(self) -> Iterator[Tally]:
        """Count what is read inside against one check's part of the budget."""
        previous, self.spent = self.spent, Tally()
        try:
            yield self.spent
        finally:
            self.spent = previous

    def _exceeded(self, cap: str) -> BudgetExceeded:
        spent = self.spent
        return BudgetExceeded(
            f"budget exceeded after {spent.objects} objects ({spent.requests} requests, "
            f"{spent.bytes / 2**20:.1f} MiB read): {cap}"
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]") if self._token else text

    def _charge_request(self) -> float:
        """Count one request; the seconds it may take."""
        limits = self.limits
        if self.spent.requests >= limits.requests_per_check:
            raise self._exceeded(f"a check makes at most {limits.requests_per_check} requests")
        if self.total.requests >= limits.requests:
            raise self._exceeded(f"the preflight makes at most {limits.requests} requests")
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._exceeded(f"the preflight's deadline of {limits.deadline:g}s passed")
        self.spent.requests += 1
        self.total.requests += 1
        return min(remaining, limits.request_timeout)

    def spend(self, size: int) -> None:
        """Count `size` bytes of work on what was read (a Helm release unpacked) against the budget, on time."""
        self._charge_bytes(size)
        self.on_time()

    def on_time(self) -> None:
        """BudgetExceeded once the preflight's deadline has passed: for work between requests (a long parse)."""
        if time.monotonic() >= self.deadline:
            raise self._exceeded(f"the preflight's deadline of {self.limits.deadline:g}s passed")

    def _charge_bytes(self, count: int) -> None:
        self.spent.bytes += count
        self.total.bytes += count
        if self.spent.bytes > self.limits.bytes_per_check:
            raise self._exceeded(f"a check reads at most {self.limits.bytes_per_check // 2**20} MiB")
        if self.total.bytes > self.limits.bytes:
            raise self._exceeded(f"the preflight reads at most {self.limits.bytes // 2**20} MiB")

    def get(
        self,
        path: str,
        query: list[tuple[str, Any]] | None = None,
        accept: str = "application/json",
        raw: bool = False,
    ) -> Any:
        """One GET, its body read within the budget and the request's time; JSON decoded unless `raw`."""

        seconds = self._charge_request()
        ends = time.monotonic() + seconds
        headers = {"Accept": accept, "Accept-Encoding": "identity", "User-Agent": "kapsule-preflight"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        target = self._prefix + path + (f"?{urlencode(query)}" if query else "")
        with self._watchdog.until(ends):
            body = self._answer(path, target, headers, ends, seconds)
        if raw:
            return body.decode("utf-8", "replace")
        try:
            return loads(body, f"GET {path}: the answer")
        except ValueError as error:
            raise LiveError(str(error)) from None

    def _answer(self, path: str, target: str, headers: dict[str, str], ends: float, seconds: float) -> bytes:
        """One GET's body, the status and the encoding checked; LiveError otherwise."""
        import urllib3

        try:
            response = self._pool.urlopen(
                "GET",
                target,
                headers=headers,
                preload_content=False,
                decode_content=False,
                redirect=False,
                retries=False,
                timeout=urllib3.Timeout(connect=min(seconds, 10.0), read=seconds),
            )
        except (urllib3.exceptions.HTTPError, OSError) as error:
            if self._watchdog.fired:  # the status line or the headers came too slowly
                raise LiveError(f"GET {path}: the answer did not finish within {seconds:.0f}s") from None
            raise LiveError(self._scrub(f"GET {path}: {_one_line(error)}")) from None
        complete = False
        try:
            if response.status != 200:
                raise LiveError(self._scrub(f"GET {path}: {response.status} {str(response.reason or '')[:80]}"))
            if response.headers.get("Content-Encoding", "identity").lower() not in ("identity", ""):
                raise LiveError(f"GET {path}: the answer is compressed although it was asked for plain")
            try:
                body = read_body(response, ends, seconds, self._charge_bytes)
            except BodyError as error:
                raise LiveError(self._scrub(f"GET {path}: {error}")) from None
            complete = True
        finally:
            if not complete:
                response.close()  # a body left unread must not be read as the next answer
            response.release_conn()
        return body

    def items(self, path: str, *, metadata_only: bool = False, selector: str | None = None) -> Iterator[dict[str, Any]]:
        """Every object of a list, page by page; LiveError for an answer that is not a list of objects."""
        token: str | None = None
        tokens: set[str] = set()
        while True:
            query: list[tuple[str, Any]] = [("limit", PAGE)]
            if token:
                query.append(("continue", token))
            if selector:
                query.append(("labelSelector", selector))
            page = self.get(path, query, METADATA_ONLY if metadata_only else "application/json")
            listed = page.get("items") if isinstance(page, dict) else None
            if not isinstance(listed, list) and not (isinstance(page, dict) and listed is None):
                raise LiveError(f"GET {path}: the answer is not a list")
            for item in listed or []:
                if not isinstance(item, dict):
                    raise LiveError(f"GET {path}: the list holds an item that is not an object")
                self.spent.objects += 1
                if self.spent.objects > self.limits.objects_per_check:
                    self.spent.objects -= 1
                    raise self._exceeded(f"a check reads at most {self.limits.objects_per_check} objects")
                yield item
            metadata = page.get("metadata")
            token = metadata.get("continue") if isinstance(metadata, dict) else None
            if not token:
                return
            if not isinstance(token, str) or token in tokens:
                raise LiveError(f"GET {path}: the server sent a continue token it sent before")
            tokens.add(token)

    def version(self) -> str:
        """The API server's `gitVersion` (`v1.35.4`)."""
        answer = self.get("/version")
        return str(answer.get("gitVersion", "unknown")) if isinstance(answer, dict) else "unknown"

    def served(self) -> dict[tuple[str, str], tuple[str, bool]]:
        """Each (group, kind) the server serves, with the list path of its preferred version and whether it is namespaced."""
        found: dict[tuple[str, str], tuple[str, bool]] = {}
        versions = [("", "/api/v1")]
        groups = _field(self.get("/apis"), "groups", "/apis")
        for group in groups:
            if not isinstance(group, dict):
                raise LiveError("GET /apis: a group that is not an object")
            preferred = (group.get("preferredVersion") or {}).get("groupVersion")
            listed = [v for v in group.get("versions") or [] if isinstance(v, dict)]
            others = [v.get("groupVersion") for v in listed if v.get("groupVersion") != preferred]
            versions += [
                (str(group.get("name", "")), f"/apis/{gv}") for gv in [preferred, *others] if isinstance(gv, str) and gv
            ]
        for group, base in versions:
            for resource in _field(self.get(base), "resources", base):
                if not isinstance(resource, dict):
                    raise LiveError(f"GET {base}: a resource that is not an object")
                name = str(resource.get("name", ""))
                if "/" in name or "list" not in (resource.get("verbs") or []):
                    continue
                found.setdefault(
                    (group, str(resource.get("kind", ""))), (f"{base}/{name}", bool(resource.get("namespaced")))
                )
        return found


def _field(answer: Any, key: str, path: str) -> list[Any]:
    value = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(value, (list, type(None))):
        raise LiveError(f"GET {path}: `{key}` is not a list")
    return value or []


def connect(kubeconfig: str, limits: Limits = Limits(), base: Path | None = None) -> Live:
    """A Live reader on a kubeconfig's text (never written to a file, its key never on disk); `base` is the
    folder its relative side-file paths start from."""
    try:
        return Live(parse_kubeconfig(kubeconfig, base), limits)
    except KubeconfigError as error:
        raise LiveError(f"the kubeconfig cannot be used: {error}") from None
