"""The runner's egress address, from an address service: exactly one public address, or one line saying why not.

Who controls the answer: whoever runs the address service, and anything between it and the runner. It is
read as hostile input: at most `MAX_BYTES`, within `DEADLINE` seconds in all (a server that trickles bytes
is cut off too), and accepted only as one public IPv4 or IPv6 address (components/api_access.py).
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from components.api_access import as_host_range, single_address_problem

#: Where the address comes from unless `KAPSULE_ADDRESS_URL` names another service: it answers the caller's
#: address as plain text.
DEFAULT_ADDRESS_URL = "https://api.ipify.org"
ADDRESS_URL_VARIABLE = "KAPSULE_ADDRESS_URL"
#: An address is at most 39 characters; a little room for a line break.
MAX_BYTES = 256
DEADLINE = 10.0
#: Plain http is taken from these hosts only: a service on the runner itself (and the tests' loopback server);
#: anything else is https, so that no one between the runner and the service can choose the address.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})


class AddressError(ValueError):
    """The address could not be read, or is not one public address: the message is one line."""


def runner_address(url: str, deadline: float = DEADLINE) -> str:
    """The runner's egress address as a /32 or /128, read from `url` within `deadline` seconds."""
    problem = url_problem(url)
    if problem:
        raise AddressError(f"the address service {url[:80]!r} {problem}")
    answer: dict[str, object] = {}
    opener = urllib.request.build_opener(_NoRedirect)

    def fetch() -> None:
        try:
            request = urllib.request.Request(url, headers={"Accept": "text/plain"})
            # The socket's own timeout a little later than the deadline, so that the deadline is what is reported.
            with opener.open(request, timeout=deadline + 1) as response:  # noqa: S310 (https, or http on loopback: above)
                answer["body"] = response.read(MAX_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as error:
            answer["error"] = error

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        raise AddressError(f"the address service {url} did not answer within {deadline:g} s")
    if "error" in answer:
        reason = getattr(answer["error"], "reason", answer["error"])
        said = str(reason).splitlines()[0][:120] if str(reason) else type(reason).__name__
        raise AddressError(f"the address service {url} did not answer: {said}")
    return parse_address(answer.get("body", b""), f"the address service {url}")  # type: ignore[arg-type]


def url_problem(url: str) -> str | None:
    """Why `url` is not an address service this command reads (https, or http on the runner's loopback), or None."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "is not a URL"
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return None
    return "is not an https URL (plain http only on the runner's own loopback, 127.0.0.1 or ::1)"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: the address comes from the service named, nowhere else."""

    def redirect_request(self, req: Any, fp: Any, code: int, _msg: str, headers: Any, _newurl: str) -> None:
        raise urllib.error.HTTPError(req.full_url, code, f"redirects (HTTP {code}), which is refused", headers, fp)


def parse_address(body: bytes, source: str) -> str:
    """The one public address an answer holds, as a /32 or /128; AddressError (one line) for anything else."""
    if len(body) > MAX_BYTES:
        raise AddressError(f"{source}: more than {MAX_BYTES} bytes, where an address is one short line")
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise AddressError(f"{source}: an answer that is not plain ASCII text") from None
    words = text.split()
    if len(words) != 1:
        what = "nothing" if not words else f"{len(words)} values"
        raise AddressError(f"{source}: {what}, where the runner has exactly one egress address")
    problem: str | None = single_address_problem(words[0])
    if problem:
        raise AddressError(f"{source}: {problem}; CI opens the allow-list for exactly one public address")
    return as_host_range(words[0])
