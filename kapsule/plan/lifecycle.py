"""What a Kubernetes minor's dates mean for a cluster, against recorded state: a deprecated minor takes no new
cluster, and a cluster past its minor's end of support is moved by Scaleway, by force, to the next minor's
latest patch within 30 days. Pure logic over the version catalog (components/catalog.py)."""

from __future__ import annotations

from datetime import date

from components.catalog import Catalog
from components.versions import VERSION, Version

from ..names import CLUSTER
from ..resources.model import Resource
from ..state.records import RecordedState


def lifecycle_findings(
    resources: list[Resource], state: RecordedState | None, catalog: Catalog, today: date
) -> tuple[list[str], list[str]]:
    """(errors, warnings): a new cluster on a deprecated or ended minor is an error; a live cluster whose
    minor has ended gets the date by which Scaleway moves it, and to what."""
    errors: list[str] = []
    warnings: list[str] = []
    for cluster in (r for r in resources if r.type == CLUSTER):
        desired = cluster.inputs.get("version")
        if not isinstance(desired, str) or not VERSION.fullmatch(desired):
            continue
        minor = Version.parse(desired).line
        entry = catalog.find(minor)
        if entry is None:
            continue
        recorded = state.get(cluster.urn) if state is not None else None
        if recorded is None:
            if entry.deprecated_on(today) or entry.ended_on(today):
                supported = catalog.supported(today)
                offered = [v.minor for v in catalog.versions if v.minor in supported and not v.deprecated_on(today)]
                errors.append(
                    f"kapsule:cluster.version: {desired} is a new cluster on {minor}, which Scaleway deprecated on "
                    f"{entry.deprecated}: no new cluster is created on it; "
                    f"use {' or '.join(offered) or 'a newer minor'}"
                )
            continue
        live = recorded.outputs.get("version") or recorded.inputs.get("version")
        live_minor = Version.parse(live).line if isinstance(live, str) and VERSION.fullmatch(live) else minor
        move = catalog.forced_move(live_minor, today)
        if move:
            warnings.append(f"kapsule:cluster.version: {move}")
    return errors, warnings
