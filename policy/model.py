"""A rule, its settings' models, its enforcement levels and what it finds: the policy's vocabulary."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kapsule.resources.model import ResourceView

Level = Literal["advisory", "mandatory", "disabled"]


LEVELS: tuple[str, ...] = ("advisory", "mandatory", "disabled")


@dataclass(frozen=True)
class Violation:
    """One broken rule on one resource (or on the stack, with no urn)."""

    rule: str
    message: str
    urn: str | None = None


Check = Callable[[list[ResourceView], Mapping[str, Any]], list[tuple[ResourceView | None, str]]]


class Settings(BaseModel):
    """A rule's settings: one home for their types, bounds and defaults, from which the pack's JSON schema comes."""

    model_config = ConfigDict(extra="forbid", strict=True)


class MinNodes(Settings):
    minNodes: int = Field(default=2, ge=1)


class MinZones(Settings):
    minZones: int = Field(default=2, ge=1)


class AllowedNodeTypes(Settings):
    allowedNodeTypes: NodeTypeList = ["DEV1-M", "DEV1-L", "DEV1-XL", "PRO2-*", "GP1-*", "POP2-*"]


class RequiredTags(Settings):
    requiredTags: list[Annotated[str, Field(min_length=1, pattern=r"^[^=]+$")]] = Field(
        default=["env", "owner"], min_length=1
    )


class SourceRanges(Settings):
    widestIPv4Prefix: int = Field(default=8, ge=0, le=32)
    widestIPv6Prefix: int = Field(default=32, ge=0, le=128)
    # The largest share of each family's address space the union of a Service's ranges may open: 1% of IPv4 is
    # two /8s and a half (255 /8s, or every address but one, fail); 0.01% of IPv6 is over a million /32s.
    maxOpenShareIPv4: float = Field(default=0.01, ge=0, le=1, allow_inf_nan=False)
    maxOpenShareIPv6: float = Field(default=0.0001, ge=0, le=1, allow_inf_nan=False)


class ApiServerAllowList(Settings):
    maxIPv4Share: float = Field(default=2**-16, gt=0, le=1, allow_inf_nan=False)
    maxIPv6Share: float = Field(default=2**-32, gt=0, le=1, allow_inf_nan=False)


class MaxNodeAge(Settings):
    maxDays: int = Field(default=30, ge=1)


class Budget(Settings):
    maxMonthly: float = Field(default=0, ge=0, allow_inf_nan=False)
    bound: Literal["low", "high"] = "high"


@dataclass(frozen=True)
class Rule:
    """A rule: its name, what it asks, its enforcement level unless configured, and its settings' model."""

    name: str
    description: str
    level: Level
    check: Check
    model: type[Settings] | None = None

    @property
    def settings(self) -> dict[str, Any]:
        """Each setting's default."""
        return self.model().model_dump() if self.model else {}

    @property
    def schema(self) -> dict[str, dict[str, Any]]:
        """Each setting's JSON schema: the pack declares it to the CLI, and the offline plan checks the same model."""
        if self.model is None:
            return {}
        properties = self.model.model_json_schema()["properties"]
        return {
            key: {k: v for k, v in value.items() if k not in ("title", "default")} for key, value in properties.items()
        }

    def run(self, resources: list[ResourceView], settings: Mapping[str, Any] | None = None) -> list[Violation]:
        """Judge every resource; `settings` override the rule's defaults."""
        merged = {**self.settings, **(settings or {})}
        return [
            Violation(self.name, message, subject.urn if subject else None)
            for subject, message in self.check(resources, merged)
        ]


NodeTypeList = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
