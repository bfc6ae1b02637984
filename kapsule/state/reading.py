"""Reading a state file, bounded: a checkpoint or a `pulumi stack export`, checked for its shape and its owner."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

from ..files import FileProblem, read_regular
from ..names import PROJECT
from .records import MAX_STATE_DEPTH, RESOURCE_FIELDS, RecordedResource, RecordedState, StateError, decode

#: State document versions this reads: what `pulumi stack export` and the file backend write (apitype 3, and 4 with features).
STATE_VERSIONS = (3, 4)


#: Bounds on a state file: far above any real stack, far below what a compression bomb expands to.
MAX_STATE_BYTES = 256 * 1024 * 1024


def read_state(path: Path, display: str | None = None, *, stack: str | None = None) -> RecordedState:
    """Read a `pulumi stack export` file or a file-backend checkpoint (plain, gzip or zstd).

    With `stack`, state that belongs to another stack or project is refused.
    """
    shown = display or str(path)
    document = _load(path, shown)
    deployment = _deployment(document, shown)
    state = RecordedState(source=shown, resources={})
    for index, item in enumerate(_typed(deployment, "resources", list, shown, "deployment") or []):
        where = f"deployment.resources[{index}]"
        if not isinstance(item, dict):
            raise StateError(f"{shown}: {where} is not an object")
        for key, kind in RESOURCE_FIELDS.items():
            _typed(item, key, kind, shown, where)
        if "urn" not in item or "type" not in item:
            raise StateError(f"{shown}: {where} has no urn or type")
        if item.get("delete"):
            continue  # a replaced resource's old copy, still pending deletion
        urn = item["urn"]
        _check_owner(urn, stack, shown)
        if item.get("custom") and not item.get("id") and not item.get("pendingReplacement"):
            # Every resource a provider created has an id; without one the engine could not read or delete it.
            raise StateError(
                f"{shown}: {where} ({_printable(urn)}) has no id; the state is corrupt: "
                "restore an earlier export, or repair it with `pulumi refresh` and `pulumi state repair`"
            )
        if urn in state.resources:
            raise StateError(
                f"{shown}: the resource {urn} is recorded twice; the state is corrupt (repair it with `pulumi state repair`)"
            )
        state.resources[urn] = RecordedResource(
            urn=urn,
            type=item["type"],
            custom=bool(item.get("custom")),
            id=item.get("id") or "",
            inputs=decode(item.get("inputs") or {}, shown),
            outputs=decode(item.get("outputs") or {}, shown),
            parent=item.get("parent") or "",
            protect=bool(item.get("protect")),
            provider=item.get("provider") or "",
            replace=bool(item.get("taint") or item.get("pendingReplacement")),
        )
    for index, operation in enumerate(_typed(deployment, "pending_operations", list, shown, "deployment") or []):
        resource = operation.get("resource") if isinstance(operation, dict) else None
        urn = resource.get("urn") if isinstance(resource, dict) else None
        operation_type = operation.get("type") if isinstance(operation, dict) else None
        if not isinstance(urn, str) or not isinstance(operation_type, str):
            raise StateError(f"{shown}: deployment.pending_operations[{index}] has no resource urn or type")
        state.pending.append(f"{operation_type} of {urn}")
    return state


def read_document(path: Path, display: str | None = None) -> Any:
    """A state file's JSON document, read within the same bounds as `read_state` (plain, gzip or zstd)."""
    return _load(path, display or str(path))


def deployment_of(document: Any, shown: str) -> dict:
    """The deployment of an export or a checkpoint, checked for its version; a StateError otherwise."""
    return _deployment(document, shown)


JSON_TYPES = {str: "a string", bool: "true or false", dict: "an object", list: "a list", int: "a number"}


def _typed(item: dict, key: str, kind: Any, shown: str, where: str) -> Any:
    """`item[key]` when it has the JSON type the engine writes; a StateError naming the field otherwise."""
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise StateError(
            f"{shown}: {where}.{key} is {json.dumps(value)[:40]}, but Pulumi writes {JSON_TYPES.get(kind, kind)} there"
        )
    return value


