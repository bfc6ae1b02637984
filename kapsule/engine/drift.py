"""`python -m kapsule.engine drift`: the engine's refreshing preview, read for drift. Exit 0 no drift, 2 drift
(or, with `--unmanaged`, billed resources the cluster's controllers made that nothing backs, drift or not),
1 anything else (no state, an unreachable cluster, the engine's error). Never "no drift" for want of an answer."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..drift.age import AgedNode, age_document, age_markdown, age_text
from ..drift.model import Step, collect, step_from_event
from ..drift.report import DriftReport, format_drift_json, format_drift_markdown, format_drift_text
from ..exits import EXIT_CHANGES, EXIT_INVALID, EXIT_NO_CHANGES
from ..names import ROOT
from ..stackfile.stacks import LOCAL_STACK
from ..state.backend import checkpoint_path
from . import driver
from .servers import local_directory


def _has_state(stack: str) -> bool:
    """Whether the backend has a checkpoint of the stack: drift of a stack never deployed is not "no drift"."""
    url = driver.environment(stack)["PULUMI_BACKEND_URL"]
    if not url.startswith("file://"):
        return True  # another backend: the engine itself says if the stack is missing
    return checkpoint_path(stack, Path(url[len("file://") :])) is not None


# longer than 60 lines: the drift check's one sequence (state, the refreshing preview, --unmanaged, node age), each step an exit
def run_drift(stack: str, format: str = "text", unmanaged: bool = False, root: Path = ROOT) -> int:
    """Report drift of one stack; returns the exit code."""
    if stack == LOCAL_STACK and not (local_directory() / "servers.json").is_file():
        print(
            "python -m kapsule.engine drift: the local Kubernetes API is not running (`make up` starts it); drift cannot be read",
            file=sys.stderr,
        )
        return EXIT_INVALID
    try:
        if not _has_state(stack):
            print(
                f"python -m kapsule.engine drift: stack {stack} has no recorded state in its backend: deploy it first",
                file=sys.stderr,
            )
            return EXIT_INVALID
    except driver.DriverError as error:
        print(f"python -m kapsule.engine drift: {error}", file=sys.stderr)
        return EXIT_INVALID
    steps: list[Step] = []
    previewed: list[bool] = []

    def on_event(event: Any) -> None:
        pre, outputs = event.resource_pre_event, event.res_outputs_event
        if outputs is not None and _op(outputs.metadata) == "refresh":
            steps.append(step_from_event(outputs.metadata))
        elif pre is not None and _op(pre.metadata) != "refresh":
            previewed.append(True)
            steps.append(step_from_event(pre.metadata))

    try:
        stopped = driver.drift_preview(stack, root=root, on_event=on_event)
    except driver.DriverError as error:
        print(f"python -m kapsule.engine drift: {error}", file=sys.stderr)
        return EXIT_INVALID
    drifted = collect(steps)
    if stopped is not None and (not previewed or not drifted):
        # The refresh itself failed (an unreachable cluster, a missing credential), or nothing explains the stop.
        print(
            f"python -m kapsule.engine drift: the engine could not read stack {stack} live:\n{stopped}", file=sys.stderr
        )
        return EXIT_INVALID
    report = DriftReport(stack, drifted)
    if stopped is not None:
        lines = stopped.splitlines()
        detail = next((line[2:] for line in lines if line.startswith("* ")), lines[0])
        report.notes.append(f"the preview stopped after the refresh, as `pulumi up` would on this drift: {detail}")
    if unmanaged:
        try:
            report.unmanaged, report.orphans = unmanaged_notes(stack, root)
        except (RuntimeError, driver.DriverError) as error:
            print(f"python -m kapsule.engine drift --unmanaged: {error}", file=sys.stderr)
            return EXIT_INVALID
    aged, why = node_age(stack, root)
    if why:
        report.notes.append(f"node age was not checked: {why}")
    sys.stdout.write(with_age(report, aged, format))
    if why:
        # A check that did not run is never a clean stack: the issue must not close on it (exit 1 touches none).
        print(f"python -m kapsule.engine drift: node age was not checked: {why}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_CHANGES if drifted or aged or report.orphans else EXIT_NO_CHANGES


def with_age(report: DriftReport, aged: list[AgedNode], format: str) -> str:
    """The drift report in its format, with the nodes past their pool's age after it (as `aged_nodes` in JSON)."""
    if format == "json":
        document = json.loads(format_drift_json(report))
        document["aged_nodes"] = age_document(aged)
        document["drift"] = document["drift"] or bool(aged)
        return json.dumps(document, indent=2) + "\n"
    if format == "markdown":
        return format_drift_markdown(report) + age_markdown(report.stack, aged)
    return format_drift_text(report) + age_text(report.stack, aged)


