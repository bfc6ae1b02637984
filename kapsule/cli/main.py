"""`python -m kapsule plan`: what `pulumi up` would do to a stack, offline, with no credentials.

`python -m kapsule catalog [show|refresh|refresh-apis]`: what Scaleway offers, what each entry rests on, refreshed
from Scaleway's APIs (`versions` and `prices refresh` still work: the versions alone, the prices alone).

`python -m kapsule cost`, `prices refresh`: what each stack costs a month, and the price catalog.

`python -m kapsule upgrade --stack NAME --to MINOR [--write]`: the way to a minor, one step per pull request,
with the live cluster checked before each step (0 on the target, 2 steps to take and nothing found to block
(a blocking check that did not run is said on the summary line), 3 a blocker, 1 invalid).

`python -m kapsule access open|close --stack NAME`: a CI run's own address in the API server's allow-list,
added before the jobs that need the API server and removed after them (docs/api-access.md).
`python -m kapsule rotate --stack NAME [--apply]`: replace the nodes past their pool's max_node_age_days, one at
a time, within the disruption budgets (0 nothing to do, 2 nodes to rotate, 3 a blocker, 1 invalid, 130 interrupted).

`python -m kapsule generate [--check]`: the reference in docs/ and the workflows' stack lists, generated.

Exit codes, one meaning each: 0 no changes, 2 changes, 3 destructive changes (a replace or delete
that destroys something live), 1 anything else: a bad command line, an invalid stack or state file,
a change Kapsule refuses (upgrade path, CNI), a planner that died.
"""

from __future__ import annotations

import argparse
import errno
import gc
import importlib
import os
import sys
from datetime import date
from pathlib import Path

from components.catalog import (
    TODAY_VARIABLE,
    TodayError,
    parse_day,
)
from components.catalog import (
    today as catalog_today,
)

from ..exits import EXIT_INVALID, Parser
from ..names import ROOT
from ..plan.batch import plan_stacks, progress_line
from ..plan.outcome import Invalid, Plan, exit_code
from ..reports.plan import format_json, format_markdown, format_text
from ..stackfile.messages import StackConfigError
from ..stackfile.stacks import ordered_stacks, stack_name_problem, stack_names
from .commands import redact_state, sdk_loaded, show_cost, write_generated
from .versions import refresh_removals, show_versions


def stack_name(text: str) -> str:
    """An argparse type: a stack name Pulumi would accept, by the rule stack discovery uses."""
    problem = stack_name_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def day(text: str) -> date:
    """An argparse type: a day written YYYY-MM-DD."""
    try:
        return parse_day(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def deadline(text: str) -> float:
    """An argparse type: a duration of 1s to 1h, written as Go writes one (`120s`, `2m`, `1m30s`)."""
    from components.drain import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error}: write it as 120s, 2m or 1m30s") from None
    if not 1 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1s to 1h")
    return seconds


