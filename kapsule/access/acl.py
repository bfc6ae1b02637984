"""`python -m kapsule access open|close --stack NAME`: a CI run's own rule in the API server's allow-list.

`open` adds the runner's one address, described with the run and an expiry time, to the cluster's live
allow-list (`K8SV1API.add_cluster_acl_rules`) and hands the run's rules to the program through
`$GITHUB_ENV` (`KAPSULE_API_ACCESS_RUN_RULES`), so that `pulumi up`, which sets the whole list from the
stack file, keeps them while the run lasts. `close` deletes the rules of this run (`delete_acl_rule`);
the workflows run it with `if: always()`. A rule left behind (a runner that died) stops being the run's
own at its expiry: drift reports it, and the next deploy, which no longer hands it over, removes it.

The stack file stays the one truth: with no `api_access` the API server is open (nothing to open); with
full isolation no address can be added, so a job must run inside the private network. Who controls
what is read here: the Scaleway API's answers (the cluster list, the live rules: any key of the project
may add rules) are matched on their exact cluster name and on the automation's description format only.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from components.api_access import RUN_RULES_VARIABLE, RunRule, run_description, run_rule
from components.cluster_spec import ClusterSpec

from ..exits import EXIT_INVALID, EXIT_NO_CHANGES
from ..names import ROOT
from ..stackfile.messages import StackConfigError
from ..stackfile.reading import read_stack_file, stack_file_path
from ..stackfile.schema import StackConfig, parse
from .address import ADDRESS_URL_VARIABLE, DEFAULT_ADDRESS_URL, AddressError, parse_address, runner_address

#: The repository variable naming a self-hosted runner inside the cluster's private network: with it set,
#: jobs run there and reach the API server through the private network, with nothing to open.
PRIVATE_RUNNER_VARIABLE = "KAPSULE_PRIVATE_RUNNER"
#: Every Scaleway call of one command, together, within this many seconds.
SCALEWAY_DEADLINE = 60.0
#: GitHub ends a hosted job after six hours: a run's rule is its own at most that long.
DEFAULT_TTL = timedelta(hours=6)
#: At most this many live rules are read (Scaleway keeps a few dozen per cluster).
MAX_RULES = 500
NEEDS_PRIVATE_RUNNER = (
    f"a job reaches it only from a runner inside the cluster's private network (a self-hosted runner): set the "
    f"repository variable {PRIVATE_RUNNER_VARIABLE} to that runner's label"
)


class AccessError(RuntimeError):
    """Why the allow-list could not be opened or closed: one line."""


@dataclass(frozen=True)
class Target:
    """The cluster whose allow-list a stack's jobs go through, as its cluster stack declares it."""

    stack_file: str
    region: str
    cluster: ClusterSpec


def target(stack: str, root: Path = ROOT) -> Target | str:
    """The cluster of `stack`: its own, or for a platform stack, the cluster stack's its stack reference names;
    a line saying why there is none here (a cluster made elsewhere, whose allow-list is not this repository's)."""
    path = stack_file_path(stack, root)
    stack_file = str(path.relative_to(root))
    spec = _spec(path, stack_file)
    if spec.existing_cluster is not None:
        reference = spec.existing_cluster.stack_reference or ""
        owner = reference.rsplit("/", 1)[-1]
        owner_path = stack_file_path(owner, root) if owner else None
        if owner_path is None or not owner_path.is_file():
            return (
                f"{stack_file}: a platform stack's allow-list belongs to its cluster stack, which this repository does "
                f"not hold (existing_cluster.stack_reference {reference or 'is not set'}): nothing to do here"
            )
        return target(owner, root)
    assert spec.cluster is not None
    return Target(stack_file, spec.region, spec.cluster)


def _spec(path: Path, stack_file: str) -> StackConfig:
    config, _, _ = read_stack_file(path)
    return parse(stack_file, config)


def run_identity(environ: dict[str, str]) -> tuple[str, str]:
    """(`<run id>-<attempt>`, `<repository>/<workflow>`) of this GitHub Actions run; AccessError outside one."""
    run, attempt = environ.get("GITHUB_RUN_ID", ""), environ.get("GITHUB_RUN_ATTEMPT", "1")
    if not run.isdigit() or not attempt.isdigit() or len(run) > 20 or len(attempt) > 6:
        raise AccessError(
            "GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT name no run: the allow-list is opened only for a CI run"
        )
    what = "".join(c if c.isalnum() or c in "._/-" else "-" for c in environ.get("GITHUB_WORKFLOW", "run"))[:80]
    return f"{run}-{attempt}", what or "run"


