"""How the Scaleway cloud controller (v0.36) parses each annotation, written independently of the renderer.

Each parser takes the annotation text and the service ports, and raises ValueError where the controller
would reject the Service.
"""

from __future__ import annotations

import re
from collections.abc import Callable

GO_DURATION = re.compile(r"^([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$")
GO_BOOLS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}


def duration(text: str, ports: list[int]) -> None:
    if text in ("", "0") or not GO_DURATION.fullmatch(text) or not re.search(r"\d", text):
        raise ValueError(f"time.ParseDuration rejects {text!r}")


def atoi(text: str, ports: list[int]) -> None:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(f"strconv.Atoi rejects {text!r}")


def parse_bool(text: str, ports: list[int]) -> None:
    if text not in GO_BOOLS:
        raise ValueError(f"strconv.ParseBool rejects {text!r}")


def one_of(*allowed: str) -> Callable[[str, list[int]], None]:
    def check(text: str, ports: list[int]) -> None:
        if text not in allowed:
            raise ValueError(f"{text!r} not in {allowed}")

    return check


def port_range(text: str, ports: list[int]) -> None:
    """isPortInRange: '', '*', 'true'/'false' or a comma list of integers."""
    if text in ("", "*") or text in GO_BOOLS:
        return
    for part in text.replace(" ", "").split(","):
        atoi(part, ports)


def per_port(value_check: Callable[[str, list[int]], None]) -> Callable[[str, list[int]], None]:
    """getValueForPort: `value` or `p1:v1;p2,p3:v2`; at most one colon per entry; each port's value must parse."""

    def check(text: str, ports: list[int]) -> None:
        for port in ports:
            value = ""
            for entry in text.split(";"):
                split = entry.split(":")
                if len(split) == 1:
                    value = value or split[0]
                    continue
                if len(split) > 2:
                    raise ValueError(f"{text!r} should be `port1:value1;port2,port3:value2`")
                port_range(split[0], ports)
                if str(port) in split[0].split(",") or split[0] == "*":
                    value = split[1]
            if value:
                value_check(value, ports)

    return check


def anything(text: str, ports: list[int]) -> None:
    return None


def ip_ids(text: str, ports: list[int]) -> None:
    for ident in text.split(","):
        if not re.fullmatch(r"[0-9a-f-]{36}", ident):
            raise ValueError(f"{ident!r} is not a bare IP UUID")


HEALTH_TYPES = one_of("tcp", "http", "https", "mysql", "pgsql", "redis", "ldap")

PARSERS: dict[str, Callable[[str, list[int]], None]] = {
    "forward-port-algorithm": one_of("roundrobin", "leastconn", "first"),
    "sticky-sessions": one_of("none", "cookie", "table"),
    "sticky-sessions-cookie-name": anything,
    "health-check-type": per_port(HEALTH_TYPES),
    "health-check-delay": duration,
    "health-check-timeout": duration,
    "health-transient-check-delay": duration,
    "health-check-max-retries": atoi,
    "health-check-send-proxy": parse_bool,
    "health-check-http-uri": per_port(anything),
    "health-check-http-method": per_port(anything),
    "health-check-http-code": per_port(atoi),
    "health-check-mysql-user": per_port(anything),
    "health-check-pgsql-user": per_port(anything),
    "proxy-protocol-v1": port_range,
    "proxy-protocol-v2": port_range,
    "type": anything,
    "zone": one_of(
        "fr-par-1", "fr-par-2", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2", "pl-waw-3", "it-mil-1"
    ),
    "connection-rate-limit": atoi,
    "enable-access-logs": parse_bool,
    "enable-http3": parse_bool,
    "timeout-client": duration,
    "timeout-server": duration,
    "timeout-connect": duration,
    "timeout-tunnel": duration,
    "timeout-queue": duration,
    "on-marked-down-action": one_of("on_marked_down_action_none", "shutdown_sessions"),
    "force-internal-ip": parse_bool,
    "use-hostname": parse_bool,
    "protocol-http": port_range,
    "http-backend-tls": port_range,
    "http-backend-tls-skip-verify": port_range,
    "certificate-ids": anything,
    "target-node-labels": anything,
    "redispatch-attempt-count": atoi,
    "max-connections": atoi,
    "max-retries": atoi,
    "failover-host": anything,
    "private": parse_bool,
    "externally-managed": parse_bool,
    "ip-ids": ip_ids,
    "ip-mode": one_of("Proxy", "VIP"),
    "ssl-compatibility-level": one_of(
        "ssl_compatibility_level_intermediate", "ssl_compatibility_level_modern", "ssl_compatibility_level_old"
    ),
}
