"""`python -m kapsule upgrade --stack NAME --to MINOR [--write]`: the way to a minor, one step at a time, with the
live cluster checked before each step. Exit 0 already there, 2 steps to take and no blocker found (a check that
could block and did not run is named on the summary line, and `--write` then needs `--accept-unchecked`),
3 a blocker, 1 invalid input (a kubeconfig given with --kubeconfig that cannot be used read-only included)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from components.catalog import load_catalog
from components.existing_cluster import read_kubeconfig
from components.versions import Version

from ..exits import EXIT_CHANGES, EXIT_DESTRUCTIVE, EXIT_INVALID, EXIT_NO_CHANGES
from ..names import CLUSTER, ROOT
from ..plan.stack import plan_stack
from ..reports.plan import format_text
from ..reports.upgrade import format_upgrade_json, format_upgrade_markdown, format_upgrade_text
from ..stackfile.messages import StackConfigError
from ..stackfile.reading import read_stack_file, stack_file_path, stack_references
from ..stackfile.schema import StackConfig, parse
from ..state.backend import NoState, find_state
from ..state.records import RecordedState, StateError
from ..upgrade.kubeconfig import KubeconfigError, parse_kubeconfig
from ..upgrade.live import Limits, Live, LiveError
from ..upgrade.path import UpgradeError, UpgradePlan, plan_path
from ..upgrade.preflight import CHECKS, as_checks, not_run, run_checks
from ..upgrade.removals import RemovalsError, load_removals
from ..upgrade.write import restore, write_version


def _platform_refusal(stack_file: str, spec: StackConfig) -> str:
    existing = spec.existing_cluster
    assert existing is not None
    if existing.stack_reference:
        owner = existing.stack_reference.split("/")[-1]
        return (
            f"{stack_file}: kapsule:existing_cluster: this platform stack's cluster belongs to the stack {existing.stack_reference}; "
            f"upgrade that stack: `python -m kapsule upgrade --stack {owner} --to MINOR`"
        )
    return f"{stack_file}: kapsule:existing_cluster: this platform stack's cluster is made elsewhere; upgrade it where it is declared"


def _recorded_version(state: RecordedState | None) -> str | None:
    clusters = [r for r in (state.resources.values() if state else ()) if r.type == CLUSTER]
    version = clusters[0].outputs.get("version") if len(clusters) == 1 else None
    return version if isinstance(version, str) else None


def stack_kubeconfig(stack: str, given: Path | None) -> tuple[str | None, str]:
    """The cluster's kubeconfig text, or None and why the preflight cannot run."""
    if given is not None:
        try:
            return read_kubeconfig(str(given)), ""
        except ValueError as error:
            return None, f"--kubeconfig: {str(error).removeprefix('kubeconfig_file ')}"
    if not (
        os.environ.get("PULUMI_CONFIG_PASSPHRASE")
        or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
        or os.environ.get("PULUMI_ACCESS_TOKEN")
    ):
        return (
            None,
            "no credentials (no --kubeconfig, and no PULUMI_CONFIG_PASSPHRASE or PULUMI_ACCESS_TOKEN to read the stack's kubeconfig output)",
        )
    if not (ROOT / ".tools" / "bin" / "pulumi").is_file():
        return None, "the stack's kubeconfig output needs the engine (`make engine`), or pass --kubeconfig"
    try:
        from ..engine.driver import outputs

        output = outputs(stack).get("kubeconfig")
    except Exception as error:  # noqa: BLE001 the engine's own error, first line only: it names no secret
        return (
            None,
            f"the stack's kubeconfig output could not be read ({type(error).__name__}: {str(error).strip().splitlines()[0][:200] if str(error).strip() else ''})",
        )
    if not isinstance(output, str):
        return None, f"the stack {stack} has no kubeconfig output: deploy it first, or pass --kubeconfig"
    return output, ""


def _line(version: str) -> str | None:
    try:
        return Version.parse(version).line
    except ValueError:
        return None


def _preflight(plan: UpgradePlan, live: Live | None, why: str) -> None:
    if not plan.steps:
        return
    if live is None:
        plan.checks = not_run(why)
        for step in plan.steps:
            step.preflight = not_run(why)
        return
    try:
        with live.check():
            server = live.version()
    except LiveError as error:
        plan.checks = not_run(f"the cluster cannot be reached: {error}")
        for step in plan.steps:
            step.preflight = plan.checks
        return
    results = run_checks(live, plan, load_removals()[1])
    if _line(server.lstrip("v").split("-")[0].split("+")[0]) != _line(plan.current):
        plan.notes.append(
            f"the API server runs {server[:40]}, and the stack file says {plan.current}: the path starts from the stack file"
        )
    plan.checks = as_checks(results)
    for step in plan.steps:
        step.preflight = as_checks(results, step.minor)


def _live(kubeconfig: str | None, why: str, args: argparse.Namespace) -> tuple[Live | None, str]:
    """The reader of the cluster, or None and why not; LiveError for a --kubeconfig that cannot be used (bad input)."""
    if kubeconfig is None:
        if args.kubeconfig is not None:
            raise LiveError(why.removeprefix("--kubeconfig: "))
        return None, why
    base = Path(args.kubeconfig).expanduser().parent if args.kubeconfig is not None else None
    try:
        access = parse_kubeconfig(kubeconfig, base)
        return Live(access, Limits(deadline=args.deadline)), ""
    except KubeconfigError as error:
        if args.kubeconfig is not None:
            raise LiveError(f"the kubeconfig cannot be used: {error}") from None
        return None, f"the stack's kubeconfig output cannot be used: {error}"


