"""The Kubernetes versions Kapsule offers, with their dates and what each minor accepts, as plain data with no
Pulumi runtime.

The versions are `kubernetes_versions.json` beside this module: a file carrying the date it was taken
(`as_of`), where from (`source`), and for each minor whether it was read from Scaleway's documentation
(`docs`, the published release calendar), from the API (`api`), or is an estimate. Only the API lists what a
minor accepts (kubelet arguments, feature gates, admission plugins, CNIs): until `python -m kapsule catalog
refresh` has read them, those lists are absent and nothing is checked against them.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
#: Scaleway moves a cluster whose minor reached its end of support to the next minor within this many days.
FORCED_UPGRADE_DAYS = 30


@dataclass(frozen=True)
class MinorSupport:
    """One minor line's life on Kapsule."""

    minor: str
    released: date
    deprecated: date | None
    end_of_support: date | None
    latest_patch: str | None = None
    """The newest `x.y.z` Kapsule offers in this minor, when the catalog was refreshed from the API."""
    read_from: str = "estimate"
    """`api` (k8s/v1 ListVersions), `docs` (Scaleway's published calendar) or `estimate`."""
    kubelet_args: dict[str, str] | None = None
    """The kubelet arguments the API offers on this minor and their kinds; None until read from the API."""
    feature_gates: tuple[str, ...] | None = None
    """The feature gates the API offers on this minor; None until read from the API."""
    admission_plugins: tuple[str, ...] | None = None
    """The admission plugins the API offers on this minor; None until read from the API."""
    cnis: tuple[str, ...] | None = None
    """The CNIs the API offers on this minor; None until read from the API."""

    def deprecated_on(self, today: date) -> bool:
        """Deprecated on `today`: Scaleway creates no new cluster on this minor."""
        return self.deprecated is not None and today >= self.deprecated

    def ended_on(self, today: date) -> bool:
        """Past its end of support on `today`: Scaleway moves such clusters to the next minor by force."""
        return self.end_of_support is not None and today >= self.end_of_support

    @property
    def forced_by(self) -> date | None:
        """The last day of the 30 days in which Scaleway moves a cluster past its end of support."""
        return self.end_of_support + timedelta(days=FORCED_UPGRADE_DAYS) if self.end_of_support else None


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
                f"{minor} reached end of support on {entry.end_of_support}; Scaleway moves such clusters by force "
                f"to the next minor within {FORCED_UPGRADE_DAYS} days (by {entry.forced_by}). "
                f"Supported: {listed}" + (f"; move to {move}" if move else ""),
                None,
            )
        if entry.deprecated_on(today):
            move = self._next(minor, today)
            return None, (
                f"{minor} is deprecated since {entry.deprecated}: Scaleway creates no new cluster on it, "
                f"and it reaches end of support on {entry.end_of_support}"
                + (f"; upgrade to {move} before then" if move else "")
            )
        if entry.end_of_support is not None and (entry.end_of_support - today).days <= WARNING_DAYS:
            move = self._next(minor, today)
            days = (entry.end_of_support - today).days
            warning = f"{minor} reaches end of support on {entry.end_of_support}, in {days} days; upgrade to {move} before then"
            return None, warning
        return None, stale

    def forced_move(self, minor: str, today: date) -> str | None:
        """What Scaleway does to a cluster on `minor` that is past its end of support on `today`, or None."""
        entry = self.find(minor)
        if entry is None or not entry.ended_on(today):
            return None
        later = [v for v in self.versions if Version.parse(v.minor) > Version.parse(minor)]
        target = later[0] if later else None
        to = (
            f"{target.minor}'s latest patch" + (f" ({target.latest_patch})" if target.latest_patch else "")
            if target
            else "the next minor"
        )
        return (
            f"{minor} reached its end of support on {entry.end_of_support}: Scaleway moves the cluster by force to "
            f"{to} within {FORCED_UPGRADE_DAYS} days, by {entry.forced_by}; "
            f"set the version to {target.minor if target else 'the next minor'} before then, "
            "so the stack file matches the cluster"
        )

    def next_minor(self, minor: str) -> str | None:
        """The minor after `minor` in the catalog, released or not."""
        later = [v.minor for v in self.versions if Version.parse(v.minor) > Version.parse(minor)]
        return later[0] if later else None

    def _next(self, minor: str, today: date) -> str | None:
        later = [m for m in self.supported(today) if Version.parse(m) > Version.parse(minor)]
        return later[0] if later else None

    def _staleness(self, today: date) -> str | None:
        age = (today - self.as_of).days
        if age <= STALE_DAYS:
            return None
        return (
            f"the version catalog is {age} days old (as of {self.as_of}); "
            "refresh it with `python -m kapsule catalog refresh`"
        )


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
                read_from=item.get("read_from", "estimate"),
                kubelet_args=item.get("available_kubelet_args"),
                feature_gates=_tuple(item.get("available_feature_gates")),
                admission_plugins=_tuple(item.get("available_admission_plugins")),
                cnis=_tuple(item.get("available_cnis")),
            )
            for item in sorted(document["versions"], key=lambda item: Version.parse(item["minor"]))
        ),
    )


