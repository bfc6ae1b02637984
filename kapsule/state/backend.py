"""Where a stack's recorded state lives: the local backend's checkpoint, or a file named on the command line."""

from __future__ import annotations

import os
from pathlib import Path

from ..names import PROJECT
from .reading import read_state
from .records import RecordedState, StateError


def backend_directory(root: Path, environ: dict[str, str] | None = None) -> Path | None:
    """The local file backend's directory: `PULUMI_BACKEND_URL` when it is `file://`, else `.pulumi-state`.

    None when the backend is remote (Object Storage, Pulumi Cloud): its state is read through an export.
    """
    url = (environ if environ is not None else os.environ).get("PULUMI_BACKEND_URL", "")
    if not url:
        return root / ".pulumi-state"
    if url.startswith("file://"):
        return Path(os.path.expanduser(url[len("file://") :])).resolve()
    return None


def checkpoint_path(stack: str, directory: Path) -> Path | None:
    """The checkpoint of `stack` in a file backend directory, if any: project-scoped before legacy, and of
    `<stack>.json`, `.json.gz` and `.json.zst` the newest, as the CLI reads it."""
    stacks = directory / ".pulumi" / "stacks"
    for candidate in (stacks / PROJECT / f"{stack}.json", stacks / f"{stack}.json"):
        variants = [
            p
            for p in (
                candidate,
                candidate.with_name(candidate.name + ".gz"),
                candidate.with_name(candidate.name + ".zst"),
            )
            if p.is_file()
        ]
        if variants:
            return max(variants, key=lambda p: p.stat().st_mtime_ns)
    return None


class NoState(StateError):
    """Where state was expected, there is none: planning against nothing would hide every delete."""


def find_state(
    stack: str, root: Path, state: Path | None, environ: dict[str, str] | None = None, *, required: bool = True
) -> RecordedState | None:
    """The recorded state to plan `stack` against.

    `state` is a state file, or a directory holding `<stack>.json` exports; without it, the local file
    backend's checkpoint. None (every resource a create) only when `required` is false (`--no-state`)
    or when the local backend has never deployed the stack.
    """
    if state is not None:
        if state.is_dir():
            for path in (state / f"{stack}.json", state / f"{stack}.json.gz", state / f"{stack}.json.zst"):
                if path.exists():
                    return read_state(path, stack=stack)
            if not required:
                return None
            raise NoState(
                f"--state {state}: holds no {stack}.json export; export it with `pulumi stack export --stack {stack} --file {state}/{stack}.json`, or plan with --no-state"
            )
        if not state.exists():
            raise NoState(f"--state {state}: no such file")
        return read_state(state, stack=stack)
    if not required:
        return None
    directory = backend_directory(root, environ)
    if directory is None:
        url = (environ if environ is not None else os.environ).get("PULUMI_BACKEND_URL", "")
        raise NoState(
            f"PULUMI_BACKEND_URL is {url.split('?')[0]!r}, which this cannot read: export the stack "
            f"(`pulumi stack export --stack {stack} --file {stack}.json`) and pass --state, or plan with --no-state"
        )
    checkpoint = checkpoint_path(stack, directory)
    return read_state(checkpoint, stack=stack) if checkpoint else None