class Once(argparse.Action):
    """An option given at most once: `--stack dev --stack prod` is an error, not the last one silently."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} is given twice; give it once")
        setattr(namespace, self.dest, values)


# longer than 60 lines: the command line's one table: each command beside its flags
def parser(commands_out: dict[str, argparse.ArgumentParser] | None = None) -> argparse.ArgumentParser:
    """The command line; `commands_out`, when given, receives each command's own parser (docs/cli.md)."""
    main_parser = Parser(
        prog="python -m kapsule", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="diff a stack's declared resources against recorded state, offline")
    which = plan.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", type=stack_name, action=Once, help="the stack name: stacks/Pulumi.<stack>.yaml")
    which.add_argument("--all", action="store_true", help="plan every stack under stacks/")
    plan.add_argument(
        "--state",
        type=Path,
        help="a `pulumi stack export` file (with --stack), or a directory of <stack>.json exports; "
        "default: the local file backend's checkpoint, if any",
    )
    plan.add_argument(
        "--no-state",
        action="store_true",
        help="plan as if nothing were deployed (every resource a create); never the default",
    )
    plan.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)"
    )
    plan.add_argument("--today", type=day, help="check versions against the catalog as of YYYY-MM-DD (default today)")
    cost = commands.add_parser(
        "cost", help="each stack's monthly cost and carbon, per resource, from the price catalog"
    )
    cost_which = cost.add_mutually_exclusive_group(required=True)
    cost_which.add_argument("--stack", type=stack_name, action=Once, help="the stack name: stacks/Pulumi.<stack>.yaml")
    cost_which.add_argument("--all", action="store_true", help="every stack under stacks/")
    cost.add_argument(
        "--state",
        type=Path,
        help="recorded state, as for plan: current pool sizes and the change; default: the local backend's, if any",
    )
    cost.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)"
    )
    prices = commands.add_parser("prices", help="the price catalog: refresh it from Scaleway's public product catalog")
    prices.add_argument("action", choices=("refresh",))
    prices.add_argument("--zone", default="fr-par-1", help="the zone (and its region) to price (default fr-par-1)")
    generate = commands.add_parser(
        "generate", aliases=["docs"], help="write what is generated: the reference in docs/, the workflows' stack lists"
    )
    generate.add_argument(
        "--check", action="store_true", help="only compare: exit 1 naming each file that is out of date"
    )
    catalog = commands.add_parser(
        "catalog", help="what Scaleway offers and what each entry rests on; refresh it from Scaleway's APIs"
    )
    catalog.add_argument("action", choices=("show", "refresh", "refresh-apis"), nargs="?", default="show")
    catalog.add_argument("--region", default="fr-par", help="region to ask the API (default fr-par)")
    catalog.add_argument("--today", type=day, help="show support as of YYYY-MM-DD (default today)")
    versions = commands.add_parser(
        "versions", help="the Kubernetes version catalog: show it, or refresh it from the Scaleway API"
    )
    versions.add_argument("action", choices=("show", "refresh", "refresh-apis"), nargs="?", default="show")
    versions.add_argument("--region", default="fr-par", help="region to ask the API (default fr-par)")
    versions.add_argument("--today", type=day, help="show support as of YYYY-MM-DD (default today)")
    state = commands.add_parser(
        "state", help="a stack export made fit to publish: each secret a marker, no secrets provider state"
    )
    state.add_argument("action", choices=("redact",))
    state.add_argument("--in", dest="source", type=Path, required=True, help="a `pulumi stack export` file")
    state.add_argument("--out", dest="target", type=Path, required=True, help="where to write the redacted export")
    # Defined here, not in .upgrade: a plan never imports the upgrade's preflight to build its command line.
    upgrade = commands.add_parser(
        "upgrade", help="plan a cluster's upgrade one minor at a time, with the live cluster checked first"
    )
    upgrade.add_argument(
        "--stack", type=stack_name, action=Once, required=True, help="the stack name: stacks/Pulumi.<stack>.yaml"
    )
    upgrade.add_argument("--to", required=True, metavar="MINOR", help="the minor to reach, such as 1.36")
    upgrade.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)"
    )
    upgrade.add_argument(
        "--write",
        action="store_true",
        help="set the stack file's version to the next step only, then print that step's offline plan",
    )
    upgrade.add_argument(
        "--kubeconfig",
        type=Path,
        help="the cluster's kubeconfig file for the preflight (default: the stack's kubeconfig output, through the engine)",
    )
    upgrade.add_argument(
        "--deadline",
        type=deadline,
        default=120.0,
        metavar="DURATION",
        help="the preflight's time for every read of the cluster together (default 120s); a check it cuts short is 'not run'",
    )
    upgrade.add_argument(
        "--accept-unchecked",
        nargs="+",
        default=[],
        metavar="CHECK",
        help="with --write: the preflight checks that could block and did not run, named to write the step anyway",
    )
    upgrade.add_argument(
        "--state", type=Path, help="recorded state, as for plan (default: the local backend's, if any)"
    )
    upgrade.add_argument(
        "--today", type=day, help="check versions against the catalog as of YYYY-MM-DD (default today)"
    )
    access = commands.add_parser(
        "access", help="add this CI run's own address to the API server's allow-list (open), or take it out (close)"
    )
    access.add_argument("action", choices=("open", "close"))
    access.add_argument(
        "--stack", type=stack_name, action=Once, required=True, help="the stack name: stacks/Pulumi.<stack>.yaml"
    )
    access.add_argument(
        "--address-from-env",
        metavar="VARIABLE",
        help="read the runner's address from this environment variable (default: ask KAPSULE_ADDRESS_URL's service)",
    )
    access.add_argument(
        "--ttl-hours", type=float, default=6.0, help="how long the rule is the run's own (default 6, a job's limit)"
    )
    from .rotate_args import add_parser as add_rotate

    add_rotate(commands, stack_name, Once)
    if commands_out is not None:
        commands_out.update(commands.choices)
    return main_parser


