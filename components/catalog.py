"""What Scaleway offers, as plain data with no Pulumi runtime: regions, zones, node types and control
planes, and the Kubernetes versions Kapsule supports with their dates.

The versions are `kubernetes_versions.json` beside this module: a file carrying the date it was taken
(`as_of`) and where from. `python -m kapsule versions refresh` rewrites it from the Scaleway API.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .offers import read_catalog
from .versions import Version

# The Kubernetes version catalog.

CATALOG_FILE = Path(__file__).with_name("kubernetes_versions.json")
#: A version this close to its end of support gets a warning naming the version to move to.
WARNING_DAYS = 60
#: A catalog older than this is probably missing a release or a new end-of-support date.
STALE_DAYS = 90
#: Set to YYYY-MM-DD to check versions as of another day (reproducible plans and tests).
TODAY_VARIABLE = "KAPSULE_TODAY"


@dataclass(frozen=True)
class MinorSupport:
    """One minor line's life on Kapsule."""

    minor: str
    released: date
    deprecated: date | None
    end_of_support: date | None
    latest_patch: str | None = None
    """The newest `x.y.z` Kapsule offers in this minor, when the catalog was refreshed from the API."""


@dataclass(frozen=True)
class Catalog:
    """Every minor line Kapsule has offered, oldest first, as of a date."""

    as_of: date
    source: str
    versions: tuple[MinorSupport, ...]

    def find(self, minor: str) -> MinorSupport | None:
        """The entry of a minor line (`1.35`), if the catalog has it."""
        return next((v for v in self.versions if v.minor == minor), None)

    def supported(self, today: date) -> list[str]:
        """The minor lines released and not past end of support on `today`."""
        return [
            v.minor
            for v in self.versions
            if v.released <= today and (v.end_of_support is None or today < v.end_of_support)
        ]

    def check(self, version: str, today: date) -> tuple[str | None, str | None]:
        """(error, warning) for a stack pinning `version` on `today`; either may be None."""
        minor = Version.parse(version).line
        supported = self.supported(today)
        listed = ", ".join(supported) or "none"
        stale = self._staleness(today)
        entry = self.find(minor)
        if entry is None or entry.released > today:
            hint = (
                f"; the catalog is as of {self.as_of}: refresh it if Scaleway has released {minor} since"
                if stale
                else ""
            )
            return f"{minor} is not a Kubernetes version Kapsule offers; supported: {listed}{hint}", None
        if entry.end_of_support is not None and today >= entry.end_of_support:
            move = self._next(minor, today)
            return (
                f"{minor} reached end of support on {entry.end_of_support}; Scaleway force-upgrades such clusters. "
                f"Supported: {listed}" + (f"; move to {move}" if move else ""),
                None,
            )
        if entry.end_of_support is not None and (entry.end_of_support - today).days <= WARNING_DAYS:
            move = self._next(minor, today)
            days = (entry.end_of_support - today).days
            warning = f"{minor} reaches end of support on {entry.end_of_support}, in {days} days; upgrade to {move} before then"
            return None, warning
        return None, stale

    def _next(self, minor: str, today: date) -> str | None:
        later = [m for m in self.supported(today) if Version.parse(m) > Version.parse(minor)]
        return later[0] if later else None

    def _staleness(self, today: date) -> str | None:
        age = (today - self.as_of).days
        if age <= STALE_DAYS:
            return None
        return f"the version catalog is {age} days old (as of {self.as_of}); refresh it with `python -m kapsule versions refresh`"


@functools.lru_cache(maxsize=4)
def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    """Read a catalog file (once per process: the program, the plan and the policy rules share it)."""
    document = read_catalog(path)
    return Catalog(
        as_of=date.fromisoformat(document["as_of"]),
        source=document["source"],
        versions=tuple(
            MinorSupport(
                minor=item["minor"],
                released=date.fromisoformat(item["released"]),
                deprecated=_date(item.get("deprecated")),
                end_of_support=_date(item.get("end_of_support")),
                latest_patch=item.get("latest_patch"),
            )
            for item in sorted(document["versions"], key=lambda item: Version.parse(item["minor"]))
        ),
    )


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


class TodayError(ValueError):
    """`KAPSULE_TODAY` is set to something that is not a day."""


def today() -> date:
    """The day versions are checked against: `KAPSULE_TODAY` when set, else the current date."""
    override = os.environ.get(TODAY_VARIABLE)
    if not override:
        return date.today()
    try:
        return parse_day(override)
    except ValueError as error:
        raise TodayError(f"{TODAY_VARIABLE}={error}, or unset it to check against today") from None


def parse_day(text: str) -> date:
    """A day written YYYY-MM-DD, and only so (not `20261121`); ValueError says what is wrong in one line."""
    shown = repr(text if len(text) <= 40 else text[:40] + "...")
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ValueError(f"{shown} is not a day: write it as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{shown} is not a day of the calendar: write it as YYYY-MM-DD") from None


def catalog_document(versions: Iterable[Any], region: str, as_of: date) -> dict[str, Any]:
    """A catalog file's content from the API's `Version` objects (one per patch): one entry per minor.

    A minor's release is its first patch's; its deprecation and end of support are the latest
    dates any of its patches carries; its latest patch is the highest it lists.
    """
    by_minor: dict[str, list[Any]] = {}
    for version in versions:
        by_minor.setdefault(Version.parse(version.name).line, []).append(version)
    entries = []
    for minor in sorted(by_minor, key=Version.parse):
        patches = by_minor[minor]
        released = [_day(v.released_at) for v in patches if v.released_at]
        deprecated = [_day(v.deprecated_at) for v in patches if v.deprecated_at]
        ends = [_day(v.end_of_life_at) for v in patches if v.end_of_life_at]
        entries.append(
            {
                "minor": minor,
                "released": min(released).isoformat() if released else as_of.isoformat(),
                "deprecated": max(deprecated).isoformat() if deprecated else None,
                "end_of_support": max(ends).isoformat() if ends else None,
                "latest_patch": str(max(Version.parse(v.name) for v in patches)),
            }
        )
    return {
        "as_of": as_of.isoformat(),
        "source": f"Scaleway API, k8s/v1 ListVersions, region {region}",
        "versions": entries,
    }


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def write_catalog(document: dict[str, Any], path: Path = CATALOG_FILE) -> None:
    """Write a catalog file."""
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def version_problem(version: str) -> str | None:
    """Why Kapsule does not run `version` today (unknown, unreleased or past end of support), or None.

    The spec validators call it, so a component built from Python is checked as a stack file is. When
    the day itself cannot be read (`KAPSULE_TODAY`), the day's own error is what the user sees.
    """
    try:
        day = today()
    except TodayError:
        return None
    error, _ = load_catalog().check(version, day)
    return f"{version!r}: {error}" if error else None
