"""How a key of a stack file is quoted in a message: the one rule, for errors and secret reports alike."""

from __future__ import annotations

import re
from typing import Any

#: A key printed as it is; anything else (spaces, control characters, empty) is printed quoted.
PLAIN_KEY = re.compile(r"[A-Za-z0-9_./-]+")


def key_part(part: Any) -> str:
    """One step of a key path: `.key`, `[0]` for a list index, `['odd key']` for a key that needs quoting."""
    if isinstance(part, int):
        return f"[{part}]"
    return f".{part}" if PLAIN_KEY.fullmatch(str(part)) else f"[{str(part)!r}]"