def _loaded() -> None:
    """Load the program's own modules too, then freeze the loaded heap and let the collector resume, less often."""
    if gc.isenabled():
        return
    importlib.import_module("kapsule.stackfile.environment")  # what `__main__.py` imports on every plan
    gc.freeze()
    # Rendering allocates many short-lived objects; collecting the youngest every 100,000 allocations
    # instead of 700 costs a few MiB and saves a tenth of a 200-resource plan.
    gc.set_threshold(100_000, 50, 50)
    gc.enable()


# longer than 60 lines: one dispatch over the commands, each branch a few lines, with the exit code it maps
def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = parser().parse_args(argv)
    _loaded()
    if getattr(args, "today", None) is not None:
        os.environ[TODAY_VARIABLE] = args.today.isoformat()  # the program, forked workers included, reads it
    try:
        day = catalog_today()
    except TodayError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    if args.command == "versions":
        if args.action == "refresh":
            from ..catalog.refresh import refresh_versions_command

            return refresh_versions_command(args.region)
        if args.action == "refresh-apis":
            return refresh_removals()
        return show_versions(day)
    if args.command == "catalog":
        if args.action == "refresh":
            from ..catalog.refresh import refresh_command

            return refresh_command(args.region)
        if args.action == "refresh-apis":
            return refresh_removals()
        from ..catalog.show import show_catalog

        return show_catalog(day)
    if args.command in ("generate", "docs"):
        from .reference import documents as cli_reference

        commands: dict[str, argparse.ArgumentParser] = {}
        top = parser(commands)
        return write_generated(check=args.check, cli=cli_reference(top, commands))
    if args.command == "prices":
        from ..cost.prices import refresh_prices

        return refresh_prices(args.zone)
    if args.command == "cost":
        return show_cost(args)
    if args.command == "access":
        from ..access.acl import run_access

        if not 0 < args.ttl_hours <= 24:
            print("--ttl-hours: between 0 and 24 hours", file=sys.stderr)
            return EXIT_INVALID
        return run_access(args.action, args.stack, args.address_from_env, args.ttl_hours)
    if args.command == "state":
        return redact_state(args.source, args.target)
    if args.command == "upgrade":
        from .upgrade import run_upgrade

        return run_upgrade(args, day)
    if args.command == "rotate":
        from .rotate import run_rotate

        return run_rotate(args)
    if args.no_state and args.state is not None:
        print("--no-state and --state: give one or the other", file=sys.stderr)
        return EXIT_INVALID
    names = ordered_stacks(ROOT) if args.all else [args.stack]
    if not names:
        print(f"{ROOT / 'stacks'}: no stack files (Pulumi.<stack>.yaml); nothing to plan", file=sys.stderr)
        return EXIT_INVALID
    if args.state is not None and not args.state.exists():
        print(
            f"--state {args.state}: does not exist; give a `pulumi stack export` file{' directory' if args.all else ''}",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if args.all and args.state is not None and not args.state.is_dir():
        print(
            f"--state {args.state}: with --all, give a directory holding one <stack>.json export per stack",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if not args.all and not (ROOT / "stacks" / f"Pulumi.{args.stack}.yaml").is_file():
        print(
            f"stacks/Pulumi.{args.stack}.yaml: does not exist; stacks: {', '.join(stack_names(ROOT)) or 'none yet'}",
            file=sys.stderr,
        )
        return EXIT_INVALID
    sdk_loaded()
    results = plan_stacks(
        names, args.state, required=not args.no_state, progress=progress_line if sys.stderr.isatty() else None
    )
    for result in results:
        if isinstance(result, Invalid):
            print(result.error, file=sys.stderr)
    plans = [r for r in results if isinstance(r, Plan)]
    if args.format != "text":  # the text plan shows its errors itself
        for plan in plans:
            for problem in plan.errors:
                print(f"error: {problem}", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(format_json(results))
    elif args.format == "markdown":
        sys.stdout.write(format_markdown(results))
    else:
        sys.stdout.write("\n".join(format_text(p) for p in plans))
    return exit_code(results)


def run(argv: list[str] | None = None) -> int:
    """`main`, with an output that cannot be written (a closed pipe, a full disk) turned into one line and
    exit 1, never a traceback. Ctrl-C is handled the same way, from the first import on (`_interrupted`)."""
    try:
        try:
            code = main(argv)
            sys.stdout.flush()
            return code
        except StackConfigError as error:
            print(error, file=sys.stderr)
            return EXIT_INVALID
    except OSError as error:
        if error.errno not in (errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EBADF):
            raise
        # The output is gone: say so on stderr, and keep the interpreter from failing again as it flushes.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"python -m kapsule: cannot write the output ({error.strerror})", file=sys.stderr)
        return EXIT_INVALID
