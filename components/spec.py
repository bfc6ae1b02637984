"""The base of every component spec: plain, validated, immutable values."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from .versions import VERSION

#: A Go duration as Scaleway's controllers parse it (`time.ParseDuration`): "500ms", "10s", "1h30m".
GO_DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+")


class Spec(BaseModel):
    """A component's plain values: unknown keys and loose types are refused, nothing is coerced.

    A spec is refused when built if it breaks its own rules (`own_problems`); the rules between it and
    its links (a pool's cluster, a cluster's network) are checked by the component and the stack schema.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True)

    def __init__(self, **data: Any) -> None:
        """Build the spec; every problem, of type or of rule, is one SpecError (never pydantic's own error)."""
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise SpecError(_problems(error), type(self).__name__) from None

    # Validation of a spec nested in another (a stack file, a pool's upgrade policy) keeps pydantic's own
    # path: only a spec built directly, as an importer builds it, gets this wrapper.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]  # pydantic's marker on a function

    def own_problems(self) -> list[Problem]:
        """Every problem with this spec alone; a spec with rules returns its validator's answer."""
        return []

    @model_validator(mode="after")
    def _own_rules(self) -> Spec:
        problems = self.own_problems()
        if problems:
            raise SpecError(problems)
        return self


def _problems(error: ValidationError) -> list[Problem]:
    """A pydantic error as this project's problems: a validator's SpecError keeps its own, with their paths."""
    found: list[Problem] = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        inner = (item.get("ctx") or {}).get("error")
        if isinstance(inner, SpecError):
            found += [problem.below(*loc) for problem in inner.problems]
        elif inner is not None:
            found.append(Problem(loc, str(inner)))
        else:
            found.append(Problem(loc, item["msg"]))
    return found


def _go_duration(value: str) -> str:
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
        raise ValueError(
            f"{value!r} is a bare number; durations are Go durations with a unit: {_as_duration(float(value))!r}"
        )
    if not GO_DURATION.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Go duration; write a number with a unit (ns, us, ms, s, m, h), such as '5s' or '500ms'"
        )
    return value


def _ipv4_network(value: str) -> str:
    try:
        ipaddress.IPv4Network(value)
    except ValueError as error:
        raise ValueError(f"{value!r} is not an IPv4 CIDR such as 172.16.0.0/22 ({error})") from None
    return value


def _ipv4_address(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address such as 10.32.0.10") from None
    return value


def _kubernetes_version(value: str) -> str:
    if not VERSION.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes version such as '1.35' (auto-upgrade) or '1.35.2' (pinned)")
    return value


def _not_a_bare_number(value: Any) -> Any:
    """Older Scaleway docs gave durations in milliseconds (`10000`); the controller reads Go durations."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"{value!r} is a bare number; durations are Go durations with a unit: {_as_duration(value)!r}")
    return value


def _as_duration(milliseconds: float) -> str:
    """A bare number read as milliseconds (as old docs meant it), written as a Go duration."""
    if milliseconds >= 1000 and milliseconds % 1000 == 0:
        return f"{int(milliseconds // 1000)}s"
    return f"{milliseconds:g}ms"


GoDuration = Annotated[str, BeforeValidator(_not_a_bare_number), AfterValidator(_go_duration)]
#: `x.y` (a minor line, as auto-upgrade takes it) or `x.y.z` (a pinned patch).
KubernetesVersion = Annotated[str, AfterValidator(_kubernetes_version)]
IPv4Cidr = Annotated[str, AfterValidator(_ipv4_network)]
IPv4Address = Annotated[str, AfterValidator(_ipv4_address)]


def _printable_tags(value: dict[str, str]) -> dict[str, str]:
    for key, text in value.items():
        if not key.strip() or "=" in key:
            raise ValueError(
                f"{key!r} is not a tag key: tags render as key=value, so a key is non-empty and has no '='"
            )
        for part in (key, text):
            if not part.isprintable():
                raise ValueError(f"{part!r} holds a control character; tags are printable text")
    return value


#: Scaleway tags are strings; the specs take a mapping and render `key=value`. Printable text only: tags
#: are shown in plans, consoles and terminals.
Tags = Annotated[dict[str, str], AfterValidator(_printable_tags), Field(default_factory=dict)]


def render_tags(*mappings: dict[str, str]) -> list[str]:
    """Merge tag mappings (later ones win) into Scaleway's sorted `key=value` strings."""
    merged: dict[str, str] = {}
    for mapping in mappings:
        merged.update(mapping)
    return [f"{key}={value}" if value else key for key, value in sorted(merged.items())]


class Problem(NamedTuple):
    """One thing wrong with a spec or its links: the key path below the spec, and a sentence."""

    path: tuple[str | int, ...]
    message: str
    link: str = ""
    """The constructor argument the problem is about when it is not the spec itself (`network`, `region`)."""

    def below(self, *prefix: str | int) -> Problem:
        """The same problem seen from a spec that holds this one at `prefix`."""
        return self if self.link else Problem((*prefix, *self.path), self.message)

    def __str__(self) -> str:
        where = ".".join(str(part) for part in ((self.link,) if self.link else ()) + self.path)
        return f"{where}: {self.message}" if where else self.message


class SpecError(ValueError):
    """Every problem found with a component's spec and its links, reported together (raised once)."""

    def __init__(self, problems: Iterable[Problem], subject: str = "") -> None:
        self.problems = list(problems)
        self.subject = subject
        text = "; ".join(str(problem) for problem in self.problems)
        super().__init__(f"{subject}: {text}" if subject else text)


def check(subject: str, problems: list[Problem]) -> None:
    """Raise one SpecError naming `subject` (such as `Pool web`) when there is any problem."""
    if problems:
        raise SpecError(problems, subject)
