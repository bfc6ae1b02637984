"""LoadBalancerSpec: a Scaleway load balancer as the cloud controller's annotations describe it, and its
validator. Shared by LoadBalancerService and IngressController. Pure: no Pulumi runtime."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from .annotations import ANNOTATIONS, CONTROLLER_KEYS, DEPRECATED_KEYS, PREFIX, TYPED_KEYS, Annotation
from .offers import load_balancer_type_problem, load_balancer_zone_problem
from .spec import GoDuration, Problem, Spec

HealthCheckType = Literal["tcp", "http", "https", "mysql", "pgsql", "redis", "ldap"]
#: `80`, `443,8443`: the ports a per-port value applies to.
PORT_LIST = re.compile(r"[0-9]{1,5}(,[0-9]{1,5})*")
#: A port selection: every port (`"*"`), or the listed service ports.
Ports = Literal["*"] | list[int]


def _per_port(value: object, what: str) -> object:
    """Check a `{ports: value}` mapping's keys; plain values pass through."""
    if isinstance(value, dict):
        if not value:
            raise ValueError(f"per-port {what} needs at least one `ports: value` entry")
        for ports in value:
            if not PORT_LIST.fullmatch(ports):
                raise ValueError(f"{ports!r} is not a port list such as '80' or '443,8443'")
    return value


class HealthCheckSpec(Spec):
    """How the load balancer decides a node is down.

    The defaults are tighter than the controller's (5s delay, 5s timeout, 5 retries: ~25s to notice a
    dead node) so that a node drained by a rolling upgrade leaves the pool in ~4s, before requests time out.
    """

    type: HealthCheckType | dict[str, HealthCheckType] = "tcp"
    """`tcp`, `http`, `https`, `mysql`, `pgsql`, `redis`, `ldap`, or per port: `{"80": http, "443,8443": https}`."""
    delay: GoDuration = "2s"
    """Go duration between checks."""
    timeout: GoDuration = "2s"
    """Go duration a check may take."""
    max_retries: int = Field(default=2, ge=1)
    """Failed checks before a node is down."""
    transient_delay: GoDuration = "0.5s"
    """Go duration before a node coming back is checked again."""
    send_proxy: bool = False
    """Send PROXY protocol with the checks."""
    http_uri: str | dict[str, str] | None = None
    """Path to check; required for `http` and `https`. A value, or per port."""
    http_method: Literal["GET", "HEAD", "POST", "OPTIONS"] | dict[str, str] | None = None
    """`GET`, `HEAD`, `POST` or `OPTIONS`, or per port."""
    http_code: int | dict[str, int] | None = None
    """Expected status code, or per port."""
    mysql_user: str | dict[str, str] | None = None
    """User for a `mysql` check (required with it)."""
    pgsql_user: str | dict[str, str] | None = None
    """User for a `pgsql` check (required with it)."""

    @field_validator("type", "http_uri", "http_method", "http_code", "mysql_user", "pgsql_user")
    @classmethod
    def _ports(cls, value: object) -> object:
        return _per_port(value, "value")

    def types(self) -> set[str]:
        """Every health check type in use, on any port."""
        return set(self.type.values()) if isinstance(self.type, dict) else {self.type}


class ProxyProtocolSpec(Spec):
    """PROXY protocol from the load balancer to the nodes (the backend must expect it)."""

    version: Literal["v1", "v2"] = "v2"
    """`v1` or `v2`."""
    ports: Ports = "*"
    """`"*"` or the service ports that get PROXY protocol."""


