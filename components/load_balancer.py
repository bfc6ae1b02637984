"""LoadBalancerService: a Kubernetes Service of type LoadBalancer whose Scaleway load balancer is a typed spec."""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from .aliases import former_types
from .annotations import CONTROLLER_WRITTEN_ANNOTATION, CONTROLLER_WRITTEN_LABELS, PREFIX
from .cluster import Cluster
from .load_balancer_spec import LoadBalancerSpec, load_balancer_problems, render_annotations, unknown_annotations
from .offers import default_zone
from .scaleway import loadbalancers
from .spec import IPv4Cidr, Problem, Spec, check, render_tags

#: A Kubernetes object name (RFC 1123 label).
#: A Kubernetes object name (RFC 1123 label). Anchored: pydantic's regex engine reads `$` as the end of the
#: text; Python code matches it with `fullmatch`.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class ServicePortSpec(Spec):
    """One port of the Service: what the load balancer listens on and where it forwards."""

    name: str = Field(pattern=DNS_LABEL)
    """Port name (a Kubernetes name)."""
    port: int = Field(ge=1, le=65535)
    """Port the load balancer listens on."""
    target_port: int | str
    """Container port number or name traffic goes to."""
    protocol: Literal["TCP"] = "TCP"
    """`TCP`."""


class LoadBalancerServiceSpec(Spec):
    """A Service exposed through a Scaleway load balancer."""

    namespace: str = Field(default="default", pattern=DNS_LABEL)
    """Where the Service lives."""
    selector: dict[str, str] = Field(min_length=1)
    """Pod labels the Service selects (at least one)."""
    ports: list[ServicePortSpec] = Field(min_length=1)
    """The ports the load balancer listens on."""
    external_traffic_policy: Literal["Cluster", "Local"] = "Cluster"
    """`Cluster` or `Local`."""
    source_ranges: list[IPv4Cidr] = Field(default_factory=list)
    """CIDRs allowed in (`loadBalancerSourceRanges`); everyone when empty."""
    load_balancer: LoadBalancerSpec = Field(default_factory=LoadBalancerSpec)
    """The Scaleway load balancer."""
    await_until: Literal["address", "ready_pods", "nothing"] = "address"
    """What `pulumi up` waits for: `address` (the load balancer has one; the default, as a platform team creates load balancers before the workloads exist), `ready_pods` (also a ready pod behind it) or `nothing` (no cloud controller, as in the local run)."""

    def own_problems(self) -> list[Problem]:
        """The spec's own rules (see `service_problems`)."""
        return service_problems(self)


def service_problems(spec: LoadBalancerServiceSpec, *, region: str | None = None) -> list[Problem]:
    """Every problem with a LoadBalancer Service spec, on a cluster in `region` when given."""
    problems: list[Problem] = []
    numbers = [p.port for p in spec.ports]
    if len(set(numbers)) != len(numbers):
        problems.append(Problem(("ports",), f"repeat a port: {numbers}"))
    names = [p.name for p in spec.ports]
    if len(set(names)) != len(names):
        problems.append(Problem(("ports",), f"repeat a name: {names}"))
    problems += [
        p.below("load_balancer") for p in load_balancer_problems(spec.load_balancer, region=region, ports=numbers)
    ]
    return problems


#: pulumi-kubernetes' own annotations (provider/pkg/metadata/annotations.go): what `up` waits for, and how a
#: server-side apply conflict is resolved. Its built-in Service await (a ready endpoint, then an address) runs
#: only without `waitFor` or `skipAwait` (provider/pkg/await/await.go).
AWAIT_ANNOTATIONS: dict[str, dict[str, str]] = {
    "address": {"pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress}"},
    "ready_pods": {},
    "nothing": {"pulumi.com/skipAwait": "true"},
}
#: The stack file is the truth for what it declares: a field another manager took (`kubectl annotate`) is
#: taken back on the next `up` instead of failing every deployment with a field conflict.
PATCH_FORCE = {"pulumi.com/patchForce": "true"}


