"""Planning several stacks: each in a forked worker when there are several cores, one Invalid result for a
stack that fails or whose worker dies, and progress as the plans arrive."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, cast

from components.catalog import TodayError
from components.existing_cluster import STACK_REFERENCE, foreign_organization
from policy.rules import PolicyConfigError

from ..names import PROJECT, ROOT
from ..stackfile.messages import StackConfigError
from ..stackfile.reading import read_stack_file, stack_file_path
from ..state.backend import NoState, find_state
from ..state.records import RecordedState, StateError
from .outcome import Invalid, Plan
from .stack import plan_stack


def plan_one(name: str, state: Path | None, required: bool = True, lenient: bool = False) -> Plan | Invalid:
    """Plan one stack; a stack file or state file that cannot be used becomes an Invalid result.

    `lenient`: state that cannot be found (a remote backend) means none, instead of an error.
    """
    stack_file = f"stacks/Pulumi.{name}.yaml"
    try:
        try:
            recorded = find_state(name, ROOT, state, required=required)
        except NoState:
            if not lenient:
                raise
            recorded = None
        return plan_stack(name, ROOT, recorded, reference_states(name, state, required))
    except StateError as error:
        return Invalid(stack=name, stack_file=stack_file, error=str(error), kind="state file")
    except PolicyConfigError as error:
        return Invalid(stack=name, stack_file=stack_file, error=str(error), kind="policy config")
    except (StackConfigError, TodayError) as error:
        return Invalid(stack=name, stack_file=stack_file, error=str(error))
    except Exception:  # noqa: BLE001 one stack's bug must not lose the other stacks' plans
        return Invalid(
            stack=name,
            stack_file=stack_file,
            error=f"{stack_file}: the planner failed:\n{traceback.format_exc()}",
            kind="planner",
        )


def reference_states(name: str, state: Path | None, required: bool) -> dict[str, RecordedState | None]:
    """The recorded state of each stack this stack reads through a StackReference (its cluster's, its shared
    registry's), looked up where this stack's own state is (a `--state` directory, the directory of a `--state` file, or the local backend).

    A stack of another project, or one with no recorded state, is None: the plan then says its outputs are
    known after that stack's update.
    """
    from ..stackfile.reading import stack_references

    return {
        reference: _reference_state(reference, state, required)
        for reference in stack_references(read_stack_file(stack_file_path(name, ROOT)).config)
    }


def _reference_state(reference: str, state: Path | None, required: bool) -> RecordedState | None:
    if not STACK_REFERENCE.fullmatch(reference):
        return None  # validation names the key and what is allowed
    project, stack = reference.split("/")[-2:]
    if project != PROJECT or not required or stack in (".", "..") or foreign_organization(reference):
        return None  # another organisation's `engk` is not this repository's: its state is never read in its place
    where = state if state is None or state.is_dir() else state.parent
    try:
        return find_state(stack, ROOT, where, required=False) if where is not None else find_state(stack, ROOT, None)
    except NoState:
        return None


def _plan_child(names: list[str], state: Path | None, required: bool, lenient: bool, send: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C reaches the whole group: the parent reports it once
    for name in names:
        send.send((name, plan_one(name, state, required, lenient)))
    send.close()


def plan_stacks(
    names: list[str],
    state: Path | None,
    required: bool = True,
    lenient: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[Plan | Invalid]:
    """Plan several stacks in forked worker processes when there are several cores; results keep `names` order.

    `progress(done, total, stack)` is told of each stack as its plan arrives.

    Every stack renders in its own event loop and context, so the results are the same either way. A
    worker that dies (killed, out of memory) costs the plan of the stack it was on only, never a hang:
    the stacks it had not reached go to a new worker.
    """
    workers = min(len(names), os.cpu_count() or 1)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        planned = []
        for name in names:
            planned.append(plan_one(name, state, required, lenient))
            if progress is not None:
                progress(len(planned), len(names), name)
        return planned
    return _plan_forked(names, workers, state, required, lenient, progress)


def _plan_forked(
    names: list[str],
    workers: int,
    state: Path | None,
    required: bool,
    lenient: bool,
    progress: Callable[[int, int, str], None] | None,
) -> list[Plan | Invalid]:
    """`plan_stacks` on `workers` forked processes, each sending its stacks' plans back over a pipe."""
    context = multiprocessing.get_context("fork")
    results: dict[str, Plan | Invalid] = {}
    running: dict[Connection, tuple[Any, list[str]]] = {}

    def start(chunk: list[str]) -> None:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_plan_child, args=(chunk, state, required, lenient, send), daemon=True)
        process.start()
        send.close()
        running[receive] = (process, list(chunk))

    for index in range(workers):
        start(names[index::workers])
    while running:
        for ready in wait(list(running)):
            receive = cast(Connection, ready)  # wait() returns the connections it was given
            process, pending = running[receive]
            try:
                done, result = receive.recv()
                results[done] = result
                pending.remove(done)
                if progress is not None:
                    progress(len(results), len(names), done)
                if pending:
                    continue
            except EOFError:
                process.join()
                dead, rest = pending[0], pending[1:]
                results[dead] = Invalid(
                    stack=dead,
                    stack_file=f"stacks/Pulumi.{dead}.yaml",
                    error=f"stacks/Pulumi.{dead}.yaml: the planner process died (exit code {process.exitcode}) before it finished",
                    kind="planner",
                )
                if rest:
                    start(rest)  # the stacks it had not reached get a process of their own
            del running[receive]
            receive.close()
            process.join()
    return [results[name] for name in names]


def progress_line(done: int, total: int, stack: str) -> None:
    """One line on a terminal, rewritten as each stack's plan arrives; erased once all are in."""
    end = "\r\033[K" if done == total else ""
    print(f"\rplanned {done}/{total} stacks ({stack})\033[K" + end, end="", file=sys.stderr, flush=True)
