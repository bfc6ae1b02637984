"""`python -m kapsule access open|close --stack NAME`: a CI run's own rule in the API server's allow-list.

`open` adds the runner's one address, described with the run and an expiry time, to the cluster's live
allow-list (`K8SV1API.add_cluster_acl_rules`) and hands the run's rules to the program through
`$GITHUB_ENV` (`KAPSULE_API_ACCESS_RUN_RULES`), so that `pulumi up`, which sets the whole list from the
stack file, keeps them while the run lasts. `close` deletes the rules of this run (`delete_acl_rule`);
the workflows run it with `if: always()`. A rule left behind (a runner that died) stops being the run's
own at its expiry: drift reports it, and the next deploy, which no longer hands it over, removes it.

The stack file stays the one truth: with no `api_access` and a live list that already lets the runner in
(Scaleway's default, every address), there is nothing to open; when the live list is still restricted (the key
was just removed, the deploy has yet to reset it) the run's rule is added all the same. With full isolation no
address can be added, so a job must run inside the private network.

A rule belongs to one job: its description names the run and attempt, the job and the stack
(`<run>-<attempt> <job>/<stack>`), so that two jobs of one run (a matrix) never take out each other's rule.
Jobs of other runs only add and delete their own rules; the deploy, which alone sets the whole list, re-reads
the live run rules right before it registers the allow-list (`live_run_rules`), which leaves a window of
seconds (docs/api-access.md).

Who controls what is read here: the Scaleway API's answers (the cluster list, the live rules: any key of the
project may add rules) are matched on their exact cluster name and on the automation's description format
only, with an expiry at most MAX_TTL ahead; they are read page by page up to a bound, within one deadline.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from components.api_access import (
    CLUSTER_VARIABLE,
    MAX_HANDED_RULES,
    MAX_TTL,
    RUN_RULES_VARIABLE,
    RunRule,
    run_description,
    run_rule,
)
from components.cluster_spec import ClusterSpec

from ..exits import EXIT_INVALID, EXIT_NO_CHANGES
from ..names import ROOT
from ..stackfile.messages import StackConfigError
from ..stackfile.reading import read_stack_file, stack_file_path
from ..stackfile.schema import StackConfig, parse
from .address import ADDRESS_URL_VARIABLE, DEFAULT_ADDRESS_URL, AddressError, parse_address, runner_address
from .scaleway import (
    NEEDS_PRIVATE_RUNNER,
    PRIVATE_RUNNER_VARIABLE,
    AccessError,
    Scaleway,
)

#: GitHub ends a hosted job after six hours: a run's rule is its own at most that long.
DEFAULT_TTL = timedelta(hours=6)
#: The Pulumi organization of a self-managed backend (the state bucket): a stack reference names it or no one.
SELF_MANAGED_ORGANIZATION = "organization"


@dataclass(frozen=True)
class Target:
    """The cluster whose allow-list a stack's jobs go through, as its cluster stack declares it."""

    stack_file: str
    region: str
    cluster: ClusterSpec


def target(stack: str, root: Path = ROOT, _seen: tuple[str, ...] = ()) -> Target | str:
    """The cluster of `stack`: its own, or for a platform stack, the cluster stack's its stack reference names;
    a line saying why there is none here (a cluster made elsewhere, whose allow-list is not this repository's)."""
    path = stack_file_path(stack, root)
    stack_file = str(path.relative_to(root))
    if stack in _seen:
        raise AccessError(
            f"{stack_file}: the platform stacks' existing_cluster.stack_reference go round in a circle "
            f"({' -> '.join((*_seen, stack))}): one of them must name the cluster stack"
        )
    spec = _spec(path, stack_file)
    if spec.existing_cluster is not None:
        reference = spec.existing_cluster.stack_reference or ""
        owner = _own_stack(reference, root)
        owner_path = stack_file_path(owner, root) if owner else None
        if owner is None or owner_path is None or not owner_path.is_file():
            return (
                f"{stack_file}: a platform stack's allow-list belongs to its cluster stack, which this repository does "
                f"not hold (existing_cluster.stack_reference {reference or 'is not set'}): nothing to do here"
            )
        return target(owner, root, (*_seen, stack))
    assert spec.cluster is not None
    return Target(stack_file, spec.region, spec.cluster)


