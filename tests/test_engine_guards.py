"""The driver's guards and the local stack's isolation, without the engine: a fake `pulumi` records what it is
handed. Each case here is one an adversarial pass got through before (issue: a hostile fork and the local guards)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from components.files import write_private
from kapsule.engine import driver
from kapsule.engine.guard import GuardError, local_environment, local_host, refuse_decrypted
from kapsule.engine.servers import LocalCluster
from kapsule.names import ROOT


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "::1",
        "0.0.0.0",
        "[::ffff:127.0.0.1]",
        "127.1",
        "[0:0:0:0:0:0:0:1]",
        "localhost.",
        "127.0.0.2",
        "::",
        "[::ffff:0.0.0.0]",
        "2130706433",
    ],
)
def test_every_spelling_of_this_machine_is_local(host):
    assert local_host(host)


@pytest.mark.parametrize("host", ["192.0.2.10", "10.0.0.1", "[2001:db8::1]", "", None, "a" * 300])
def test_other_hosts_are_not(host):
    assert not local_host(host)


def kubeconfig(server: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "u", "user": {"token": "tok-123"}}],
        }
    )


def project_with(tmp_path: Path, existing: dict) -> Path:
    (tmp_path / "stacks").mkdir(parents=True)
    document = {"config": {"kapsule:region": "fr-par", "kapsule:existing_cluster": existing}}
    (tmp_path / "stacks" / "Pulumi.apps.yaml").write_text(json.dumps(document))
    return tmp_path


@pytest.mark.parametrize(
    "server",
    [
        "https://127.1:6443",
        "https://[::ffff:127.0.0.1]:6443",
        "https://0.0.0.0:6443",
        "https://localhost.:6443",
        "https://127.0.0.2",
        "https://[0:0:0:0:0:0:0:1]:6443",
    ],
)
def test_a_real_stack_is_refused_on_this_machine_from_a_file_or_an_inline_kubeconfig(tmp_path, server):
    (tmp_path / "kc").write_text(kubeconfig(server))
    with pytest.raises(
        driver.DriverError, match=r"stack apps: kapsule:existing_cluster.kubeconfig_file \(.*\) points at this machine"
    ):
        driver.guard("apps", project_with(tmp_path / "file", {"kubeconfig_file": str(tmp_path / "kc")}))
    with pytest.raises(
        driver.DriverError, match="stack apps: kapsule:existing_cluster.kubeconfig points at this machine"
    ) as refused:
        driver.guard("apps", project_with(tmp_path / "inline", {"kubeconfig": kubeconfig(server)}))
    assert "tok-123" not in str(refused.value)


def test_a_secure_kubeconfig_is_judged_once_decrypted_and_never_printed():
    decrypted = {
        "kapsule:existing_cluster": SimpleNamespace(
            value=json.dumps({"kubeconfig": kubeconfig("https://127.1")}), secret=True
        )
    }
    with pytest.raises(GuardError, match="kapsule:existing_cluster.kubeconfig points at this machine") as refused:
        refuse_decrypted("apps", decrypted)
    assert "tok-123" not in str(refused.value)
    refuse_decrypted(
        "apps",
        {
            "kapsule:existing_cluster": SimpleNamespace(
                value=json.dumps({"kubeconfig": kubeconfig("https://192.0.2.1")}), secret=True
            )
        },
    )


def test_a_remote_kubeconfig_passes(tmp_path):
    (tmp_path / "kc").write_text(kubeconfig("https://192.0.2.1:6443"))
    driver.guard("apps", project_with(tmp_path / "p", {"kubeconfig_file": str(tmp_path / "kc")}))


CALLER = {
    "SCW_ACCESS_KEY": "SCWXXXXXXXXXXXXXXXXX",
    "SCW_SECRET_KEY": "scw-secret",
    "SCW_CONFIG_PATH": "/home/u/.config/scw/config.yaml",
    "SCW_API_URL": "https://api.example",
    "AWS_SECRET_ACCESS_KEY": "scw-secret",
    "AWS_ACCESS_KEY_ID": "SCWXXXXXXXXXXXXXXXXX",
    "PULUMI_ACCESS_TOKEN": "pul-token",
    "KUBECONFIG": "/home/u/.kube/config",
    "HOME": "/home/u",
    "GITHUB_TOKEN": "ghp_x",
    "LANG": "C.UTF-8",
}


def test_the_local_stack_runs_with_an_allow_listed_environment(tmp_path, monkeypatch):
    """A fake `pulumi` first on PATH records the environment the engine would get."""
    tools = tmp_path / "tools"
    (tools / "bin").mkdir(parents=True)
    record = tmp_path / "env.json"
    fake = tools / "bin" / "pulumi"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"json.dump(dict(os.environ), open({str(record)!r}, 'w'))\n"
        "print('v3.274.1' if sys.argv[1:2] == ['version'] else '{}')\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    (tools / "tmp").mkdir(mode=0o777)
    os.chmod(tools / "tmp", 0o777)
    for name, value in {
        "TOOLS": tools,
        "BIN": tools / "bin",
        "PULUMI_HOME": tools / "pulumi-home",
        "PRIVATE_TMP": tools / "tmp",
        "LOCAL_HOME": tools / "home",
    }.items():
        monkeypatch.setattr(driver, name, value)
    before = dict(os.environ)
    for key, value in CALLER.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KAPSULE_LOCAL_BACKEND_URL", f"file://{tmp_path / 'state'}")
    assert driver.export("local") == {}
    seen = json.loads(record.read_text())
    leaked = sorted(key for key in CALLER if key in seen and seen[key] == CALLER[key] and key != "LANG")
    assert leaked == []
    assert seen["HOME"] == str(tools / "home") and seen["LANG"] == "C.UTF-8"
    assert not any(key.startswith(("SCW_", "AWS_", "GITHUB_")) for key in seen)
    assert stat.S_IMODE((tools / "tmp").stat().st_mode) == 0o700, (
        "a folder left at 0777 is narrowed before the token lands in it"
    )
    assert {k: v for k, v in os.environ.items() if k not in CALLER and k != "KAPSULE_LOCAL_BACKEND_URL"} == {
        k: v for k, v in before.items() if k not in CALLER
    }
    assert os.environ["SCW_SECRET_KEY"] == "scw-secret", "the caller's environment is back after the operation"


def test_aws_credentials_reach_only_an_s3_backend_on_loopback():
    caller = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "SCW_SECRET_KEY": "c"}
    loopback = local_environment({"PULUMI_BACKEND_URL": "s3://state?endpoint=127.0.0.1:9000&region=fr-par"}, caller)
    remote = local_environment({"PULUMI_BACKEND_URL": "s3://state?endpoint=s3.fr-par.scw.cloud&region=fr-par"}, caller)
    assert loopback.get("AWS_SECRET_ACCESS_KEY") == "b" and "SCW_SECRET_KEY" not in loopback
    assert "AWS_SECRET_ACCESS_KEY" not in remote and "AWS_ACCESS_KEY_ID" not in remote


def test_the_admin_token_and_kubeconfig_are_private_on_every_write(tmp_path):
    """A kubeconfig left at 0644, or a token file made at 0644, kept that mode while the admin token went in."""
    cluster = LocalCluster(tmp_path / "local")
    cluster.directory.mkdir(mode=0o755)
    cluster.kubeconfig.write_text("old")
    os.chmod(cluster.kubeconfig, 0o644)
    (cluster.directory / "tokens.csv").write_text("t0k3n,admin,admin,system:masters\n")
    os.chmod(cluster.directory / "tokens.csv", 0o644)
    certificate = tmp_path / "crt"
    certificate.write_text("certificate")
    cluster._write_kubeconfig("https://127.0.0.1:1", certificate, "t0k3n")
    assert stat.S_IMODE(cluster.kubeconfig.stat().st_mode) == 0o600 and "t0k3n" in cluster.kubeconfig.read_text()
    (cluster.directory / "apiserver.crt").write_text("x")
    (cluster.directory / "apiserver.key").write_text("k")
    os.chmod(cluster.directory / "apiserver.key", 0o644)
    assert cluster._credentials()[2] == "t0k3n"
    assert stat.S_IMODE((cluster.directory / "tokens.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE((cluster.directory / "apiserver.key").stat().st_mode) == 0o600
    target = tmp_path / "other"
    target.write_text("")
    os.chmod(target, 0o666)
    write_private(target, "secret")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_text() == "secret"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_the_makefile_hands_stack_to_the_shell_quoted(tmp_path):
    """`make up STACK='x; touch /tmp/p #'` ran the second command."""
    planted = tmp_path / "planted"
    hostile = f"STACK=x; touch {planted} #"
    result = subprocess.run(
        ["make", "-s", "preview", hostile],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MAKEFLAGS": ""},
    )
    assert not planted.exists(), result.stdout + result.stderr
    assert "is not a stack name" in result.stderr, result.stderr
    for target in ("up", "pulumi-preview"):  # printed, not run: no engine build from a test
        recipes = subprocess.run(
            ["make", "-n", target, hostile],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "MAKEFLAGS": ""},
        ).stdout
        assert f'kapsule.engine {target.split("-")[-1]} --stack "$UP_STACK"' in recipes and "touch" not in recipes, (
            recipes
        )


@pytest.mark.parametrize("argv", [["bogus"], [], ["up", "--stack"], ["up", "--nope"]])
def test_the_engine_command_line_exits_1_on_a_usage_error(argv):
    result = subprocess.run(
        [sys.executable, "-m", "kapsule.engine", *argv], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stderr
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_what_the_adversarial_pass_could_not_break_stays_unbroken(tmp_path):
    """Regression: an `exec:` or `auth-provider` kubeconfig runs nothing and prints no token; /proc/self/environ,
    a FIFO, /dev/zero and a 2 MB file are refused as kubeconfigs, each in one sentence."""
    from components.existing_cluster import read_kubeconfig

    ran = tmp_path / "ran"
    document = {
        "apiVersion": "v1",
        "clusters": [{"name": "c", "cluster": {"server": "https://192.0.2.1:6443"}}],
        "users": [
            {
                "name": "e",
                "user": {
                    "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "touch", "args": [str(ran)]}
                },
            },
            {"name": "a", "user": {"auth-provider": {"name": "oidc", "config": {"id-token": "idtok-secret"}}}},
        ],
    }
    (tmp_path / "kc").write_text(json.dumps(document))
    driver.guard("apps", project_with(tmp_path / "p", {"kubeconfig_file": str(tmp_path / "kc")}))
    assert not ran.exists()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"a" * 2_000_000)
    for path in ("/proc/self/environ", str(tmp_path / "fifo"), "/dev/zero", str(tmp_path / "big")):
        with pytest.raises(ValueError) as refused:
            read_kubeconfig(path)
        assert len(str(refused.value).splitlines()) == 1 and "idtok-secret" not in str(refused.value)
