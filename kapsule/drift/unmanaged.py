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
from typing import Any

from components.offers import ZONES

CCM_TAG = "managed-by-scaleway-cloud-controller-manager"
LB_ID_ANNOTATION = "service.beta.kubernetes.io/scw-loadbalancer-id"
CSI_DRIVER = "csi.scaleway.com"
_UID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_CSI_NAME = re.compile(rf"pvc-({_UID})$")


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


def _bare(identifier: str) -> str:
    """An ID without its `fr-par/` or `fr-par-1/` locality."""
    return identifier.rsplit("/", 1)[-1]


def orphans(
    cluster_id: str,
    lbs: Iterable[Any],
    volumes: Iterable[Any],
    services: list[dict[str, Any]],
    pvs: list[dict[str, Any]],
    prices: Any,
) -> list[Orphan]:
    """The load balancers and volumes of the cluster that no live Service or PersistentVolume backs (pure)."""
    cluster = _bare(cluster_id)
    uids = {(s.get("metadata") or {}).get("uid") for s in services}
    claimed = {
        _bare(str(((s.get("metadata") or {}).get("annotations") or {}).get(LB_ID_ANNOTATION, ""))) for s in services
    } - {""}
    found = []
    for lb in lbs:
        name = str(lb.name)
        if CCM_TAG not in (lb.tags or []) or not name.startswith(cluster):
            continue  # not made by this cluster's controller
        uid = re.search(rf"({_UID})$", name)
        if lb.id in claimed or (uid and uid.group(1) in uids):
            continue
        price = prices.load_balancers.get(str(lb.type_).upper())
        monthly = round(prices.monthly(price), 2) if price else None
        why = f"its Service (UID {uid.group(1)}) is gone" if uid else "no Service names it"
        found.append(Orphan("load balancer", lb.id, name, str(lb.zone), str(lb.type_).upper(), monthly, why))
    handles = {
        _bare(str(((pv.get("spec") or {}).get("csi") or {}).get("volumeHandle", "")))
        for pv in pvs
        if ((pv.get("spec") or {}).get("csi") or {}).get("driver") == CSI_DRIVER
    }
    names = {(pv.get("metadata") or {}).get("name") for pv in pvs}
    for volume in volumes:
        match = _CSI_NAME.search(str(volume.name))
        if match is None or volume.id in handles or f"pvc-{match.group(1)}" in names:
            continue
        iops = getattr(getattr(volume, "specs", None), "perf_iops", None)
        product = {5000: "sbs_5k", 15000: "sbs_15k"}.get(iops or 0, "sbs_5k")
        gigabytes = (volume.size or 0) / 1e9
        price = prices.block_storage_per_gb.get(product)
        monthly = round(prices.monthly(price, gigabytes), 2) if price else None
        found.append(
            Orphan(
                "block volume",
                volume.id,
                str(volume.name),
                str(volume.zone),
                f"{product} {gigabytes:.0f} GB",
                monthly,
                "no PersistentVolume backs it",
            )
        )
    return found


def scaleway_resources(region: str, client: Any = None) -> tuple[list[Any], list[Any]]:
    """Every load balancer and block volume of the project, in each zone of the region, through the Scaleway SDK."""
    from scaleway import Client
    from scaleway.block.v1alpha1 import BlockV1Alpha1API
    from scaleway.lb.v1 import LbV1ZonedAPI

    client = client or Client.from_config_file_and_env()
    if client is not None and (not client.access_key or not client.secret_key):
        raise RuntimeError(
            "--unmanaged reads the Scaleway API: set SCW_ACCESS_KEY, SCW_SECRET_KEY and SCW_DEFAULT_PROJECT_ID"
        )
    lbs, volumes = [], []
    for zone in ZONES.get(region, ()):
        try:
            lbs += LbV1ZonedAPI(client).list_lbs_all(zone=zone, tags=[CCM_TAG])
            volumes += BlockV1Alpha1API(client).list_volumes_all(zone=zone)
        except Exception as error:  # noqa: BLE001 the SDK's errors name the call and status, never the key
            raise RuntimeError(
                f"the Scaleway API did not answer for {zone}: {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
            ) from None
    return lbs, volumes


def format_orphans(found: list[Orphan], currency: str) -> list[str]:
    """One note per orphan, and the monthly total."""
    if not found:
        return [
            "nothing unmanaged: every load balancer and volume the cluster's controllers made is backed by a live Service or PersistentVolume"
        ]
    lines = [
        f"unmanaged {o.kind} {o.name} ({o.id}, {o.zone}, {o.product}): {o.why}; "
        + (f"{currency} {o.monthly:.2f} a month" if o.monthly is not None else "no price in the catalog")
        for o in found
    ]
    total = sum(o.monthly or 0 for o in found)
    return lines + [
        f"unmanaged resources cost {currency} {total:.2f} a month (prices from components/prices.json); delete them in the console once you are sure"
    ]
