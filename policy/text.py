"""Whether a tag value shows anything: judged by Unicode's categories and names, never a list of code points.

A value is visible when one of its characters is a letter, a number, punctuation or a symbol (categories
L, N, P, S) that Unicode itself does not name as blank: the Hangul fillers (`HANGUL CHOSEONG FILLER`,
U+115F, and its kin) are letters and the braille blank (`BRAILLE PATTERN BLANK`, U+2800) is a symbol,
yet neither draws a thing. Spaces, controls, format characters and lone combining marks never count.
"""

from __future__ import annotations

import unicodedata

GRAPHIC = frozenset("LNPS")
#: The words Unicode's character names use for graphic characters that draw nothing.
BLANK_NAMES = ("BLANK", "FILLER")


def visible(character: str) -> bool:
    """True when `character` draws something on its own."""
    if unicodedata.category(character)[0] not in GRAPHIC:
        return False
    name = unicodedata.name(character, "")
    return not any(word in name.split() for word in BLANK_NAMES)


def shows_anything(text: str) -> bool:
    """True when `text` has at least one visible character."""
    return any(visible(character) for character in text)
