"""Pool: a Kapsule node pool, fixed or autoscaled, in one zone of its cluster's region."""

from __future__ import annotations

from typing import Any, Literal

import pulumi
from pydantic import Field, field_validator

from .aliases import former_types
from .catalog import minor_offer_problems, version_problem
from .cluster import Cluster
from .cluster_spec import ClusterSpec
from .network import PrivateNetworkSpec
from .node_types import EXTERNAL, load_node_types
from .offers import default_zone, is_kosmos, node_type_problem, zone_problem
from .scaleway import kubernetes
from .spec import GoDuration, KubernetesVersion, Problem, Spec, Tags, check, render_tags
from .versions import pool_problem

#: The largest `max_node_age_days` a pool may declare: a year.
MAX_NODE_AGE_DAYS = 365

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class TaintSpec(Spec):
    """A Kubernetes taint set on every node of the pool."""

    key: str = Field(min_length=1)
    """The taint key."""
    value: str = ""
    """The taint value."""
    effect: TaintEffect
    """`NoSchedule`, `PreferNoSchedule` or `NoExecute`."""


class UpgradePolicySpec(Spec):
    """How many nodes an upgrade may take down and add at once."""

    max_unavailable: int = Field(default=1, ge=0)
    """Nodes an upgrade may take down at once."""
    max_surge: int = Field(default=0, ge=0)
    """Extra nodes an upgrade may add at once."""


class PoolSpec(Spec):
    """A node pool as a stack declares it."""

    node_type: str
    """Instance type (`DEV1-M`, `PRO2-S`, `L4-1-24G`, ...) offered in the pool's zone (components/node_types.json), or `external` for a Kosmos pool of nodes outside Scaleway; `DEV1-S`, `PLAY2-PICO` and `STARDUST*` are too small. A change replaces the pool."""
    zone: str | None = None
    """Zone inside the region (one pool per zone for multi-AZ); the region's first zone when unset."""
    version: KubernetesVersion | None = None
    """The pool's own Kubernetes version (`x.y.z`), only with `cluster.upgrade_pools: false`; never ahead of the cluster, at most three minors behind. Follows the cluster when unset."""
    size: int = Field(ge=0)
    """Node count; with autoscaling, only the size at creation (the autoscaler owns it after)."""
    autoscaling: bool = False
    """Let the cluster autoscaler size the pool between `min_size` and `max_size`."""
    min_size: int | None = Field(default=None, ge=0)
    """Autoscaling lower bound (`min_size <= size <= max_size`); only with `autoscaling`."""
    max_size: int | None = Field(default=None, ge=1)
    """Autoscaling upper bound; only with `autoscaling`."""
    autohealing: bool = False
    """Reboot a node NotReady for 15 minutes, replace it after 30."""
    root_volume_type: Literal["l_ssd", "sbs_5k", "sbs_15k"] | None = None
    """`l_ssd`, `sbs_5k` or `sbs_15k`; Scaleway's when unset. A change replaces the pool."""
    root_volume_size_in_gb: int | None = Field(default=None, ge=20)
    """Root volume size, at least 20; Scaleway's when unset. A change replaces the pool."""
    container_runtime: Literal["containerd"] = "containerd"
    """`containerd`."""
    public_ip_disabled: bool = False
    """Nodes without public IPs; needs `network.public_gateway`. A change replaces the pool."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Kubernetes labels on the nodes."""
    taints: list[TaintSpec] = Field(default_factory=list)
    """Taints on every node."""
    startup_taints: list[TaintSpec] = Field(default_factory=list)
    """Taints set at node start, for an agent to remove once the node is ready."""
    kubelet_args: dict[str, str] = Field(default_factory=dict)
    """Kubelet flags and their values."""
    upgrade_policy: UpgradePolicySpec = Field(default_factory=UpgradePolicySpec)
    """How many nodes an upgrade may take down and add at once."""
    placement_group_id: str | None = None
    """An existing placement group. A change replaces the pool."""
    security_group_id: str | None = None
    """An existing security group."""
    tags: Tags
    """Extra tags for the pool."""
    drain: bool = True
    """Before the pool is deleted (replaced or removed), cordon its nodes and evict their pods through the eviction API, which honours PodDisruptionBudgets; `false` deletes it at once, stopping its workloads."""
    drain_timeout: GoDuration = "30m"
    """The longest the drain may take (a Go duration); past it the pool is not deleted and the update fails, naming the pods and budgets that block."""
    max_node_age_days: int | None = Field(default=None, ge=1, le=MAX_NODE_AGE_DAYS)
    """The oldest a node may grow, in days (Scaleway recommends 30): older nodes are reported by the drift check and replaced by `python -m kapsule rotate`; unset, nodes may grow old."""

    @field_validator("node_type")
    @classmethod
    def _node_type(cls, value: str) -> str:
        problem = node_type_problem(value)
        if problem:
            raise ValueError(f"{value!r} {problem}")
        return value

    def own_problems(self) -> list[Problem]:
        """The spec's own rules (see `pool_problems`)."""
        return pool_problems(self)

    @property
    def most_nodes(self) -> int:
        """The most nodes this pool can hold."""
        return self.max_size if self.autoscaling and self.max_size is not None else self.size

    @property
    def fewest_nodes(self) -> int:
        """The fewest nodes this pool can shrink to."""
        return self.min_size if self.autoscaling and self.min_size is not None else self.size


