"""The commands whose work is a few lines of the command line's own: `cost`, `state redact` and `generate`; and
the loading of the SDK modules before stacks render."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from components.sdk import load_sdk

from ..exits import EXIT_INVALID, EXIT_NO_CHANGES
from ..names import ROOT
from ..plan.batch import plan_stacks
from ..plan.outcome import Invalid, Plan
from ..stackfile.messages import StackConfigError
from ..stackfile.stacks import ordered_stacks


def sdk_loaded() -> None:
    """Load the SDK modules the components construct from (components/sdk.py), once the stacks are known to render.

    In the command's own process, whose loaded heap `_loaded` froze, they load with the collector paused and
    join the frozen heap: the forked planners then share them, where each loaded them again with the collector
    running. Called in-process (the tests), they just load.
    """
    if not gc.get_freeze_count():
        load_sdk()
        return
    gc.disable()
    load_sdk()
    gc.freeze()
    gc.enable()


def show_cost(args: argparse.Namespace) -> int:
    """Print each stack's monthly cost; exit 1 if a stack cannot be rendered or a product has no price."""
    from ..reports.cost import format_cost_json, format_cost_markdown, format_cost_text

    names = ordered_stacks(ROOT) if args.all else [args.stack]
    if not names:
        print(f"{ROOT / 'stacks'}: no stack files (Pulumi.<stack>.yaml); nothing to price", file=sys.stderr)
        return EXIT_INVALID
    # Recorded state gives current pool sizes and the change; without --state, the local backend's if it has one.
    sdk_loaded()
    results = plan_stacks(names, args.state, lenient=args.state is None)
    for result in results:
        if isinstance(result, Invalid):
            print(result.error, file=sys.stderr)
    plans = [r for r in results if isinstance(r, Plan)]
    if args.format == "json":
        sys.stdout.write(format_cost_json(results))
    elif args.format == "markdown":
        sys.stdout.write(format_cost_markdown(results))
    else:
        sys.stdout.write(format_cost_text(plans))
    unpriced = any(plan.cost and plan.cost.after.unpriced for plan in plans)
    return EXIT_INVALID if unpriced or len(plans) < len(results) else EXIT_NO_CHANGES


def redact_state(source: Path, target: Path) -> int:
    """Write the redacted copy of an export (kapsule.state.redact); exit 1, writing nothing, when it cannot."""
    from ..state.records import StateError
    from ..state.redact import redact_file

    try:
        count = redact_file(source, target)
    except StateError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:
        print(f"--out {target}: cannot be written ({error.strerror})", file=sys.stderr)
        return EXIT_INVALID
    print(f"{target}: {count} secret(s) redacted, the secrets provider's state removed", file=sys.stderr)
    return EXIT_NO_CHANGES


#: A generated document (the reference, a workflow, the editor schema) is well under this.
MAX_GENERATED_BYTES = 4 * 1024 * 1024


def write_generated(check: bool, cli: dict[Path, str]) -> int:
    """Write (or with `check`, compare) what is generated from the code and the stack files; `cli`, the
    command-line reference the parser gave."""
    from ..files import FileProblem, read_text
    from ..generated import reference, workflows
    from ..stackfile import editor_schema

    try:
        generated = {
            **reference.documents(),
            **workflows.documents(),
            **editor_schema.documents(),
            **cli,
        }
    except StackConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    stale = []
    for path, text in generated.items():
        try:
            current: str | None = read_text(path, MAX_GENERATED_BYTES, "a generated document is well under that")
        except FileProblem:  # missing, or not a file this command wrote: written anew (or stale, with --check)
            current = None
        if current == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{path}: {'out of date; run `make generate`' if check else 'written'}", file=sys.stderr)
    return EXIT_INVALID if check and stale else EXIT_NO_CHANGES
