"""`python -m kapsule rotate --stack NAME [--apply]`: the nodes past their pool's `max_node_age_days`, oldest first,
with the drain checks; `--apply` replaces them one at a time. Exit 0 nothing to do (or all done), 2 nodes to rotate
(or left for the next run, or not known: the nodes could not be read), 3 a blocker, 1 invalid input (and
`--apply` without the nodes)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from ..exits import EXIT_CHANGES, EXIT_DESTRUCTIVE, EXIT_INVALID, EXIT_NO_CHANGES
from ..names import CLUSTER, ROOT
from ..reports.rotate import format_rotate_json, format_rotate_markdown, format_rotate_text
from ..rotate.apply import POLL_SECONDS, apply, inspect
from ..rotate.kube import WriteError, Writer
from ..rotate.plan import RotationPlan, new_plan
from ..rotate.scaleway import Kapsule, ScalewayError, client
from ..stackfile.messages import StackConfigError
from ..stackfile.reading import read_stack_file, stack_file_path
from ..stackfile.schema import StackConfig, parse
from ..state.backend import NoState, find_state
from ..state.records import StateError
from ..upgrade.live import Limits, Live, LiveError, connect
from .upgrade import stack_kubeconfig


def _cluster_id(spec: StackConfig, kapsule: Kapsule, stack: str, root: Path, state: Path | None) -> str:
    """The cluster's id: from the recorded state when there is one, else the project's cluster of the pinned name."""
    try:
        recorded = find_state(stack, root, state)
    except NoState:
        recorded = None
    clusters = [r for r in (recorded.resources.values() if recorded else ()) if r.type == CLUSTER]
    if len(clusters) == 1 and isinstance(clusters[0].id, str) and clusters[0].id:
        return clusters[0].id.rsplit("/", 1)[-1]
    assert spec.cluster is not None
    return kapsule.cluster_id(spec.cluster.name)


# longer than 60 lines: the command's sequence (stack, both sides, plan, --apply with its writer, the report)
def run_rotate(
    args: argparse.Namespace,
    root: Path = ROOT,
    now: datetime | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> int:
    """The rotate command; returns its exit code."""
    path = stack_file_path(args.stack, root)
    stack_file = str(path.relative_to(root))
    if not path.is_file():
        print(f"{stack_file}: does not exist; give the name of a stack under stacks/", file=sys.stderr)
        return EXIT_INVALID
    try:
        spec = parse(stack_file, read_stack_file(path).config)
    except StackConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    if spec.existing_cluster is not None or spec.cluster is None:
        print(
            f"{stack_file}: declares no kapsule:cluster and kapsule:pools, so it has no nodes to rotate; "
            "run rotate on the stack that declares the pools",
            file=sys.stderr,
        )
        return EXIT_INVALID
    plan = new_plan(args.stack, stack_file, spec, now or datetime.now(timezone.utc))
    if not any(days for days in plan.pools.values()):
        plan.notes.append("no pool declares max_node_age_days: set it on a pool (Scaleway recommends 30)")
    kapsule, cluster_id, scaleway_why = None, None, ""
    try:
        kapsule = Kapsule(client(), spec.region)
        cluster_id = _cluster_id(spec, kapsule, args.stack, root, args.state)
    except ScalewayError as error:
        scaleway_why = str(error)
    except StateError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    kubeconfig, kube_why = stack_kubeconfig(args.stack, args.kubeconfig)
    base = Path(args.kubeconfig).expanduser().parent if args.kubeconfig is not None else None
    live: Live | None = None
    if kubeconfig is not None:
        try:
            live = connect(kubeconfig, read_limits(args.deadline, poll_seconds), base)
        except LiveError as error:
            kube_why = str(error)
    if args.kubeconfig is not None and live is None:  # a file given by hand that is no kubeconfig is bad input
        print(f"--kubeconfig {args.kubeconfig}: {kube_why.removeprefix('--kubeconfig: ')}", file=sys.stderr)
        return EXIT_INVALID
    sides = inspect(plan, spec, kapsule, cluster_id, scaleway_why, live, kube_why)
    if args.apply:
        if sides is None or kapsule is None or live is None:
            why = "; ".join(f"{c.title}: {c.why}" for c in plan.not_run[:2])
            print(f"--apply: the nodes could not be read, so nothing was touched ({why})", file=sys.stderr)
            return EXIT_INVALID
        if not plan.blockers:
            assert kubeconfig is not None  # a Live reader was built from it
            started = time.monotonic()
            try:
                writer = Writer(kubeconfig, started + args.deadline, base)
            except WriteError as error:
                print(f"--apply: {error}; nothing was touched", file=sys.stderr)
                return EXIT_INVALID
            # Ctrl-C, and a cancelled CI job's SIGINT then SIGTERM, all become KeyboardInterrupt (in place of the
            # command's own Ctrl-C handler, which exits at once), so that a cordoned node is put back and a surged
            # pool's size settings restored before the command stops.
            handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
            for number in handlers:
                signal.signal(number, _interrupt)
            try:
                apply(
                    plan,
                    sides,
                    spec,
                    kapsule,
                    live,
                    writer,
                    deadline_seconds=args.deadline - (time.monotonic() - started),
                    max_nodes=args.max_nodes,
                    drain_timeout=args.drain_timeout,
                    poll_seconds=poll_seconds,
                    log=lambda line: print(line, file=sys.stderr),
                )
            except KeyboardInterrupt:
                sys.stdout.write(_formatted(plan, args.format))
                print("rotate --apply: interrupted; what was done is above", file=sys.stderr)
                return EXIT_INTERRUPTED
            finally:
                for number, handler in handlers.items():
                    signal.signal(number, handler)
                writer.close()
    sys.stdout.write(_formatted(plan, args.format))
    return exit_code(plan)


def _formatted(plan: RotationPlan, form: str) -> str:
    """The report in the format asked for: text unless json or markdown."""
    return {"json": format_rotate_json, "markdown": format_rotate_markdown}.get(form, format_rotate_text)(plan)


def read_limits(deadline: float, poll_seconds: float) -> Limits:
    """The reader's budget for a whole run: the run's deadline (and a minute more, so that a poll that starts just
    before it finishes, and says what it saw), each group of reads (one poll, one check) under
    the reader's per-check caps, and in all as many requests and bytes as polling every `poll_seconds` until the
    deadline needs (about 8 requests and 64 MiB a poll), never less than the upgrade preflight's."""
    polls = int(deadline / max(poll_seconds, 0.1)) + 1
    default = Limits()
    return Limits(
        deadline=deadline + 60,
        requests=max(default.requests, 8 * polls),
        bytes=max(default.bytes, 64 * 2**20 * polls),
    )


def exit_code(plan: RotationPlan) -> int:
    """3 a blocker; 2 nodes to rotate, left for the next run, or not known; 0 nothing (left) to do."""
    if plan.blockers:
        return EXIT_DESTRUCTIVE
    left = plan.remaining if plan.applied else plan.due
    return EXIT_CHANGES if left or not plan.read else EXIT_NO_CHANGES


#: A run stopped by Ctrl-C or a signal, after putting back what it had changed (the shell's own code for SIGINT).
EXIT_INTERRUPTED = 130


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
