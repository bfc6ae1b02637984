"""Secrets in a stack's config: credentials in plain text, and the values that must stay Pulumi secrets.

Pure logic. Both `pulumi up` (through the program) and the offline plan refuse a stack file that holds a
credential in clear, so that it is never committed next to the code. Every leaf is scanned on its own:
a `secure:` value protects itself, not its neighbours.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import yaml

from ..names import SECRET_PLACEHOLDER

#: A leaf of a config value: (config key, then the keys and list indexes below it).
LeafPath = tuple[Any, ...]

#: The last word(s) of a key name that make its value a credential (`dbPassword`, `client_secret`, `passwords`).
CREDENTIAL_WORDS = frozenset(
    {
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "pwd",
        "pw",
        "pass",
        "passphrase",
        "token",
        "tokens",
        "credential",
        "credentials",
        "kubeconfig",
        "apikey",
        "secretkey",
        "privatekey",
        "bearer",
        "dsn",
    }
)
#: Two-word endings with the same meaning (`access_token`, `connectionString`, `webhookUrl`).
CREDENTIAL_PAIRS = frozenset({("access", "token"), ("auth", "token"), ("connection", "string"), ("webhook", "url")})
#: `key` makes a credential after these words, anywhere in the name (`secretAccessKey`, `privateKeyPem`).
KEY_QUALIFIERS = frozenset({"secret", "private", "api", "signing", "master", "encryption", "session", "access"})
#: Key names whose UUID or Scaleway key value is a credential: Scaleway secret keys are UUIDs.
KEY_WORDS = frozenset({"secret", "access", "accesskey", "secretkey"})

#: Values that are credentials whatever their key is called.
SECRET_VALUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Scaleway access key", re.compile(r"(?<![A-Za-z0-9])SCW[A-Z0-9]{17}(?![A-Za-z0-9])")),
    ("a private key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("an AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")),
    ("a GitHub token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Slack webhook", re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/]{20,}")),
    ("a Stripe key", re.compile(r"\b[rs]k_(live|test)_[A-Za-z0-9]{16,}")),
    ("a URL with a password", re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@[^\s]+")),
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
#: What a kubeconfig user may carry that is a credential.
KUBECONFIG_CREDENTIALS = ("token", "client-key-data", "password", "client-key")
#: Base64 worth decoding: long enough to hide a credential, nothing but the base64 alphabet.
BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{16,}={0,2}$")
#: Bounds on one value's inspection (decoded base64 inside base64, parsed documents).
MAX_TEXT = 262_144
MAX_NESTING = 3


def plaintext_secrets(config: dict[str, Any], secure: Iterable[LeafPath | str]) -> list[tuple[str, str]]:
    """(key path, what it looks like) for every credential-looking leaf that is not a secret.

    `secure` holds the leaves that are secrets: a config key alone (`"app:token"` or `("app:token",)`)
    covers its whole value, a longer path one leaf. A `{"secure": ...}` mapping (the raw stack file)
    is a secret too.
    """
    protected = {(item,) if isinstance(item, str) else tuple(item) for item in secure}
    found: list[tuple[str, str]] = []
    for key, value in sorted(config.items()):
        for path, name, leaf in _leaves(value, (key,), key.partition(":")[2]):
            if any(path[:n] in protected for n in range(1, len(path) + 1)):
                continue
            looks = looks_like(leaf, name)
            if looks and path[-1] == KEY_LEAF:
                # Never print the key itself: it is the credential.
                found.append(
                    (
                        _dotted(path[:-2]),
                        f"one of its keys looks like {looks}; a key is never secret: move it into a `secure:` value",
                    )
                )
            elif looks:
                found.append(
                    (
                        _dotted(path),
                        f"looks like {looks} in plain text; store it with `pulumi config set --secret` (a `secure:` value)",
                    )
                )
    return found


#: The last step of a leaf path that stands for a mapping key rather than its value.
KEY_LEAF = object()


def _leaves(value: Any, path: LeafPath, name: str) -> Iterator[tuple[LeafPath, str, Any]]:
    """Every scalar leaf with its path and the name of the key it sits under (list items keep their key's)."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return
        for key, child in value.items():
            yield (*path, key, KEY_LEAF), "", str(key)  # a key can be a credential too (a token used as a tag key)
            # A `{name: SCW_SECRET_KEY, value: ...}` pair (Helm `env`, Kubernetes env vars) names its value.
            named = str(value["name"]) if key == "value" and isinstance(value.get("name"), str) else str(key)
            yield from _leaves(child, (*path, key), named)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, (*path, index), name)
    else:
        yield path, name, value


def _dotted(path: LeafPath) -> str:
    from .keys import key_part  # the one rule for quoting odd keys in messages

    return str(path[0]) + "".join(key_part(part) for part in path[1:])


def looks_like(value: Any, name: str) -> str | None:
    """What a credential-looking leaf looks like, or None. Numbers count under a credential's name."""
    words = key_words(name)
    named = _credential_name(words)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _named(name) if named else None
    if not isinstance(value, str) or not value.strip() or value == SECRET_PLACEHOLDER:
        return None
    found = _looks_like_text(value, 0)
    if found:
        return found
    if UUID.match(value.strip()) and KEY_WORDS & set(words):
        return "a Scaleway secret key"
    if named:
        return _named(name)
    return None


