"""PrivateNetwork: a VPC and a regional private network, optionally behind a Public Gateway."""

from __future__ import annotations

import ipaddress
from typing import Literal

import pulumi
from pydantic import field_validator

from .offers import default_zone, region_problem, zone_problem
from .scaleway import network
from .spec import IPv4Cidr, Problem, Spec, Tags, check, render_tags


class PublicGatewaySpec(Spec):
    """A Public Gateway that gives nodes without public IPs their way out (NAT, default route)."""

    type: Literal["VPC-GW-S", "VPC-GW-M", "VPC-GW-L", "VPC-GW-XL"] = "VPC-GW-S"
    """Gateway offer: `VPC-GW-S`, `VPC-GW-M`, `VPC-GW-L` or `VPC-GW-XL`."""
    zone: str | None = None
    """Zone of the gateway, inside the region; the region's first zone when unset."""
    bastion_enabled: bool = False
    """An SSH bastion on the gateway."""


class PrivateNetworkSpec(Spec):
    """The private network a Kapsule cluster and its pools live in."""

    vpc_id: str | None = None
    """An existing VPC to use instead of creating one (a change replaces the network)."""
    subnet: IPv4Cidr | None = None
    """Private IPv4 range of the network, `/22` or larger (the cluster takes a /22); Scaleway picks one when unset. A change replaces the network."""
    public_gateway: PublicGatewaySpec | None = None
    """A Public Gateway (NAT and a pushed default route), so that pools can run without public IPs."""
    tags: Tags
    """Extra tags for the VPC, the private network and the gateway."""
    protect: bool = False
    """Pulumi `protect` on the VPC and the private network."""

    @field_validator("subnet")
    @classmethod
    def _subnet_fits_a_cluster(cls, value: str | None) -> str | None:
        if value is None:
            return value
        subnet = ipaddress.IPv4Network(value)
        if not subnet.is_private:
            raise ValueError(f"{value!r} is not a private range (use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)")
        if subnet.prefixlen > 22:
            raise ValueError(
                f"{value!r} is smaller than the /22 a Kapsule cluster takes; use a prefix of /22 or shorter"
            )
        return value


def network_problems(spec: PrivateNetworkSpec, *, region: str) -> list[Problem]:
    """Every problem with a private network spec in `region`."""
    problems: list[Problem] = []
    wrong_region = region_problem(region)
    if wrong_region:
        problems.append(Problem((), wrong_region, link="region"))
    gateway = spec.public_gateway
    zone = gateway and gateway.zone and not wrong_region and zone_problem(gateway.zone, region)
    if zone:
        problems.append(Problem(("public_gateway", "zone"), zone))
    return problems


class PrivateNetwork(pulumi.ComponentResource):
    """A VPC (or an existing one) and a regional private network; with a Public Gateway when asked."""

    TYPE = "kapsule:network:PrivateNetwork"

    id: pulumi.Output[str]
    """The private network id, what a Cluster and its Pools attach to."""
    vpc_id: pulumi.Output[str]
    """The VPC holding the private network."""

    # longer than 60 lines: a component constructor registers its children in order, each with parent=self; split, its state would travel between halves
    def __init__(
        self,
        name: str,
        spec: PrivateNetworkSpec,
        *,
        region: str,
        tags: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Build the component; a problem with the spec or its links raises one SpecError before anything is registered.

        Args:
            name: Logical name; the VPC and the gateway are named after it.
            spec: The network's plain values.
            region: The Scaleway region.
            tags: Tags added to every resource, below the spec's own.
            opts: Pulumi resource options (parent, providers, aliases).
        """
        check(f"PrivateNetwork {name}", network_problems(spec, region=region))
        gateway = spec.public_gateway
        super().__init__(self.TYPE, name, None, opts)
        self.region = region
        self.spec = spec
        rendered_tags = render_tags(tags or {}, spec.tags)
        child = pulumi.ResourceOptions(parent=self, protect=spec.protect)

        if spec.vpc_id is None:
            self.vpc: network.Vpc | None = network.Vpc(f"{name}-vpc", region=region, tags=rendered_tags, opts=child)
            self.vpc_id = self.vpc.id
        else:
            self.vpc = None
            self.vpc_id = pulumi.Output.from_input(spec.vpc_id)

        self.private_network = network.PrivateNetwork(
            name,
            vpc_id=self.vpc_id,
            region=region,
            ipv4_subnet=network.PrivateNetworkIpv4SubnetArgs(subnet=spec.subnet) if spec.subnet else None,
            tags=rendered_tags,
            opts=child,
        )
        self.id = self.private_network.id

        self.public_gateway: network.PublicGateway | None = None
        if gateway is not None:
            zone = gateway.zone or default_zone(region)
            gateway_opts = pulumi.ResourceOptions(parent=self)
            address = network.PublicGatewayIp(f"{name}-gateway", zone=zone, tags=rendered_tags, opts=gateway_opts)
            self.public_gateway = network.PublicGateway(
                f"{name}-gateway",
                type=gateway.type,
                zone=zone,
                ip_id=address.id,
                bastion_enabled=gateway.bastion_enabled,
                tags=rendered_tags,
                opts=gateway_opts,
            )
            # Masquerade plus a pushed default route is what lets nodes without public IPs reach out.
            network.GatewayNetwork(
                f"{name}-gateway",
                gateway_id=self.public_gateway.id,
                private_network_id=self.id,
                zone=zone,
                enable_masquerade=True,
                ipam_configs=[network.GatewayNetworkIpamConfigArgs(push_default_route=True)],
                opts=gateway_opts,
            )

        self.register_outputs({"id": self.id, "vpc_id": self.vpc_id})
