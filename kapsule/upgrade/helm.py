"""The manifests of the Helm releases deployed in a cluster, as Helm 3 stores them: a Secret of type
`helm.sh/release.v1` per revision, labelled `owner=helm` and `status=deployed` for the live one, whose
`release` key holds the release as base64 of gzipped JSON with its rendered `manifest`."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Iterator
from typing import Any

import yaml

from .live import Live

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
    try:
        return json.loads(packed)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("not JSON") from None


def release_manifests(live: Live) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Each deployed release (`namespace/name (chart-version)`) and the documents of its manifest."""
    for secret in live.items("/api/v1/secrets", selector="owner=helm,status=deployed"):
        meta = secret.get("metadata") or {}
        data = (secret.get("data") or {}).get("release")
        if secret.get("type") != "helm.sh/release.v1" or not isinstance(data, str):
            continue
        name = f"{meta.get('namespace')}/{(meta.get('labels') or {}).get('name', meta.get('name'))}"
        try:
            release = decode_release(data)
            chart = ((release.get("chart") or {}).get("metadata") or {}) if isinstance(release, dict) else {}
            documents = [d for d in yaml.safe_load_all(str(release.get("manifest", ""))) if isinstance(d, dict)]
        except (ValueError, yaml.YAMLError, AttributeError):
            yield f"{name} (unreadable release)", []
            continue
        yield f"{name} ({chart.get('name', '?')}-{chart.get('version', '?')})", documents
