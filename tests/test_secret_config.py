"""`secure:` config stays a Pulumi secret from the engine's hand-off to every resource input, output and message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kapsule.plan.render import render
from kapsule.plan.stack import plan_stack
from kapsule.reports.plan import format_json, format_markdown, format_text
from kapsule.resources.model import Rendering, Secret
from kapsule.stackfile.messages import StackConfigError
from kapsule.state.reading import read_state
from tests import recorded
from tests.conftest import copy_project, render_stack

PASSWORD = "hunter2-correct-horse"
BILLING = "cc-4471-confidential"
SECURE = {"secure": "v1:c2FsdA==:djE6QUFBQTpCQkJC"}


def clear_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string of a rendered value that is not inside a Secret, with its path."""
    if isinstance(value, Secret):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from clear_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from clear_strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def secret_strings(value: Any, inside: bool = False) -> Iterator[str]:
    """Every string of a rendered value that is inside a Secret."""
    if isinstance(value, Secret):
        yield from secret_strings(value.value, True)
    elif isinstance(value, dict):
        for item in value.values():
            yield from secret_strings(item, inside)
    elif isinstance(value, list):
        for item in value:
            yield from secret_strings(item, inside)
    elif isinstance(value, str) and inside:
        yield value


def leaks(rendering: Rendering, secret: str) -> list[str]:
    """Where `secret` reaches a resource input or output, or a stack output, in clear."""
    found = []
    for resource in rendering.resources:
        for side, values in (("inputs", resource.inputs), ("outputs", resource.outputs)):
            found += [f"{resource.urn} {side}{path}" for path, text in clear_strings(values) if secret in text]
    found += [f"stack output{path}" for path, text in clear_strings(rendering.outputs) if secret in text]
    return found


def with_secure_values(config: dict[str, Any]) -> None:
    """A Helm value and a tag that are `secure:` in the stack file, beside plain neighbours."""
    config["kapsule:ingress"]["values"] = {
        "ingressRoute": {"dashboard": {"enabled": False}},
        "env": [{"name": "AUTH", "value": SECURE}],
    }
    config["kapsule:tags"]["billing"] = SECURE


def decrypted(project: Path, stack: str) -> tuple[dict[str, str], list[str]]:
    """What the engine hands the program for a stack file: decrypted config as JSON text, and the secret keys."""
    import yaml

    config = yaml.safe_load((project / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    config["kapsule:ingress"]["values"]["env"][0]["value"] = PASSWORD
    config["kapsule:tags"]["billing"] = BILLING
    flat = {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}
    return flat, ["kapsule:ingress", "kapsule:tags"]


@pytest.fixture
def engine_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose dev stack holds `secure:` values, with the engine's environment set as `pulumi up` sets it."""
    project = copy_project(tmp_path / "project", {"dev": with_secure_values})
    config, secret_keys = decrypted(project, "dev")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(secret_keys))
    return project


def test_secure_values_reach_resources_only_as_secrets(engine_config):
    # No config is set in-process: the program reads PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS, as under the CLI.
    rendering = render("dev", {}, [], preview=False, program=engine_config / "__main__.py")
    release = rendering.one("kubernetes:helm.sh/v3:Release")
    assert PASSWORD in secret_strings(release.inputs["values"])
    assert PASSWORD in secret_strings(release.outputs["values"])
    assert leaks(rendering, PASSWORD) == []
    # A secret tag is in every tagged resource, and sealed in each.
    tagged = [r for r in rendering.resources if "tags" in r.inputs]
    assert len(tagged) >= 4
    for resource in tagged:
        assert any(BILLING in text for text in secret_strings(resource.inputs["tags"])), resource.urn
    assert leaks(rendering, BILLING) == []


def test_only_the_properties_that_carry_a_secure_value_are_sealed(engine_config):
    rendering = render("dev", {}, [], preview=False, program=engine_config / "__main__.py")
    release = rendering.one("kubernetes:helm.sh/v3:Release")
    # The SDK seals a whole top-level property around a nested secret; the other properties stay readable.
    assert isinstance(release.inputs["values"], Secret)
    assert release.inputs["values"].value["deployment"] == {"replicas": 1}
    assert (release.inputs["chart"], release.inputs["namespace"]) == ("traefik", "ingress")
    namespace = next(
        r for r in rendering.resources if r.type == "kubernetes:core/v1:Namespace" and r.name == "ingress-namespace"
    )
    assert namespace.inputs["metadata"]["name"] == "ingress"


def test_a_secret_key_the_stack_file_cannot_place_is_sealed_whole(tmp_path, monkeypatch):
    # Config that did not come from the stack file (an ESC environment, `--config`): the engine names the key only.
    config, _ = decrypted(copy_project(tmp_path / "project", {"dev": with_secure_values}), "dev")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["kapsule:ingress"]))
    rendering = render("dev", {}, [], preview=False)  # the repository's own dev stack file has no secure value
    release = rendering.one("kubernetes:helm.sh/v3:Release")
    assert isinstance(release.inputs["chart"], Secret) and release.inputs["chart"].value == "traefik"
    assert leaks(rendering, PASSWORD) == []


