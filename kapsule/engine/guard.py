"""The driver's guards, each one error: the local stack never reaches a real cluster, Scaleway or another
account's credentials, and a real stack never runs against the local servers.

- A kubeconfig is "local" when a cluster server's host, resolved as the system resolves it, is in loopback
  or unspecified address space (`127.0.0.0/8`, `::1`, `0.0.0.0`, `::`, and their IPv4-mapped forms):
  `127.1`, `[::ffff:127.0.0.1]`, `localhost.` and `127.0.0.2` are all this machine. Every kubeconfig
  source is judged: a file, an inline value, and a `secure:` value once the engine has decrypted it.
- The local stack runs with an allow-listed environment: what the engine needs, and nothing that could
  name an account (`SCW_*`, `AWS_*`, `PULUMI_ACCESS_TOKEN`, `KUBECONFIG`, a `HOME` holding `~/.config/scw`).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from components.existing_cluster import MAX_KUBECONFIG_BYTES

from ..files import FileProblem, read_regular

#: Variables the local stack keeps from the caller's environment: the locale, the terminal and the clock.
LOCAL_ALLOWED = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TERM", "TZ", "NO_COLOR")
#: The project's own settings for the local stack (its servers' folder and its backend).
LOCAL_SETTINGS = ("KAPSULE_LOCAL_DIR", "KAPSULE_LOCAL_BACKEND_URL")
#: What an S3-compatible backend on loopback needs, kept only when the local backend is one.
LOCAL_S3_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")


class GuardError(Exception):
    """A guard refused: one sentence, naming what to change."""


def local_host(host: str | None) -> bool:
    """Whether `host` (a name, an IPv4 address in any form inet_aton reads, or an IPv6 address, bracketed or not)
    is this machine: every address it resolves to is in loopback or unspecified space."""
    if not host:
        return False
    host = host.strip().strip("[]")
    name = host.lower().removesuffix(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True  # RFC 6761: always loopback, whatever a resolver says of `localhost.`
    try:
        addresses = [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in socket.getaddrinfo(host, None)]
        except (OSError, UnicodeError, ValueError):
            return False
    return any(_local_address(address) for address in addresses)


def _local_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_loopback or address.is_unspecified


def kubeconfig_servers(text: str) -> list[str]:
    """The cluster servers a kubeconfig's text names (none when it is no kubeconfig)."""
    try:
        document = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        return []
    clusters = document.get("clusters") if isinstance(document, dict) else None
    servers = [
        (c.get("cluster") or {}).get("server")
        for c in clusters or []
        if isinstance(c, dict) and isinstance(c.get("cluster"), dict)
    ]
    return [server for server in servers if isinstance(server, str)]


def local_server(text: str) -> str | None:
    """The first server of a kubeconfig that is on this machine, or None."""
    for server in kubeconfig_servers(text):
        try:
            host = urlparse(server if "//" in server else f"https://{server}").hostname
        except ValueError:
            continue
        if local_host(host):
            return server
    return None


def kubeconfig_file_text(path: Path) -> str:
    """A kubeconfig file's text, read bounded; empty when it cannot be read (the program then refuses it)."""
    try:
        return read_regular(path, MAX_KUBECONFIG_BYTES, "a kubeconfig is a few KiB").decode("utf-8", "replace")
    except FileProblem:
        return ""


def refuse_local_kubeconfig(stack: str, where: str, text: str) -> None:
    """Refuse a real stack whose kubeconfig (from `where`) points at this machine."""
    server = local_server(text)
    if server is not None:
        raise GuardError(
            f"stack {stack}: {where} points at this machine ({server}): only the local stack runs on the local Kubernetes API"
        )


def refuse_decrypted(stack: str, config: Mapping[str, Any]) -> None:
    """Judge the kubeconfig a real stack holds inline or as a `secure:` value, as the engine decrypted it
    (`pulumi config --show-secrets`, through the Automation API). The value itself is never printed."""
    value = config.get("kapsule:existing_cluster")
    raw = getattr(value, "value", value)
    try:
        document = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return
    kubeconfig = document.get("kubeconfig") if isinstance(document, dict) else None
    if isinstance(kubeconfig, str):
        refuse_local_kubeconfig(stack, "kapsule:existing_cluster.kubeconfig", kubeconfig)


def local_environment(engine: Mapping[str, str], caller: Mapping[str, str]) -> dict[str, str]:
    """The whole environment of the local stack: `engine` (what the driver sets) and the few allow-listed
    variables of `caller`; AWS credentials only for an S3-compatible local backend on loopback."""
    env = {key: caller[key] for key in LOCAL_ALLOWED + LOCAL_SETTINGS if key in caller}
    if _s3_on_loopback(engine.get("PULUMI_BACKEND_URL", "")):
        env.update({key: caller[key] for key in LOCAL_S3_CREDENTIALS if key in caller})
    env.update(engine)
    return env


def _s3_on_loopback(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme != "s3":
        return False
    endpoint = (parse_qs(parsed.query).get("endpoint") or [""])[0]
    return local_host(urlparse(endpoint if "//" in endpoint else f"http://{endpoint}").hostname)
