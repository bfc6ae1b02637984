"""Plain-text secrets in a stack's config: a value that looks like a credential but is not a `secure:` value.

Pure logic. Both `pulumi up` (through the program) and the offline plan refuse such a stack file, so
that a credential is never committed in clear next to the code.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional

#: Key names whose non-empty string value is a credential.
SECRET_KEY_NAME = re.compile(
    r"(?i)(^|[_-])(secret|password|passwd|passphrase|token|api[_-]?key|private[_-]?key|credentials?|kubeconfig)([_-]?key)?$"
)
#: Values that are credentials whatever their key is called.
SECRET_VALUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Scaleway access key", re.compile(r"\bSCW[A-Z0-9]{17}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("an AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")),
    ("a kubeconfig with credentials", re.compile(r"(?s)apiVersion:\s*v1.*kind:\s*Config.*(token|client-key-data|password):")),
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
#: Scaleway secret keys are UUIDs; under such a key name a UUID is a credential, not an id.
SECRET_UUID_KEY = re.compile(r"(?i)(secret|scw_secret|secret_key)")


def plaintext_secrets(config: dict[str, Any], secret_keys: Iterable[str]) -> list[tuple[str, str]]:
    """(key path, what it looks like) for every credential-looking value not held as a secret."""
    protected = set(secret_keys)
    found: list[tuple[str, str]] = []
    for key, value in sorted(config.items()):
        if key in protected:
            continue
        found += _scan(value, key, key.partition(":")[2])
    return found


def _scan(value: Any, path: str, name: str) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return []
        return [hit for key, child in value.items() for hit in _scan(child, f"{path}.{key}", str(key))]
    if isinstance(value, list):
        return [hit for index, child in enumerate(value) for hit in _scan(child, f"{path}[{index}]", name)]
    if not isinstance(value, str) or not value.strip():
        return []
    looks = _looks_like(value, name)
    return [(path, f"looks like {looks} in plain text; store it with `pulumi config set --secret` (a `secure:` value)")] if looks else []


def _looks_like(value: str, name: str) -> Optional[str]:
    for what, pattern in SECRET_VALUES:
        if pattern.search(value):
            return what
    if UUID.match(value) and SECRET_UUID_KEY.search(name):
        return "a Scaleway secret key"
    if SECRET_KEY_NAME.search(name) and value != "[secret]":
        return f"a credential (the key is named {name!r})"
    return None
