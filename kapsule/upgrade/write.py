"""`upgrade --write`: the stack file's `kapsule:cluster.version` set to the next step's version, and nothing
else. One line changes; comments, order, quoting and layout stay as they are. The edit is checked by reading
the file back: the same document but for that one value, or the file is left untouched."""

from __future__ import annotations

import copy
import os
import re
import tempfile
from pathlib import Path

import yaml

from ..files import FileProblem, read_text
from ..stackfile.messages import display_path
from ..stackfile.reading import MAX_STACK_FILE_BYTES, SAFE_LOADER
from .path import UpgradeError

_KEY = re.compile(r"^(?P<indent> *)(?P<key>['\"]?kapsule:cluster['\"]?):\s*(?:#.*)?$")
_VERSION = re.compile(
    r"^(?P<indent> +)version:(?P<space>\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^\s#]+)(?P<rest>\s*(?:#.*)?)$"
)


#: Line breaks YAML or str.splitlines count that are not `\n` or `\r\n`: the edit would see other lines than YAML.
_ODD_BREAKS = re.compile("\r(?!\n)|[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _by_hand(shown: str, version: str, why: str) -> UpgradeError:
    return UpgradeError(f"{shown}: {why}, so --write cannot change it alone; set it to {version!r} by hand")


def edited(text: str, version: str, shown: str) -> str:
    """The stack file's text with the cluster's version set to `version`; UpgradeError when it cannot be found."""
    if _ODD_BREAKS.search(text):
        raise _by_hand(shown, version, "the file has line breaks other than LF or CRLF (a NEL, a lone CR, ...)")
    lines = text.splitlines(keepends=True)
    for number, line in enumerate(lines):
        start = _KEY.match(line.rstrip("\r\n"))
        if not start:
            continue
        base = len(start.group("indent"))
        for index in range(number + 1, len(lines)):
            body = lines[index].rstrip("\r\n")
            if not body.strip() or body.lstrip().startswith("#"):
                continue
            indent = len(body) - len(body.lstrip(" "))
            if indent <= base:
                break
            found = _VERSION.match(body)
            if found and not _deeper(lines, number + 1, index, indent):
                old = found.group("value")
                if old[0] in "|>&*!" or (old[0] in "'\"" and (len(old) < 2 or old[-1] != old[0])):
                    raise _by_hand(shown, version, "kapsule:cluster.version is not a one-line plain or quoted value")
                quote = old[0] if old[0] in "'\"" else '"'
                ending = lines[index][len(body) :]
                lines[index] = (
                    f"{found.group('indent')}version:{found.group('space')}{quote}{version}{quote}{found.group('rest')}{ending}"
                )
                return "".join(lines)
        break
    raise _by_hand(shown, version, "kapsule:cluster.version is not a line of its own in a block mapping")


def _deeper(lines: list[str], start: int, index: int, indent: int) -> bool:
    """Whether line `index` sits under a nested key rather than directly under kapsule:cluster."""
    first = next(
        len(line) - len(line.lstrip(" "))
        for line in lines[start:]
        if line.strip() and not line.lstrip().startswith("#")
    )
    return indent != first


def write_version(path: Path, version: str) -> tuple[str, str]:
    """Set the version in the stack file; return (old text, new text). The file is replaced whole, or not at all."""
    shown = display_path(path)
    try:
        text = read_text(path, MAX_STACK_FILE_BYTES, "a stack file is a few KiB")
    except FileProblem as error:
        raise UpgradeError(f"{shown}: {error}") from None
    new = edited(text, version, shown)
    try:  # read as the plan reads a stack file (libyaml where the wheel has it), before and after
        before, after = SAFE_LOADER(text).get_single_data(), SAFE_LOADER(new).get_single_data()
        expected = copy.deepcopy(before)
        expected["config"]["kapsule:cluster"]["version"] = version
    except (yaml.YAMLError, RecursionError, KeyError, TypeError):
        expected, after = None, "unreadable"
    if after != expected:
        raise UpgradeError(
            f"{shown}: editing the version line would change more than kapsule:cluster.version; set it to {version!r} by hand"
        )
    mode = path.stat().st_mode & 0o777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(new)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return text, new


def restore(path: Path, text: str) -> None:
    """Put the stack file back as it was."""
    path.write_text(text, encoding="utf-8", newline="")
