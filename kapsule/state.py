"""Recorded state: what Pulumi last wrote down as live, read from a stack export or a local checkpoint.

Two files carry the same resources: `pulumi stack export` (`{"deployment": {...}}`) and the local file
backend's checkpoint (`{"checkpoint": {"latest": {...}}}`). Secrets in them are either ciphertext, which
this module never decrypts (it becomes `SEALED`), or, in an export made with `--show-secrets`,
JSON plaintext, which is kept only inside a `Secret` so it is masked wherever it is shown.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .render import PROJECT, SEALED, Secret

#: The marker Pulumi puts in a JSON object that stands for a secret value.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


class StateError(Exception):
    """A state file that cannot be read as Pulumi state; the message names the file."""


@dataclass
class RecordedResource:
    """One resource as the last deployment left it."""

    urn: str
    type: str
    custom: bool
    id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    parent: str = ""
    protect: bool = False
    provider: str = ""

    @property
    def name(self) -> str:
        """The logical name: the last part of the URN."""
        return self.urn.rsplit("::", 1)[-1]

    @property
    def defaults(self) -> frozenset[str]:
        """Top-level inputs the provider filled in itself (a bridged provider lists them in `__defaults`)."""
        return frozenset(self.inputs.get("__defaults") or ())


@dataclass
class RecordedState:
    """Every recorded resource of one stack, by URN, and where it was read from."""

    source: str
    resources: dict[str, RecordedResource]

    def get(self, urn: str) -> Optional[RecordedResource]:
        """The recorded resource with this URN, if any."""
        return self.resources.get(urn)


def decode(value: Any) -> Any:
    """A state value with its secrets turned into `Secret` (plaintext) or `SEALED` (ciphertext)."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            if "plaintext" in value:
                return Secret(decode(json.loads(value["plaintext"])))
            return Secret(SEALED)
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def read_state(path: Path, display: Optional[str] = None) -> RecordedState:
    """Read a `pulumi stack export` file or a file-backend checkpoint (optionally gzipped)."""
    shown = display or str(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        document = json.loads(raw)
    except (OSError, ValueError, EOFError) as error:
        raise StateError(f"{shown}: not a readable Pulumi state file ({error})") from None
    deployment = _deployment(document)
    if deployment is None:
        raise StateError(f"{shown}: neither a `pulumi stack export` file nor a checkpoint (no deployment found)")
    resources: dict[str, RecordedResource] = {}
    for item in deployment.get("resources") or []:
        if not isinstance(item, dict) or "urn" not in item or "type" not in item:
            raise StateError(f"{shown}: a resource without urn or type")
        if item.get("delete"):
            continue  # a replaced resource's old copy, still pending deletion
        resources[item["urn"]] = RecordedResource(
            urn=item["urn"],
            type=item["type"],
            custom=bool(item.get("custom")),
            id=item.get("id") or "",
            inputs=decode(item.get("inputs") or {}),
            outputs=decode(item.get("outputs") or {}),
            parent=item.get("parent") or "",
            protect=bool(item.get("protect")),
            provider=item.get("provider") or "",
        )
    return RecordedState(source=shown, resources=resources)


def _deployment(document: Any) -> Optional[dict]:
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("deployment"), dict):
        return document["deployment"]
    checkpoint = document.get("checkpoint")
    if isinstance(checkpoint, dict):
        latest = checkpoint.get("latest")
        return latest if isinstance(latest, dict) else {"resources": []}
    return None


def backend_directory(root: Path, environ: Optional[dict[str, str]] = None) -> Optional[Path]:
    """The local file backend's directory: `PULUMI_BACKEND_URL` when it is `file://`, else `.pulumi-state`.

    None when the backend is remote (Object Storage, Pulumi Cloud): its state is read through an export.
    """
    url = (environ if environ is not None else os.environ).get("PULUMI_BACKEND_URL", "")
    if not url:
        return root / ".pulumi-state"
    if url.startswith("file://"):
        return Path(os.path.expanduser(url[len("file://") :])).resolve()
    return None


def checkpoint_path(stack: str, directory: Path) -> Optional[Path]:
    """The checkpoint of `stack` in a file backend directory, project-scoped or legacy, if it exists."""
    stacks = directory / ".pulumi" / "stacks"
    for candidate in (stacks / PROJECT / f"{stack}.json", stacks / f"{stack}.json"):
        for path in (candidate, candidate.with_name(candidate.name + ".gz")):
            if path.is_file():
                return path
    return None


def find_state(stack: str, root: Path, state: Optional[Path], environ: Optional[dict[str, str]] = None) -> Optional[RecordedState]:
    """The recorded state to plan `stack` against, or None when there is none (everything is a create).

    `state` is a state file, or a directory holding `<stack>.json` exports; without it the local file
    backend's checkpoint for the stack is used when there is one.
    """
    if state is not None:
        if state.is_dir():
            path = state / f"{stack}.json"
            return read_state(path) if path.is_file() else None
        if not state.is_file():
            raise StateError(f"{state}: no such state file")
        return read_state(state)
    directory = backend_directory(root, environ)
    if directory is None:
        return None
    path = checkpoint_path(stack, directory)
    return read_state(path) if path else None
