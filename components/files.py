"""The one way this project reads a file it was handed: a regular file only, opened without blocking,
read to a bound. Stack files, state files, policy configs and kubeconfig files all come through here.
Pure logic."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class FileProblem(Exception):
    """A file that cannot be read as one: the message says why, without the path (the caller names it)."""


class MissingFile(FileProblem):
    """There is no file at that path (or a link that leads nowhere)."""


def read_regular(path: Path, limit: int, what: str) -> bytes:
    """At most `limit` bytes of the regular file at `path` (a link to one is fine).

    `what` names what the file should be, for the message: "a stack file is a few KiB". A device, a
    pipe or a directory is refused before a byte is read, and opening never blocks (a FIFO with no
    writer would otherwise hang the open). A larger file is refused, not truncated.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise MissingFile("does not exist") from None
    except OSError as error:
        if error.errno == errno.ENXIO:  # a FIFO with no writer, opened non-blocking for reading cannot be; a socket
            raise FileProblem("is not a regular file (a device, pipe or socket)") from None
        raise FileProblem(f"cannot be read ({error.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise FileProblem("is not a regular file (a device, pipe or directory)")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise FileProblem(f"cannot be read ({error.strerror})") from None
    finally:
        os.close(descriptor)
    if size > limit:
        raise FileProblem(f"is larger than {_size(limit)}; {what}")
    return b"".join(chunks)


def read_text(path: Path, limit: int, what: str) -> str:
    """The UTF-8 text of the regular file at `path`, read as `read_regular` reads it."""
    try:
        return read_regular(path, limit, what).decode("utf-8")
    except UnicodeDecodeError:
        raise FileProblem("is not UTF-8 text") from None


def _size(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit // 1024} KiB"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner alone, whatever was there before: a new file made 0600,
    then renamed over the old one, so that a file or folder left at a wider mode never holds the text."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(partial, 0o600)  # the umask can only narrow the mode; this states it
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
