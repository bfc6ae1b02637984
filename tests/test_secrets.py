"""Secrets hygiene: no credential in clear in a stack file, and every export that carries one is a secret."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from typing import Any

import pytest
import yaml

from kapsule.names import NOT_COPIED, ROOT
from kapsule.plan.render import render
from kapsule.resources.model import Secret
from kapsule.stackfile.messages import StackConfigError
from kapsule.stackfile.secrets import plaintext_secrets
from tests.conftest import copy_project, render_stack

STACK_FILES = sorted([*ROOT.glob("stacks/Pulumi.*.yaml"), *ROOT.glob("examples/*/Pulumi.*.yaml")])
ACCESS_KEY = "SCW" + "0123456789ABCDEFG"
SECRET_KEY = "6f1a9f0e-2b1c-4c8e-9d3a-0b1c2d3e4f50"


def secure_keys(config: dict[str, Any]) -> list[str]:
    return [key for key, value in config.items() if isinstance(value, dict) and set(value) == {"secure"}]


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_stack_file_holds_a_credential_in_plain_text(path):
    config = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
    assert plaintext_secrets(config, secure_keys(config)) == []


@pytest.mark.parametrize(
    ("config", "found"),
    [
        ({"scaleway:access_key": ACCESS_KEY}, ("scaleway:access_key", "looks like a Scaleway access key")),
        ({"kapsule:tags": {"note": f"key {ACCESS_KEY}"}}, ("kapsule:tags.note", "looks like a Scaleway access key")),
        ({"scaleway:secret_key": SECRET_KEY}, ("scaleway:secret_key", "looks like a Scaleway secret key")),
        (
            {"app:db": {"password": "hunter2"}},
            ("app:db.password", "looks like a credential (the key is named 'password')"),
        ),
        ({"app:apiKey": "abc"}, ("app:apiKey", "looks like a credential (the key is named 'apiKey')")),
        ({"app:cert": "-----BEGIN RSA PRIVATE KEY-----\nMIIE"}, ("app:cert", "looks like a private key")),
        ({"app:ci": ["ghp_" + "a" * 36]}, ("app:ci[0]", "looks like a GitHub token")),
        (
            {"app:kube": "apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: abc\n"},
            ("app:kube", "looks like a kubeconfig with credentials"),
        ),
    ],
)
def test_credentials_in_clear_are_found_wherever_they_are(config, found):
    hits = plaintext_secrets(config, [])
    assert [(path, message.split(" in plain text")[0]) for path, message in hits] == [found]
    assert hits[0][1].endswith("store it with `pulumi config set --secret` (a `secure:` value)")


KUBECONFIG = {"kind": "Config", "apiVersion": "v1", "users": [{"name": "admin", "user": {"token": "abc"}}]}


@pytest.mark.parametrize(
    ("config", "found"),
    [
        ({"app:dbPassword": "x"}, ("app:dbPassword", "looks like a credential (the key is named 'dbPassword')")),
        ({"app:clientSecret": "x"}, ("app:clientSecret", "looks like a credential (the key is named 'clientSecret')")),
        (
            {"app:secretAccessKey": "x"},
            ("app:secretAccessKey", "looks like a credential (the key is named 'secretAccessKey')"),
        ),
        ({"app:pwd": "x"}, ("app:pwd", "looks like a credential (the key is named 'pwd')")),
        (
            {"app:db": {"passwords": ["x"]}},
            ("app:db.passwords[0]", "looks like a credential (the key is named 'passwords')"),
        ),
        (
            {"app:p\u0430ssword": "x"},
            (
                "app:p\u0430ssword",
                "looks like a credential (the key is named 'p\u0430ssword', which reads as 'password')",
            ),
        ),
        (
            {"app:pass\u200bword": "x"},
            (
                "app:pass\u200bword",
                "looks like a credential (the key is named 'pass\\u200bword', which reads as 'password')",
            ),
        ),
        (
            {"app:\u03a1\u0391SSWORD": "x"},
            (
                "app:\u03a1\u0391SSWORD",
                "looks like a credential (the key is named '\u03a1\u0391SSWORD', which reads as 'PASSWORD')",
            ),
        ),
        ({"app:password": 123456}, ("app:password", "looks like a credential (the key is named 'password')")),
        ({"app:accessKey": ACCESS_KEY}, ("app:accessKey", "looks like a Scaleway access key")),
        ({"app:accessKey": SECRET_KEY}, ("app:accessKey", "looks like a Scaleway secret key")),
        ({"app:gpg": "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQO"}, ("app:gpg", "looks like a private key")),
        ({"app:kube": json.dumps(KUBECONFIG)}, ("app:kube", "looks like a kubeconfig with credentials")),
        (
            {"app:kube": yaml.safe_dump(KUBECONFIG, sort_keys=True)},
            ("app:kube", "looks like a kubeconfig with credentials"),
        ),
        (
            {"app:blob": base64.b64encode(ACCESS_KEY.encode()).decode()},
            ("app:blob", "looks like a Scaleway access key (base64-encoded)"),
        ),
        (
            {"app:blob": base64.b64encode(json.dumps(KUBECONFIG).encode()).decode()},
            ("app:blob", "looks like a kubeconfig with credentials (base64-encoded)"),
        ),
        (
            {"app:blob": base64.b64encode(b"-----BEGIN PGP PRIVATE KEY BLOCK-----").decode()},
            ("app:blob", "looks like a private key (base64-encoded)"),
        ),
    ],
)
def test_credentials_the_scanner_used_to_miss(config, found):
    hits = plaintext_secrets(config, [])
    assert [(path, message.split(" in plain text")[0]) for path, message in hits] == [found]


def test_a_secure_leaf_protects_only_itself():
    # The raw stack file: a `secure:` value beside a password in clear.
    config = {"kapsule:ingress": {"values": {"token": {"secure": "v1:abc"}, "password": "hunter2"}}}
    assert [path for path, _ in plaintext_secrets(config, [])] == ["kapsule:ingress.values.password"]
    # What the engine hands the program: both decrypted, the key named secret, the stack file placing the secure leaf.
    decrypted = {"kapsule:ingress": {"values": {"token": "abc", "password": "hunter2"}}}
    leaves = [("kapsule:ingress", "values", "token")]
    assert [path for path, _ in plaintext_secrets(decrypted, leaves)] == ["kapsule:ingress.values.password"]


def test_a_password_beside_a_secure_value_is_refused_by_the_program(tmp_path, monkeypatch):
    def edit(config):
        config["kapsule:ingress"]["values"] = {
            "env": [{"name": "TOKEN", "value": {"secure": "v1:abc"}}],
            "password": "hunter2",
        }

    project = copy_project(tmp_path / "project", {"dev": edit})
    config = yaml.safe_load((project / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
    config["kapsule:ingress"]["values"]["env"][0]["value"] = "decrypted"
    monkeypatch.setenv(
        "PULUMI_CONFIG", json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    )
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["kapsule:ingress"]))
    rendering = render("dev", {}, [], program=project / "__main__.py", check=False)
    assert isinstance(rendering.error, StackConfigError) and rendering.resources == []
    assert "kapsule:ingress.values.password: looks like a credential" in str(rendering.error)
    assert "hunter2" not in str(rendering.error)


def test_ids_placeholders_and_secure_values_are_not_credentials():
    config = {
        "scaleway:project_id": SECRET_KEY,  # a project id is a UUID too, and no secret
        "scaleway:secret_key": {"secure": "v1:abcd"},
        "kapsule:registry": {"pull_secret_namespaces": ["apps"], "name": "tokens"},
        "app:token": "[secret]",
        "app:token_ttl": 3600,
        "app:ssh_key_id": SECRET_KEY,
        "app:secret_name": "registry-pull",
        "app:password_enabled": True,
        "app:note": base64.b64encode(b"just some harmless words here").decode(),
    }
    assert plaintext_secrets(config, []) == []
    assert plaintext_secrets({"scaleway:secret_key": SECRET_KEY}, ["scaleway:secret_key"]) == []


def test_a_stack_file_with_a_credential_in_clear_is_refused_by_plan_and_program(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*NOT_COPIED))
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text(
        stack_file.read_text().replace(
            "  scaleway:region: fr-par\n", f"  scaleway:region: fr-par\n  scaleway:secret_key: {SECRET_KEY}\n"
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "plan", "--stack", "dev"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "stacks/Pulumi.dev.yaml: invalid stack config\n"
        "  scaleway:secret_key: looks like a Scaleway secret key in plain text; "
        "store it with `pulumi config set --secret` (a `secure:` value)\n"
    )
    assert SECRET_KEY not in result.stdout + result.stderr  # the message names the key, never the value

    # Under `pulumi up` the engine hands the program decrypted config and the list of secret keys.
    leaked = render_stack("dev", lambda c: c.update({"scaleway:secret_key": SECRET_KEY}), check=False)
    assert isinstance(leaked.error, StackConfigError) and leaked.resources == []
    assert "scaleway:secret_key: looks like a Scaleway secret key" in str(leaked.error)


def credentials(stack: str) -> list[str]:
    """Every credential the deployed stack holds: kubeconfig tokens and files, API secret keys."""
    found = []
    for resource in render_stack(stack).resources:
        if resource.type == "scaleway:kubernetes/cluster:Cluster":
            kubeconfig = resource.outputs["kubeconfigs"][0]
            found += [kubeconfig["token"], kubeconfig["configFile"]]
        if resource.type == "scaleway:iam/apiKey:ApiKey":
            found.append(resource.outputs["secretKey"])
    return found


def test_every_export_that_carries_a_credential_is_a_secret(stack):
    rendering = render_stack(stack)
    secrets = credentials(stack)
    assert secrets
    for name, value in rendering.outputs.items():
        if isinstance(value, Secret):
            continue
        text = json.dumps(value, default=str)
        assert not any(secret in text for secret in secrets), f"{stack}: output {name} carries a credential in clear"
    assert isinstance(rendering.outputs["kubeconfig"], Secret)
    assert rendering.outputs["kubeconfig"].value == credentials(stack)[1]


def test_pull_secrets_reach_kubernetes_only_as_secrets(stack):
    rendering = render_stack(stack)
    for resource in rendering.by_type("kubernetes:core/v1:Secret"):
        assert isinstance(resource.inputs["stringData"], Secret), resource.urn


UUID_KEY = "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f"


@pytest.mark.parametrize(
    ("config", "found"),
    [
        (
            {"kapsule:ingress": {"values": {"env": [{"name": "SCW_SECRET_KEY", "value": UUID_KEY}]}}},
            ("kapsule:ingress.values.env[0].value", "looks like a Scaleway secret key"),
        ),
        (
            {
                "kapsule:ingress": {
                    "values": {
                        "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}]
                    }
                }
            },
            (
                "kapsule:ingress.values.env[0].value",
                "looks like a credential (the key is named 'AWS_SECRET_ACCESS_KEY')",
            ),
        ),
        ({"app:DB_PASS": "x"}, ("app:DB_PASS", "looks like a credential (the key is named 'DB_PASS')")),
        ({"app:pw": "x"}, ("app:pw", "looks like a credential (the key is named 'pw')")),
        ({"app:bearer": "x"}, ("app:bearer", "looks like a credential (the key is named 'bearer')")),
        ({"app:dsn": "x"}, ("app:dsn", "looks like a credential (the key is named 'dsn')")),
        (
            {"app:connectionString": "x"},
            ("app:connectionString", "looks like a credential (the key is named 'connectionString')"),
        ),
        ({"app:webhookUrl": "x"}, ("app:webhookUrl", "looks like a credential (the key is named 'webhookUrl')")),
        ({"app:signingKey": "x"}, ("app:signingKey", "looks like a credential (the key is named 'signingKey')")),
        ({"app:masterKey": "x"}, ("app:masterKey", "looks like a credential (the key is named 'masterKey')")),
        (
            {"app:encryptionKey": "x"},
            ("app:encryptionKey", "looks like a credential (the key is named 'encryptionKey')"),
        ),
        ({"app:sessionKey": "x"}, ("app:sessionKey", "looks like a credential (the key is named 'sessionKey')")),
        (
            {"app:privateKeyPem": "x"},
            ("app:privateKeyPem", "looks like a credential (the key is named 'privateKeyPem')"),
        ),
        (
            {"app:database": "postgres://u:pw@db.internal:5432/app"},
            ("app:database", "looks like a URL with a password"),
        ),
        ({"app:chat": "xoxb-1234567890-abcdefghij"}, ("app:chat", "looks like a Slack token")),
        ({"app:billing": "sk_live_" + "a1" * 12}, ("app:billing", "looks like a Stripe key")),
        ({"app:ci": "github_pat_" + "A1b2" * 8}, ("app:ci", "looks like a GitHub token")),
    ],
)
def test_credentials_a_hostile_review_found_missing(config, found):
    hits = plaintext_secrets(config, [])
    assert [(path, message.split(" in plain text")[0]) for path, message in hits] == [found]


def test_a_token_used_as_a_tag_key_is_found_and_never_printed():
    token = "ghp_" + "b" * 36
    hits = plaintext_secrets({"kapsule:tags": {token: "x"}}, [])
    assert hits == [
        (
            "kapsule:tags",
            "one of its keys looks like a GitHub token; a key is never secret: move it into a `secure:` value",
        )
    ]
    assert token not in repr(hits)


def test_a_type_error_never_echoes_a_credential():
    from tests.conftest import render_stack

    token = "ghp_" + "c" * 36
    rendering = render_stack("dev", lambda c: c.update({"kapsule:tags": {"team": {"token": token}}}), check=False)
    assert rendering.error is not None and rendering.resources == []
    assert token not in str(rendering.error)
