"""The end-to-end tier: the real Pulumi CLI (built by `make engine`), the real Kubernetes provider plugin and a
real kube-apiserver on loopback. No mocks. Every server a fixture starts, the fixture stops, even when a test
fails. These tests never reach Scaleway: the local stack is a platform stack, and the driver drops SCW_*."""

from __future__ import annotations

import copy
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kapsule.names import ROOT

ENGINE = ROOT / ".tools" / "bin"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the engine the tier cannot run: say so once, as an error, never as a pass."""
    missing = [
        name
        for name in ("pulumi", "pulumi-resource-kubernetes", "kube-apiserver", "kube-controller-manager")
        if not (ENGINE / name).is_file()
    ]
    if missing:
        raise pytest.UsageError(
            f"the end-to-end tests need the engine ({', '.join(missing)} missing from .tools/bin): run `make engine`"
        )


@pytest.fixture(scope="session")
def local_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory of the tests' own for the local cluster and the state, set before the engine modules load."""
    directory = tmp_path_factory.mktemp("local-api")
    os.environ["KAPSULE_LOCAL_DIR"] = str(directory)
    os.environ["KAPSULE_LOCAL_BACKEND_URL"] = f"file://{directory / 'state'}"
    yield directory
    os.environ.pop("KAPSULE_LOCAL_DIR", None)
    os.environ.pop("KAPSULE_LOCAL_BACKEND_URL", None)


@pytest.fixture(scope="session")
def cluster(local_dir: Path) -> Iterator[Any]:
    """etcd, kube-apiserver and kube-controller-manager on free loopback ports, stopped at the end."""
    from kapsule.engine.servers import LocalCluster

    with LocalCluster(directory=local_dir) as started:
        yield started


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, cluster: Any) -> Path:
    """A project directory for the CLI: Pulumi.yaml, the local stack file pointing at the test cluster, its policy."""
    root = tmp_path_factory.mktemp("project")
    for name in ("Pulumi.yaml", "__main__.py"):  # the offline plan runs the project's program
        shutil.copy(ROOT / name, root / name)
    (root / "stacks").mkdir()
    (root / "policy" / "config").mkdir(parents=True)
    shutil.copy(ROOT / "policy" / "config" / "local.json", root / "policy" / "config" / "local.json")
    write_stack(root, base_config(cluster))
    return root


def base_config(cluster: Any) -> dict[str, Any]:
    """The repository's local stack, pointed at the test cluster's kubeconfig."""
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())
    config = copy.deepcopy(document["config"])
    config["kapsule:existing_cluster"] = {"kubeconfig_file": str(cluster.kubeconfig)}
    return config


def write_stack(root: Path, config: dict[str, Any]) -> None:
    """Write the local stack file, keeping the salt its passphrase encrypts with."""
    salt = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())["encryptionsalt"]
    (root / "stacks" / "Pulumi.local.yaml").write_text(
        yaml.safe_dump({"config": config, "encryptionsalt": salt}, sort_keys=False)
    )


@pytest.fixture(scope="session")
def deployed(project: Path, cluster: Any) -> Path:
    """The local stack, deployed once by the real engine."""
    from kapsule.engine import driver

    driver.up("local", root=project, on_output=lambda _: None)
    return project


@pytest.fixture
def edited(deployed: Path, cluster: Any) -> Iterator[Callable[[Callable[[dict[str, Any]], None]], None]]:
    """Edit the local stack file for one test; the base stack file is back afterwards, whatever happens."""

    def edit(change: Callable[[dict[str, Any]], None]) -> None:
        config = base_config(cluster)
        change(config)
        write_stack(deployed, config)

    yield edit
    write_stack(deployed, base_config(cluster))


def kubernetes_client(cluster: Any) -> Any:
    """The Kubernetes API's own Python client, on the test cluster's kubeconfig."""
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(config_file=str(cluster.kubeconfig)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[str]:
    """moto's S3-compatible server on loopback, with a bucket; stopped by its own process id."""
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import boto3

        deadline = time.monotonic() + 30
        while True:
            try:
                s3 = boto3.client(
                    "s3",
                    endpoint_url=f"http://127.0.0.1:{port}",
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                    region_name="fr-par",
                )
                s3.create_bucket(Bucket="kapsule-state", CreateBucketConfiguration={"LocationConstraint": "fr-par"})
                break
            except Exception:  # noqa: BLE001 not listening yet
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