def engine_annotations(await_until: str) -> dict[str, str]:
    """The provider annotations of a Service: what `up` waits for, and force over field conflicts."""
    return {**AWAIT_ANNOTATIONS[await_until], **PATCH_FORCE}


def _ingress_address(status: object) -> str | None:
    """The first address in a Service's `status.loadBalancer.ingress`, if the controller wrote one."""
    balancer = getattr(status, "load_balancer", None) if status is not None else None
    ingress = getattr(balancer, "ingress", None) or []
    first = ingress[0] if ingress else None
    return (getattr(first, "ip", None) or getattr(first, "hostname", None)) if first is not None else None


class LoadBalancerService(pulumi.ComponentResource):
    """A LoadBalancer Service on a Cluster, with an optional reserved flexible IP that survives re-creation."""

    TYPE = "kapsule:load_balancer:LoadBalancerService"
    #: Earlier type tokens: their aliases keep deployed stacks from replacing this component (see UPGRADE.md).
    FORMER_TYPES = ("kapsule:kubernetes:LoadBalancerService",)

    service: k8s.core.v1.Service
    """The Kubernetes Service."""
    ip_address: pulumi.Output[str | None]
    """The load balancer's address: the reserved IP with `reserve_ip`, else what the Service's status says (None until it has one)."""

    # longer than 60 lines: a component constructor registers its children in order, each with parent=self; split, its state would travel between halves
    def __init__(
        self,
        name: str,
        spec: LoadBalancerServiceSpec,
        *,
        cluster: Cluster,
        tags: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Build the component; a problem with the spec or its links raises one SpecError before anything is registered.

        Args:
            name: Logical name, and the Service's name.
            spec: The Service and its load balancer's plain values.
            cluster: The Cluster whose provider creates the Service.
            tags: Tags for the reserved IP.
            opts: Pulumi resource options.
        """
        check(f"LoadBalancerService {name}", service_problems(spec, region=cluster.region))
        lb = spec.load_balancer
        zone = lb.zone or default_zone(cluster.region)
        super().__init__(self.TYPE, name, None, former_types(opts, self.FORMER_TYPES))
        self.spec = spec
        for key in unknown_annotations(lb):
            pulumi.log.warn(
                f"Service {name}: annotation {key!r} is not one the Scaleway cloud controller defines; it will be ignored",
                self,
            )

        annotations: dict[str, pulumi.Input[str]] = dict(render_annotations(lb.model_copy(update={"zone": zone})))
        self.ip: loadbalancers.Ip | None = None
        if lb.reserve_ip:
            self.ip = loadbalancers.Ip(
                f"{name}-ip", zone=zone, tags=render_tags(tags or {}), opts=pulumi.ResourceOptions(parent=self)
            )
            # The controller takes bare IP UUIDs; the provider's ids are `<zone>/<uuid>`.
            annotations[PREFIX + "ip-ids"] = self.ip.id.apply(lambda ident: ident.split("/")[-1])
        reserved = self.ip.ip_address if self.ip is not None else None

        annotations.update(engine_annotations(spec.await_until))
        self.service = k8s.core.v1.Service(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=spec.namespace, annotations=annotations),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="LoadBalancer",
                selector=spec.selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name=p.name, port=p.port, target_port=p.target_port, protocol=p.protocol
                    )
                    for p in spec.ports
                ],
                external_traffic_policy=spec.external_traffic_policy,
                load_balancer_source_ranges=spec.source_ranges or None,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=cluster.provider,
                # The controller writes these back onto the Service; they are not ours to diff.
                ignore_changes=[f'metadata.annotations["{CONTROLLER_WRITTEN_ANNOTATION}"]']
                + [f'metadata.labels["{label}"]' for label in CONTROLLER_WRITTEN_LABELS],
            ),
        )
        # No reserved IP: what the cloud controller wrote into the Service's status (unknown in a preview, and None
        # until the load balancer has an address).
        self.ip_address = reserved if reserved is not None else self.service.status.apply(_ingress_address)
        self.register_outputs({"ip_address": self.ip_address})
