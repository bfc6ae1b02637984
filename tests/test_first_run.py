"""A fresh machine's first run: an empty Go module cache, package lists never updated, a half-made `.venv/`.

Each path ends in one line that names what is wrong and the command to run, never a traceback. The Go and
apt-get here are the test's own fakes on PATH, answering as the real ones do on such a machine (an empty
`go list -m` directory, a package apt cannot locate before `apt-get update`); the scripts are the real ones.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from kapsule.names import ROOT

ENGINE = ROOT / "tools" / "engine"


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def fake_go(bin_dir: Path, *, download_fails: bool = False, module_dir: str = "") -> None:
    """A `go` whose module cache is empty: `go list -m -f {{.Dir}}` answers `module_dir` (nothing, by default)."""
    download = (
        "echo 'go: github.com/pulumi/pulumi/pkg/v3@v3.274.1: reading proxy: 403 Forbidden' >&2; exit 1"
        if download_fails
        else "exit 0"
    )
    executable(
        bin_dir / "go",
        "#!/bin/bash\n"
        'case "$1 $2" in\n'
        f'  "mod download") {download} ;;\n'
        f'  "list -m") echo "{module_dir}" ;;\n'
        '  build*) while [ $# -gt 0 ]; do [ "$1" = -o ] && { : > "$2"; chmod +x "$2"; }; shift; done ;;\n'
        "esac\n",
    )


def run_build(tmp_path: Path, **go) -> subprocess.CompletedProcess:
    copy = tmp_path / "engine"
    shutil.copytree(ENGINE, copy)
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    fake_go(bin_dir, **go)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "KAPSULE_TOOLS": str(tmp_path / "tools")}
    return subprocess.run(["bash", str(copy / "build.sh")], env=env, capture_output=True, text=True, timeout=120)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_an_empty_module_directory_stops_with_the_module_and_the_command(tmp_path):
    """The first run's FileNotFoundError: `go list -m` answered an empty directory for the provider module."""
    result = run_build(tmp_path)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "github.com/pulumi/pulumi-kubernetes/provider/v4 is not in the Go module cache" in line
    assert "(cd tools/engine/kubernetes-provider && go mod download)" in line
    assert "downloading the Go modules of tools/engine/kubernetes-provider" in result.stdout, (
        "every wrapper module is downloaded first"
    )


def test_a_module_directory_without_the_schema_is_refused_the_same_way(tmp_path):
    empty = tmp_path / "module"
    (empty / "cmd" / "pulumi-resource-kubernetes").mkdir(parents=True)
    result = run_build(tmp_path, module_dir=str(empty))
    assert result.returncode == 1 and "is not in the Go module cache" in one_line(result.stderr)


def test_a_download_the_proxy_refuses_is_one_line(tmp_path):
    result = run_build(tmp_path, download_fails=True)
    assert result.returncode == 1
    assert "could not download the Go modules of tools/engine/pulumi" in "\n".join(result.stderr.splitlines()[-1:])
    assert "Traceback" not in result.stderr


def debian_path(tmp_path: Path, *, update_fails: bool = False) -> tuple[dict[str, str], Path]:
    """A PATH with no etcd and no openssl, and an apt-get that cannot locate them until its lists are updated."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "grep", "tail", "cat", "touch", "chmod", "printf"):
        found = shutil.which(tool)
        if found:
            os.symlink(found, bin_dir / tool)
    calls = tmp_path / "apt-calls"
    update = "echo 'E: The repository is not signed.' >&2; exit 100" if update_fails else f"touch {tmp_path}/lists"
    executable(
        bin_dir / "apt-get",
        "#!/bin/bash\n"
        f'echo "$*" >> {calls}\n'
        'case "$*" in\n'
        f"  *update*) {update} ;;\n"
        f'  *install*) [ -e {tmp_path}/lists ] || {{ echo "E: Unable to locate package etcd-server" >&2; exit 100; }}\n'
        f'    for p in etcd openssl; do printf "#!/bin/bash\\n" > {bin_dir}/$p; chmod +x {bin_dir}/$p; done ;;\n'
        "esac\n",
    )
    return {"PATH": str(bin_dir)}, calls


def test_package_lists_never_updated_are_updated_before_etcd_and_openssl_are_installed(tmp_path):
    env, calls = debian_path(tmp_path)
    result = subprocess.run(["bash", str(ENGINE / "debian.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == ["update -qq", "install -y -qq etcd-server openssl"]


def test_a_failed_package_list_update_is_one_line(tmp_path):
    env, _ = debian_path(tmp_path, update_fails=True)
    result = subprocess.run(["bash", str(ENGINE / "debian.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "apt-get update failed (E: The repository is not signed.)" in one_line(result.stderr)


def test_a_half_made_venv_is_remade_not_trusted(tmp_path):
    """An interrupted first install left a .venv with no stamp (here a `python` that is no Python)."""
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    executable(venv / "bin" / "python", "#!/bin/sh\nexit 3\n")
    (venv / "left-over").write_text("")
    env = {**os.environ, "MAKEFLAGS": ""}
    result = subprocess.run(
        ["make", "-s", "install", f"VENV={venv}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "was left half-made or is out of date: removing it and setting it up again" in result.stdout
    assert not (venv / "left-over").exists() and (venv / ".installed").exists()
    assert subprocess.run([str(venv / "bin" / "python"), "-c", "import pulumi, pydantic"], timeout=120).returncode == 0
