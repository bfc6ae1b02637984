"""The `rotate` command line, apart from the command itself: building the parser never imports the rotation's
Scaleway and Kubernetes clients, which every other command (a plan among them) would otherwise load."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def duration(text: str) -> float:
    """An argparse type: a Go duration (`30m`, `4h`) in seconds, above zero."""
    from components.drain import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error}; write a Go duration such as 30m or 4h") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is no time at all; give a Go duration above zero, such as 30m")
    return seconds


def count(text: str) -> int:
    """An argparse type: a whole number of nodes, 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of nodes, 1 or more")
    return int(text)


def add_parser(commands: Any, stack_name: object, once: type) -> None:
    """The `rotate` command line."""
    rotate = commands.add_parser(
        "rotate", help="replace nodes past their pool's max_node_age_days, one at a time, within the budgets"
    )
    rotate.add_argument(
        "--stack", type=stack_name, action=once, required=True, help="the stack name: stacks/Pulumi.<stack>.yaml"
    )
    rotate.add_argument("--apply", action="store_true", help="replace the nodes (default: only plan)")
    rotate.add_argument(
        "--format", choices=("text", "markdown", "json"), default="text", help="output format (default text)"
    )
    rotate.add_argument(
        "--kubeconfig",
        type=Path,
        help="the cluster's kubeconfig file (default: the stack's kubeconfig output, through the engine)",
    )
    rotate.add_argument(
        "--state", type=Path, help="recorded state, for the cluster's id (default: the local backend's)"
    )
    rotate.add_argument(
        "--deadline",
        type=duration,
        default=duration("4h"),
        metavar="DURATION",
        help="the whole run's deadline (default 4h)",
    )
    rotate.add_argument(
        "--max-nodes",
        type=count,
        default=10,
        metavar="N",
        help="at most this many nodes replaced in one run (default 10)",
    )
    rotate.add_argument(
        "--drain-timeout",
        type=duration,
        metavar="DURATION",
        help="the longest one node's drain may take (default: its pool's drain_timeout)",
    )
