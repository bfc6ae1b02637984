"""ClusterSpec: a Kapsule or Kosmos control plane's plain values, and the problems of a spec and its links."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from .api_access import ApiAccessSpec, api_access_problems
from .catalog import minor_offer_problems, version_problem
from .network import PrivateNetworkSpec
from .offers import KAPSULE_CNIS, KOSMOS_CNIS, MAX_NODES, is_kosmos, region_problem
from .spec import GoDuration, IPv4Address, IPv4Cidr, KubernetesVersion, Problem, Spec, Tags
from .versions import Version

#: The control plane types, from the catalog of what each accepts.
if TYPE_CHECKING:
    ClusterType = str  # the checker cannot read a Literal built at run time
else:
    ClusterType = Literal[tuple(MAX_NODES)]
Weekday = Literal["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
#: A cluster name Kubernetes tooling is happy with: lower case letters, digits and dashes.
CLUSTER_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?")


class AutoUpgradeSpec(Spec):
    """Automatic patch upgrades in a weekly two-hour maintenance window."""

    enabled: bool = False
    """Apply patch releases automatically (the version is then `x.y`)."""
    maintenance_window_day: Weekday = "any"
    """`any` or a weekday (`monday` .. `sunday`)."""
    maintenance_window_start_hour: int = Field(default=0, ge=0, le=23)
    """Start of the two-hour window, 0-23 (UTC)."""


class AutoscalerSpec(Spec):
    """The cluster autoscaler's settings (all changed in place); unset keys keep Scaleway's defaults."""

    disable_scale_down: bool | None = None
    """Never remove nodes (Scaleway's default: `false`)."""
    scale_down_delay_after_add: GoDuration | None = None
    """Go duration before scale-down after a scale-up (Scaleway's default: `10m`)."""
    scale_down_unneeded_time: GoDuration | None = None
    """Go duration a node must be unneeded before it is removed."""
    estimator: Literal["binpacking"] | None = None
    """`binpacking`."""
    expander: Literal["random", "most_pods", "least_waste", "priority", "price"] | None = None
    """`random`, `most_pods`, `least_waste`, `priority` or `price`."""
    ignore_daemonsets_utilization: bool | None = None
    """Ignore DaemonSet pods when deciding scale-down."""
    balance_similar_node_groups: bool | None = None
    """Keep similar pools at similar sizes."""
    expendable_pods_priority_cutoff: int | None = None
    """Pods below this priority do not trigger a scale-up (Scaleway's default: `-10`)."""
    scale_down_utilization_threshold: float | None = Field(default=None, gt=0, le=1)
    """Utilization in (0, 1] under which a node may be removed (Scaleway's default: `0.5`)."""
    max_graceful_termination_sec: int | None = Field(default=None, ge=0)
    """Seconds to wait for pods when removing a node (Scaleway's default: `600`)."""
    skip_nodes_with_local_storage: bool | None = None
    """Never remove a node running pods with local storage (EmptyDir, HostPath). Set only at creation: a change replaces the cluster."""
    log_level: int | None = Field(default=None, ge=0, le=4)
    """The autoscaler's log verbosity, 0 (least) to 4 (most)."""


class OidcSpec(Spec):
    """OpenID Connect login to the API server."""

    issuer_url: str = Field(pattern=r"^https://\S+$")
    """The issuer, an `https://` URL."""
    client_id: str = Field(min_length=1)
    """The client id tokens must be issued for."""
    username_claim: str | None = None
    """The claim that names the user."""
    username_prefix: str | None = None
    """Prefix added to user names."""
    groups_claims: list[str] = Field(default_factory=list)
    """The claims that list the user's groups."""
    groups_prefix: str | None = None
    """Prefix added to group names."""
    required_claims: list[str] = Field(default_factory=list)
    """Claims every token must carry."""


class ClusterSpec(Spec):
    """A Kapsule control plane as a stack declares it."""

    name: str
    """The cluster name (lower case letters, digits, dashes); renaming redeploys the control plane."""
    type: ClusterType = "kapsule"
    """Control plane: `kapsule` (shared, 150 nodes), `kapsule-dedicated-4` (250), `-8` and `-16` (500); `multicloud` and `multicloud-dedicated-*` for Kosmos. Moving up in a family is in place; anything else replaces the cluster."""
    version: KubernetesVersion
    """Kubernetes version: `x.y` with auto-upgrade, `x.y.z` without; checked against the version catalog."""
    cni: Literal["cilium", "cilium_native", "calico", "kilo", "none"] = "cilium"
    """`cilium`, `cilium_native`, `calico`, `none` (Kapsule; `none`: install your own CNI) or `kilo` (Kosmos); it can never change on an existing cluster."""
    delete_additional_resources: bool
    """Whether deleting the cluster also deletes the volumes and load balancers Kubernetes created; always explicit."""
    auto_upgrade: AutoUpgradeSpec = Field(default_factory=AutoUpgradeSpec)
    """Automatic patch upgrades in a weekly maintenance window."""
    upgrade_pools: bool = True
    """Upgrade the pools together with the control plane."""
    autoscaler: AutoscalerSpec = Field(default_factory=AutoscalerSpec)
    """The cluster autoscaler's settings; unset keys keep Scaleway's defaults."""
    oidc: OidcSpec | None = None
    """OpenID Connect login to the API server."""
    feature_gates: list[str] = Field(default_factory=list)
    """Kubernetes feature gates to enable."""
    admission_plugins: list[str] = Field(default_factory=list)
    """Extra admission plugins."""
    apiserver_cert_sans: list[str] = Field(default_factory=list)
    """Extra names in the API server certificate."""
    pod_cidr: IPv4Cidr | None = None
    """Pod range; set only at creation (a change replaces the cluster). Scaleway's when unset."""
    service_cidr: IPv4Cidr | None = None
    """Service range; set only at creation (a change replaces the cluster). Scaleway's when unset."""
    service_dns_ip: IPv4Address | None = None
    """The cluster DNS Service IP, inside `service_cidr`; set only at creation."""
    description: str | None = None
    """Free text."""
    tags: Tags
    """Extra tags for the cluster."""
    protect: bool = False
    """Pulumi `protect` on the cluster."""
    api_access: ApiAccessSpec | None = None
    """Who may reach the API server (its allow-list, or full isolation); unset: Scaleway's default, open to every address."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not CLUSTER_NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} must be 1 to 100 lower case letters, digits and dashes, not starting or ending with a dash"
            )
        return value

    @field_validator("cni", mode="before")
    @classmethod
    def _legacy_cni(cls, value: object) -> object:
        if value in ("weave", "flannel"):
            raise ValueError(
                f"{value!r} is a legacy CNI Kapsule no longer offers; use one of {', '.join(KAPSULE_CNIS)}"
            )
        return value

    def own_problems(self) -> list[Problem]:
        """The spec's own rules (see `cluster_problems`)."""
        return cluster_problems(self, linked=False)

    @property
    def minor(self) -> tuple[int, int]:
        """The (major, minor) the version names."""
        version = Version.parse(self.version)
        return version.major, version.minor

    @property
    def max_nodes(self) -> int:
        """How many nodes this control plane type accepts."""
        return MAX_NODES[self.type]


# longer than 60 lines: the control plane's one list of rules (each rule has one home), read top to bottom
def cluster_problems(
    spec: ClusterSpec,
    *,
    network: PrivateNetworkSpec | None = None,
    region: str | None = None,
    network_region: str | None = None,
    linked: bool = True,
) -> list[Problem]:
    """Every problem with a cluster spec and, when `linked`, with its private network (or none) and region."""
    problems: list[Problem] = []
    allowed = KOSMOS_CNIS if is_kosmos(spec.type) else KAPSULE_CNIS
    if spec.cni not in allowed:
        problems.append(
            Problem(("cni",), f"{spec.cni!r} is not offered on a {spec.type} cluster; allowed: {', '.join(allowed)}")
        )
    supported = version_problem(spec.version)
    if supported:
        problems.append(Problem(("version",), supported))
    else:
        offered: dict[str, list[str]] = {
            "feature_gates": spec.feature_gates,
            "admission_plugins": spec.admission_plugins,
            "cni": [spec.cni],
        }
        problems += [Problem((key,), problem) for key, problem in minor_offer_problems(spec.version, offered)]
    pinned = Version.parse(spec.version).patch is not None
    if spec.auto_upgrade.enabled and pinned:
        minor = ".".join(spec.version.split(".")[:2])
        problems.append(
            Problem(
                ("version",),
                f"{spec.version!r} pins a patch, but auto_upgrade.enabled is true: write the minor only ({minor!r}) "
                "and let Scaleway apply patches",
            )
        )
    if not spec.auto_upgrade.enabled and not pinned:
        problems.append(
            Problem(
                ("version",),
                f"{spec.version!r} names a minor only, which Scaleway accepts only with auto_upgrade.enabled true; "
                "pin a patch such as '1.35.2' or enable auto_upgrade",
            )
        )
    if (
        spec.service_dns_ip
        and spec.service_cidr
        and ipaddress.IPv4Address(spec.service_dns_ip) not in ipaddress.IPv4Network(spec.service_cidr)
    ):
        problems.append(
            Problem(("service_dns_ip",), f"{spec.service_dns_ip} is not inside service_cidr {spec.service_cidr}")
        )
    if spec.api_access is not None:
        problems += [p.below("api_access") for p in api_access_problems(spec.api_access, cluster_type=spec.type)]
    if not linked:
        return problems
    if is_kosmos(spec.type):
        if network is not None:
            problems.append(
                Problem((), f"is forbidden for a Kosmos cluster (cluster.type {spec.type!r})", link="network")
            )
        if region is None:
            problems.append(Problem((), f"is required for a Kosmos ({spec.type}) cluster", link="region"))
    elif network is None:
        problems.append(
            Problem(
                (),
                f"is required for a {spec.type} cluster: Scaleway attaches Kapsule to a private network",
                link="network",
            )
        )
    if region is not None and network_region is not None and region != network_region:
        problems.append(Problem((), f"{region!r} differs from the network's region {network_region!r}", link="region"))
    where = region or network_region
    wrong_region = region_problem(where) if where else None
    if wrong_region:
        problems.append(Problem((), wrong_region, link="region"))
    return problems