def test_an_invalid_secure_value_is_reported_without_its_value(engine_config, monkeypatch):
    project = engine_config
    flat, secret_keys = decrypted(project, "dev")
    cluster = json.loads(flat["kapsule:cluster"])
    cluster["version"] = PASSWORD  # a secret where a version goes: the message must not echo it
    flat["kapsule:cluster"] = json.dumps(cluster)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(flat))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps([*secret_keys, "kapsule:cluster"]))
    rendering = render("dev", {}, [], preview=False, program=project / "__main__.py", check=False)
    assert isinstance(rendering.error, StackConfigError) and rendering.resources == []
    assert "kapsule:cluster.version" in str(rendering.error)
    assert PASSWORD not in str(rendering.error)
    assert "[secret]" in str(rendering.error)


def test_no_plan_format_prints_a_secure_value_recorded_in_clear(tmp_path):
    # State written before secure values were sealed holds the plain text; the plan must still not print it.
    def in_clear(config: dict[str, Any]) -> None:
        config["kapsule:ingress"]["values"] = {"env": [{"name": "AUTH", "value": PASSWORD}]}

    state = recorded.write(tmp_path / "dev.json", recorded.export(render_stack("dev", in_clear)))
    assert PASSWORD in state.read_text()
    project = copy_project(tmp_path / "project", {"dev": with_secure_values})
    plan = plan_stack("dev", project, read_state(state))
    release = next(c for c in plan.changes if c.resource.type == "kubernetes:helm.sh/v3:Release")
    assert release.action == "update"
    for text in (format_text(plan), format_json([plan]), format_markdown([plan])):
        assert PASSWORD not in text
        assert "[secret]" in text


def test_a_stack_file_the_program_cannot_read_is_a_plain_error_under_pulumi_up(tmp_path, monkeypatch):
    import pulumi

    project = copy_project(tmp_path / "project")
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text() + "  kapsule:region: nl-ams\n")  # a duplicate key
    config, _ = decrypted(copy_project(tmp_path / "other", {"dev": with_secure_values}), "dev")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["kapsule:ingress"]))
    rendering = render("dev", {}, [], program=project / "__main__.py", check=False)
    assert isinstance(rendering.error, pulumi.RunError) and isinstance(rendering.error, StackConfigError)
    assert "kapsule:region: is given twice" in str(rendering.error) and rendering.resources == []


def test_a_secure_value_inside_a_provider_input_type_is_sealed(tmp_path, monkeypatch):
    import yaml

    def oidc(config: dict[str, Any]) -> None:
        config["kapsule:cluster"]["oidc"] = {"issuer_url": "https://idp.example.com", "client_id": SECURE}

    project = copy_project(tmp_path / "project", {"dev": oidc})
    config = yaml.safe_load((project / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
    config["kapsule:cluster"]["oidc"]["client_id"] = PASSWORD
    monkeypatch.setenv(
        "PULUMI_CONFIG", json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    )
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["kapsule:cluster"]))
    rendering = render("dev", {}, [], preview=False, program=project / "__main__.py")
    cluster = rendering.one("scaleway:kubernetes/cluster:Cluster")
    assert isinstance(cluster.inputs["openIdConnectConfig"], Secret)
    assert PASSWORD in secret_strings(cluster.inputs["openIdConnectConfig"])
    assert (
        cluster.inputs["name"] == "kapsule-dev" and cluster.inputs["cni"] == "cilium"
    )  # the rest of the key stays readable
    assert leaks(rendering, PASSWORD) == []


def test_rules_still_read_a_property_sealed_around_a_secure_value(tmp_path):
    # A secure tag seals each resource's whole `tags`; the required-tags rule must still see the other tags.
    def secure_tag_without_owner(config: dict[str, Any]) -> None:
        config["kapsule:tags"] = {"env": "dev", "billing": SECURE}

    plan = plan_stack("dev", copy_project(tmp_path / "project", {"dev": secure_tag_without_owner}), None)
    assert any("policy required-tags" in error and "missing tag(s) owner" in error for error in plan.errors)


def test_a_value_that_only_became_secure_is_no_change(tmp_path):
    # The engine's bridged provider sees plaintext both times and reports no diff; the plan cannot decrypt
    # the new value, so its placeholder matches the recorded plaintext, around the rest of the property.
    def in_clear(config: dict[str, Any]) -> None:
        config["kapsule:ingress"]["values"] = {"env": [{"name": "AUTH", "value": PASSWORD}]}
        config["kapsule:tags"]["billing"] = BILLING

    def made_secure(config: dict[str, Any]) -> None:
        config["kapsule:ingress"]["values"] = {"env": [{"name": "AUTH", "value": SECURE}]}
        config["kapsule:tags"]["billing"] = SECURE

    state = recorded.write(tmp_path / "dev.json", recorded.export(render_stack("dev", in_clear)))
    plan = plan_stack("dev", copy_project(tmp_path / "project", {"dev": made_secure}), read_state(state))
    assert [c.resource.urn for c in plan.changes if c.action != "same"] == []

    # A neighbour that changes beside the secure value is still a change, and the plaintext is never shown.
    def made_secure_and_more(config: dict[str, Any]) -> None:
        made_secure(config)
        config["kapsule:ingress"]["values"]["env"].append({"name": "MODE", "value": "strict"})

    plan = plan_stack("dev", copy_project(tmp_path / "more", {"dev": made_secure_and_more}), read_state(state))
    release = next(c for c in plan.changes if c.resource.type == "kubernetes:helm.sh/v3:Release")
    assert release.action == "update" and PASSWORD not in format_text(plan)