# longer than 60 lines: the pool's one list of rules (each rule has one home), read top to bottom
def pool_problems(
    spec: PoolSpec,
    cluster: ClusterSpec | None = None,
    *,
    region: str | None = None,
    network: PrivateNetworkSpec | None = None,
) -> list[Problem]:
    """Every problem with a pool spec; with its `cluster`, also those of the pool in that cluster's `region` and `network`."""
    problems: list[Problem] = []
    supported = version_problem(spec.version) if spec.version else None
    if supported:
        problems.append(Problem(("version",), supported))
    if not spec.autoscaling:
        for key in ("min_size", "max_size"):
            if getattr(spec, key) is not None:
                problems.append(
                    Problem((key,), f"is set but autoscaling is false; set autoscaling: true or remove {key}")
                )
    elif spec.min_size is None or spec.max_size is None:
        missing = "min_size" if spec.min_size is None else "max_size"
        problems.append(Problem((missing,), "is required when autoscaling is true"))
    elif spec.min_size > spec.max_size:
        problems.append(
            Problem(
                ("min_size",),
                f"{spec.min_size} is greater than max_size ({spec.max_size}); lower min_size or raise max_size",
            )
        )
    elif not spec.min_size <= spec.size <= spec.max_size:
        problems.append(
            Problem(
                ("size",),
                f"{spec.size} is outside min_size..max_size ({spec.min_size}..{spec.max_size}); "
                "an autoscaled pool needs min_size <= size <= max_size",
            )
        )
    policy = spec.upgrade_policy
    if policy.max_unavailable == 0 and policy.max_surge == 0:
        problems.append(
            Problem(
                ("upgrade_policy", "max_unavailable"),
                "max_unavailable and max_surge are both 0: an upgrade could never proceed",
            )
        )
    if cluster is None:
        return problems
    if spec.version is not None:
        if cluster.upgrade_pools:
            problems.append(
                Problem(
                    ("version",),
                    f"{spec.version!r} is set, but cluster.upgrade_pools is true and pools follow the cluster; "
                    "remove it or set upgrade_pools: false",
                )
            )
        else:
            gap = pool_problem(spec.version, cluster.version)
            if gap:
                problems.append(Problem(("version",), f"{spec.version!r} {gap}"))
    zone = spec.zone and region and zone_problem(spec.zone, region)
    if zone:
        problems.append(Problem(("zone",), zone))
    problems += _offer_problems(spec, cluster, None if zone or region is None else (spec.zone or default_zone(region)))
    if spec.public_ip_disabled and (network is None or network.public_gateway is None):
        problems.append(
            Problem(
                ("public_ip_disabled",),
                "true needs a Public Gateway on the private network: set network.public_gateway",
            )
        )
    return problems


def _offer_problems(spec: PoolSpec, cluster: ClusterSpec, zone: str | None) -> list[Problem]:
    """The node type as Scaleway offers it (in the pool's `zone`, in service, with local storage for `l_ssd`),
    a Kosmos `external` pool, and the kubelet arguments the cluster's minor offers."""
    problems: list[Problem] = []
    if spec.node_type == EXTERNAL:
        if not is_kosmos(cluster.type):
            problems.append(
                Problem(
                    ("node_type",),
                    f"'external' pools join a Kosmos cluster only; cluster.type is {cluster.type!r} "
                    "(use a multicloud type)",
                )
            )
    else:
        table = load_node_types()
        for key, problem in (
            ("node_type", table.service_problem(spec.node_type)),
            ("zone", zone and table.zones_problem(spec.node_type, zone)),
            ("root_volume_type", spec.root_volume_type == "l_ssd" and table.local_storage_problem(spec.node_type)),
        ):
            if problem:
                problems.append(Problem((key,), problem))
    if not version_problem(spec.version or cluster.version):
        offered = {"kubelet_args": list(spec.kubelet_args)}
        problems += [
            Problem((key,), problem) for key, problem in minor_offer_problems(spec.version or cluster.version, offered)
        ]
    return problems


