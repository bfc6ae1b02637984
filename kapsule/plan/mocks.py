"""The SDK mocks the offline plan renders under: each resource's id and the outputs a provider would compute."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from .. import names
from ..names import PROJECT_ID
from ..resources.model import UNKNOWN, Secret

#: The engine's wire form of a secret: `{SIGNATURE_KEY: SECRET_SIGNATURE, "value": ...}` (Pulumi's property
#: signatures, fixed by the engine's protocol: sdk/go/common/resource/sig).
SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"


def plain(value: Any) -> tuple[Any, bool]:
    """Turn deserialized RPC values into Secret/UNKNOWN-marked plain values; report whether a secret was seen."""
    if isinstance(value, dict):
        if value.get(SIGNATURE_KEY) == SECRET_SIGNATURE:
            inner, _ = plain(value.get("value"))
            return Secret(inner), True
        items = {k: plain(v) for k, v in value.items() if not k.startswith("__")}
        return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        elements = [plain(v) for v in value]
        return [v for v, _ in elements], any(s for _, s in elements)
    if isinstance(value, pulumi.output.Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN):
        return UNKNOWN, False
    if isinstance(value, float) and value.is_integer():
        # The wire format has only doubles; integers come back as 1.0.
        return int(value), False
    return value, False


def _stable_id(urn: str) -> str:
    return str(uuid.UUID(hashlib.sha256(urn.encode()).hexdigest()[:32]))


class KapsuleMocks(pulumi_mocks.Mocks):
    """Answers the engine's calls the way Scaleway would, deterministically.

    In preview (no recorded state) new resources get unknown ids and computed outputs, as in a real
    `pulumi preview`; otherwise ids and computed outputs are derived from the URN, never random.
    """

    def __init__(self, preview: bool) -> None:
        self.preview = preview

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        state = dict(args.inputs)
        if self.preview or not args.custom:
            return "", state
        urn = f"{args.typ}::{args.name}"
        region = args.inputs.get("region") or args.inputs.get("zone", "fr-par-1").rsplit("-", 1)[0]
        ident = _stable_id(urn)
        state.update(computed_outputs(args.typ, args.inputs, ident, region))
        return f"{region}/{ident}", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        return {}, None


def computed_outputs(type_: str, inputs: dict[str, Any], ident: str, region: str) -> dict[str, Any]:
    """Outputs Scaleway computes for a resource, shaped as the provider returns them (camelCase)."""
    if type_ == names.CLUSTER:
        host = f"https://{ident}.api.k8s.{region}.scw.cloud:6443"
        token = hashlib.sha256(ident.encode()).hexdigest()
        config_file = (
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: {inputs.get('name')}\n  cluster:\n    server: {host}\n"
            f"users:\n- name: admin\n  user:\n    token: {token}\n"
        )
        return {
            "apiserverUrl": host,
            "wildcardDns": f"*.{ident}.nodes.k8s.{region}.scw.cloud",
            "kubeconfigs": [{"configFile": config_file, "host": host, "token": token, "clusterCaCertificate": "LS0t"}],
            "status": "ready",
        }
    if type_ == names.REGISTRY:
        return {"endpoint": f"rg.{region}.scw.cloud/{inputs.get('name')}", PROJECT_ID: _stable_id("project")}
    if type_ == names.API_KEY:
        return {"accessKey": "SCW" + ident.replace("-", "")[:17].upper(), "secretKey": _stable_id(ident)}
    if type_ == names.LB_IP:
        number = int(ident[:4], 16)
        return {"ipAddress": f"51.159.{number >> 8}.{number & 255}"}
    if type_ == names.POOL:
        return {"status": "ready"}
    return {}
