"""A stack export that can be published: `python -m kapsule state redact --in FULL --out REDACTED`.

The deploy job publishes each stack's recorded state for the offline plan of the next pull requests, for 90
days, to anyone who can read the repository's artifacts. A full export holds the ciphertext of every secret
(the kubeconfig, the Scaleway keys) and the secrets provider's state (the passphrase's salt and verifier):
with both, a passphrase can be guessed offline, with no rate limit. The redacted export keeps everything the
offline plan reads and nothing it cannot use:

- each secret, ciphertext or plaintext, becomes Pulumi's secret envelope holding only a marker: the offline
  plan reads it as a secret it cannot see, as it reads ciphertext (`records.decode`);
- `secrets_providers` (the salt) is removed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .reading import deployment_of, read_document
from .records import MAX_STATE_DEPTH, SECRET_SIG, SECRET_SIG_KEY, StateError

#: What a redacted secret holds instead of its value.
REDACTED = "a secret is recorded here; its value was removed before the state was published"
#: The secret envelope's fields that carry a value; none is kept.
VALUE_FIELDS = ("ciphertext", "plaintext")


def redacted(value: Any, depth: int = 0) -> Any:
    """`value` with every secret envelope replaced by one that says a secret is there, and holds nothing of it."""
    if depth > MAX_STATE_DEPTH:
        raise StateError(f"a value nests deeper than {MAX_STATE_DEPTH} levels; not a stack's state")
    if isinstance(value, dict):
        if SECRET_SIG_KEY in value:
            return {SECRET_SIG_KEY: SECRET_SIG, "redacted": REDACTED}
        return {key: redacted(item, depth + 1) for key, item in value.items() if key != "secrets_providers"}
    if isinstance(value, list):
        return [redacted(item, depth + 1) for item in value]
    return value


def leftovers(value: Any, path: str = "") -> list[str]:
    """Where a document still holds a secret's value or a secrets provider's state (the check after redacting)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in VALUE_FIELDS + ("secrets_providers", "encryptionsalt", "salt"):
                found.append(where)
            found += leftovers(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += leftovers(item, f"{path}[{index}]")
    return found


def redact_file(source: Path, target: Path) -> int:
    """Read a `pulumi stack export` (bounded, checked for its shape), write its redacted copy; the count of secrets."""
    document = read_document(source, str(source))
    deployment_of(document, str(source))  # an export or a checkpoint, of a version this reads
    text = json.dumps(document)
    result = redacted(document)
    left = leftovers(result)
    if left:  # a field named like a secret's value outside any envelope: never published
        raise StateError(f"{source}: {', '.join(left[:5])} still hold(s) a value after redacting; nothing was written")
    partial = target.with_name(target.name + ".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=4)
        handle.write("\n")
    os.replace(partial, target)
    return text.count(SECRET_SIG_KEY)
