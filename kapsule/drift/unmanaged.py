"""What no stack manages (`drift --unmanaged`): load balancers and block volumes that Kapsule's cloud controller
and CSI driver made for the cluster, that no live Service or PersistentVolume backs any more, and that are
still billed.

How they are recognised, from the controllers' own source:
- scaleway-cloud-controller-manager (scaleway/loadbalancers.go, EnsureLoadBalancer and GetLoadBalancerName):
  every load balancer it creates carries the tag `managed-by-scaleway-cloud-controller-manager`, and its name
  is `SCW_CCM_PREFIX` followed by the Service's UID. On Kapsule the prefix starts with the cluster's ID (the
  controller refuses an externally managed load balancer "prefixed by the cluster id",
  docs/loadbalancer-annotations.md). It writes the load balancer's ID back as the Service's
  `service.beta.kubernetes.io/scw-loadbalancer-id` annotation (`zone/id`).
- scaleway-csi (pkg/driver/controller.go, CreateVolume): it tags nothing; a volume is named its `--prefix`
  followed by the name the external provisioner gives the PersistentVolume (`pvc-<claim UID>`), and the
  PersistentVolume's `spec.csi.volumeHandle` is `zone/volume-id` under the driver `csi.scaleway.com`.

The Scaleway side is read with the Scaleway Python SDK; the Kubernetes side through the cluster's kubeconfig.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from components.offers import ZONES

from ..scaleway import PAGE_SIZE, NoClient, paged
from ..scaleway import client as sdk_client

CCM_TAG = "managed-by-scaleway-cloud-controller-manager"
LB_ID_ANNOTATION = "service.beta.kubernetes.io/scw-loadbalancer-id"
CSI_DRIVER = "csi.scaleway.com"
_UID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_CSI_NAME = re.compile(rf"(?P<prefix>.*)pvc-(?P<uid>{_UID})")


@dataclass(frozen=True)
class Orphan:
    """One billed resource nothing backs."""

    kind: str
    id: str
    name: str
    zone: str
    product: str
    monthly: float | None
    why: str
    estimate: bool = False
    """The price is the catalog's seeded estimate, not one the Scaleway API gave."""


@dataclass
class Unmanaged:
    """What `--unmanaged` found: the orphans, and what it could not attribute, and why."""

    orphans: list[Orphan]
    unattributed: list[str]


def _bare(identifier: str) -> str:
    """An ID without its `fr-par/` or `fr-par-1/` locality."""
    return identifier.rsplit("/", 1)[-1]


def csi_prefixes(cluster: str, volumes: list[Any], pvs: list[dict[str, Any]]) -> set[str]:
    """The name prefix this cluster's CSI driver gives its volumes, learned from the volumes its own live
    PersistentVolumes hold (a PV `pvc-<uid>` whose handle is a volume named `<prefix>pvc-<uid>`). Only a
    prefix that holds the cluster's ID is the cluster's own: any other could be another cluster's too."""
    held = {}
    for pv in pvs:
        csi = (pv.get("spec") or {}).get("csi") or {}
        if csi.get("driver") == CSI_DRIVER:
            held[_bare(str(csi.get("volumeHandle", "")))] = str((pv.get("metadata") or {}).get("name", ""))
    prefixes = set()
    for volume in volumes:
        match = _CSI_NAME.fullmatch(str(volume.name))
        if match and volume.id in held and held[volume.id] == f"pvc-{match.group('uid')}":
            prefixes.add(match.group("prefix"))
    return {prefix for prefix in prefixes if cluster in prefix}


def _attached(volume: Any) -> bool:
    """In use, or in any state but `available`: a volume Scaleway does not call free is never an orphan."""
    status = getattr(volume, "status", None)
    return bool(getattr(volume, "references", None)) or str(getattr(status, "value", status)) != "available"