def node_age(stack: str, root: Path = ROOT) -> tuple[list[AgedNode], str]:
    """The nodes past their pool's max_node_age_days (from the Scaleway API and the cluster, through the stack's own
    outputs), or why they could not be read. Nothing when no pool declares a maximum age."""
    from ..rotate.apply import inspect
    from ..rotate.plan import new_plan
    from ..rotate.scaleway import Kapsule, ScalewayError, client
    from ..stackfile.messages import StackConfigError
    from ..stackfile.reading import read_stack_file, stack_file_path
    from ..stackfile.schema import parse
    from ..upgrade.live import LiveError, connect

    path = stack_file_path(stack, root)
    try:
        spec = parse(str(path.relative_to(root)), read_stack_file(path).config)
    except StackConfigError as error:
        return [], str(error).splitlines()[0]
    if spec.cluster is None or not any(p.max_node_age_days for p in spec.pools.values()):
        return [], ""
    try:
        values = driver.outputs(stack, root=root)
        cluster_id, kubeconfig = values.get("cluster_id"), values.get("kubeconfig")
        if not isinstance(cluster_id, str) or not isinstance(kubeconfig, str):
            return [], "the stack has no cluster_id and kubeconfig outputs"
        kapsule, live = Kapsule(client(), spec.region), connect(kubeconfig)
    except (ScalewayError, LiveError, driver.DriverError) as error:
        return [], str(error)
    except Exception as error:  # noqa: BLE001 the engine's own error, first line only: it names no secret
        return [], f"the stack's outputs could not be read ({type(error).__name__})"
    plan = new_plan(stack, str(path.relative_to(root)), spec, datetime.now(timezone.utc))
    inspect(plan, spec, kapsule, cluster_id.rsplit("/", 1)[-1], "", live, "")
    missing = [f"{c.title}: {c.why}" for c in plan.checks if c.status == "not run" and c.name.endswith("-nodes")]
    if missing:
        return [], "; ".join(missing)
    return [AgedNode(r.pool, r.node, r.age_days, r.max_age_days) for r in plan.due], ""


def unmanaged_notes(stack: str, root: Path = ROOT) -> tuple[list[str], int]:
    """The notes of `--unmanaged` and how many orphans: the cluster's ID, region and kubeconfig from the stack's
    own outputs."""
    from pulumi.automation.errors import CommandError

    try:
        values = driver.outputs(stack, root=root)
    except CommandError as error:
        raise RuntimeError(
            f"the outputs of stack {stack} could not be read: {str(error).strip().splitlines()[0][:200]}"
        ) from None
    if not isinstance(values.get("cluster_id"), str) or not isinstance(values.get("kubeconfig"), str):
        raise RuntimeError(
            f"stack {stack} manages no cluster (no cluster_id and kubeconfig outputs): run --unmanaged on its cluster stack"
        )
    try:
        return unmanaged_findings(values["cluster_id"], str(values.get("region") or "fr-par"), values["kubeconfig"])
    except RuntimeError as error:
        raise RuntimeError(f"stack {stack}: {error}") from None


def unmanaged_findings(
    cluster_id: str, region: str, kubeconfig: str, scaleway: tuple[list[Any], list[Any]] | None = None
) -> tuple[list[str], int]:
    """The notes of `--unmanaged` for one cluster, and how many orphans they name: the cluster's Services and
    PersistentVolumes read as the upgrade's preflight reads (bounded, read-only), the project's load balancers
    and volumes through the Scaleway SDK (or `scaleway`, already listed)."""
    from ..cost.prices import load_prices
    from ..drift.unmanaged import format_orphans, orphans, scaleway_resources
    from ..upgrade.live import LiveError, connect

    try:
        live = connect(kubeconfig)
        with live.check():
            services = [
                s for s in live.items("/api/v1/services") if (s.get("spec") or {}).get("type") == "LoadBalancer"
            ]
        with live.check():
            volumes = list(live.items("/api/v1/persistentvolumes"))
    except LiveError as error:
        raise RuntimeError(f"the cluster cannot be read: {error}") from None
    lbs, scaleway_volumes = scaleway if scaleway is not None else scaleway_resources(region)
    prices = load_prices()
    found = orphans(cluster_id, lbs, scaleway_volumes, services, volumes, prices)
    return format_orphans(found, prices.currency), len(found.orphans)


def _op(metadata: Any) -> str:
    return metadata.op.value if hasattr(metadata.op, "value") else str(metadata.op)