class Pool(pulumi.ComponentResource):
    """A node pool of a Cluster; an autoscaled pool leaves its live size to the autoscaler."""

    TYPE = "kapsule:pool:Pool"
    #: Earlier type tokens: their aliases keep deployed stacks from replacing this component (see UPGRADE.md).
    FORMER_TYPES = ("kapsule:cluster:Pool",)

    id: pulumi.Output[str]
    """The pool id (`<region>/<uuid>`)."""
    version: pulumi.Output[str]
    """The Kubernetes version the pool's nodes run."""

    # longer than 60 lines: a component constructor registers its children in order, each with parent=self; split, its state would travel between halves
    def __init__(
        self,
        name: str,
        spec: PoolSpec,
        *,
        cluster: Cluster,
        tags: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Build the component; a problem with the spec or its links raises one SpecError before anything is registered.

        Args:
            name: Logical name; Scaleway's pool name is generated from it.
            spec: The pool's plain values.
            cluster: The Cluster the pool belongs to; declare every pool before using `cluster.provider`.
            tags: Tags added to the pool, below the spec's own.
            opts: Pulumi resource options.
        """
        network = cluster.network.spec if cluster.network is not None else None
        check(f"Pool {name}", pool_problems(spec, cluster=cluster.spec, region=cluster.region, network=network))
        zone = spec.zone or default_zone(cluster.region)

        # The maximum node age is no Scaleway input: it is the component's own, where the policy pack reads it.
        props = {"maxNodeAgeDays": spec.max_node_age_days} if spec.max_node_age_days is not None else None
        super().__init__(self.TYPE, name, props, former_types(opts, self.FORMER_TYPES))
        self.spec = spec
        self.zone = zone
        self.cluster = cluster

        def taints(items: list[TaintSpec], args: type) -> list[Any] | None:
            return [args(key=t.key, value=t.value, effect=t.effect) for t in items] or None

        self.pool = kubernetes.Pool(
            name,
            cluster_id=cluster.id,
            region=cluster.region,
            zone=zone,
            node_type=spec.node_type,
            version=spec.version,
            size=spec.size,
            autoscaling=spec.autoscaling,
            min_size=spec.min_size,
            max_size=spec.max_size,
            autohealing=spec.autohealing,
            container_runtime=spec.container_runtime,
            root_volume_type=spec.root_volume_type,
            root_volume_size_in_gb=spec.root_volume_size_in_gb,
            public_ip_disabled=spec.public_ip_disabled,
            labels=spec.labels or None,
            taints=taints(spec.taints, kubernetes.PoolTaintArgs),
            startup_taints=taints(spec.startup_taints, kubernetes.PoolStartupTaintArgs),
            kubelet_args=spec.kubelet_args or None,
            upgrade_policy=kubernetes.PoolUpgradePolicyArgs(
                max_unavailable=spec.upgrade_policy.max_unavailable,
                max_surge=spec.upgrade_policy.max_surge,
            ),
            placement_group_id=spec.placement_group_id,
            security_group_id=spec.security_group_id,
            tags=render_tags(tags or {}, spec.tags),
            wait_for_pool_ready=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                # With autoscaling on, the autoscaler owns the live size: `size` only seeds the pool.
                ignore_changes=["size"] if spec.autoscaling else None,
                # Drain before delete: the cluster's hook, which reads this pool's drain settings (components/drain.py).
                hooks=pulumi.ResourceHookBinding(before_delete=[cluster.drain_hook]),
            ),
        )
        self.id = self.pool.id
        self.version = self.pool.version
        cluster.drain_settings[name] = (spec.drain, spec.drain_timeout)
        cluster.attach(self)
        self.register_outputs({"id": self.id, "version": self.version})

    @property
    def name(self) -> str:
        """The pool's logical name."""
        return self._name