class Scaleway:
    """The few K8SV1API calls the commands make, each under one shared deadline (the SDK sets no timeout)."""

    def __init__(self, region: str, deadline: float = SCALEWAY_DEADLINE) -> None:
        import logging

        from scaleway import Client
        from scaleway.k8s.v1 import K8SV1API

        logging.getLogger("scaleway").addHandler(logging.NullHandler())
        client = Client.from_config_file_and_env()
        if not client.access_key or not client.secret_key:
            raise AccessError(
                "set SCW_ACCESS_KEY and SCW_SECRET_KEY: the allow-list is changed through the Scaleway API"
            )
        try:
            self.api = K8SV1API(client)
        except ValueError as error:  # the SDK's own check of the key's and the project's shape
            raise AccessError(
                f"the Scaleway credentials are not usable: {str(error).split(chr(10))[0][:120]}"
            ) from None
        self.project = client.default_project_id
        self.region = region
        self.deadline = deadline
        self.ends = _now_monotonic() + deadline

    def call(self, what: str, function: Callable[[], Any]) -> Any:
        """Run one SDK call; AccessError (one line) on an error answer or past the deadline."""
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                result["value"] = function()
            except Exception as error:  # noqa: BLE001 the SDK's errors name the call and the status, never the key
                result["error"] = error

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(max(0.0, self.ends - _now_monotonic()))
        if worker.is_alive():
            raise AccessError(f"the Scaleway API did not answer {what} within {self.deadline:g} s")
        error = result.get("error")
        if error is not None:
            status = getattr(getattr(error, "response", None), "status_code", None)
            if status in (401, 403):
                raise AccessError(
                    f"this Scaleway key may not {what} (HTTP {status}): a read-only key cannot open the allow-list, so "
                    + NEEDS_PRIVATE_RUNNER
                )
            raise AccessError(f"the Scaleway API refused to {what}: {type(error).__name__} {status or ''}".rstrip())
        return result.get("value")

    def cluster_id(self, name: str) -> str | None:
        """The id of the project's cluster named exactly `name` in the region, or None when there is none yet."""
        # One page, never `list_clusters_all`: the SDK follows pages until one comes back empty, without end
        # against an API that keeps answering. A name filter leaves a handful of clusters.
        clusters = self.call(
            "list the clusters",
            lambda: (
                self.api.list_clusters(region=self.region, project_id=self.project, name=name, page_size=100).clusters
            ),
        )
        matches = [c.id for c in (clusters or [])[:MAX_RULES] if getattr(c, "name", None) == name]
        if len(matches) > 1:
            raise AccessError(
                f"{len(matches)} clusters are named {name} in {self.region}: cannot tell which one to open"
            )
        return matches[0] if matches else None

    def rules(self, cluster: str) -> list[Any]:
        found = self.call(
            "list the allow-list",
            lambda: self.api.list_cluster_acl_rules(region=self.region, cluster_id=cluster, page_size=100).rules,
        )
        return list(found or [])[:MAX_RULES]


def _now_monotonic() -> float:
    import time

    return time.monotonic()


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
    if access is None:
        return (
            f"{where.stack_file}: the API server is open to every address (no kapsule:cluster.api_access): "
            "nothing to open"
        )
    if access.full_isolation:
        raise AccessError(
            f"{where.stack_file}: kapsule:cluster.api_access.full_isolation allows no address to the API server; "
            + NEEDS_PRIVATE_RUNNER
        )
    run, what = run_identity(environ)
    if address is None:
        address = runner_address(environ.get(ADDRESS_URL_VARIABLE) or DEFAULT_ADDRESS_URL)
    else:
        address = parse_address(address.encode("ascii", "replace"), "the runner's address")
    mine = RunRule(address, run_description(run, what, now + ttl))
    api = (scaleway or Scaleway)(where.region)
    cluster = api.cluster_id(where.cluster.name)
    others: list[RunRule] = []
    if cluster is not None:
        from scaleway.k8s.v1 import ACLRuleRequest

        live = [run_rule(r.ip, r.description) for r in api.rules(cluster)]
        others = [r for r in live if r is not None and not r.expired(now) and r.run != run]
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
    until = f"{mine.until:%Y-%m-%d %H:%M} UTC"
    if cluster is None:
        return (
            f"{where.stack_file}: cluster {where.cluster.name} does not exist yet: the deploy creates its allow-list "
            f"with {mine.ip} in it until {until}"
        )
    cluster_name = where.cluster.name
    return f"{where.stack_file}: allowed {mine.ip} to reach cluster {cluster_name} until {until} ({mine.description})"


def close_access(
    stack: str,
    *,
    environ: dict[str, str],
    root: Path = ROOT,
    scaleway: Callable[[str], Scaleway] | None = None,
) -> str:
    """Delete every rule of this run from the live allow-list; return what was done (one line)."""
    where = target(stack, root)
    if isinstance(where, str):
        return where
    access = where.cluster.api_access
    if environ.get(PRIVATE_RUNNER_VARIABLE) or access is None or access.full_isolation:
        return f"{where.stack_file}: this run opened nothing: nothing to close"
    run, _ = run_identity(environ)
    api = (scaleway or Scaleway)(where.region)
    cluster = api.cluster_id(where.cluster.name)
    if cluster is None:
        return f"{where.stack_file}: cluster {where.cluster.name} does not exist: nothing to close"
    ours = [r for r in api.rules(cluster) if (rule := run_rule(r.ip, r.description)) is not None and rule.run == run]
    for rule in ours:
        api.call(
            "delete a rule of the allow-list",
            lambda rule=rule: api.api.delete_acl_rule(region=where.region, acl_id=rule.id),
        )
    return (
        f"{where.stack_file}: removed {len(ours)} rule(s) of run {run} from cluster {where.cluster.name}'s allow-list"
    )


def _export(environ: dict[str, str], name: str, value: str) -> None:
    """Hand a value to the job's later steps (`$GITHUB_ENV`); outside a job, print it for the caller."""
    target_file = environ.get("GITHUB_ENV")
    line = f"{name}={value}\n"
    if target_file:
        with open(target_file, "a", encoding="utf-8") as handle:
            handle.write(line)
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
