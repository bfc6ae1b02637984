"""Recorded state for tests of the real stacks (dev, staging, prod), shaped the way the Pulumi engine
writes it after a `pulumi up`.

Why a rendering and not a real export: the real engine ran this program on the record sets'
stacks (`tests/fixtures/engine-records`: `eng`, `engk`), never on dev, staging or prod, whose
dedicated control planes, multi-zone pools, ingress Helm release and reserved IPs the records do not
have. So a rendering of the real program (ids and computed outputs from the mocks) becomes a
`pulumi stack export` document with the habits of the real exports, and `test_recorded_state_shape.py`
checks that shape against the real `scaleway` export: the same URNs (the stack, the default provider's
name), types, fields and top-level input keys, and outputs the real export also has. The engine's
habits: the stack resource, a default provider, `__defaults` and auto-generated names on bridged
resources, `__meta` in their outputs, a Secret's `stringData` recorded as `data`, the engine's
`version` input on explicit providers, no inputs on components but the ones the program gives (a pool's
`maxNodeAgeDays`), and every secret as ciphertext (or
as JSON plaintext, as `pulumi stack export --show-secrets` writes it). Tests of the plan's rules
against the engine's own word use the real exports (`test_engine_records.py`, `test_hostile_values.py`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kapsule.names import PROJECT
from kapsule.resources.model import Rendering, Secret, Unknown
from kapsule.state.records import SECRET_SIG, SECRET_SIG_KEY

SCALEWAY_PROVIDER_VERSION = "1.60.0"
#: The default provider's inputs in a real export, with made-up credentials (sealed when written).
DEFAULT_PROVIDER_CONFIG = {
    "accessKey": Secret("SCWXXXXXXXXXXXXXXXXX"),
    "secretKey": Secret("00000000-0000-4000-8000-000000000000"),
    "projectId": "11111111-2222-4333-8444-555555555555",
    "region": "fr-par",
    "zone": "fr-par-1",
    "version": SCALEWAY_PROVIDER_VERSION,
}
#: The default provider's name in a real export: its version and its plugin download URL.
DEFAULT_PROVIDER = "default_1_60_0_github_/api.github.com/pulumiverse"
KUBERNETES_PROVIDER_VERSION = "4.34.2"


def export(
    rendering: Rendering, *, show_secrets: bool = False, overrides: dict[str, dict[str, Any]] | None = None
) -> dict:
    """The `pulumi stack export` document of a deployed rendering; `overrides[urn]` patches outputs."""
    stack_urn = f"urn:pulumi:{rendering.stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{rendering.stack}"
    default_provider = f"urn:pulumi:{rendering.stack}::{PROJECT}::pulumi:providers:scaleway::{DEFAULT_PROVIDER}"
    resources: list[dict[str, Any]] = [
        {
            "urn": stack_urn,
            "custom": False,
            "type": "pulumi:pulumi:Stack",
            "outputs": _encode(rendering.outputs, show_secrets),
        },
        {
            "urn": default_provider,
            "custom": True,
            "id": "7c2b1c6e-0d4f-4b7e-9a57-0b1f4c1d2e3f",
            "type": "pulumi:providers:scaleway",
            # What the default provider records of the environment: its credentials sealed, its region and zone.
            "inputs": _encode(
                DEFAULT_PROVIDER_CONFIG | {"__internal": {"pluginDownloadURL": "github://api.github.com/pulumiverse"}},
                False,
            ),
            "outputs": _encode(DEFAULT_PROVIDER_CONFIG, False),
        },
    ]
    for resource in rendering.resources:
        inputs = dict(resource.inputs)
        outputs = dict(resource.outputs)
        bridged = resource.custom and resource.type.startswith("scaleway:")
        if bridged:
            defaults = []
            if "name" not in inputs:
                # The bridge auto-names: `<logical name>-<7 hex>`, and lists the name as a default.
                inputs["name"] = outputs["name"] = (
                    f"{resource.name}-{hashlib.sha256(resource.urn.encode()).hexdigest()[:7]}"
                )
                defaults.append("name")
            inputs["__defaults"] = defaults
            if resource.type != "scaleway:network/vpc:Vpc":  # a resource with timeouts records them
                outputs["__meta"] = '{"e2bfb730-ecaa-11e6-8f88-34363bc7c4c0":{"create":600000000000}}'
        if resource.type == "kubernetes:core/v1:Secret" and "stringData" in inputs:
            # pulumi-kubernetes' Check records `stringData` under `data` (real export: engine-records/kubernetes).
            inputs["data"] = inputs.pop("stringData")
        if resource.type.startswith("pulumi:providers:"):
            inputs["version"] = outputs["version"] = KUBERNETES_PROVIDER_VERSION
        outputs.update((overrides or {}).get(resource.urn, {}))
        for key in resource.secret_outputs:
            if key in outputs and not isinstance(outputs[key], Secret):
                outputs[key] = Secret(outputs[key])
        entry: dict[str, Any] = {
            "urn": resource.urn,
            "custom": resource.custom,
            "type": resource.type,
            "outputs": _encode(outputs, show_secrets),
            "parent": resource.parent or stack_urn,
        }
        # The engine records a component's inputs as the program gave them: here only a pool's maxNodeAgeDays.
        if resource.custom or inputs:
            entry["inputs"] = _encode(inputs, show_secrets)
        if resource.depends_on:
            entry["dependencies"] = resource.depends_on
        fed = {key: urns for key, urns in resource.property_dependencies.items() if urns}
        if fed and resource.custom:  # the engine leaves out properties that depend on nothing
            entry["propertyDependencies"] = fed
        if resource.ignore_changes:
            entry["ignoreChanges"] = resource.ignore_changes
        if resource.custom:
            entry["id"] = resource.id
            entry["provider"] = (
                f"{resource.provider}::{_provider_id(rendering, resource.provider)}"
                if resource.provider
                else f"{default_provider}::7c2b1c6e-0d4f-4b7e-9a57-0b1f4c1d2e3f"
            )
        if resource.protect:
            entry["protect"] = True
        resources.append(entry)
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2026-11-01T09:00:00Z", "magic": "0" * 64, "version": "v3.205.0"},
            "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:ZXhhbXBsZQ==:v1:AAAA:BBBB"}},
            "resources": resources,
        },
    }


def checkpoint(rendering: Rendering, **kwargs: Any) -> dict:
    """The same state as the local file backend keeps it."""
    document = export(rendering, **kwargs)
    return {
        "version": 3,
        "checkpoint": {"stack": f"organization/{PROJECT}/{rendering.stack}", "latest": document["deployment"]},
    }


def write(path: Path, document: dict) -> Path:
    """Write a state document as the CLI does (indented JSON)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=4), encoding="utf-8")
    return path


def _provider_id(rendering: Rendering, urn: str) -> str:
    return next(r.id for r in rendering.resources if r.urn == urn)


def _encode(value: Any, show_secrets: bool) -> Any:
    if isinstance(value, Secret):
        inner = _encode(value.value, show_secrets)
        if show_secrets:
            return {SECRET_SIG_KEY: SECRET_SIG, "plaintext": json.dumps(inner)}
        digest = hashlib.sha256(json.dumps(inner, sort_keys=True).encode()).hexdigest()
        return {SECRET_SIG_KEY: SECRET_SIG, "ciphertext": f"v1:{digest[:16]}:{digest[16:48]}"}
    if isinstance(value, Unknown):
        raise ValueError("a deployed resource has no unknown values; render with preview=False")
    if isinstance(value, dict):
        return {k: _encode(v, show_secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v, show_secrets) for v in value]
    return value
