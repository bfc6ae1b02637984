"""IngressController: ingress-nginx or Traefik from its Helm chart, exposed by a LoadBalancerService."""

from __future__ import annotations

import copy
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from .aliases import former_types
from .cluster import Cluster
from .load_balancer import DNS_LABEL, LoadBalancerService, LoadBalancerServiceSpec, ServicePortSpec
from .load_balancer_spec import LoadBalancerSpec, ProxyProtocolSpec, load_balancer_problems
from .spec import IPv4Cidr, Problem, Spec, check

#: Where each controller's chart lives, the labels on its pods, and its HTTP/HTTPS container ports.
CHARTS: dict[str, dict[str, Any]] = {
    "ingress-nginx": {
        "repo": "https://kubernetes.github.io/ingress-nginx",
        "chart": "ingress-nginx",
        "target_ports": ("http", "https"),
    },
    "traefik": {
        "repo": "https://traefik.github.io/charts",
        "chart": "traefik",
        "target_ports": ("web", "websecure"),
    },
}


class IngressSpec(Spec):
    """The stack's ingress controller; `none` installs nothing."""

    controller: Literal["none", "ingress-nginx", "traefik"] = "none"
    """`none`, `ingress-nginx` or `traefik`, installed from its Helm chart."""
    chart_version: str | None = Field(default=None, pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")
    """The Helm chart version, pinned; required unless `none`."""
    namespace: str = Field(default="ingress", pattern=DNS_LABEL)
    """Namespace the controller is installed in (created by the stack)."""
    replicas: int = Field(default=2, ge=1)
    """Controller replicas."""
    proxy_protocol: bool = False
    """PROXY protocol v2 from the load balancer, turned on in the controller too, with health checks that send it."""
    proxy_protocol_trusted_ips: list[IPv4Cidr] = Field(default_factory=lambda: ["0.0.0.0/0"])
    """Traefik only: sources allowed to send PROXY headers."""
    load_balancer: LoadBalancerSpec = Field(default_factory=LoadBalancerSpec)
    """The controller's load balancer; its `proxy_protocol` is refused here (use `ingress.proxy_protocol`)."""
    values: dict[str, Any] = Field(default_factory=dict)
    """Extra Helm values, merged over the spec's; keys the spec owns (the chart's Service, replicas, PROXY settings, the published Service) are refused."""

    def own_problems(self) -> list[Problem]:
        """The spec's own rules (see `ingress_problems`)."""
        return ingress_problems(self)


def ingress_problems(spec: IngressSpec, *, region: str | None = None) -> list[Problem]:
    """Every problem with an ingress spec, on a cluster in `region` when given; `none` has none."""
    if spec.controller == "none":
        return []
    problems: list[Problem] = []
    if spec.chart_version is None:
        problems.append(Problem(("chart_version",), f"is required for {spec.controller}: pin the Helm chart version"))
    if spec.load_balancer.proxy_protocol is not None:
        problems.append(
            Problem(
                ("load_balancer", "proxy_protocol"),
                "is set from ingress.proxy_protocol, so the load balancer and the controller always agree; use that",
            )
        )
    for path in _owned_values(spec.controller):
        if _lookup(spec.values, path) is not None:
            problems.append(
                Problem(
                    ("values", *path), "is set by this spec (replicas, proxy_protocol, the Service); use those keys"
                )
            )
    arguments = spec.values.get("additionalArguments") if spec.controller == "traefik" else None
    for index, arg in enumerate(arguments if isinstance(arguments, list) else []):
        if str(arg).startswith(TRAEFIK_PUBLISHED_SERVICE):
            problems.append(
                Problem(
                    ("values", "additionalArguments", index),
                    "is set by this spec: the LoadBalancerService's address is published",
                )
            )
    problems += [p.below("load_balancer") for p in load_balancer_problems(spec.load_balancer, region=region)]
    return problems


def _owned_values(controller: str) -> list[tuple[str, ...]]:
    if controller == "ingress-nginx":
        return [
            ("controller", "service"),
            ("controller", "replicaCount"),
            ("controller", "config", "use-proxy-protocol"),
            ("controller", "publishService"),
            ("controller", "extraArgs", "publish-service"),
        ]
    return [
        ("service",),
        ("deployment", "replicas"),
        ("ports", "web", "proxyProtocol"),
        ("ports", "websecure", "proxyProtocol"),
        ("providers", "kubernetesIngress", "publishedService"),
    ]


def _lookup(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(values, dict) or key not in values:
            return None
        values = values[key]
    return values


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        merged[key] = (
            _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


#: Traefik's flag that copies a Service's load balancer address into every Ingress status.
TRAEFIK_PUBLISHED_SERVICE = "--providers.kubernetesingress.ingressendpoint.publishedservice"


def chart_values(spec: IngressSpec, service: str) -> dict[str, Any]:
    """Helm values: the chart's own Service off (a LoadBalancerService replaces it), PROXY protocol on both sides.

    `service` (`<namespace>/<name>`) is that LoadBalancerService. Both charts publish only their own
    Service's address into Ingress status, so the controller is told about ours with its own flag:
    external-dns and anything else that reads Ingress status then sees the load balancer's address.
    """
    if spec.controller == "ingress-nginx":
        values: dict[str, Any] = {
            "controller": {
                "replicaCount": spec.replicas,
                "service": {"enabled": False},
                "ingressClassResource": {"default": True},
                "config": {"use-proxy-protocol": "true" if spec.proxy_protocol else "false"},
                "extraArgs": {"publish-service": service},
            }
        }
        return _merge(values, spec.values)
    proxy = {"trustedIPs": list(spec.proxy_protocol_trusted_ips)} if spec.proxy_protocol else None
    values = {
        "deployment": {"replicas": spec.replicas},
        "service": {"enabled": False},
        "ingressClass": {"enabled": True, "isDefaultClass": True},
        "ports": {"web": {"proxyProtocol": proxy}, "websecure": {"proxyProtocol": proxy}} if proxy else {},
    }
    merged = _merge(values, spec.values)
    given = spec.values.get("additionalArguments")
    extra = (
        [arg for arg in given if not str(arg).startswith(TRAEFIK_PUBLISHED_SERVICE)] if isinstance(given, list) else []
    )
    merged["additionalArguments"] = [f"{TRAEFIK_PUBLISHED_SERVICE}={service}", *extra]
    return merged


def pod_selector(controller: str, release: str, namespace: str) -> dict[str, str]:
    """The labels the chart puts on its controller pods."""
    if controller == "ingress-nginx":
        return {
            "app.kubernetes.io/name": "ingress-nginx",
            "app.kubernetes.io/instance": release,
            "app.kubernetes.io/component": "controller",
        }
    return {"app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": f"{release}-{namespace}"}


def service_spec(spec: IngressSpec, release: str) -> LoadBalancerServiceSpec:
    """The controller's LoadBalancer Service: ports 80/443, PROXY protocol matching the chart values."""
    http, https = CHARTS[spec.controller]["target_ports"]
    lb = spec.load_balancer
    if spec.proxy_protocol:
        # The backend expects PROXY on every connection, health checks included.
        lb = lb.model_copy(
            update={
                "proxy_protocol": ProxyProtocolSpec(version="v2", ports="*"),
                "health_check": lb.health_check.model_copy(update={"send_proxy": True}),
            }
        )
    return LoadBalancerServiceSpec(
        namespace=spec.namespace,
        selector=pod_selector(spec.controller, release, spec.namespace),
        ports=[
            ServicePortSpec(name="http", port=80, target_port=http),
            ServicePortSpec(name="https", port=443, target_port=https),
        ],
        external_traffic_policy="Cluster",
        load_balancer=lb,
    )


class IngressController(pulumi.ComponentResource):
    """An ingress controller installed with Helm on a Cluster, behind a Scaleway load balancer."""

    TYPE = "kapsule:ingress:IngressController"
    #: Earlier type tokens: their aliases keep deployed stacks from replacing this component (see UPGRADE.md).
    FORMER_TYPES = ("kapsule:kubernetes:IngressController",)

    ip_address: pulumi.Output[str | None]
    """The reserved load balancer IP (None unless `load_balancer.reserve_ip`)."""

    namespace: k8s.core.v1.Namespace
    """The namespace the controller runs in, created by the component."""
    release: k8s.helm.v3.Release
    """The controller's Helm release."""
    load_balancer: LoadBalancerService
    """The LoadBalancerService in front of the controller (ports 80 and 443)."""

    def __init__(
        self,
        name: str,
        spec: IngressSpec,
        *,
        cluster: Cluster,
        tags: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Build the component; a problem with the spec or its links raises one SpecError before anything is registered.

        Args:
            name: Logical name, and the controller's LoadBalancerService name.
            spec: The controller's plain values; `controller: none` is refused.
            cluster: The Cluster whose provider installs the chart.
            tags: Tags for the reserved IP.
            opts: Pulumi resource options.
        """
        if spec.controller == "none":
            raise ValueError(f"IngressController {name}: controller is 'none'; do not build an IngressController")
        check(f"IngressController {name}", ingress_problems(spec, region=cluster.region))
        super().__init__(self.TYPE, name, None, former_types(opts, self.FORMER_TYPES))
        chart = CHARTS[spec.controller]
        release = spec.controller
        kubernetes = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=spec.namespace), opts=kubernetes
        )
        self.release = k8s.helm.v3.Release(
            name,
            name=release,
            chart=chart["chart"],
            version=spec.chart_version,
            namespace=spec.namespace,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart["repo"]),
            values=chart_values(spec, f"{spec.namespace}/{name}"),
            opts=pulumi.ResourceOptions.merge(kubernetes, pulumi.ResourceOptions(depends_on=[self.namespace])),
        )
        self.load_balancer = LoadBalancerService(
            name,
            service_spec(spec, release),
            cluster=cluster,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.ip_address = self.load_balancer.ip_address
        self.register_outputs({"ip_address": self.ip_address})
