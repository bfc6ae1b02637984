"""The processes under the local servers: started, waited for, read and stopped by their own ids."""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path


def which(program: str) -> bool:
    return any((Path(folder) / program).is_file() for folder in os.environ.get("PATH", "").split(os.pathsep) if folder)


def http_get(url: str, token: str = "", context: ssl.SSLContext | None = None) -> bytes | None:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return response.read(1024)
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return None


def tail(log: str, lines: int = 8) -> str:
    try:
        with open(log, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            return "\n".join(handle.read().decode(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child is not alive
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        return True


def stop_process(pid: int, grace: float = 10) -> None:
    """Stop one process by its id: SIGTERM, then SIGKILL after `grace` seconds."""
    if not alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