# longer than 60 lines: the two attribution rules side by side (load balancers, then volumes), each the list of proofs docs/drift.md gives
def orphans(
    cluster_id: str,
    lbs: Iterable[Any],
    volumes: Iterable[Any],
    services: list[dict[str, Any]],
    pvs: list[dict[str, Any]],
    prices: Any,
) -> Unmanaged:
    """The load balancers and volumes this cluster's controllers provably made that no live Service or
    PersistentVolume of it backs (pure). Who controls the inputs: the Scaleway project holds other clusters'
    and hand-made resources, and anyone with a namespace writes Services; so each rule asks for proof:
    - a load balancer: tagged by the cloud controller, named the cluster's ID then a Service UID, and neither
      that UID nor its ID is a live Service's of this cluster;
    - a block volume: named by the cluster's own CSI prefix (`csi_prefixes`) then `pvc-<uid>`, not attached
      to any server, and no PersistentVolume of this cluster names it (by handle or by name).
    """
    cluster = _bare(cluster_id)
    volumes = list(volumes)
    uids = {(s.get("metadata") or {}).get("uid") for s in services}
    claimed = {
        _bare(str(((s.get("metadata") or {}).get("annotations") or {}).get(LB_ID_ANNOTATION, ""))) for s in services
    } - {""}
    own_lb = re.compile(rf"{re.escape(cluster)}[_-]?(?P<uid>{_UID})")
    found, unattributed = [], []
    for lb in lbs:
        name = str(lb.name)
        match = own_lb.fullmatch(name)
        if CCM_TAG not in (lb.tags or []) or match is None:
            continue  # not made by this cluster's controller
        if lb.id in claimed or match.group("uid") in uids:
            continue
        price = prices.load_balancers.get(str(lb.type_).upper())
        monthly = round(prices.monthly(price), 2) if price else None
        why = f"its Service (UID {match.group('uid')}) is gone and no Service names it"
        found.append(
            Orphan(
                "load balancer",
                lb.id,
                name,
                str(lb.zone),
                str(lb.type_).upper(),
                monthly,
                why,
                bool(price and price.estimate),
            )
        )
    prefixes = csi_prefixes(cluster, volumes, pvs)
    handles = {
        _bare(str(((pv.get("spec") or {}).get("csi") or {}).get("volumeHandle", "")))
        for pv in pvs
        if ((pv.get("spec") or {}).get("csi") or {}).get("driver") == CSI_DRIVER
    }
    names = {(pv.get("metadata") or {}).get("name") for pv in pvs}
    candidates = [v for v in volumes if _CSI_NAME.fullmatch(str(v.name))]
    if candidates and not prefixes:
        unattributed.append(
            f"{len(candidates)} block volume(s) named `...pvc-<uid>` in the project are not attributed to this cluster: no live "
            "PersistentVolume of it shows a CSI name prefix that holds the cluster's ID, and without one they could be "
            "another cluster's"
        )
    for volume in candidates:
        match = _CSI_NAME.fullmatch(str(volume.name))
        assert match is not None
        if match.group("prefix") not in prefixes or _attached(volume):
            continue
        if volume.id in handles or f"pvc-{match.group('uid')}" in names:
            continue
        iops = getattr(getattr(volume, "specs", None), "perf_iops", None)
        product = {5000: "sbs_5k", 15000: "sbs_15k"}.get(iops or 0)
        gigabytes = (volume.size or 0) / 1e9
        price = prices.block_storage_per_gb.get(product) if product else None
        monthly = round(prices.monthly(price, gigabytes), 2) if price else None
        found.append(
            Orphan(
                "block volume",
                volume.id,
                str(volume.name),
                str(volume.zone),
                f"{product or 'sbs, IOPS ' + str(iops or 'unknown')} {gigabytes:.0f} GB",
                monthly,
                "not attached, and no PersistentVolume of the cluster names it",
                bool(price and price.estimate),
            )
        )
    return Unmanaged(found, unattributed)


#: Load balancers, and volumes, read at most per zone: a longer list is refused, not followed.
MAX_LISTED = 5_000


def scaleway_resources(region: str, client: Any = None) -> tuple[list[Any], list[Any]]:
    """Every load balancer and block volume of the project, in each zone of the region, through the Scaleway SDK:
    page by page, each call within its deadline."""
    from scaleway.block.v1alpha1 import BlockV1Alpha1API
    from scaleway.lb.v1 import LbV1ZonedAPI

    try:
        client = client or sdk_client()
    except NoClient as error:
        raise RuntimeError(str(error)) from None
    if client is not None and (not client.access_key or not client.secret_key):
        raise RuntimeError(
            "--unmanaged reads the Scaleway API: set SCW_ACCESS_KEY, SCW_SECRET_KEY and SCW_DEFAULT_PROJECT_ID"
        )
    lbs, volumes = [], []
    for zone in ZONES.get(region, ()):
        balancers, blocks = LbV1ZonedAPI(client), BlockV1Alpha1API(client)
        try:
            lbs += paged(
                partial(_page, balancers.list_lbs, zone=zone, tags=[CCM_TAG]),
                "lbs",
                f"lb/v1 ListLbs in {zone}",
                MAX_LISTED,
            )
            volumes += paged(
                partial(_page, blocks.list_volumes, zone=zone),
                "volumes",
                f"block/v1alpha1 ListVolumes in {zone}",
                MAX_LISTED,
            )
        except Exception as error:  # noqa: BLE001 the SDK's errors name the call and status, never the key
            raise RuntimeError(
                f"the Scaleway API did not answer for {zone}: {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
            ) from None
    return lbs, volumes


def _page(read: Any, page: int, **arguments: Any) -> Any:
    """One page of a Scaleway listing, `PAGE_SIZE` items asked."""
    return read(page=page, page_size=PAGE_SIZE, **arguments)


def format_orphans(found: Unmanaged, currency: str) -> list[str]:
    """One note per orphan, what could not be attributed, and the monthly total, its estimates said."""
    if not found.orphans:
        return [
            "nothing unmanaged: every load balancer and volume this cluster's controllers provably made is backed by a "
            "live Service or PersistentVolume",
            *found.unattributed,
        ]
    lines = []
    for o in found.orphans:
        if o.monthly is None:
            cost = (
                "not priced: its IOPS are not a catalog product's" if "IOPS" in o.product else "no price in the catalog"
            )
        else:
            cost = f"{'estimated ' if o.estimate else ''}{currency} {o.monthly:.2f} a month"
        lines.append(f"unmanaged {o.kind} {o.name} ({o.id}, {o.zone}, {o.product}): {o.why}; {cost}")
    total = sum(o.monthly or 0 for o in found.orphans)
    estimates = sum(1 for o in found.orphans if o.estimate)
    unpriced = sum(1 for o in found.orphans if o.monthly is None)
    label = (f", {estimates} of them estimates" if estimates else "") + (f"; {unpriced} not priced" if unpriced else "")
    return [
        *lines,
        *found.unattributed,
        f"unmanaged resources cost {currency} {total:.2f} a month at list prices (components/prices.json{label}); "
        "delete them in the console once you are sure",
    ]
