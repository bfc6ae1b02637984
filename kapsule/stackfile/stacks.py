"""The stacks of this repository: discovered from `stacks/`, their names, and the order they deploy in. Pure logic."""

from __future__ import annotations

import re
from pathlib import Path

from ..names import CONFIG_NAMESPACE, ROOT
from .messages import StackConfigError
from .reading import read_stack_file, stack_file_path

#: The stack key naming the stack deployed before this one (none: deployed first).
DEPLOY_AFTER = f"{CONFIG_NAMESPACE}:deploy_after"


#: What Pulumi accepts as a stack name: ASCII letters, digits, `-`, `_` and `.`, 1 to 100 of them. A name
#: reaches workflow files and shell steps, so nothing else is ever taken from a file name.
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


STACK_NAME_RULE = "1 to 100 ASCII letters, digits, '-', '_' or '.'"


def stack_name_problem(name: str) -> str | None:
    """Why `name` is not a stack name, or None."""
    if STACK_NAME.fullmatch(name):
        return None
    shown = repr(name if len(name) <= 40 else name[:40] + "...")
    return f"{shown} is not a stack name: {STACK_NAME_RULE}"


#: The stack `make up` deploys to the local Kubernetes API: not an environment, so no workflow deploys or
#: previews it and `--all` leaves it out (it is planned with `--stack local` once `make up` has run).
LOCAL_STACK = "local"


def stack_names(root: Path = ROOT) -> list[str]:
    """Every environment with a file under `stacks/`, in name order (the local stack is none).

    Raises StackConfigError for a file whose name holds no valid stack name (`Pulumi.$(id).yaml`):
    discovery refuses what `--stack` refuses, so no such name reaches a plan or a workflow.
    """
    names = []
    for path in (root / "stacks").glob("Pulumi.*.yaml"):
        name = path.name[len("Pulumi.") : -len(".yaml")]
        problem = stack_name_problem(name)
        if problem:
            raise StackConfigError(f"stacks/{path.name!r}", [("(file name)", f"{problem}; rename the file")])
        if name != LOCAL_STACK:
            names.append(name)
    return sorted(names)


def deploy_after_problem(name: str, after: str | None, names: list[str]) -> str | None:
    """Why `deploy_after` of stack `name` cannot be followed, or None."""
    if after is None:
        return None
    if after == name:
        return "names this stack itself; name the stack deployed before it, or remove the key"
    if after not in names:
        return f"{after!r} is not a stack; stacks: {', '.join(names)}"
    return None


def ordered_stacks(root: Path = ROOT) -> list[str]:
    """Every stack in deployment order; in name order when the order cannot be worked out (an unreadable
    stack file, a loop), so that each stack still gets its own plan and its own error."""
    try:
        return [name for name, _ in deploy_order(root)]
    except StackConfigError:
        return stack_names(root)


def deploy_order(root: Path = ROOT) -> list[tuple[str, str | None]]:
    """Each stack and the stack deployed before it, in an order that respects `deploy_after`.

    Raises StackConfigError naming the stack file when `deploy_after` names no stack or closes a loop.
    """
    names = stack_names(root)
    after: dict[str, str | None] = {}
    for name in names:
        path = stack_file_path(name, root)
        raw = read_stack_file(path).config.get(DEPLOY_AFTER)
        shown = str(path.relative_to(root))
        problem = deploy_after_problem(name, raw, names)
        if problem:
            raise StackConfigError(shown, [(DEPLOY_AFTER, problem)])
        after[name] = raw
    ordered: list[tuple[str, str | None]] = []
    placed: set[str] = set()
    while len(ordered) < len(names):
        ready = [n for n in names if n not in placed and (after[n] is None or after[n] in placed)]
        if not ready:
            stuck = sorted(n for n in names if n not in placed)
            first = str(stack_file_path(stuck[0], root).relative_to(root))
            raise StackConfigError(
                first, [(DEPLOY_AFTER, f"the stacks {', '.join(stuck)} wait for each other; one must come first")]
            )
        for name in ready:
            ordered.append((name, after[name]))
            placed.add(name)
    return ordered
