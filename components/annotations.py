"""The Scaleway cloud controller's LoadBalancer annotations: the keys it reads, the table that maps each
load balancer spec field to its annotation (`load_balancer_spec.py` renders a spec through it). Pure data: no Pulumi runtime."""

from __future__ import annotations

from typing import Literal, NamedTuple

PREFIX = "service.beta.kubernetes.io/scw-loadbalancer-"

#: Every annotation suffix the controller reads (CCM v0.36), and `id`, which it writes itself.
CONTROLLER_KEYS: frozenset[str] = frozenset(
    {
        "id", "forward-port-algorithm", "sticky-sessions", "sticky-sessions-cookie-name",
        "health-check-type", "health-check-delay", "health-check-send-proxy", "health-transient-check-delay",
        "health-check-timeout", "health-check-max-retries", "health-check-http-uri", "health-check-http-method",
        "health-check-http-code", "health-check-mysql-user", "health-check-pgsql-user", "send-proxy-v2",
        "proxy-protocol-v1", "proxy-protocol-v2", "type", "zone", "connection-rate-limit", "enable-access-logs",
        "enable-http3", "timeout-client", "timeout-server", "timeout-connect", "timeout-tunnel", "timeout-queue",
        "on-marked-down-action", "force-internal-ip", "use-hostname", "protocol-http", "http-backend-tls",
        "http-backend-tls-skip-verify", "certificate-ids", "target-node-labels", "redispatch-attempt-count",
        "max-connections", "max-retries", "failover-host", "private", "externally-managed", "ip-ids", "ip-mode",
        "ssl-compatibility-level",
    }
)  # fmt: skip
#: Written back by the controller: never set by the program, ignored in diffs.
CONTROLLER_WRITTEN_ANNOTATION = PREFIX + "id"
CONTROLLER_WRITTEN_LABELS: tuple[str, ...] = (
    "k8s.scaleway.com/cluster",
    "k8s.scaleway.com/kapsule",
    "k8s.scaleway.com/managed-by-scaleway-cloud-controller-manager",
)
#: Deprecated keys and their successors.
DEPRECATED_KEYS: dict[str, str] = {"send-proxy-v2": "proxy-protocol-v2"}

#: How a spec value is written as annotation text.
Kind = Literal["text", "flag", "ports", "per_port", "certificates", "labels", "proxy"]


class Annotation(NamedTuple):
    """One controller annotation: its key after PREFIX, the spec field it is rendered from, and how."""

    key: str
    field: tuple[str, ...]
    kind: Kind
    also: tuple[str, ...] = ()
    """Other spec keys that feed the annotation (`reserve_ip` adds the IP it reserves to `ip-ids`)."""


#: Every annotation the spec renders, and the field it comes from. It drives both `render_annotations` and
#: `TYPED_KEYS`, the keys the escape hatch may not set. `ip-ids` also carries the IPs `reserve_ip` makes.
ANNOTATIONS: tuple[Annotation, ...] = (
    Annotation("type", ("type",), "text"),
    Annotation("zone", ("zone",), "text"),
    Annotation("private", ("private",), "flag"),
    Annotation("ip-ids", ("ip_ids",), "text", also=("reserve_ip",)),
    Annotation("use-hostname", ("use_hostname",), "flag"),
    Annotation("forward-port-algorithm", ("forward_port_algorithm",), "text"),
    Annotation("sticky-sessions", ("sticky_sessions",), "text"),
    Annotation("sticky-sessions-cookie-name", ("sticky_sessions_cookie_name",), "text"),
    Annotation("health-check-type", ("health_check", "type"), "per_port"),
    Annotation("health-check-delay", ("health_check", "delay"), "text"),
    Annotation("health-check-timeout", ("health_check", "timeout"), "text"),
    Annotation("health-check-max-retries", ("health_check", "max_retries"), "text"),
    Annotation("health-transient-check-delay", ("health_check", "transient_delay"), "text"),
    Annotation("health-check-send-proxy", ("health_check", "send_proxy"), "flag"),
    Annotation("health-check-http-uri", ("health_check", "http_uri"), "per_port"),
    Annotation("health-check-http-method", ("health_check", "http_method"), "per_port"),
    Annotation("health-check-http-code", ("health_check", "http_code"), "per_port"),
    Annotation("health-check-mysql-user", ("health_check", "mysql_user"), "per_port"),
    Annotation("health-check-pgsql-user", ("health_check", "pgsql_user"), "per_port"),
    Annotation("proxy-protocol-v1", ("proxy_protocol",), "proxy"),
    Annotation("proxy-protocol-v2", ("proxy_protocol",), "proxy"),
    Annotation("protocol-http", ("protocol_http",), "ports"),
    Annotation("http-backend-tls", ("http_backend_tls",), "ports"),
    Annotation("http-backend-tls-skip-verify", ("http_backend_tls_skip_verify",), "ports"),
    Annotation("certificate-ids", ("certificate_ids",), "certificates"),
    Annotation("ssl-compatibility-level", ("ssl_compatibility_level",), "text"),
    Annotation("timeout-client", ("timeout_client",), "text"),
    Annotation("timeout-server", ("timeout_server",), "text"),
    Annotation("timeout-connect", ("timeout_connect",), "text"),
    Annotation("timeout-tunnel", ("timeout_tunnel",), "text"),
    Annotation("timeout-queue", ("timeout_queue",), "text"),
    Annotation("on-marked-down-action", ("on_marked_down_action",), "text"),
    Annotation("redispatch-attempt-count", ("redispatch_attempt_count",), "text"),
    Annotation("max-retries", ("max_retries",), "text"),
    Annotation("max-connections", ("max_connections",), "text"),
    Annotation("connection-rate-limit", ("connection_rate_limit",), "text"),
    Annotation("enable-access-logs", ("enable_access_logs",), "flag"),
    Annotation("enable-http3", ("enable_http3",), "flag"),
    Annotation("force-internal-ip", ("force_internal_ip",), "flag"),
    Annotation("target-node-labels", ("target_node_labels",), "labels"),
    Annotation("failover-host", ("failover_host",), "text"),
    Annotation("ip-mode", ("ip_mode",), "text"),
)

#: Controller keys the spec renders, and the spec key to use instead of the escape hatch.
TYPED_KEYS: dict[str, str] = {a.key: " / ".join([".".join(a.field), *a.also]) for a in ANNOTATIONS}