def _printable(text: str) -> str:
    """Text from a state file as it may be shown: control characters escaped."""
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def _check_owner(urn: str, stack: str | None, shown: str) -> None:
    """Refuse a resource of another stack or project: `urn:pulumi:<stack>::<project>::...`."""
    parts = urn.split("::")
    if not urn.startswith("urn:pulumi:") or len(parts) < 4:
        raise StateError(f"{shown}: {urn!r} is not a Pulumi URN")
    owner_stack, project = parts[0][len("urn:pulumi:") :], parts[1]
    if project != PROJECT:
        raise StateError(f"{shown}: the state of project {project!r}, not {PROJECT!r}; give this project's export")
    if stack is not None and owner_stack != stack:
        raise StateError(
            f"{shown}: the state of stack {owner_stack!r}, not {stack!r}; export it with `pulumi stack export --stack {stack}`"
        )


def _load(path: Path, shown: str) -> Any:
    """The JSON document of a state file, read within bounds; compressed files are recognised by content."""
    try:
        raw = read_regular(path, MAX_STATE_BYTES, "a stack's state is far smaller")
    except FileProblem as error:
        raise StateError(f"{shown}: not a readable state file: {error}; give a `pulumi stack export` file") from None
    try:
        if raw[:2] == GZIP_MAGIC:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
                raw = _bounded(stream, shown)
        elif raw[:4] == ZSTD_MAGIC:
            import zstandard  # only for the file backend's zstd checkpoints

            try:
                with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)) as stream:
                    raw = _bounded(stream, shown)
            except zstandard.ZstdError as error:
                raise StateError(f"{shown}: not a readable zstd checkpoint ({error})") from None
        _check_shape(raw, shown)
        return json.loads(raw)
    except StateError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise StateError(f"{shown}: not a readable Pulumi state file ({error})") from None
    except RecursionError:
        raise StateError(
            f"{shown}: not a readable Pulumi state file (it nests deeper than {MAX_STATE_DEPTH} levels)"
        ) from None


MAX_STATE_CONTAINERS = 2_000_000


def _check_shape(raw: bytes, shown: str) -> None:
    """Refuse a document with more objects and lists than any stack has, before it is parsed.

    Counted on the bytes, so a brace inside a string counts too: the bound is far enough above real
    state for that never to matter.
    """
    if raw.count(b"{") + raw.count(b"[") > MAX_STATE_CONTAINERS:
        raise StateError(
            f"{shown}: not a readable Pulumi state file (more than {MAX_STATE_CONTAINERS:,} objects and lists; a stack's state holds far fewer)"
        )


GZIP_MAGIC = b"\x1f\x8b"


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _bounded(stream: Any, shown: str) -> bytes:
    """Decompress at most MAX_STATE_BYTES: a small archive may expand to gigabytes."""
    data = stream.read(MAX_STATE_BYTES + 1)
    if len(data) > MAX_STATE_BYTES:
        raise StateError(f"{shown}: decompresses to more than {MAX_STATE_BYTES // 2**20} MiB; not a stack's state")
    return data


def _deployment(document: Any, shown: str) -> dict:
    """The deployment of an export (`{"version", "deployment"}`) or a checkpoint (`{"version", "checkpoint": {"latest"}}`)."""
    if not isinstance(document, dict) or not ({"deployment", "checkpoint"} & set(document)):
        raise StateError(f"{shown}: neither a `pulumi stack export` file nor a checkpoint (no deployment found)")
    version = document.get("version")
    if version not in STATE_VERSIONS or isinstance(version, bool):
        raise StateError(
            f"{shown}: state version {json.dumps(version)[:20]} is not one this reads ({', '.join(map(str, STATE_VERSIONS))}); "
            "export it again with the project's Pulumi CLI"
        )
    if "deployment" in document:
        deployment = document["deployment"]
        if not isinstance(deployment, dict):
            raise StateError(f"{shown}: deployment is not an object")
        return deployment
    checkpoint = document["checkpoint"]
    if not isinstance(checkpoint, dict):
        raise StateError(f"{shown}: checkpoint is not an object")
    latest = checkpoint.get("latest")
    if latest is None:
        return {"resources": []}
    if not isinstance(latest, dict):
        raise StateError(f"{shown}: checkpoint.latest is not an object")
    return latest
