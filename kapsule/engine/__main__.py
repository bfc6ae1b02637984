"""`python -m kapsule.engine up|preview|destroy|down [--stack NAME]`: the real engine, through the one driver.

- `up` (default stack `local`): for the local stack, start the local Kubernetes API (or find the one
  running), then `pulumi up --refresh` with the policy pack. A second `up` changes nothing.
- `preview`: `pulumi preview --refresh --diff` with the policy pack.
- `destroy`: `pulumi destroy` (running the program, so its resource hooks run).
- `down`: destroy the local stack, then stop every local server.
- `drift [--format text|json|markdown] [--unmanaged]`: a refreshing preview with the policy pack that changes
  nothing (no `up`, and the refresh is never written to the state): each resource whose live value differs
  from the stack file, with the paths, the declared value beside the live one, secrets masked. The local
  stack's API is never started for it. `--unmanaged` adds the load balancers and volumes Kapsule made for
  the cluster that no live Service or PersistentVolume backs, with their monthly cost.

Exit codes: 0 the command worked (`drift`: no drift), 2 drift found (`drift` only), 1 it did not work (the
engine's own error, an unreachable cluster, no state, a guard's, or a bad command line). Nothing else.
"""

from __future__ import annotations

import argparse
import sys

from ..exits import Parser
from ..stackfile.stacks import stack_name_problem
from .driver import LOCAL_STACK, DriverError, destroy, preview, up
from .servers import LocalCluster, ServerError


def main(argv: list[str] | None = None) -> int:
    """Run one engine command; return the process exit code."""
    parser = Parser(
        prog="python -m kapsule.engine", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("up", "preview", "destroy", "down", "drift"))
    parser.add_argument("--stack", default=LOCAL_STACK, help="the stack: stacks/Pulumi.<stack>.yaml (default local)")
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="drift: the report's format (default text)",
    )
    parser.add_argument(
        "--unmanaged",
        action="store_true",
        help="drift: also list what Kapsule made for the cluster that nothing backs any more",
    )
    args = parser.parse_args(argv)
    if args.command != "drift" and (args.format != "text" or args.unmanaged):
        print("python -m kapsule.engine: --format and --unmanaged belong to drift", file=sys.stderr)
        return 1
    problem = stack_name_problem(args.stack)
    if problem:
        print(f"python -m kapsule.engine: {problem}", file=sys.stderr)
        return 1
    from pulumi.automation.errors import CommandError

    try:
        if args.command == "down":
            return down()
        if args.command == "drift":
            from .drift import run_drift

            return run_drift(args.stack, args.format, args.unmanaged)
        if args.stack == LOCAL_STACK:
            ensure_local_cluster()
        if args.command == "up":
            up(args.stack)
        elif args.command == "preview":
            preview(args.stack)
        else:
            destroy(args.stack)
    except (DriverError, ServerError) as error:
        print(f"python -m kapsule.engine {args.command}: {error}", file=sys.stderr)
        return 1
    except CommandError:
        return 1  # the engine printed its own error above
    return 0


def ensure_local_cluster() -> LocalCluster:
    """The local Kubernetes API `make up` started, or a new one on free loopback ports."""
    cluster = LocalCluster.running()
    if cluster is None:
        print(
            "Starting the local Kubernetes API (etcd, kube-apiserver, kube-controller-manager on 127.0.0.1)...",
            flush=True,
        )
        cluster = LocalCluster()
        cluster.start()
    return cluster


def down() -> int:
    """Destroy the local stack if its API is up, then stop every local server."""
    from pulumi.automation.errors import CommandError

    cluster = LocalCluster.running()
    if cluster is None:
        print("The local Kubernetes API is not running: nothing to destroy.")
        return 0
    code = 0
    try:
        destroy(LOCAL_STACK)
    except (DriverError, CommandError) as error:
        print(f"python -m kapsule.engine down: {error}", file=sys.stderr)
        code = 1
    finally:
        cluster.stop()
        print("The local Kubernetes API is stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