def _own_stack(reference: str, root: Path) -> str | None:
    """The stack of this repository a stack reference names: `organization/<project>/<stack>` or
    `<project>/<stack>` with this project's name (Pulumi.yaml) and the self-managed backend's organization;
    None for a stack of another project or organization."""
    parts = reference.split("/")
    if len(parts) == 3 and parts[0] == SELF_MANAGED_ORGANIZATION:
        parts = parts[1:]
    if len(parts) != 2 or parts[0] != _project_name(root):
        return None
    return parts[1] or None


def _project_name(root: Path) -> str | None:
    from ..files import read_text

    try:
        text = read_text(root / "Pulumi.yaml", 64 * 1024, "a project file is a few lines")
    except Exception:  # noqa: BLE001 no project file: no reference is this project's
        return None
    for line in text.splitlines():
        if line.startswith("name:"):
            return line.partition(":")[2].strip().strip("'\"") or None
    return None


def _spec(path: Path, stack_file: str) -> StackConfig:
    config, _, _ = read_stack_file(path)
    return parse(stack_file, config)


def run_identity(environ: dict[str, str], stack: str) -> tuple[str, str, str]:
    """(`<run id>-<attempt>`, `<job>/<stack>`, `<workflow>`) of this GitHub Actions job; AccessError outside one.
    The first two together name the one job that owns a rule."""
    run, attempt = environ.get("GITHUB_RUN_ID", ""), environ.get("GITHUB_RUN_ATTEMPT", "1")
    if not (run.isascii() and run.isdigit() and attempt.isascii() and attempt.isdigit()):
        raise AccessError(
            "GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT name no run: the allow-list is opened only for a CI run"
        )
    if len(run) > 20 or len(attempt) > 6:
        raise AccessError("GITHUB_RUN_ID or GITHUB_RUN_ATTEMPT is longer than GitHub writes them")
    job = f"{_word(environ.get('GITHUB_JOB', ''), 40, '._-') or 'job'}/{_word(stack, 40, '._-') or 'stack'}"
    return f"{run}-{attempt}", job, _word(environ.get("GITHUB_WORKFLOW", ""), 60, "._/-") or "run"