# longer than 60 lines: the command's one sequence (arguments, the path, the preflight, --write, the format), each step an exit
def run_upgrade(args: argparse.Namespace, day: date, root: Path = ROOT) -> int:
    """The upgrade command; returns its exit code."""
    path = stack_file_path(args.stack, root)
    stack_file = str(path.relative_to(root))
    if not path.is_file():
        print(f"{stack_file}: does not exist; give the name of a stack under stacks/", file=sys.stderr)
        return EXIT_INVALID
    try:
        spec = parse(stack_file, read_stack_file(path).config)
        if spec.existing_cluster is not None:
            raise UpgradeError(_platform_refusal(stack_file, spec))
        if spec.cluster is None:
            raise UpgradeError(f"{stack_file}: declares no kapsule:cluster, so there is nothing to upgrade")
        try:
            recorded = find_state(args.stack, root, args.state)
        except NoState:
            recorded = None
        plan = plan_path(
            args.stack, stack_file, spec, spec.cluster.version, "the stack file", args.to, load_catalog(), day
        )
        live_version = _recorded_version(recorded)
        if live_version and _line(live_version) != _line(spec.cluster.version):
            plan.notes.append(
                f"the recorded state has {live_version}: apply the stack file's {spec.cluster.version} before the first step"
            )
        load_removals()
    except (StackConfigError, UpgradeError, StateError, RemovalsError) as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    unknown = [name for name in args.accept_unchecked if name not in CHECKS]
    if unknown or (args.accept_unchecked and not args.write):
        print(
            f"--accept-unchecked {' '.join(unknown)}: not a check; the checks are {', '.join(CHECKS)}"
            if unknown
            else "--accept-unchecked goes with --write",
            file=sys.stderr,
        )
        return EXIT_INVALID
    kubeconfig, why = stack_kubeconfig(args.stack, args.kubeconfig)
    try:
        live, why = _live(kubeconfig, why, args)
    except LiveError as error:  # a file given by hand that is not a usable kubeconfig is bad input
        print(f"--kubeconfig {args.kubeconfig}: {error}", file=sys.stderr)
        return EXIT_INVALID
    _preflight(plan, live, why)
    written = None
    if args.write:
        try:
            written = _write(plan, path, recorded, root, args.accept_unchecked)
        except WriteStopped as stopped:
            print(f"--write: {stopped}", file=sys.stderr)
            return stopped.code
    if args.format == "json":
        sys.stdout.write(format_upgrade_json(plan, written[0] if written else None))
    elif args.format == "markdown":
        sys.stdout.write(format_upgrade_markdown(plan))
    else:
        sys.stdout.write(format_upgrade_text(plan, written[1] if written else None))
    if plan.blockers:
        return EXIT_DESTRUCTIVE
    return EXIT_CHANGES if plan.steps else EXIT_NO_CHANGES


class WriteStopped(Exception):
    """`--write` wrote nothing, or undid what it wrote: the message for stderr, and the exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _write(
    plan: UpgradePlan, path: Path, recorded: RecordedState | None, root: Path, accepted: list[str]
) -> tuple[dict[str, Any], str]:
    """Set the next step's version; then the offline plan of that step, which must update the cluster in place.

    The JSON document and the text to show; WriteStopped when the file is left (or put back) as it was."""
    if not plan.steps:
        return {"file": plan.stack_file, "version": None}, "--write: nothing to write, the stack is on its target."
    if plan.blockers:
        raise WriteStopped(EXIT_DESTRUCTIVE, f"{plan.stack_file} left as it is: fix the blockers first")
    unchecked = [check.name for check in plan.unchecked if check.name not in accepted]
    if unchecked:
        raise WriteStopped(
            EXIT_INVALID,
            f"{plan.stack_file} left as it is: the preflight checks {', '.join(unchecked)} could block and did not "
            f"run; run them (--kubeconfig, a longer --deadline), or write the step anyway with "
            f"--accept-unchecked {' '.join(unchecked)}",
        )
    version = plan.steps[0].version
    try:
        before, _ = write_version(path, version)
    except (UpgradeError, OSError) as error:
        raise WriteStopped(EXIT_INVALID, str(error)) from None
    try:
        references = stack_references(read_stack_file(path).config)
        step = plan_stack(plan.stack, root, recorded, {reference: None for reference in references})
    except (StackConfigError, StateError) as error:
        restore(path, before)
        raise WriteStopped(EXIT_INVALID, f"undone, the stack file with {version} does not validate: {error}") from None
    cluster = [c for c in step.changes if c.resource.type == CLUSTER]
    action = cluster[0].action if cluster else "none"
    if step.errors or action in ("replace", "delete"):
        restore(path, before)
        why = "; ".join(step.errors) or f"the plan would {action} the cluster"
        raise WriteStopped(EXIT_INVALID, f"undone, {why}")
    shown = f"--write: {plan.stack_file}: kapsule:cluster.version is now {version!r} (step 1 of {len(plan.steps)}); the offline plan of this step:\n"
    if recorded is None:
        shown += "(no recorded state: every resource shows as a create; pass --state to plan against what is live)\n"
    return {"file": plan.stack_file, "version": version, "cluster_action": action}, shown + format_text(step)
