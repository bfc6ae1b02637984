"""`python -m kapsule.engine up|preview|destroy|down [--stack NAME]`: the real engine, through the one driver.

- `up` (default stack `local`): for the local stack, start the local Kubernetes API (or find the one
  running), then `pulumi up --refresh` with the policy pack. A second `up` changes nothing.
- `preview`: `pulumi preview --refresh --diff` with the policy pack.
- `destroy`: `pulumi destroy` (running the program, so its resource hooks run).
- `down`: destroy the local stack, then stop every local server.

Exit codes: 0 the command worked, 1 it did not (the engine's own error, a guard's, or a bad command line).
Nothing else.
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
    parser = Parser(prog="python -m kapsule.engine", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("up", "preview", "destroy", "down"))
    parser.add_argument("--stack", default=LOCAL_STACK, help="the stack: stacks/Pulumi.<stack>.yaml (default local)")
    args = parser.parse_args(argv)
    problem = stack_name_problem(args.stack)
    if problem:
        print(f"python -m kapsule.engine: {problem}", file=sys.stderr)
        return 1
    from pulumi.automation.errors import CommandError

    try:
        if args.command == "down":
            return down()
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
        print("Starting the local Kubernetes API (etcd, kube-apiserver, kube-controller-manager on 127.0.0.1)...", flush=True)
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
