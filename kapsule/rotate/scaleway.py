"""The Scaleway side of a rotation, through the Scaleway SDK (`scaleway.k8s.v1.K8SV1API`): the cluster, its pools
and nodes, and `replace_node`. Every call has a deadline; lists are read page by page within a budget.

The SDK's own HTTP calls carry no timeout, so each runs in a worker thread that the caller stops waiting for
at its deadline. The answers are the account's: another cluster or pool of the project is never touched, and
an answer that does not unmarshal is an error, never a partial list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeGuard, TypeVar

from ..scaleway import CALL_SECONDS, PAGE_SIZE, NoClient, TooLong, paged, within
from ..scaleway import NoAnswer as Unanswered
from ..scaleway import client as sdk_client
from .nodes import ScalewayNode

#: Pages read at most per list (a Kapsule cluster has at most 500 nodes).
MAX_PAGES = 10

T = TypeVar("T")


class ScalewayError(RuntimeError):
    """The Scaleway API could not be read or refused a call: the message names the call, never a key."""


class NoAnswer(ScalewayError):
    """A call that did not answer in time: it may have been carried out all the same."""


def client() -> Any:
    """The SDK's client from its config file and SCW_* variables; ScalewayError when there are no credentials."""
    try:
        found = sdk_client()
    except NoClient as error:
        raise ScalewayError(str(error)) from None
    if not found.access_key or not found.secret_key:
        raise ScalewayError("no Scaleway credentials (SCW_ACCESS_KEY and SCW_SECRET_KEY, or the SDK's config file)")
    return found


def bounded(call: Callable[[], T], what: str, seconds: float = CALL_SECONDS) -> T:
    """`call()` within `seconds`; ScalewayError naming `what` when it fails or does not answer in time."""
    return _answered(lambda: within(call, what, seconds), what)


def listed(read: Callable[[int], Any], items: str, what: str) -> list[Any]:
    """Every item of a list `read(page)` answers, each page within its deadline; ScalewayError past `MAX_PAGES`."""
    return _answered(lambda: paged(read, items, what, MAX_PAGES * PAGE_SIZE), what)


def _answered(run: Callable[[], T], what: str) -> T:
    """`run()`, its failures as this room's errors: NoAnswer, or a ScalewayError naming `what`."""
    try:
        return run()
    except Unanswered as error:
        raise NoAnswer(str(error)) from None
    except TooLong as error:
        raise ScalewayError(str(error)) from None
    except Exception as error:  # noqa: BLE001 the SDK's errors name the call and the status, never the key
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise ScalewayError(f"{what}: {type(error).__name__}{': ' + first if first else ''}") from None


@dataclass(frozen=True)
class PoolSize:
    """A pool's size settings as the Scaleway API holds them: what a surge changes and puts back."""

    size: int
    min_size: int
    max_size: int
    autoscaling: bool

    def surged(self, nodes: int) -> dict[str, int]:
        """The `update_pool` arguments that add `nodes` to the pool. A fixed-size pool gets a larger `size`; an
        autoscaled pool a larger `min_size` too (so the autoscaler does not remove the surge node) and, when
        needed, a larger `max_size`."""
        target = self.size + nodes
        if not self.autoscaling:
            return {"size": target}
        return {"size": target, "min_size": max(self.min_size, target), "max_size": max(self.max_size, target)}

    def restore(self) -> dict[str, int]:
        """The `update_pool` arguments that put the settings back exactly as they were."""
        if not self.autoscaling:
            return {"size": self.size}
        return {"size": self.size, "min_size": self.min_size, "max_size": self.max_size}


class Kapsule:
    """One cluster's pools and nodes through the SDK."""

    def __init__(self, sdk_client: Any, region: str) -> None:
        from scaleway.k8s.v1 import K8SV1API

        self.api = K8SV1API(sdk_client)
        self.region = region
        self.project_id: str | None = getattr(sdk_client, "default_project_id", None)

    def pool_size(self, pool_id: str) -> PoolSize:
        """The pool's size settings (`get_pool`)."""
        found = bounded(lambda: self.api.get_pool(pool_id=pool_id, region=self.region), f"get_pool {pool_id}")
        sizes = [getattr(found, key, None) for key in ("size", "min_size", "max_size")]
        counts = [value for value in sizes if _count(value)]
        if len(counts) != len(sizes):
            raise ScalewayError(f"get_pool {pool_id}: size, min_size and max_size are not whole numbers from 0 to 1000")
        return PoolSize(counts[0], counts[1], counts[2], bool(getattr(found, "autoscaling", False)))

    def resize(self, pool_id: str, settings: dict[str, int]) -> None:
        """`update_pool` with the size settings given, nothing else."""
        bounded(
            lambda: self.api.update_pool(
                pool_id=pool_id,
                region=self.region,
                size=settings.get("size"),
                min_size=settings.get("min_size"),
                max_size=settings.get("max_size"),
            ),
            f"update_pool {pool_id}",
        )

    def cluster_id(self, name: str) -> str:
        """The id of the project's one cluster named exactly `name` in the region."""
        listing = partial(self.api.list_clusters, region=self.region, project_id=self.project_id, name=name)
        clusters = listed(
            lambda page: listing(page=page, page_size=PAGE_SIZE), "clusters", f"list_clusters (region {self.region})"
        )
        found = [c for c in clusters if c.name == name]
        if len(found) != 1:
            where = f"the project {self.project_id}" if self.project_id else "the account"
            raise ScalewayError(
                f"{len(found) or 'no'} cluster(s) named {name} in {self.region} in {where}"
                + (": deploy the stack first" if not found else ": give the cluster's recorded state (--state)")
            )
        return str(found[0].id)

    def pools(self, cluster_id: str) -> list[tuple[str, str]]:
        """(id, name) of each pool of the cluster."""
        listing = partial(self.api.list_pools, cluster_id=cluster_id, region=self.region, page_size=PAGE_SIZE)
        pools = listed(lambda page: listing(page=page), "pools", f"list_pools (cluster {cluster_id})")
        return [(str(p.id), str(p.name)) for p in pools]

    def nodes(self, cluster_id: str) -> list[ScalewayNode]:
        """Every node of the cluster."""
        listing = partial(self.api.list_nodes, cluster_id=cluster_id, region=self.region, page_size=PAGE_SIZE)
        return [
            ScalewayNode(
                str(n.id), str(n.name), str(n.pool_id), str(n.provider_id or ""), _aware(n.created_at), str(n.status)
            )
            for n in listed(lambda page: listing(page=page), "nodes", f"list_nodes (cluster {cluster_id})")
        ]

    def replace(self, node_id: str) -> None:
        """Scaleway's ReplaceNode: the node's server is replaced by a new one."""
        bounded(lambda: self.api.replace_node(node_id=node_id, region=self.region), f"replace_node {node_id}")


def _aware(created: object) -> datetime | None:
    """A node's `created_at` as the API should give it (a date with its time zone), or None: a date without a
    zone, or anything that is no date, is unknown, and a node of unknown age is never rotated."""
    if isinstance(created, datetime) and created.tzinfo is not None and created.utcoffset() is not None:
        return created
    return None


def _count(value: object) -> TypeGuard[int]:
    """A pool size as the API should give it: a whole number from 0 to 1000 (no bool, no text)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1000
