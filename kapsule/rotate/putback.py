"""Leaving a node as rotation found it: uncordoned unless it was cordoned before the run, and an error's one line."""

from __future__ import annotations

from .kube import Writer


def one_line(error: BaseException) -> str:
    """An error's type and the first line of its text, at most 200 characters: never more of what it carried."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0][:200]}" if text else type(error).__name__


def put_back(writer: Writer, node: str, was_cordoned: bool) -> str:
    """Uncordon the node unless it was cordoned before the run; what was done, for the blocker's reason."""
    if was_cordoned:
        return "the node stays cordoned, as it was"
    try:
        writer.uncordon(node)
    except Exception as error:  # noqa: BLE001 WriteError, or the API server's refusal: its status line only
        return f"the node could not be uncordoned ({one_line(error)}): run `kubectl uncordon {node}`"
    return "the node is uncordoned"
