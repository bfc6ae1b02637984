"""ApiAccessSpec: who may reach a cluster's API server (Scaleway's allow-list), and the rules a CI run adds for itself.

Pure logic over `ipaddress`, with no Pulumi runtime: the cluster component renders the spec into one
`kubernetes.Acl`, the stack schema checks it, and `python -m kapsule access` reads and writes the
automation's own rules in the format defined here.

Scaleway's side (terraform-provider-scaleway, internal/services/k8s/acl.go): one ACL per cluster, its id
the cluster's; `acl_rules` is a set (order does not matter) of `ip` (a CIDR) or `scaleway_ranges`, each
with a description; `no_ip_allowed` (full isolation) is exactly-one-of with `acl_rules`; deleting the
resource sets the list back to `0.0.0.0/0` plus Scaleway's ranges (the default of every new cluster).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, TypedDict

from pydantic import Field, field_validator

from .offers import is_kosmos
from .spec import Problem, Spec

#: Every description the automation writes starts so; a declared range may not use it.
RUN_PREFIX = "kapsule-run "
#: `kapsule-run <run id>-<attempt> <job>/<stack> <workflow> until <UTC time>`: the run, the job of the run and
#: the stack it works on (together, the rule's owner: two jobs of one run never take each other's rule out), the
#: workflow, and when the rule stops being the job's own.
RUN_DESCRIPTION = re.compile(
    r"kapsule-run (?P<run>[0-9]{1,20}-[0-9]{1,6}) (?P<job>[A-Za-z0-9._-]{1,40}/[A-Za-z0-9._-]{1,40}) "
    r"(?P<what>[A-Za-z0-9._/-]{1,60}) until (?P<until>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)"
)
#: A run's rule is its own at most this long (`kapsule access open --ttl-hours` is at most 24): a rule that claims
#: to stay longer was not written by the automation (any key of the project may add rules) and is never kept.
MAX_TTL = timedelta(hours=24)
#: At most this many run rules are handed to the program, in at most this many characters.
MAX_HANDED_RULES = 50
MAX_HANDED_CHARS = 64 * 1024
#: The environment variable through which `kapsule access open` hands the run's rules to the program.
RUN_RULES_VARIABLE = "KAPSULE_API_ACCESS_RUN_RULES"
#: The variable naming the cluster whose live run rules the program re-reads (`<region>/<cluster id>`).
CLUSTER_VARIABLE = "KAPSULE_API_ACCESS_CLUSTER"
#: A description is shown in plans and the console: printable text, short.
MAX_DESCRIPTION = 200


class AllowedRangeSpec(Spec):
    """One range allowed to reach the API server."""

    range: str
    """An IPv4 or IPv6 CIDR, such as `203.0.113.0/24`; no host bits set."""
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    """Who or what uses it (an office, a VPN egress): shown in plans and the console."""

    @field_validator("range")
    @classmethod
    def _range(cls, value: str) -> str:
        if "%" in value:
            # Python reads an IPv6 zone id (`fe80::%eth0`); Scaleway refuses it.
            raise ValueError(f"{value!r} has an IPv6 zone id (%...): write the range without it")
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not a CIDR such as 203.0.113.0/24 or 2001:db8::/48") from None
        if value != str(network):
            # Scaleway stores the network in this form: any other spelling would show as a change on every plan.
            raise ValueError(f"{value!r} is not written as its network: write {str(network)!r}")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if not value.isprintable() or not value.strip():
            raise ValueError("a description is printable text (it is shown in plans and in the Scaleway console)")
        if value.startswith(RUN_PREFIX):
            raise ValueError(f"descriptions starting with {RUN_PREFIX.strip()!r} are the CI automation's own rules")
        return value


class ApiAccessSpec(Spec):
    """Who may reach the API server: listed ranges (with Scaleway's own, optionally), or nobody (full isolation)."""

    allowed: list[AllowedRangeSpec] = Field(default_factory=list)
    """The ranges allowed to reach the API server, each with a description."""
    scaleway_ranges: bool = False
    """Also allow every address Scaleway's own services use; a Kosmos cluster needs it for its Scaleway pools."""
    full_isolation: bool = False
    """No address at all: the API server is reached only from inside the cluster's private network."""

    def own_problems(self) -> list[Problem]:
        """The spec's own rules (see `api_access_problems`)."""
        return api_access_problems(self)

    @property
    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The listed ranges, parsed."""
        return [ipaddress.ip_network(item.range) for item in self.allowed]


def api_access_problems(spec: ApiAccessSpec, *, cluster_type: str | None = None) -> list[Problem]:
    """Every problem with an allow-list and, when `cluster_type` is given, with the cluster it guards."""
    problems: list[Problem] = []
    if spec.full_isolation and (spec.allowed or spec.scaleway_ranges):
        declared = [
            key for key, on in (("allowed", bool(spec.allowed)), ("scaleway_ranges", spec.scaleway_ranges)) if on
        ]
        problems.append(
            Problem(
                ("full_isolation",),
                f"full isolation allows no address, so it cannot be combined with {' or '.join(declared)}; "
                "keep full_isolation: true alone, or list the ranges and remove full_isolation",
            )
        )
    if not spec.full_isolation and not spec.allowed and not spec.scaleway_ranges:
        problems.append(
            Problem(
                (),
                "allows nobody, yet is not full isolation: list ranges under allowed, set scaleway_ranges: true, "
                "or set full_isolation: true; remove api_access to keep Scaleway's default (open to every address)",
            )
        )
    seen: dict[object, int] = {}
    for index, network in enumerate(spec.networks):
        if network in seen:
            problems.append(
                Problem(("allowed", index, "range"), f"{network} is listed already (allowed[{seen[network]}])")
            )
        seen.setdefault(network, index)
    if cluster_type is not None and is_kosmos(cluster_type):
        if spec.full_isolation:
            problems.append(
                Problem(
                    ("full_isolation",),
                    f"a Kosmos ({cluster_type}) cluster has no private network, so full isolation would leave no way "
                    "to its API server; list the ranges of its nodes instead",
                )
            )
        elif not spec.scaleway_ranges:
            problems.append(
                Problem(
                    ("scaleway_ranges",),
                    f"a Kosmos ({cluster_type}) cluster's Scaleway pools reach the API server from Scaleway's ranges: "
                    "set scaleway_ranges: true (and list the egress ranges of its external nodes under allowed)",
                )
            )
    return problems


class AclRule(TypedDict, total=False):
    """One rule of the ACL as the SDK's `AclAclRuleArgs` takes it."""

    ip: str
    description: str
    scaleway_ranges: bool


def acl_rules(spec: ApiAccessSpec, run_rules: Sequence[RunRule] = ()) -> list[AclRule]:
    """The ACL's rules as the provider takes them (snake_case): the declared ranges, Scaleway's, then the runs'."""
    rules: list[AclRule] = [{"ip": item.range, "description": item.description} for item in spec.allowed]
    if spec.scaleway_ranges:
        rules.append({"scaleway_ranges": True, "description": "Scaleway's own ranges (api_access.scaleway_ranges)"})
    rules += [{"ip": rule.ip, "description": rule.description} for rule in run_rules]
    return rules


def with_live_run_rules(handed: Sequence[RunRule], live: Sequence[RunRule]) -> list[RunRule]:
    """The handed-over run rules and, after them, the live ones a job added since (each rule once)."""
    rules = list(handed)
    seen = {(rule.ip, rule.description) for rule in rules}
    rules += [rule for rule in live if (rule.ip, rule.description) not in seen]
    return rules[:MAX_HANDED_RULES]


class RunRule(NamedTuple):
    """A rule a CI run added for its own egress address, until a time."""

    ip: str
    """The runner's one address, as a /32 or /128."""
    description: str
    """`kapsule-run <run>-<attempt> <job>/<stack> <what> until <time>` (RUN_DESCRIPTION)."""

    def _part(self, name: str) -> str:
        match = RUN_DESCRIPTION.fullmatch(self.description)
        if match is None:
            raise ValueError(f"{_quoted(self.description)} is not a run rule's description")
        return match.group(name)

    @property
    def run(self) -> str:
        """`<run id>-<attempt>`."""
        return self._part("run")

    @property
    def owner(self) -> str:
        """`<run id>-<attempt> <job>/<stack>`: the one job that added the rule, and the only one that removes it."""
        return f"{self._part('run')} {self._part('job')}"

    @property
    def until(self) -> datetime:
        """When the rule stops being the run's own: drift reports it after that, and a deploy removes it."""
        return datetime.strptime(self._part("until"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)

    def expired(self, now: datetime) -> bool:
        return now >= self.until


def single_address_problem(text: str) -> str | None:
    """Why `text` is not exactly one public address (a bare address, /32 or /128), or None when it is."""
    text = text.strip()
    if not text:
        return "no address"
    if "%" in text:
        return f"{_quoted(text)} has an IPv6 zone id (%...), which no public address has"
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return f"{_quoted(text)} is not an IP address"
    if network.num_addresses != 1:
        return f"{text} is a range of {network.num_addresses} addresses, not one address"
    address = network.network_address
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"{address} is an IPv4-mapped IPv6 address; give the IPv4 address {address.ipv4_mapped}"
    for flag, kind in (
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_multicast", "a multicast"),
        ("is_unspecified", "the unspecified"),
        ("is_private", "a private or reserved"),
        ("is_reserved", "a reserved"),
    ):
        if getattr(address, flag):
            return f"{address} is {kind} address, not the public address the API server sees"
    if not address.is_global:
        return f"{address} is not a globally routable address"
    for translated, kind in TRANSLATED:
        if address in translated:
            return f"{address} is {kind} address ({translated}): the API server does not see the runner by it"
    return None


#: Address ranges Python counts as global that are translations or not yet in use: never a runner's own address.
TRANSLATED: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = (
    (ipaddress.ip_network("192.88.99.0/24"), "a 6to4 relay anycast"),
    (ipaddress.ip_network("2002::/16"), "a 6to4"),
    (ipaddress.ip_network("64:ff9b::/96"), "a NAT64"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "a local-use NAT64"),
    (ipaddress.ip_network("3fff::/20"), "a documentation"),
)


def as_host_range(text: str) -> str:
    """One address as the /32 or /128 the ACL takes (the caller checked it with `single_address_problem`)."""
    network = ipaddress.ip_network(text.strip(), strict=False)
    return f"{network.network_address}/{network.max_prefixlen}"


def run_description(run: str, job: str, what: str, until: datetime) -> str:
    """The description of a run's rule: the run (`<id>-<attempt>`), the job and its stack (`<job>/<stack>`), the
    workflow, its expiry."""
    text = f"{RUN_PREFIX}{run} {job} {what} until {until.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    if not RUN_DESCRIPTION.fullmatch(text):
        raise ValueError(f"{_quoted(text)} is not a run rule's description ({RUN_DESCRIPTION.pattern})")
    return text


def is_run_description(description: object) -> bool:
    """Whether a rule's description has the form the automation writes (whoever wrote it)."""
    return isinstance(description, str) and RUN_DESCRIPTION.fullmatch(description) is not None


def run_rule(ip: object, description: object, now: datetime | None = None) -> RunRule | None:
    """A live or handed-over rule as a RunRule when it is one the automation could have written, else None: one
    public address, the description's form, and (with `now`) an expiry at most MAX_TTL ahead. A rule that
    claims to stay longer is anyone's (any key of the project may add rules), never a run's."""
    if not isinstance(ip, str) or not isinstance(description, str) or not is_run_description(description):
        return None
    if single_address_problem(ip) is not None:
        return None
    rule = RunRule(as_host_range(ip), description)
    try:
        until = rule.until
    except ValueError:  # a date of the right shape that is no date (month 13)
        return None
    if now is not None and until > now + MAX_TTL:
        return None
    return rule


def parse_run_rules(text: str | None, now: datetime | None = None) -> list[RunRule]:
    """The run rules handed to the program (`RUN_RULES_VARIABLE`, a JSON list of {ip, description}); a
    ValueError names what is wrong. Written by `kapsule access open` in the same job, and still checked."""
    if not text:
        return []
    now = now or datetime.now(timezone.utc)
    if len(text) > MAX_HANDED_CHARS:
        raise ValueError(f"{RUN_RULES_VARIABLE} is {len(text)} characters; it holds a few rules")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError(f"{RUN_RULES_VARIABLE} is not JSON; `kapsule access open` writes it") from None
    if not isinstance(document, list) or len(document) > MAX_HANDED_RULES:
        raise ValueError(
            f"{RUN_RULES_VARIABLE} must be a JSON list of at most {MAX_HANDED_RULES} {{ip, description}} objects"
        )
    rules = []
    for index, item in enumerate(document):
        rule = run_rule(item.get("ip"), item.get("description"), now) if isinstance(item, dict) else None
        if rule is None or set(item) != {"ip", "description"}:
            raise ValueError(
                f"{RUN_RULES_VARIABLE}[{index}] is not a run's rule: one public address and a description "
                f"{RUN_PREFIX.strip()!r} <run>-<attempt> <job>/<stack> <what> until <UTC time>, at most "
                f"{MAX_TTL.total_seconds() / 3600:g} h ahead"
            )
        rules.append(rule)
    return rules


def _quoted(text: str) -> str:
    """Outside text, made one short inert line."""
    shown = repr(text[:80])
    return shown + ("..." if len(text) > 80 else "")
