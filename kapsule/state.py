"""Recorded state: what Pulumi last wrote down as live, read from a stack export or a local checkpoint.

Two files carry the same resources: `pulumi stack export` (`{"deployment": {...}}`) and the local file
backend's checkpoint (`{"checkpoint": {"latest": {...}}}`). Secrets in them are either ciphertext, which
this module never decrypts (it becomes `SEALED`), or, in an export made with `--show-secrets`,
JSON plaintext, which is kept only inside a `Secret` so it is masked wherever it is shown.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional, Mapping

from .files import FileProblem, read_regular
from .model import SEALED, Secret
from .names import DEFAULTS_KEY, PROJECT, STACK_TYPE
from .urns import name_of

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
    replace: bool = False
    """The state marks it tainted or pending replacement: the next update replaces it."""

    @property
    def name(self) -> str:
        """The logical name the URN ends with."""
        return name_of(self.urn)

    @property
    def defaults(self) -> frozenset[str]:
        """Top-level inputs the provider filled in itself (a bridged provider lists them in `__defaults`)."""
        return frozenset(self.inputs.get(DEFAULTS_KEY) or ())


@dataclass
class RecordedState:
    """Every recorded resource of one stack, by URN, and where it was read from."""

    source: str
    resources: dict[str, RecordedResource]
    pending: list[str] = field(default_factory=list)
    """Operations the engine had started and not finished (an interrupted update): `create of <urn>`."""

    def get(self, urn: str) -> Optional[RecordedResource]:
        """The recorded resource with this URN, if any."""
        return self.resources.get(urn)

    @property
    def outputs(self) -> Optional[dict[str, Any]]:
        """The stack's own outputs (its `pulumi:pulumi:Stack` resource's), or None when it has none recorded."""
        stack = next((r for r in self.resources.values() if r.type == STACK_TYPE), None)
        return dict(stack.outputs) if stack is not None else None

    def renamed(self, aliased: Mapping[str, str]) -> "RecordedState":
        """This state with each resource found through an alias under its new URN (`aliased`: new -> old)."""
        if not aliased:
            return self
        old_to_new = {old: new for new, old in aliased.items()}
        resources = {
            old_to_new.get(urn, urn): replace(recorded, urn=old_to_new[urn]) if urn in old_to_new else recorded
            for urn, recorded in self.resources.items()
        }
        return RecordedState(self.source, resources, list(self.pending))


def decode(value: Any, shown: str = "state", depth: int = 0) -> Any:
    """A state value with its secrets turned into `Secret` (plaintext) or `SEALED` (ciphertext)."""
    if depth > MAX_STATE_DEPTH:
        raise StateError(f"{shown}: not a readable Pulumi state file (a value nests deeper than {MAX_STATE_DEPTH} levels)")
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            if "plaintext" in value:
                try:
                    plaintext = json.loads(value["plaintext"])
                except (TypeError, ValueError, RecursionError):
                    raise StateError(f"{shown}: a secret's plaintext is not JSON; export it again with `pulumi stack export --show-secrets`") from None
                return Secret(decode(plaintext, shown, depth + 1))
            return Secret(SEALED)
        return {k: decode(v, shown, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, shown, depth + 1) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: State document versions this reads: what `pulumi stack export` and the file backend write (apitype 3, and 4 with features).
STATE_VERSIONS = (3, 4)
#: Bounds on a state file: far above any real stack, far below what a compression bomb expands to.
MAX_STATE_BYTES = 256 * 1024 * 1024


def read_state(path: Path, display: Optional[str] = None, *, stack: Optional[str] = None) -> RecordedState:
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
            raise StateError(f"{shown}: the resource {urn} is recorded twice; the state is corrupt (repair it with `pulumi state repair`)")
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
        kind = operation.get("type") if isinstance(operation, dict) else None
        if not isinstance(urn, str) or not isinstance(kind, str):
            raise StateError(f"{shown}: deployment.pending_operations[{index}] has no resource urn or type")
        state.pending.append(f"{kind} of {urn}")
    return state


#: The fields of a recorded resource this reads, with the JSON type the engine writes them as.
RESOURCE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "urn": str, "type": str, "custom": bool, "delete": bool, "id": str, "inputs": dict, "outputs": dict,
    "parent": str, "protect": bool, "taint": bool, "pendingReplacement": bool, "provider": str, "dependencies": list,
}
JSON_TYPES = {str: "a string", bool: "true or false", dict: "an object", list: "a list", int: "a number"}


def _typed(item: dict, key: str, kind: Any, shown: str, where: str) -> Any:
    """`item[key]` when it has the JSON type the engine writes; a StateError naming the field otherwise."""
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise StateError(f"{shown}: {where}.{key} is {json.dumps(value)[:40]}, but Pulumi writes {JSON_TYPES.get(kind, kind)} there")
    return value


def _printable(text: str) -> str:
    """Text from a state file as it may be shown: control characters escaped."""
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def _check_owner(urn: str, stack: Optional[str], shown: str) -> None:
    """Refuse a resource of another stack or project: `urn:pulumi:<stack>::<project>::...`."""
    parts = urn.split("::")
    if not urn.startswith("urn:pulumi:") or len(parts) < 4:
        raise StateError(f"{shown}: {urn!r} is not a Pulumi URN")
    owner_stack, project = parts[0][len("urn:pulumi:") :], parts[1]
    if project != PROJECT:
        raise StateError(f"{shown}: the state of project {project!r}, not {PROJECT!r}; give this project's export")
    if stack is not None and owner_stack != stack:
        raise StateError(f"{shown}: the state of stack {owner_stack!r}, not {stack!r}; export it with `pulumi stack export --stack {stack}`")


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
        raise StateError(f"{shown}: not a readable Pulumi state file (it nests deeper than {MAX_STATE_DEPTH} levels)") from None


#: Bounds on what a state file holds: a real export nests about ten levels and holds a few objects per
#: property; these keep a hostile file from a traceback or from gigabytes of small objects.
MAX_STATE_DEPTH = 64
MAX_STATE_CONTAINERS = 2_000_000


def _check_shape(raw: bytes, shown: str) -> None:
    """Refuse a document with more objects and lists than any stack has, before it is parsed.

    Counted on the bytes, so a brace inside a string counts too: the bound is far enough above real
    state for that never to matter.
    """
    if raw.count(b"{") + raw.count(b"[") > MAX_STATE_CONTAINERS:
        raise StateError(f"{shown}: not a readable Pulumi state file (more than {MAX_STATE_CONTAINERS:,} objects and lists; a stack's state holds far fewer)")


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
    """The checkpoint of `stack` in a file backend directory, if any: project-scoped before legacy, and of
    `<stack>.json`, `.json.gz` and `.json.zst` the newest, as the CLI reads it."""
    stacks = directory / ".pulumi" / "stacks"
    for candidate in (stacks / PROJECT / f"{stack}.json", stacks / f"{stack}.json"):
        variants = [p for p in (candidate, candidate.with_name(candidate.name + ".gz"), candidate.with_name(candidate.name + ".zst")) if p.is_file()]
        if variants:
            return max(variants, key=lambda p: p.stat().st_mtime_ns)
    return None


class NoState(StateError):
    """Where state was expected, there is none: planning against nothing would hide every delete."""


def find_state(
    stack: str, root: Path, state: Optional[Path], environ: Optional[dict[str, str]] = None, *, required: bool = True
) -> Optional[RecordedState]:
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
            raise NoState(f"--state {state}: holds no {stack}.json export; export it with `pulumi stack export --stack {stack} --file {state}/{stack}.json`, or plan with --no-state")
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
    path = checkpoint_path(stack, directory)
    return read_state(path, stack=stack) if path else None