def _named(name: str) -> str:
    latin = _latin(name)
    reads = f", which reads as {latin!r}" if latin != name else ""
    return f"a credential (the key is named {name!r}{reads})"


def _looks_like_text(text: str, depth: int) -> str | None:
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    for what, pattern in SECRET_VALUES:
        if pattern.search(text):
            return what
    if _is_kubeconfig_with_credentials(text):
        return "a kubeconfig with credentials"
    if depth < MAX_NESTING:
        decoded = _base64_text(text.strip())
        if decoded is not None:
            inner = _looks_like_text(decoded, depth + 1)
            if inner:
                return f"{inner} (base64-encoded)" if "base64" not in inner else inner
    return None


def _is_kubeconfig_with_credentials(text: str) -> bool:
    """A kubeconfig in YAML or JSON, keys in any order, whose users carry a token, key or password."""
    if "kind" not in text or "Config" not in text:
        return False
    try:
        document = yaml.safe_load(text)  # JSON is YAML
    except (yaml.YAMLError, RecursionError):
        return False
    if not isinstance(document, dict) or document.get("kind") != "Config":
        return False
    users = document.get("users")
    for entry in users if isinstance(users, list) else []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if isinstance(user, dict) and any(user.get(field) for field in KUBECONFIG_CREDENTIALS):
            return True
    return False


def _base64_text(text: str) -> str | None:
    """The text a base64 (or base64url) string encodes, when it decodes to printable UTF-8."""
    if not BASE64.match(text):
        return None
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded, altchars=b"-_" if ("-" in text or "_" in text) else None, validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in decoded)
    return decoded if decoded and printable == len(decoded) else None


def key_words(name: str) -> list[str]:
    """A key name as lower-case ASCII words: `dbPassword` -> [db, password], `pаss_word` (Cyrillic а) -> [pass, word]."""
    text = _latin(name)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return [word for word in re.split(r"[^A-Za-z0-9]+", text.lower()) if word]


def _credential_name(words: list[str]) -> bool:
    if not words:
        return False
    if words[-1] in CREDENTIAL_WORDS or "".join(words) in CREDENTIAL_WORDS:
        return True
    if any(words[i] in KEY_QUALIFIERS and words[i + 1] == "key" for i in range(len(words) - 1)):
        return True
    return len(words) >= 2 and (words[-2], words[-1]) in CREDENTIAL_PAIRS


@lru_cache(maxsize=4096)
def _latin(name: str) -> str:
    """`name` with invisible characters dropped and look-alike letters (Cyrillic, Greek, full-width) made Latin."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", name) if unicodedata.category(ch) != "Cf")
    if text.isascii():
        return text
    from confusable_homoglyphs import confusables  # its Unicode table takes a while to load: only for non-ASCII keys

    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        found = confusables.is_confusable(ch, preferred_aliases=["latin"], greedy=True) or []
        latin = [g["c"] for item in found for g in item["homoglyphs"] if g["c"].isascii() and g["c"].isalnum()]
        out.append(latin[0] if latin else ch)
    return "".join(out)


def secret_leaves(
    config: dict[str, Any], secret_keys: Iterable[str], secure_paths: Iterable[LeafPath]
) -> set[LeafPath]:
    """The leaves of `config` that hold secrets.

    The engine names secret keys only as a whole; the stack file says which leaves under them are
    `secure:`. A secret key whose leaves the stack file cannot place is secret as a whole.
    """
    by_key: dict[str, list[LeafPath]] = {}
    for path in secure_paths:
        by_key.setdefault(path[0], []).append(tuple(path))
    leaves: set[LeafPath] = set()
    for key in secret_keys:
        if key not in config:
            continue
        placed = by_key.get(key, [])
        if placed and all(isinstance(_at(config[key], path[1:]), str) for path in placed):
            leaves.update(placed)
        else:
            leaves.add((key,))
    return leaves


def secret_values(config: dict[str, Any], leaves: Iterable[LeafPath]) -> frozenset[str]:
    """The plain text of every secret leaf (every string below a leaf that is a whole value)."""
    found: set[str] = set()
    for path in leaves:
        value = _at(config.get(path[0]), path[1:]) if path[0] in config else None
        for _, _, leaf in _leaves(value, path, ""):
            if isinstance(leaf, (str, int, float)) and not isinstance(leaf, bool) and str(leaf):
                found.add(str(leaf))
    return frozenset(found)


def _at(value: Any, path: LeafPath) -> Any:
    for part in path:
        if (
            isinstance(value, dict)
            and part in value
            or isinstance(value, list)
            and isinstance(part, int)
            and 0 <= part < len(value)
        ):
            value = value[part]
        else:
            return None
    return value


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value (also as Python or JSON would quote it) replaced by `[secret]`."""
    for secret in sorted(secrets, key=len, reverse=True):
        for form in {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]}:
            if form:
                text = text.replace(form, SECRET_PLACEHOLDER)
    return text
