"""The manifests of the Helm releases deployed in a cluster, as Helm 3 stores them: a Secret of type
`helm.sh/release.v1` per revision, labelled `owner=helm` and `status=deployed` for the live one, whose
`release` key holds the release as base64 of gzipped JSON with its rendered `manifest`."""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from .live import Live, loads

#: A release Secret is under 1 MiB; its manifest unpacked is read up to this.
MAX_RELEASE_BYTES = 32 * 1024 * 1024


def decode_release(data: str) -> Any:
    """A release Secret's `release` value (base64 in the Secret, base64 again inside) as JSON; ValueError if it is not one."""
    try:
        packed = base64.b64decode(base64.b64decode(data, validate=True), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if packed[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            packed = inflater.decompress(packed, MAX_RELEASE_BYTES + 1)
        except (zlib.error, gzip.BadGzipFile):
            raise ValueError("not gzip") from None
        if len(packed) > MAX_RELEASE_BYTES or inflater.unconsumed_tail:
            raise ValueError(f"over {MAX_RELEASE_BYTES // (1024 * 1024)} MiB unpacked")
    return loads(packed, "the release")


#: A long manifest's parse is stopped at the deadline: it is checked every this many of the parser's events.
EVENTS_PER_CHECK = 10_000
#: A manifest document nested deeper than this is not a Kubernetes object: it is refused, never composed.
MAX_DEPTH = 64


def document_heads(text: str, on_time: Callable[[], None] = lambda: None) -> list[dict[str, Any]]:
    """Each document's `apiVersion`, `kind` and `metadata.name`, read from the parser's events without composing
    the document: nesting is bounded (ValueError past MAX_DEPTH), and aliases are never expanded. `on_time` is
    called every EVENTS_PER_CHECK events, so a deadline stops a long parse (whatever it raises goes through)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    heads: list[dict[str, Any]] = []
    path: list[Any] = []  # per open collection: [is_mapping, pending key or None, the key this collection sits under]
    head: dict[str, Any] = {}
    try:
        for count, event in enumerate(yaml.parse(text, Loader=loader)):
            if count % EVENTS_PER_CHECK == 0:
                on_time()
            if isinstance(event, yaml.DocumentStartEvent):
                head, path = {}, []
            elif isinstance(event, yaml.DocumentEndEvent):
                if head.get("_mapping"):
                    heads.append({k: v for k, v in head.items() if k != "_mapping"})
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                under = _take_key(path)
                if not path:
                    head["_mapping"] = isinstance(event, yaml.MappingStartEvent)
                path.append([isinstance(event, yaml.MappingStartEvent), None, under])
                if len(path) > MAX_DEPTH:
                    raise ValueError(f"a document nested deeper than {MAX_DEPTH} levels")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                path.pop()
            elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
                value = event.value if isinstance(event, yaml.ScalarEvent) else None
                if path and path[-1][0] and path[-1][1] is None:
                    path[-1][1] = value if value is not None else ""
                    continue
                key = _take_key(path)
                if len(path) == 1 and key in ("apiVersion", "kind"):
                    head[key] = value
                elif len(path) == 2 and path[-1][2] == "metadata" and key == "name":
                    head["metadata"] = {"name": value}
    except yaml.YAMLError:
        raise ValueError("not YAML") from None
    return heads


def _take_key(path: list[Any]) -> Any:
    """The key a value in the innermost mapping sits under (and that mapping waits for its next key)."""
    if path and path[-1][0]:
        key, path[-1][1] = path[-1][1], None
        return key
    return None


def release_manifests(live: Live) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Each deployed release (`namespace/name (chart-version)`) and the heads of its manifest's documents; a
    release that cannot be read is named `(unreadable release: why)` with no documents."""
    for secret in live.items("/api/v1/secrets", selector="owner=helm,status=deployed"):
        meta = _mapping(secret, "metadata")
        data = _mapping(secret, "data").get("release")
        if secret.get("type") != "helm.sh/release.v1" or not isinstance(data, str):
            continue
        labels = _mapping(meta, "labels")
        name = f"{meta.get('namespace')}/{labels.get('name', meta.get('name'))}"
        try:
            release = decode_release(data)
            if not isinstance(release, dict):
                raise ValueError("not a release object")
            chart = _mapping(_mapping(release, "chart"), "metadata")
            manifest = str(release.get("manifest", ""))
            live.spend(len(manifest))  # what a release unpacks to is read too: it counts against the budget
            documents = document_heads(manifest, live.on_time)
        except ValueError as error:
            yield f"{name} (unreadable release: {error})", []
            continue
        yield f"{name} ({chart.get('name', '?')}-{chart.get('version', '?')})", documents


def _mapping(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """`parent[key]` when it is a mapping, else an empty one: a field of another type is read as absent."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}
