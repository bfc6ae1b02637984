"""The Kubernetes APIs each minor removes: `components/kubernetes_api_removals.json`, beside the version catalog.

The table is the Kubernetes deprecated-API migration guide as the API server itself applies it: each
type's prerelease lifecycle (`APILifecycleDeprecated`, `APILifecycleRemoved`, `APILifecycleReplacement`)
in the `k8s.io/api` module, the same code that makes a kube-apiserver stop serving a version in its
removal release and fill the `removed_release` label of `apiserver_requested_deprecated_apis`.
`python -m kapsule versions refresh-apis` rebuilds it from that module, fetched through the Go module proxy.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.offers import read_catalog
from components.versions import Version

from ..files import FileProblem, read_text

REMOVALS_FILE = Path(__file__).resolve().parents[2] / "components" / "kubernetes_api_removals.json"
#: The `k8s.io/api` release the table is read from: the one the engine's kube-apiserver v1.35.4 is built with.
API_MODULE_VERSION = "v0.35.4"
GUIDE = "https://kubernetes.io/docs/reference/using-api/deprecation-guide/"
#: A prerelease-lifecycle file is a few KiB; a register.go less.
MAX_GO_FILE_BYTES = 1024 * 1024

_LIFECYCLE = re.compile(
    r"func \(in \*(\w+)\) APILifecycle(Deprecated|Removed)\(\) \(major, minor int\) \{\s*return (\d+), (\d+)"
)
_REPLACEMENT = re.compile(
    r"func \(in \*(\w+)\) APILifecycleReplacement\(\) schema\.GroupVersionKind \{\s*"
    r'return schema\.GroupVersionKind\{Group: "([^"]*)", Version: "([^"]*)", Kind: "([^"]*)"\}'
)
_GROUP = re.compile(r'const GroupName = "([^"]*)"')


@dataclass(frozen=True)
class Removal:
    """One kind under one group/version, the release that deprecated it and the one that removes it."""

    group: str
    version: str
    kind: str
    deprecated: str | None
    removed: str
    replacement: str | None
    """`group/version Kind` to move to, when Kubernetes names one."""

    @property
    def api_version(self) -> str:
        """As a manifest writes it: `policy/v1beta1`, or `v1` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version


class RemovalsError(ValueError):
    """The removals table cannot be read: the message names the file and what is wrong."""


@functools.lru_cache(maxsize=2)
def load_removals(path: Path = REMOVALS_FILE) -> tuple[str, tuple[Removal, ...]]:
    """The table's source line and its entries."""
    document = read_catalog(path)
    try:
        entries = tuple(Removal(**item) for item in document["removals"])
        for entry in entries:
            Version.parse(entry.removed)
        return str(document["source"]), entries
    except (KeyError, TypeError, ValueError) as error:
        raise RemovalsError(
            f"{path.name}: not a removals table ({error}); rebuild it with `python -m kapsule versions refresh-apis`"
        ) from None


def by_api(removals: tuple[Removal, ...]) -> dict[tuple[str, str], Removal]:
    """The table keyed by (apiVersion, kind)."""
    return {(r.api_version, r.kind): r for r in removals}


def parse_module(directory: Path) -> list[dict[str, Any]]:
    """Every deprecated kind of a `k8s.io/api` module checkout, from its prerelease-lifecycle files."""
    entries = []
    for lifecycle in sorted(directory.glob("*/*/zz_generated.prerelease-lifecycle.go")):
        register = lifecycle.with_name("register.go")
        try:
            group = _GROUP.search(read_text(register, MAX_GO_FILE_BYTES, "a register.go is small"))
            text = read_text(lifecycle, MAX_GO_FILE_BYTES, "a lifecycle file is a few KiB")
        except FileProblem:
            continue
        if group is None:
            continue
        dates: dict[str, dict[str, str]] = {}
        for match in _LIFECYCLE.finditer(text):
            dates.setdefault(match.group(1), {})[match.group(2)] = f"{match.group(3)}.{match.group(4)}"
        replacements = {
            m.group(1): f"{m.group(2) + '/' if m.group(2) else ''}{m.group(3)} {m.group(4)}"
            for m in _REPLACEMENT.finditer(text)
        }
        for kind, known in sorted(dates.items()):
            if kind.endswith("List") or "Removed" not in known:
                continue
            entries.append(
                {
                    "group": group.group(1),
                    "version": lifecycle.parent.name,
                    "kind": kind,
                    "deprecated": known.get("Deprecated"),
                    "removed": known["Removed"],
                    "replacement": replacements.get(kind),
                }
            )
    entries.sort(key=lambda e: (Version.parse(str(e["removed"])), e["group"], e["version"], e["kind"]))
    return entries


def removals_document(directory: Path, module_version: str) -> dict[str, Any]:
    """The table file's content from a `k8s.io/api` checkout."""
    return {
        "source": f"the Kubernetes deprecated API migration guide ({GUIDE}) as the API server applies it: "
        f"the prerelease lifecycle of k8s.io/api {module_version}",
        "removals": parse_module(directory),
    }


def download_module(version: str = API_MODULE_VERSION) -> Path:
    """The `k8s.io/api` module's directory, downloaded through the Go module proxy (`go mod download`)."""
    try:
        result = subprocess.run(
            ["go", "mod", "download", "-json", f"k8s.io/api@{version}"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RemovalsError(
            f"`go mod download k8s.io/api@{version}` could not run ({error}); install the Go toolchain"
        ) from None
    try:
        directory = json.loads(result.stdout).get("Dir") if result.stdout.strip() else None
    except json.JSONDecodeError:
        directory = None
    if result.returncode != 0 or not directory:
        raise RemovalsError(
            f"`go mod download k8s.io/api@{version}` failed: {result.stderr.strip()[-400:] or result.stdout.strip()[-400:]}"
        )
    return Path(directory)


def write_removals(document: dict[str, Any], path: Path = REMOVALS_FILE) -> None:
    """Write the table file."""
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
