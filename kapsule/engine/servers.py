"""The local Kubernetes API: Debian's etcd, then kube-apiserver and kube-controller-manager built by
`make engine`, each on a free loopback port, each stopped by its own process id.

`LocalCluster` is a context manager for the tests (everything it started is stopped on the way out, even
when a test fails), and `start` / `stop` for `make up` and `make down`, which keep the servers running in
between and find them again from `servers.json` in the cluster's directory.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..files import FileProblem, read_regular, read_text, write_private
from ..names import ROOT
from .processes import alive, http_get, stop_process, tail, which

TOOLS = ROOT / ".tools"
BIN = TOOLS / "bin"


def local_directory() -> Path:
    """Where `make up` keeps the local cluster between commands: data, certificates, kubeconfig, process ids.
    The end-to-end tests set KAPSULE_LOCAL_DIR to a directory of their own."""
    return Path(os.environ["KAPSULE_LOCAL_DIR"]) if os.environ.get("KAPSULE_LOCAL_DIR") else TOOLS / "local"


LOOPBACK = "127.0.0.1"
#: How long each server may take to answer its health check.
STARTUP_SECONDS = 60


class ServerError(Exception):
    """A local server that could not be started: the message says which and why (its log's last lines)."""


def free_port() -> int:
    """A TCP port nothing listens on, on loopback."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """One started process: what it is, its pid, where it listens and logs."""

    name: str
    pid: int
    url: str
    log: str
    argv: list[str] = field(default_factory=list)


@dataclass
class LocalCluster:
    """etcd, kube-apiserver and kube-controller-manager on loopback, and a kubeconfig for them."""

    directory: Path = field(default_factory=local_directory)
    controllers: tuple[str, ...] = ("namespace-controller", "garbage-collector-controller", "disruption-controller")
    servers: list[Server] = field(default_factory=list)
    runtime_config: str = ""
    """kube-apiserver's `--runtime-config` (an API version to serve that it does not by default), if any."""

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig of the local API (a token; never printed)."""
        return self.directory / "kubeconfig"

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start etcd, kube-apiserver and kube-controller-manager, each once the one before answers."""
        for binary in ("kube-apiserver", "kube-controller-manager"):
            if not (BIN / binary).is_file():
                raise ServerError(f"{BIN / binary} is missing: run `make engine` first")
        if not which("etcd"):
            raise ServerError("etcd is missing: `apt-get install etcd-server` (make engine does it)")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)  # it holds the admin token and key: never wider, even if made earlier
        try:
            self._start_etcd()
            self._start_apiserver()
            self._start_controller_manager()
        except BaseException:
            self.stop()
            raise
        (self.directory / "servers.json").write_text(json.dumps([asdict(s) for s in self.servers], indent=2))

    def stop(self) -> None:
        """Stop every server this cluster started, last first, by its own process id."""
        for server in reversed(self.servers):
            stop_process(server.pid)
        self.servers.clear()
        (self.directory / "servers.json").unlink(missing_ok=True)

    def restart(self, name: str) -> None:
        """Start one server that stopped (or was stopped) again, with its own arguments: the same port, the
        same data, so the kubeconfig and everything recorded against it stay true."""
        old = next(s for s in self.servers if s.name == name)
        stop_process(old.pid)
        self.servers.remove(old)
        server = self._spawn(name, old.argv, old.url)
        if name == "kube-apiserver":
            certificate, _, token = self._credentials()
            context = ssl.create_default_context(cafile=str(certificate))
            _wait(server, lambda: http_get(f"{old.url}/readyz", token, context) == b"ok")
        (self.directory / "servers.json").write_text(json.dumps([asdict(s) for s in self.servers], indent=2))

    @classmethod
    def running(cls, directory: Path | None = None) -> LocalCluster | None:
        """The cluster `make up` left running in `directory`, if every one of its servers is still alive."""
        directory = directory or local_directory()
        record = directory / "servers.json"
        if not record.is_file():
            return None
        try:
            servers = [Server(**item) for item in json.loads(read_regular(record, 64 * 1024, "it lists three servers"))]
        except (FileProblem, ValueError, TypeError) as error:
            raise ServerError(
                f"{record} is not this project's list of local servers ({error}): stop them and remove it"
            ) from None
        cluster = cls(directory=directory, servers=servers)
        if all(alive(s.pid) for s in servers):
            return cluster
        cluster.stop()  # a half-dead cluster: stop what is left, and start anew
        return None

    def _spawn(self, name: str, argv: list[str], url: str) -> Server:
        log = self.directory / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        server = Server(name, process.pid, url, str(log), list(argv))
        self.servers.append(server)
        return server

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        url = f"http://{LOOPBACK}:{client}"
        data = self.directory / "etcd"
        server = self._spawn(
            "etcd",
            [
                "etcd",
                "--name",
                "kapsule-local",
                "--data-dir",
                str(data),
                "--listen-client-urls",
                url,
                "--advertise-client-urls",
                url,
                "--listen-peer-urls",
                f"http://{LOOPBACK}:{peer}",
                "--initial-advertise-peer-urls",
                f"http://{LOOPBACK}:{peer}",
                "--initial-cluster",
                f"kapsule-local=http://{LOOPBACK}:{peer}",
            ],
            url,
        )
        _wait(server, lambda: http_get(f"{url}/health") is not None)

    def _start_apiserver(self) -> None:
        etcd = next(s.url for s in self.servers if s.name == "etcd")
        certificate, key, token = self._credentials()
        port = free_port()
        url = f"https://{LOOPBACK}:{port}"
        server = self._spawn(
            "kube-apiserver",
            [
                str(BIN / "kube-apiserver"),
                "--etcd-servers",
                etcd,
                "--bind-address",
                LOOPBACK,
                "--advertise-address",
                LOOPBACK,
                "--secure-port",
                str(port),
                "--tls-cert-file",
                str(certificate),
                "--tls-private-key-file",
                str(key),
                "--token-auth-file",
                str(self.directory / "tokens.csv"),
                "--authorization-mode",
                "RBAC",
                "--service-account-issuer",
                url,
                "--service-account-key-file",
                str(key),
                "--service-account-signing-key-file",
                str(key),
                "--service-cluster-ip-range",
                "10.96.0.0/16",
                "--cert-dir",
                str(self.directory / "certs"),
                # No kubelet runs here: pods are bound to Node objects and never started.
                "--disable-admission-plugins",
                "ServiceAccount",
                *(["--runtime-config", self.runtime_config] if self.runtime_config else []),
            ],
            url,
        )
        context = ssl.create_default_context(cafile=str(certificate))
        _wait(server, lambda: http_get(f"{url}/readyz", token, context) == b"ok")
        self._write_kubeconfig(url, certificate, token)

    def _start_controller_manager(self) -> None:
        certificate, key, _ = self._credentials()
        self._spawn(
            "kube-controller-manager",
            [
                str(BIN / "kube-controller-manager"),
                "--kubeconfig",
                str(self.kubeconfig),
                "--controllers",
                ",".join(self.controllers),
                "--bind-address",
                LOOPBACK,
                "--secure-port",
                str(free_port()),
                "--leader-elect=false",
                "--service-account-private-key-file",
                str(key),
                "--root-ca-file",
                str(certificate),
            ],
            "",
        )
        time.sleep(0.5)
        if not alive(self.servers[-1].pid):
            raise ServerError(f"kube-controller-manager exited at once:\n{tail(self.servers[-1].log)}")

    def _credentials(self) -> tuple[Path, Path, str]:
        """A self-signed serving certificate for 127.0.0.1 and an admin token, made once per directory."""
        certificate, key, tokens = (
            self.directory / "apiserver.crt",
            self.directory / "apiserver.key",
            self.directory / "tokens.csv",
        )
        if not certificate.is_file():
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "30",
                    "-keyout",
                    str(key),
                    "-out",
                    str(certificate),
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                ],
                check=True,
                capture_output=True,
            )
        if not tokens.is_file():
            write_private(tokens, f"{os.urandom(24).hex()},admin,admin,system:masters\n")
        for secret in (key, tokens):
            os.chmod(secret, 0o600)  # an older file, made at a wider mode, is narrowed before the servers read it
        return certificate, key, read_text(tokens, 4096, "it holds one token line").split(",", 1)[0]

    def _write_kubeconfig(self, url: str, certificate: Path, token: str) -> None:
        import base64

        import yaml

        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {
                        "server": url,
                        "certificate-authority-data": base64.b64encode(
                            read_regular(certificate, 64 * 1024, "a certificate is a few KiB")
                        ).decode(),
                    },
                }
            ],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
            "current-context": "local",
        }
        write_private(self.kubeconfig, yaml.safe_dump(document))


def _wait(server: Server, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not alive(server.pid):
            raise ServerError(f"{server.name} exited before it answered:\n{tail(server.log)}")
        if ready():
            return
        time.sleep(0.25)
    raise ServerError(f"{server.name} did not answer within {STARTUP_SECONDS} s:\n{tail(server.log)}")
