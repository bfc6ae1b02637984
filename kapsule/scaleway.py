"""Calls through the Scaleway SDK, each within a deadline, and its lists read page by page within a bound.

The SDK's HTTP calls carry no timeout, and its `*_all` listings follow pages until one comes back empty: without
end against an API that keeps answering. So a call here runs in a worker thread that the caller stops waiting
for at its deadline (the call may still be carried out), and a list is read a page at a time, up to a bound.
Who controls the answers: Scaleway's API, and through it whatever any key of the project has created.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from .files import FileProblem, MissingFile, read_regular

#: One call's deadline, seconds.
CALL_SECONDS = 30.0
#: Items asked for per page.
PAGE_SIZE = 100
#: The SDK's config file (`SCW_CONFIG_PATH`, or `~/.config/scw/config.yaml`) is a few profiles.
MAX_CONFIG_BYTES = 1024 * 1024

T = TypeVar("T")


class NoAnswer(RuntimeError):
    """A call that did not answer in time: it may have been carried out all the same."""


class TooLong(RuntimeError):
    """A list longer than its bound: refused, not followed."""


class NoClient(RuntimeError):
    """The SDK's configuration cannot be used: one sentence, naming the file, never a key."""


def quiet() -> None:
    """Keep the SDK's own logging below ERROR: at DEBUG it logs each request's headers, the secret key among them,
    and it warns of a missing config file before it reads the environment."""
    logging.getLogger("scaleway").setLevel(logging.ERROR)


def client() -> Any:
    """The SDK's client from its config file and the `SCW_*` variables. The SDK reads the file whole, and a pipe
    named there would hold it forever, so the file is checked first: a regular file of at most MAX_CONFIG_BYTES,
    or none at all. The caller checks the keys it needs."""
    from scaleway import Client
    from scaleway_core.profile import Profile

    quiet()
    path = Path(Profile.get_default_config_file_path())
    try:
        read_regular(path, MAX_CONFIG_BYTES, "the Scaleway SDK's config file is a few profiles")
    except MissingFile:
        pass  # the environment alone, as the SDK reads it
    except FileProblem as error:
        raise NoClient(f"{path}: {error}") from None
    try:
        return within(Client.from_config_file_and_env, "reading the Scaleway SDK's configuration", 10.0)
    except NoAnswer as error:
        raise NoClient(str(error)) from None
    except Exception as error:  # noqa: BLE001 whatever the SDK raises: its text may quote the file
        raise NoClient(f"{path}: the Scaleway SDK cannot read it ({type(error).__name__})") from None


def within(call: Callable[[], T], what: str, seconds: float | None = None) -> T:
    """`call()` within `seconds` (`CALL_SECONDS` unless given): its value, or what it raised; NoAnswer naming
    `what` when it does not answer."""
    seconds = CALL_SECONDS if seconds is None else seconds
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = call()
        except BaseException as error:  # noqa: BLE001 handed to the caller below
            result["error"] = error

    worker = threading.Thread(target=run, name=f"scaleway {what}", daemon=True)
    worker.start()
    worker.join(max(0.0, seconds))
    if worker.is_alive():
        raise NoAnswer(f"{what}: no answer within {seconds:g} s")
    if "error" in result:
        raise result["error"]
    return result["value"]


def paged(read: Callable[[int], Any], items: str, what: str, bound: int, seconds: float | None = None) -> list[Any]:
    """Every item of a list `read(page)` answers `PAGE_SIZE` at a time (pages from 1), each call within `seconds`;
    TooLong past `bound` items."""
    found: list[Any] = []
    for page in range(1, bound // PAGE_SIZE + 2):
        chunk = list(getattr(within(partial(read, page), what, seconds), items, None) or [])
        found += chunk
        if len(found) > bound:
            break
        if len(chunk) < PAGE_SIZE:
            return found
    raise TooLong(f"{what}: more than {bound} items")
