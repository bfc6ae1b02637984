"""`python -m kapsule plan`: what `pulumi up` would do to a stack, offline, with no credentials.

`python -m kapsule versions [show|refresh]`: the Kubernetes version catalog the stacks are checked against.

Exit codes: 0 no changes, 2 changes, 3 destructive changes (a replace or delete that destroys
something live), 1 an invalid stack file, state file, or a change Kapsule refuses (upgrade path, CNI).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from datetime import date
from pathlib import Path
from typing import Optional

from components.version_catalog import CATALOG_FILE, TODAY_VARIABLE, catalog_document, load_catalog, write_catalog
from components.version_catalog import today as catalog_today

from policy.rules import PolicyConfigError

from .config import StackConfigError
from .plan import EXIT_INVALID, Invalid, Plan, exit_code, format_json, format_markdown, format_text, plan_stack
from .render import ROOT
from .state import StateError, find_state


def stacks(root: Path) -> list[str]:
    """Every stack with a file under `stacks/`, in name order."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (root / "stacks").glob("Pulumi.*.yaml"))


def parser() -> argparse.ArgumentParser:
    """The command line."""
    main_parser = argparse.ArgumentParser(
        prog="python -m kapsule", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="diff a stack's declared resources against recorded state, offline")
    which = plan.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", help="the stack name: stacks/Pulumi.<stack>.yaml")
    which.add_argument("--all", action="store_true", help="plan every stack under stacks/")
    plan.add_argument(
        "--state",
        type=Path,
        help="a `pulumi stack export` file (with --stack), or a directory of <stack>.json exports; "
        "default: the local file backend's checkpoint, if any",
    )
    plan.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)")
    plan.add_argument("--today", type=date.fromisoformat, help="check versions against the catalog as of YYYY-MM-DD (default today)")
    versions = commands.add_parser("versions", help="the Kubernetes version catalog: show it, or refresh it from the Scaleway API")
    versions.add_argument("action", choices=("show", "refresh"), nargs="?", default="show")
    versions.add_argument("--region", default="fr-par", help="region to ask the API (default fr-par)")
    versions.add_argument("--today", type=date.fromisoformat, help="show support as of YYYY-MM-DD (default today)")
    return main_parser


def show_versions(day: date) -> int:
    """Print the catalog with each minor's status on `day`."""
    catalog = load_catalog()
    print(f"Kubernetes versions on Kapsule, catalog as of {catalog.as_of} ({catalog.source})")
    print(f"{'minor':<8}{'released':<12}{'deprecated':<12}{'end of support':<16}status on {day}")
    supported = catalog.supported(day)
    for entry in catalog.versions:
        error, warning = catalog.check(entry.minor, day)
        status = "unsupported" if error else ("ends soon" if warning and entry.minor in supported else "supported")
        print(f"{entry.minor:<8}{entry.released!s:<12}{entry.deprecated or '-'!s:<12}{entry.end_of_support or '-'!s:<16}{status}")
    stale = catalog.check(supported[-1], day)[1] if supported else None
    if stale and "catalog" in stale:
        print(f"warning: {stale}", file=sys.stderr)
    return 0


def refresh_versions(region: str) -> int:
    """Rewrite the catalog from the Scaleway API (needs SCW_ACCESS_KEY and SCW_SECRET_KEY, or a scw profile)."""
    from scaleway import Client
    from scaleway.k8s.v1 import K8SV1API

    client = Client.from_config_file_and_env()
    if not client.access_key or not client.secret_key:
        print("versions refresh needs Scaleway credentials: set SCW_ACCESS_KEY and SCW_SECRET_KEY (or a scw profile)", file=sys.stderr)
        return EXIT_INVALID
    response = K8SV1API(client).list_versions(region=region)
    write_catalog(catalog_document(response.versions, region, date.today()))
    print(f"{CATALOG_FILE.relative_to(ROOT)}: {len(response.versions)} versions from the Scaleway API ({region})")
    return 0


def plan_one(name: str, state: Optional[Path]) -> Plan | Invalid:
    """Plan one stack; a stack file or state file that cannot be used becomes an Invalid result."""
    try:
        return plan_stack(name, ROOT, find_state(name, ROOT, state))
    except (StackConfigError, StateError, PolicyConfigError) as error:
        return Invalid(stack=name, stack_file=f"stacks/Pulumi.{name}.yaml", error=str(error))


def plan_stacks(names: list[str], state: Optional[Path]) -> list[Plan | Invalid]:
    """Plan several stacks, in forked workers when there are several cores; results keep `names` order.

    Every stack renders in its own process and event loop, so the results are the same either way.
    """
    workers = min(len(names), os.cpu_count() or 1)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [plan_one(name, state) for name in names]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.starmap(plan_one, [(name, state) for name in names])


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = parser().parse_args(argv)
    if args.command == "versions":
        if args.action == "refresh":
            return refresh_versions(args.region)
        return show_versions(args.today or catalog_today())
    if args.today is not None:
        os.environ[TODAY_VARIABLE] = args.today.isoformat()  # the program, forked workers included, reads it
    names = stacks(ROOT) if args.all else [args.stack]
    if args.all and args.state is not None and not args.state.is_dir():
        print(f"--state {args.state}: with --all, give a directory holding one <stack>.json export per stack", file=sys.stderr)
        return EXIT_INVALID
    results = plan_stacks(names, args.state)
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


if __name__ == "__main__":
    sys.exit(main())
