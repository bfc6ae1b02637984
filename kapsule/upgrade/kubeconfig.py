"""A kubeconfig read by this project's own code, for read-only access to a cluster: the current context's server,
its CA, and a token or a client certificate. Who controls it: whoever wrote the kubeconfig file or the stack's
`kubeconfig` output, so every value is checked and every side file (`tokenFile`, `client-key`, ...) is read
within bounds (a regular file, a few KiB, no NUL byte). Nothing is run: an `exec:` or `auth-provider:` user is
refused. The client key never reaches a file system: it is loaded into the TLS context from memory."""

from __future__ import annotations

import base64
import binascii
import os
import signal
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..files import FileProblem, read_regular

#: A token, a certificate or a key is a few KiB.
MAX_SIDE_FILE_BYTES = 64 * 1024
READ_ONLY_USERS = (
    "give a kubeconfig whose user has a `token` (or `tokenFile`) or a client certificate "
    "(`client-certificate-data` and `client-key-data`): the kubeconfig Scaleway's console or "
    "`scw k8s kubeconfig get` gives, or a ServiceAccount token bound to the read-only `view` role"
)


class KubeconfigError(ValueError):
    """A kubeconfig the preflight cannot use: the message names the key, never a value."""


@dataclass(frozen=True, repr=False)
class Access:
    """What a request needs: the server, how to trust it, and one credential. Never printed (no repr)."""

    server: str
    ca: str | None
    insecure: bool
    tls_server_name: str | None
    token: str | None
    certificate: bytes | None
    key: bytes | None

    def __repr__(self) -> str:
        return f"Access(server={self.server!r})"


def _named(document: dict[str, Any], section: str, name: Any) -> dict[str, Any]:
    for entry in document.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(section[:-1])
            if isinstance(body, dict):
                return body
            raise KubeconfigError(f"{section}[{name!r}] has no {section[:-1]} mapping")
    raise KubeconfigError(f"the current context names {section[:-1]} {name!r}, which {section} does not list")


def _side_file(value: Any, key: str, base: Path | None) -> bytes:
    if not isinstance(value, str) or not value:
        raise KubeconfigError(f"{key} is not a file path")
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path  # relative to the kubeconfig's own folder, as kubectl reads it
    try:
        data = read_regular(path, MAX_SIDE_FILE_BYTES, f"{key} is a few KiB")
    except FileProblem as error:
        raise KubeconfigError(f"{key} {str(path)!r} {error}") from None
    if b"\x00" in data:  # /proc/self/environ and other binary files are never sent as a credential
        raise KubeconfigError(f"{key} {str(path)!r} holds NUL bytes: it is not a {key.split('-')[-1]} file")
    return data


def _data(value: Any, key: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise KubeconfigError(f"{key} is not base64") from None


def _either(settings: dict[str, Any], key: str, base: Path | None) -> bytes | None:
    """`key-data` (base64) or `key` (a file), as kubectl prefers them."""
    if settings.get(f"{key}-data"):
        return _data(settings[f"{key}-data"], f"{key}-data")
    if settings.get(key):
        return _side_file(settings[key], key, base)
    return None


def _token(raw: str, key: str) -> str:
    token = raw.strip()  # a `token: |` block or a file written by `echo` ends in a newline; client-go trims it too
    if not token or any(not 0x21 <= ord(c) <= 0x7E for c in token):
        raise KubeconfigError(f"{key} is empty or holds a space, a control or a non-ASCII character: not a token")
    return token


def parse_kubeconfig(text: str, base: Path | None = None) -> Access:
    """The current context's Access; KubeconfigError naming the key when it cannot be used read-only."""
    try:
        document = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        raise KubeconfigError("is not YAML") from None
    if not isinstance(document, dict):
        raise KubeconfigError("is not a kubeconfig (no mapping at the top)")
    context = _named(document, "contexts", document.get("current-context"))
    cluster = _named(document, "clusters", context.get("cluster"))
    user = _named(document, "users", context.get("user"))
    name = context.get("user")
    if "exec" in user or "auth-provider" in user:
        plugin = "exec" if "exec" in user else "auth-provider"
        raise KubeconfigError(
            f"users[{name!r}].user.{plugin}: the preflight is read-only and runs no credential plugin; "
            + READ_ONLY_USERS
        )
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise KubeconfigError(f"clusters[{context.get('cluster')!r}].cluster.server is not an http(s) URL")
    if cluster.get("proxy-url"):
        raise KubeconfigError(f"clusters[{context.get('cluster')!r}].cluster.proxy-url: a proxy is not supported here")
    ca = _either(cluster, "certificate-authority", base)
    token = None
    if user.get("token"):
        token = _token(str(user["token"]), f"users[{name!r}].user.token")
    elif user.get("tokenFile"):
        data = _side_file(user["tokenFile"], "tokenFile", base)
        try:
            token = _token(data.decode("ascii"), f"users[{name!r}].user.tokenFile")
        except UnicodeDecodeError:
            raise KubeconfigError(f"users[{name!r}].user.tokenFile holds non-ASCII bytes: not a token") from None
    certificate = _either(user, "client-certificate", base)
    key = _either(user, "client-key", base)
    if (certificate is None) != (key is None):
        raise KubeconfigError(f"users[{name!r}].user has a client certificate or key without the other")
    if token is None and certificate is None:
        raise KubeconfigError(f"users[{name!r}].user has no token and no client certificate; {READ_ONLY_USERS}")
    try:
        ca_text = ca.decode("ascii") if ca is not None else None
    except UnicodeDecodeError:
        raise KubeconfigError("certificate-authority is not PEM text") from None
    return Access(
        server.rstrip("/"),
        ca_text,
        bool(cluster.get("insecure-skip-tls-verify")),
        cluster.get("tls-server-name") if isinstance(cluster.get("tls-server-name"), str) else None,
        token,
        certificate,
        key,
    )


def ssl_context(access: Access) -> ssl.SSLContext:
    """The TLS context of the cluster: its CA (or the system's), and the client certificate loaded from memory."""
    context = ssl.create_default_context()
    try:
        if access.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif access.ca is not None:
            context.load_verify_locations(cadata=access.ca)
        if access.certificate is not None and access.key is not None:
            _load_chain(context, access.certificate + b"\n" + access.key)
    except (ssl.SSLError, ValueError) as error:
        why = error.reason if isinstance(error, ssl.SSLError) else "not PEM"
        raise KubeconfigError(f"the certificate authority or client certificate cannot be loaded ({why})") from None
    return context


def _load_chain(context: ssl.SSLContext, pem: bytes) -> None:
    """Python's ssl reads a key from a path only: on Linux the path is an anonymous memory file (memfd), which no
    file system holds; elsewhere a 0600 file that exists only while it is read, with the signals that would
    stop the program held back until it is gone."""
    if hasattr(os, "memfd_create"):
        descriptor = os.memfd_create("kapsule-client-key", getattr(os, "MFD_CLOEXEC", 0))
        try:
            _write_all(descriptor, pem)
            context.load_cert_chain(f"/proc/self/fd/{descriptor}")
        finally:
            os.close(descriptor)
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        descriptor, path = tempfile.mkstemp(prefix="kapsule-client-")
        try:
            try:
                _write_all(descriptor, pem)
            finally:
                os.close(descriptor)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]