def _tuple(items: list[str] | None) -> tuple[str, ...] | None:
    return tuple(items) if items is not None else None


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
    dates any of its patches carries; its latest patch is the highest it lists, and what the minor accepts
    (kubelet arguments, feature gates, admission plugins, CNIs) is what its latest patch lists.
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
        latest = max(patches, key=lambda v: Version.parse(v.name))
        entries.append(
            {
                "minor": minor,
                "released": min(released).isoformat() if released else as_of.isoformat(),
                "deprecated": max(deprecated).isoformat() if deprecated else None,
                "end_of_support": max(ends).isoformat() if ends else None,
                "latest_patch": str(latest.name),
                "read_from": "api",
                "available_kubelet_args": dict(sorted((latest.available_kubelet_args or {}).items())),
                "available_feature_gates": sorted(latest.available_feature_gates or []),
                "available_admission_plugins": sorted(latest.available_admission_plugins or []),
                "available_cnis": sorted(str(cni) for cni in latest.available_cnis or []),
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
    """Why Kapsule does not run `version` at all today (unknown or unreleased), or None.

    The spec validators call it, so a component built from Python is checked as a stack file is. A minor
    that is deprecated or past its end of support still runs on existing clusters: what that means depends
    on whether the cluster exists, which only the plan knows (kapsule/plan/lifecycle.py). When the day itself
    cannot be read (`KAPSULE_TODAY`), the day's own error is what the user sees.
    """
    try:
        day = today()
    except TodayError:
        return None
    catalog = load_catalog()
    entry = catalog.find(Version.parse(version).line)
    if entry is not None and entry.released <= day:
        return None
    error, _ = catalog.check(version, day)
    return f"{version!r}: {error}" if error else None


def minor_offer_problems(version: str, offered: Mapping[str, Iterable[str]]) -> list[tuple[str, str]]:
    """(key, problem) for each value under a key of `offered` that the minor of `version` does not accept.

    `offered` maps a cluster or pool key (`feature_gates`, `admission_plugins`, `cni`, `kubelet_args`) to the
    values the stack sets there. A key whose list the catalog has not read from the API is not checked.
    """
    entry = load_catalog().find(Version.parse(version).line)
    if entry is None:
        return []
    lists = {
        "feature_gates": entry.feature_gates,
        "admission_plugins": entry.admission_plugins,
        "cni": entry.cnis,
        "kubelet_args": tuple(entry.kubelet_args) if entry.kubelet_args is not None else None,
    }
    problems = []
    for key, values in offered.items():
        allowed = lists.get(key)
        if allowed is None:
            continue
        for value in values:
            if value not in allowed:
                problems.append(
                    (
                        key,
                        f"{value!r} is not offered on Kubernetes {entry.minor} "
                        f"(the API lists: {', '.join(allowed) or 'none'})",
                    )
                )
    return problems
