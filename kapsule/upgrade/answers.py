"""An HTTP answer from the API server read within its deadline and its size, for the preflight's reads and the
rotation's writes alike.

Who controls the answers: the API server, and through it anyone who may write an object it lists. A socket
timeout bounds one `recv` only, and the status line, the headers and a chunked body's size lines and trailers
are read line by line, each `recv` with a fresh timeout: an answer sent a byte at a time would run on far past
its deadline. So the body is read chunk by chunk against the clock (`read_body`), and a watchdog shuts the
connection's socket down when the deadline passes, whatever is being read (`Watchdog`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

#: One answer (a page, a discovery document, the metrics, a node, an eviction's status) is read up to this.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
CHUNK = 64 * 1024


class BodyError(Exception):
    """An answer's body that could not be read whole: too slow, too large or broken off; the sentence says which."""


def read_body(response: Any, ends: float, seconds: float, charge: Callable[[int], None] | None = None) -> bytes:
    """An answer's body, chunk by chunk, for the preflight and the rotation alike.

    Each read waits at most until `ends` (monotonic), so a slow body cannot outlast it; the whole is at most
    `MAX_RESPONSE_BYTES`; `charge` is told each chunk's size, and what it raises goes through. BodyError
    otherwise. On any error the response is closed first, so that no caller puts a half-read connection back
    in its pool (its unread rest would be read as the next answer).
    """
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            left = ends - time.monotonic()
            if left <= 0:
                raise BodyError(f"the answer did not finish within {seconds:.0f}s")
            try:
                sock = getattr(getattr(response, "connection", None), "sock", None)
                if sock is not None:
                    sock.settimeout(left)
                chunk = response.read1(CHUNK)
            except Exception as error:  # noqa: BLE001 urllib3's and the socket's errors name the address only
                if time.monotonic() >= ends - 0.1:
                    raise BodyError(f"the answer did not finish within {seconds:.0f}s") from None
                raise BodyError(f"the answer broke off ({type(error).__name__})") from None
            if not chunk:
                if time.monotonic() >= ends:  # the watchdog shut the socket: an end it forced is no answer
                    raise BodyError(f"the answer did not finish within {seconds:.0f}s")
                return b"".join(chunks)
            size += len(chunk)
            if charge is not None:
                charge(len(chunk))
            if size > MAX_RESPONSE_BYTES:
                raise BodyError(f"the answer is over {MAX_RESPONSE_BYTES // 2**20} MiB")
            chunks.append(chunk)
    except BaseException:
        response.close()
        raise


class Watchdog:
    """Shuts down the sockets of the pools it watches when the deadline of the request under way passes.

    A pool whose `ConnectionCls` is `watched(...)` opens connections known to it; `until(ends)` arms it around one
    request. After it fired, `fired` is true, and what the request raised or returned is the deadline's doing.
    """

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self.fired = False

    def watched(self, connection_class: Any) -> Any:
        """A subclass of urllib3's `connection_class` whose connections this watchdog watches."""
        sockets = self._sockets

        class Watched(connection_class):  # urllib3's own connection class, per pool
            def connect(self) -> None:
                super().connect()
                sockets.add(self.sock)

        return Watched

    @contextlib.contextmanager
    def until(self, ends: float) -> Iterator[None]:
        """Shut the watched sockets down at `ends` (monotonic) if the block is still running then."""
        self.fired = False
        timer = threading.Timer(max(0.0, ends - time.monotonic()), self._fire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _fire(self) -> None:
        self.fired = True
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
