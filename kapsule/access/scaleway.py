"""The Scaleway calls of `kapsule access`: the few K8SV1API calls it makes, through the Scaleway SDK, each under
one shared deadline (the SDK sets no timeout), read page by page up to a bound.

Who controls what is read here: the Scaleway API's answers (the cluster list, the live rules: any key of the
project may add rules); the caller matches them on the exact cluster name and the automation's own description
format only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..scaleway import NoAnswer, NoClient, within
from ..scaleway import client as sdk_client

#: Every Scaleway call of one command, together, within this many seconds.
SCALEWAY_DEADLINE = 60.0
#: At most this many live rules are read (Scaleway keeps a few dozen per cluster), and at most this many clusters
#: the name filter matches (it matches part of a name): past either, the command refuses.
MAX_RULES = 500
MAX_CLUSTERS = 500
#: Rules and clusters are read this many per page.
PAGE_SIZE = 100
#: The repository variable naming a self-hosted runner inside the cluster's private network: with it set,
#: jobs run there and reach the API server through the private network, with nothing to open.
PRIVATE_RUNNER_VARIABLE = "KAPSULE_PRIVATE_RUNNER"
NEEDS_PRIVATE_RUNNER = (
    f"a job reaches it only from a runner inside the cluster's private network (a self-hosted runner): set the "
    f"repository variable {PRIVATE_RUNNER_VARIABLE} (KAPSULE_PREVIEW_RUNNER for the preview) to that runner's label"
)


class AccessError(RuntimeError):
    """Why the allow-list could not be opened or closed: one line."""


class Scaleway:
    """The few K8SV1API calls the commands make, each under one shared deadline (the SDK sets no timeout)."""

    def __init__(self, region: str, deadline: float = SCALEWAY_DEADLINE) -> None:
        from scaleway.k8s.v1 import K8SV1API

        try:
            client = sdk_client()
        except NoClient as error:
            raise AccessError(str(error)) from None
        if not client.access_key or not client.secret_key:
            raise AccessError(
                "set SCW_ACCESS_KEY and SCW_SECRET_KEY: the allow-list is changed through the Scaleway API"
            )
        try:
            self.api = K8SV1API(client)
        except ValueError:
            # The SDK's own check of the key's and the project's shape puts the key itself in its message: a fixed
            # line, never the SDK's text.
            raise AccessError(
                "the Scaleway credentials are not usable: SCW_ACCESS_KEY, SCW_SECRET_KEY or SCW_DEFAULT_PROJECT_ID "
                "does not have the shape of a Scaleway key or project id"
            ) from None
        self.project = client.default_project_id
        self.region = region
        self.deadline = deadline
        self.ends = _now_monotonic() + deadline

    def call(self, what: str, function: Callable[[], Any]) -> Any:
        """Run one SDK call; AccessError (one line) on an error answer or past the deadline."""
        try:
            return within(function, what, self.ends - _now_monotonic())
        except NoAnswer:
            raise AccessError(f"the Scaleway API did not answer {what} within {self.deadline:g} s") from None
        except Exception as error:  # noqa: BLE001 the SDK's errors name the call and the status, never the key
            status = getattr(getattr(error, "response", None), "status_code", None)
            if status == 401:
                raise AccessError(
                    f"the Scaleway API does not know this key (HTTP 401 to {what}): check SCW_ACCESS_KEY and "
                    "SCW_SECRET_KEY in the job's environment"
                ) from None
            if status == 403:
                raise AccessError(
                    f"this Scaleway key may not {what} (HTTP 403): a read-only key cannot open the allow-list, so "
                    + NEEDS_PRIVATE_RUNNER
                ) from None
            if isinstance(status, int) and status >= 500:
                raise AccessError(
                    f"the Scaleway API failed to {what} (HTTP {status}, its side): run the job again"
                ) from None
            if status is None:
                raise AccessError(f"the Scaleway API could not be reached to {what}: {type(error).__name__}") from None
            raise AccessError(f"the Scaleway API refused to {what}: {type(error).__name__} {status}") from None

    def pages(self, what: str, read: Callable[[int], Any], items: str, bound: int) -> list[Any]:
        """Every item of a paged list, page by page within the deadline; AccessError past `bound` items. Never the
        SDK's `*_all`, which follows pages until one comes back empty, without end against an API that keeps
        answering."""
        found: list[Any] = []
        for page in range(1, bound // PAGE_SIZE + 2):
            answer = self.call(what, functools.partial(read, page))
            chunk = list(getattr(answer, items, None) or [])
            found += chunk
            if len(found) > bound:
                raise AccessError(f"the Scaleway API answered more than {bound} items to {what}: refusing to go on")
            total = getattr(answer, "total_count", None)
            if not chunk or len(chunk) < PAGE_SIZE or (isinstance(total, int) and len(found) >= total):
                return found
        return found

    def cluster_id(self, name: str) -> str | None:
        """The id of the project's cluster named exactly `name` in the region, or None when there is none yet."""
        # Scaleway's name filter matches part of a name: every page, then the exact name.
        clusters = self.pages(
            "list the clusters",
            lambda page: self.api.list_clusters(
                region=self.region, project_id=self.project, name=name, page=page, page_size=PAGE_SIZE
            ),
            "clusters",
            MAX_CLUSTERS,
        )
        matches = [c.id for c in clusters if getattr(c, "name", None) == name]
        if len(matches) > 1:
            raise AccessError(
                f"{len(matches)} clusters are named {name} in {self.region}: cannot tell which one to open"
            )
        return matches[0] if matches else None

    def rules(self, cluster: str) -> list[Any]:
        """Every rule of the cluster's live allow-list."""
        return self.pages(
            "list the allow-list",
            lambda page: self.api.list_cluster_acl_rules(
                region=self.region, cluster_id=cluster, page=page, page_size=PAGE_SIZE
            ),
            "rules",
            MAX_RULES,
        )


def _now_monotonic() -> float:
    import time

    return time.monotonic()
