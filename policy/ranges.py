"""Source ranges as address space: which families a list of CIDRs opens entirely, and which ranges are too wide.

Pure logic over the `ipaddress` module, with no Pulumi runtime: `0.0.0.0/1` beside `128.0.0.0/1`
opens a load balancer to every IPv4 address as surely as `0.0.0.0/0` does, so the rule judges the
union, per family. IPv4-mapped IPv6 ranges (`::ffff:0:0/96`) count as the IPv4 space they map.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


@dataclass(frozen=True)
class Ranges:
    """A list of source ranges read as networks: the ones that are no CIDR are kept apart, never dropped."""

    networks: tuple[Network, ...]
    unreadable: tuple[str, ...]

    @classmethod
    def of(cls, ranges: Iterable[object]) -> Ranges:
        """Parse each range (a host bit set is tolerated, as the load balancer masks it)."""
        networks, unreadable = [], []
        for text in ranges:
            try:
                network = ipaddress.ip_network(str(text).strip(), strict=False)
            except ValueError:
                unreadable.append(str(text))
                continue
            if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(MAPPED):
                base = ipaddress.IPv4Address(int(network.network_address) & 0xFFFFFFFF)
                network = ipaddress.IPv4Network((base, network.prefixlen - 96))
            networks.append(network)
        return cls(tuple(networks), tuple(unreadable))

    def open_families(self) -> list[str]:
        """The families ("IPv4", "IPv6") whose whole address space the union of the ranges covers."""
        whole = []
        for version, everything in ((4, ipaddress.ip_network("0.0.0.0/0")), (6, ipaddress.ip_network("::/0"))):
            family = [n for n in self.networks if n.version == version]
            # type-var: collapse_addresses wants one family, which `family` is, though its type is the union of both.
            if list(ipaddress.collapse_addresses(family)) == [everything]:  # type: ignore[type-var]
                whole.append(f"IPv{version}")
        return whole

    def open_share(self) -> dict[str, Fraction]:
        """Each family's share of its whole address space that the union of the ranges opens, exactly:
        overlapping ranges count once, so 255 ranges of /8 open 255/256 of IPv4 however they are listed."""
        shares = {}
        for version, bits in ((4, 32), (6, 128)):
            family = [n for n in self.networks if n.version == version]
            collapsed = ipaddress.collapse_addresses(family)  # type: ignore[type-var]  # one family, as above
            opened = sum(n.num_addresses for n in collapsed)
            shares[f"IPv{version}"] = Fraction(opened, 2**bits)
        return shares

    def wider_than(self, ipv4_prefix: int, ipv6_prefix: int) -> list[Network]:
        """The ranges whose prefix is shorter (wider) than the widest allowed for their family."""
        return [n for n in self.networks if n.prefixlen < (ipv4_prefix if n.version == 4 else ipv6_prefix)]