def _word(text: str, limit: int, allowed: str) -> str:
    """Outside text as the run rule's description takes it: ASCII letters, digits and `allowed`, at most `limit`."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in allowed else "-" for c in text)[:limit]


# longer than 60 lines: one sequence of refusals, each a line the job prints, before the one SDK call that adds
def open_access(
    stack: str,
    *,
    environ: dict[str, str],
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
    address: str | None = None,
    root: Path = ROOT,
    scaleway: Callable[[str], Scaleway] | None = None,
) -> str:
    """Add the runner's own rule; return what was done (one line). The run's rules go to `$GITHUB_ENV`."""
    where = target(stack, root)
    if isinstance(where, str):
        return where
    access = where.cluster.api_access
    if environ.get(PRIVATE_RUNNER_VARIABLE):
        return (
            f"{where.stack_file}: this job runs on {PRIVATE_RUNNER_VARIABLE}, in the private network: nothing to open"
        )
    if access is not None and access.full_isolation:
        raise AccessError(
            f"{where.stack_file}: kapsule:cluster.api_access.full_isolation allows no address to the API server; "
            + NEEDS_PRIVATE_RUNNER
        )
    if ttl > MAX_TTL or ttl <= timedelta(0):
        raise AccessError(f"a run's rule lasts more than 0 and at most {MAX_TTL.total_seconds() / 3600:g} hours")
    run, job, what = run_identity(environ, stack)
    if address is None:
        address = runner_address(environ.get(ADDRESS_URL_VARIABLE) or DEFAULT_ADDRESS_URL)
    else:
        address = parse_address(address.encode("ascii", "replace"), "the runner's address")
    mine = RunRule(address, run_description(run, job, what, now + ttl))
    api = (scaleway or Scaleway)(where.region)
    cluster = api.cluster_id(where.cluster.name)
    others: list[RunRule] = []
    if cluster is not None:
        live = api.rules(cluster)
        if access is None and _lets_in(live, mine.ip):
            return (
                f"{where.stack_file}: the API server is open to every address (no kapsule:cluster.api_access, and the "
                f"live allow-list lets {mine.ip} in): nothing to open"
            )
        from scaleway.k8s.v1 import ACLRuleRequest

        others = _others(live, mine, now)
        if len(others) >= MAX_HANDED_RULES:
            raise AccessError(
                f"{len(others)} live rules of other runs are on cluster {where.cluster.name}'s allow-list, and a deploy "
                f"takes at most {MAX_HANDED_RULES} runs' rules ({RUN_RULES_VARIABLE}): delete the stale ones in the "
                "Scaleway console, or wait for them to expire"
            )
        api.call(
            "add a rule to the allow-list",
            lambda: api.api.add_cluster_acl_rules(
                region=where.region,
                cluster_id=cluster,
                acls=[ACLRuleRequest(description=mine.description, ip=mine.ip, scaleway_ranges=None)],
            ),
        )
    handed = [{"ip": r.ip, "description": r.description} for r in [*others, mine]]
    _export(environ, RUN_RULES_VARIABLE, json.dumps(handed, separators=(",", ":")))
    if cluster is not None:
        _export(environ, CLUSTER_VARIABLE, f"{where.region}/{cluster}")
    until = f"{mine.until:%Y-%m-%d %H:%M} UTC"
    if cluster is None:
        return (
            f"{where.stack_file}: cluster {where.cluster.name} does not exist yet: the deploy creates its allow-list "
            f"with {mine.ip} in it until {until}"
        )
    still = " (its live allow-list is still restricted)" if access is None else ""
    return (
        f"{where.stack_file}: allowed {mine.ip} to reach cluster {where.cluster.name}{still} until {until} "
        f"({mine.description})"
    )


def _others(live: list[Any], mine: RunRule, now: datetime) -> list[RunRule]:
    """The live rules of other jobs, still their own (not expired, an expiry at most MAX_TTL ahead)."""
    rules = [run_rule(getattr(r, "ip", None), getattr(r, "description", None), now) for r in live]
    return [r for r in rules if r is not None and not r.expired(now) and r.owner != mine.owner]


def _lets_in(live: list[Any], ip: str) -> bool:
    """Whether a live rule's range holds the runner's address (Scaleway's default holds 0.0.0.0/0)."""
    import ipaddress

    address = ipaddress.ip_network(ip).network_address
    for rule in live:
        try:
            network = ipaddress.ip_network(getattr(rule, "ip", None) or "", strict=False)
        except ValueError:
            continue
        if network.version == address.version and address in network:
            return True
    return False


def live_run_rules(
    region_cluster: str, now: datetime, scaleway: Callable[[str], Scaleway] | None = None
) -> list[RunRule]:
    """The run rules on the live allow-list of `<region>/<cluster id>` still their job's own: the deploy's program
    re-reads them right before it registers the allow-list, so that a job that opened after the deploy's own
    `open` keeps its rule. AccessError (one line) when they cannot be read."""
    region, _, cluster = region_cluster.partition("/")
    if not region or not cluster or len(region_cluster) > 100 or not region_cluster.isascii():
        raise AccessError(f"{CLUSTER_VARIABLE} is not <region>/<cluster id>: `kapsule access open` writes it")
    api = (scaleway or Scaleway)(region)
    rules = [run_rule(getattr(r, "ip", None), getattr(r, "description", None), now) for r in api.rules(cluster)]
    return [r for r in rules if r is not None and not r.expired(now)]


def program_live_run_rules(
    environ: dict[str, str], scaleway: Callable[[str], Scaleway] | None = None
) -> Callable[[], list[RunRule]] | None:
    """For the program (`__main__.py`): in a job whose `kapsule access open` named the cluster, the re-read of its
    live run rules, raising pulumi.RunError (one line) when they cannot be read; None elsewhere."""
    region_cluster = environ.get(CLUSTER_VARIABLE)
    if not region_cluster:
        return None

    def reread() -> list[RunRule]:
        import pulumi

        try:
            return live_run_rules(region_cluster, datetime.now(timezone.utc), scaleway)
        except AccessError as error:
            raise pulumi.RunError(f"{CLUSTER_VARIABLE}: {error}") from None

    return reread


def close_access(
    stack: str,
    *,
    environ: dict[str, str],
    root: Path = ROOT,
    scaleway: Callable[[str], Scaleway] | None = None,
) -> str:
    """Delete this job's own rules from the live allow-list; return what was done (one line)."""
    where = target(stack, root)
    if isinstance(where, str):
        return where
    access = where.cluster.api_access
    if environ.get(PRIVATE_RUNNER_VARIABLE) or (access is not None and access.full_isolation):
        return f"{where.stack_file}: this run opened nothing: nothing to close"
    run, job, _ = run_identity(environ, stack)
    owner = f"{run} {job}"
    api = (scaleway or Scaleway)(where.region)
    cluster = api.cluster_id(where.cluster.name)
    if cluster is None:
        return f"{where.stack_file}: cluster {where.cluster.name} does not exist: nothing to close"
    ours = [
        r
        for r in api.rules(cluster)
        if (rule := run_rule(getattr(r, "ip", None), getattr(r, "description", None))) is not None
        and rule.owner == owner
    ]
    for rule in ours:
        api.call(
            "delete a rule of the allow-list",
            functools.partial(api.api.delete_acl_rule, region=where.region, acl_id=rule.id),
        )
    return (
        f"{where.stack_file}: removed {len(ours)} rule(s) of job {owner} from cluster {where.cluster.name}'s allow-list"
    )


def _export(environ: dict[str, str], name: str, value: str) -> None:
    """Hand a value to the job's later steps (`$GITHUB_ENV`); outside a job, print it for the caller."""
    target_file = environ.get("GITHUB_ENV")
    line = f"{name}={value}\n"
    if target_file:
        try:
            with open(target_file, "a", encoding="utf-8") as handle:
                handle.write(line)
        except OSError as error:
            raise AccessError(
                f"GITHUB_ENV ({target_file[:120]!r}) cannot be written ({error.strerror or type(error).__name__}): "
                "the run's rule stays in the allow-list until the close step removes it"
            ) from None
    else:
        sys.stdout.write(line)


def run_access(action: str, stack: str, address_from_env: str | None, ttl_hours: float) -> int:
    """The command line's `access open|close`: one line on stdout (done) or stderr (refused); exit 0 or 1."""
    environ = dict(os.environ)
    try:
        if action == "open":
            address = None
            if address_from_env is not None:
                address = parse_address(
                    environ.get(address_from_env, "").encode("ascii", "replace"), f"${address_from_env}"
                )
            line = open_access(
                stack, environ=environ, now=datetime.now(timezone.utc), ttl=timedelta(hours=ttl_hours), address=address
            )
        else:
            line = close_access(stack, environ=environ)
    except (AccessError, AddressError, StackConfigError) as error:
        text = str(error) if not isinstance(error, StackConfigError) else str(error).replace("\n", ";")
        print(f"kapsule access {action}: {text}", file=sys.stderr)
        return EXIT_INVALID
    print(f"kapsule access {action}: {line}")
    return EXIT_NO_CHANGES