class LoadBalancerSpec(Spec):
    """A Scaleway load balancer, as the cloud controller's annotations describe it."""

    type: str | None = Field(default=None, pattern=r"^LB-[A-Z0-9-]+$")
    """Offer such as `LB-S` or `LB-GP-M`; the controller's default (`LB-S`) when unset."""
    zone: str | None = None
    """Zone of the region (not `fr-par-3`); the region's first zone when unset."""
    private: bool = False
    """No public IP."""
    reserve_ip: bool = False
    """Reserve a flexible IP in `zone` and attach it, so the address survives a re-creation of the load balancer."""
    ip_ids: list[str] = Field(default_factory=list)
    """Existing flexible IP ids to attach, instead of `reserve_ip`."""
    use_hostname: bool = False
    """Publish the load balancer's hostname instead of its IP."""
    forward_port_algorithm: Literal["roundrobin", "leastconn", "first"] | None = None
    """`roundrobin`, `leastconn` or `first`."""
    sticky_sessions: Literal["none", "cookie", "table"] | None = None
    """`none`, `cookie` (needs `sticky_sessions_cookie_name`) or `table`."""
    sticky_sessions_cookie_name: str | None = None
    """Cookie name for `sticky_sessions: cookie`."""
    health_check: HealthCheckSpec = Field(default_factory=HealthCheckSpec)
    """How the load balancer decides a node is down."""
    proxy_protocol: ProxyProtocolSpec | None = None
    """PROXY protocol to the nodes (replaces the deprecated `send-proxy-v2`)."""
    protocol_http: Ports | None = None
    """`"*"` or the ports forwarded as HTTP."""
    http_backend_tls: Ports | None = None
    """`"*"` or the ports whose backends speak TLS."""
    http_backend_tls_skip_verify: Ports | None = None
    """`"*"` or the ports whose backend certificates are not verified; needs `http_backend_tls`."""
    certificate_ids: list[str] | dict[str, list[str]] | None = None
    """Certificate ids, or per port: `{"443": [id1, id2]}`."""
    ssl_compatibility_level: (
        Literal["ssl_compatibility_level_intermediate", "ssl_compatibility_level_modern", "ssl_compatibility_level_old"]
        | None
    ) = None
    """`ssl_compatibility_level_intermediate`, `_modern` or `_old`."""
    timeout_client: GoDuration | None = None
    """Go duration (`30s`, never a bare number)."""
    timeout_server: GoDuration | None = None
    """Go duration."""
    timeout_connect: GoDuration | None = None
    """Go duration."""
    timeout_tunnel: GoDuration | None = None
    """Go duration."""
    timeout_queue: GoDuration | None = None
    """Go duration."""
    on_marked_down_action: Literal["on_marked_down_action_none", "shutdown_sessions"] | None = None
    """`on_marked_down_action_none` or `shutdown_sessions`."""
    redispatch_attempt_count: int | None = Field(default=None, ge=0)
    """Retries on another backend."""
    max_retries: int | None = Field(default=None, ge=0)
    """Retries before a backend is marked down."""
    max_connections: int | None = Field(default=None, ge=1)
    """Connection limit per backend."""
    connection_rate_limit: int | None = Field(default=None, ge=0)
    """New connections per second."""
    enable_access_logs: bool = False
    """Access logs."""
    enable_http3: bool = False
    """HTTP/3."""
    force_internal_ip: bool = False
    """Route to the nodes' private IPs."""
    target_node_labels: dict[str, str] = Field(default_factory=dict)
    """Only nodes with these labels are backends."""
    failover_host: str | None = None
    """An Object Storage website served when every backend is down."""
    ip_mode: Literal["Proxy", "VIP"] | None = None
    """`Proxy` or `VIP`."""
    extra_annotations: dict[str, str] = Field(default_factory=dict)
    """Escape hatch for controller keys the spec does not model yet; a `scw-loadbalancer-*` key the controller does not define is warned about, and keys the spec models, the deprecated `send-proxy-v2` and the controller-written `id` are refused."""

    def own_problems(self) -> list[Problem]:
        """The spec's own rules (see `load_balancer_problems`)."""
        return load_balancer_problems(self)

    @field_validator("certificate_ids")
    @classmethod
    def _certificates(cls, value: object) -> object:
        return _per_port(value, "certificate list")

    @field_validator("extra_annotations")
    @classmethod
    def _extra(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            suffix = key[len(PREFIX) :] if key.startswith(PREFIX) else None
            if suffix == "id":
                raise ValueError(f"{key!r} is written by the cloud controller; never set it")
            if suffix in DEPRECATED_KEYS:
                raise ValueError(f"{key!r} is deprecated; use {PREFIX + DEPRECATED_KEYS[suffix]!r} (proxy_protocol)")
            if suffix in TYPED_KEYS:
                raise ValueError(f"{key!r} is set by the spec key {TYPED_KEYS[suffix]!r}; use that instead")
        return value


def load_balancer_problems(
    spec: LoadBalancerSpec, *, region: str | None = None, ports: list[int] | None = None
) -> list[Problem]:
    """Every problem with a load balancer spec; its zone against `region` and its port selections against the
    Service's `ports`, when they are known."""
    problems: list[Problem] = []
    offer = load_balancer_type_problem(spec.type) if spec.type else None
    if offer:
        problems.append(Problem(("type",), f"{spec.type!r} {offer}"))
    types = spec.health_check.types()
    health = spec.health_check
    if types & {"http", "https"} and health.http_uri is None:
        problems.append(
            Problem(("health_check", "http_uri"), "is required with an http or https health check (such as '/healthz')")
        )
    if "mysql" in types and health.mysql_user is None:
        problems.append(Problem(("health_check", "mysql_user"), "is required with a mysql health check"))
    if "pgsql" in types and health.pgsql_user is None:
        problems.append(Problem(("health_check", "pgsql_user"), "is required with a pgsql health check"))
    if spec.sticky_sessions == "cookie" and not spec.sticky_sessions_cookie_name:
        problems.append(Problem(("sticky_sessions_cookie_name",), "is required when sticky_sessions is 'cookie'"))
    if spec.sticky_sessions_cookie_name and spec.sticky_sessions != "cookie":
        problems.append(Problem(("sticky_sessions_cookie_name",), "is only used with sticky_sessions: cookie"))
    if spec.reserve_ip and spec.ip_ids:
        problems.append(Problem(("ip_ids",), "and reserve_ip both give the address: keep one"))
    if spec.private and (spec.reserve_ip or spec.ip_ids):
        problems.append(Problem(("private",), "a private load balancer has no public IP: drop reserve_ip and ip_ids"))
    if spec.http_backend_tls_skip_verify is not None and spec.http_backend_tls is None:
        problems.append(Problem(("http_backend_tls_skip_verify",), "needs http_backend_tls"))
    zone = spec.zone and region and load_balancer_zone_problem(spec.zone, region)
    if zone:
        problems.append(Problem(("zone",), zone))
    if ports is not None:
        for key, selection in (
            ("proxy_protocol", spec.proxy_protocol.ports if spec.proxy_protocol else None),
            ("protocol_http", spec.protocol_http),
            ("http_backend_tls", spec.http_backend_tls),
        ):
            unknown = sorted(set(selection) - set(ports)) if isinstance(selection, list) else []
            if unknown:
                problems.append(Problem((key,), f"names ports {unknown} the Service does not expose ({ports})"))
    return problems


def _ports(value: Ports) -> str:
    return "*" if value == "*" else ",".join(str(p) for p in value)


def _per_port_text(value: object) -> str:
    if isinstance(value, dict):
        return ";".join(f"{ports}:{_scalar(v)}" for ports, v in value.items())
    return _scalar(value)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _text(annotation: Annotation, value: object) -> str | None:
    """The annotation text of a spec value, or None when the annotation is left out."""
    kind = annotation.kind
    if kind == "flag":
        return "true" if value else None
    if value is None or value == [] or value == {}:
        return None
    if kind == "ports":
        return _ports(value)  # type: ignore[arg-type]  # a `ports` annotation's field holds Ports
    if kind == "per_port":
        return _per_port_text(value)
    if kind == "proxy":
        return _ports(value.ports) if annotation.key.endswith(value.version) else None  # type: ignore[attr-defined]  # a `proxy` field holds a ProxyProtocol
    if kind == "certificates" and isinstance(value, dict):
        return ";".join(f"{ports}:{','.join(ids)}" for ports, ids in value.items())
    if kind == "labels":
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))  # type: ignore[attr-defined]  # a `labels` field holds a dict
    return _scalar(value)


def render_annotations(spec: LoadBalancerSpec, ip_ids: list[str] | None = None) -> dict[str, str]:
    """The Service annotations for a spec; `ip_ids` are reserved IPs made by the component (`reserve_ip`)."""
    annotations: dict[str, str] = {}
    for annotation in ANNOTATIONS:
        value: object = spec
        for part in annotation.field:
            value = getattr(value, part)
        if annotation.key == "ip-ids":
            value = [*spec.ip_ids, *(ip_ids or [])]
        text = _text(annotation, value)
        if text is not None:
            annotations[PREFIX + annotation.key] = text
    annotations.update(spec.extra_annotations)
    return dict(sorted(annotations.items()))


def unknown_annotations(spec: LoadBalancerSpec) -> list[str]:
    """Escape-hatch keys in the controller's prefix that it does not define: it would silently ignore them."""
    return sorted(
        key for key in spec.extra_annotations if key.startswith(PREFIX) and key[len(PREFIX) :] not in CONTROLLER_KEYS
    )
