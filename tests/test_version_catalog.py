"""The Kubernetes version catalog: its data, the checks against it, and its refresh from the Scaleway API."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
from scaleway.k8s.v1 import Version as ApiVersion

from components.catalog import CATALOG_FILE, Catalog, catalog_document, load_catalog, write_catalog
from kapsule.names import ROOT
from kapsule.plan.stack import plan_stack
from kapsule.stackfile.messages import StackConfigError
from tests.conftest import copy_project, render_stack

DAY = date(2026, 11, 21)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_the_catalog_file_is_ordered_and_dated(catalog):
    assert catalog.as_of <= date(2026, 12, 7) and catalog.source
    for entry in catalog.versions:
        assert entry.released < entry.deprecated < entry.end_of_support, entry
    # Scaleway's published calendar: 1.33 reached its end of support on 2026-11-04.
    assert catalog.supported(DAY) == ["1.34", "1.35", "1.36"]


def test_a_version_past_end_of_support_is_an_error_naming_the_way_out(catalog):
    error, warning = catalog.check("1.33", DAY)
    assert warning is None
    assert error == (
        "1.33 reached end of support on 2026-11-04; Scaleway moves such clusters by force to the next minor within "
        "30 days (by 2026-12-04). Supported: 1.34, 1.35, 1.36; move to 1.34"
    )
    assert catalog.check("1.37.0", DAY)[0].startswith(
        "1.37 is not a Kubernetes version Kapsule offers; supported: 1.34"
    )


def test_a_deprecated_minor_warns_and_sixty_days_before_end_of_support_a_warning_names_the_next_version(catalog):
    assert catalog.check("1.34.4", DAY) == (
        None,
        "1.34 is deprecated since 2026-09-29: Scaleway creates no new cluster on it, and it reaches end of support "
        "on 2026-11-29; upgrade to 1.35 before then",
    )
    # 1.35 is deprecated 59 days before its end of support: the 60-day warning has one day of its own.
    assert catalog.check("1.35", date(2027, 1, 17)) == (None, None)  # 61 days before: quiet
    assert catalog.check("1.35", date(2027, 1, 18)) == (
        None,
        "1.35 reaches end of support on 2027-03-19, in 60 days; upgrade to 1.36 before then",
    )
    assert "1.35 is deprecated since 2027-01-19" in catalog.check("1.35", date(2027, 1, 19))[1]
    assert catalog.check("1.35", DAY) == (None, None)


def test_a_stale_catalog_says_so(catalog):
    later = catalog.as_of + timedelta(days=100)
    assert catalog.check("1.36", later)[1] == (
        f"the version catalog is 100 days old (as of {catalog.as_of}); "
        "refresh it with `python -m kapsule catalog refresh`"
    )
    assert "refresh it if Scaleway has released 1.38 since" in catalog.check("1.38", later)[0]


def test_an_unknown_stack_version_stops_the_program_and_a_deprecated_one_warns(tmp_path):
    def pin(version):
        return lambda config: config["kapsule:cluster"].update(version=version)

    rendering = render_stack("dev", pin("1.32"), check=False)
    assert isinstance(rendering.error, StackConfigError) and rendering.resources == []
    assert (
        "kapsule:cluster.version: '1.32': 1.32 is not a Kubernetes version Kapsule offers; supported: 1.34, 1.35, 1.36"
        in str(rendering.error)
    )
    root = copy_project(tmp_path / "project", {"dev": pin("1.34")})
    plan = plan_stack("dev", root)
    assert [w for w in plan.warnings if "policy" not in w] == [
        "stacks/Pulumi.dev.yaml: kapsule:cluster.version: 1.34 is deprecated since 2026-09-29: Scaleway creates no "
        "new cluster on it, and it reaches end of support on 2026-11-29; upgrade to 1.35 before then"
    ]
    # No recorded state: the plan would create the cluster, which Scaleway no longer does on 1.34.
    assert any("1.34 is a new cluster on 1.34, which Scaleway deprecated on 2026-09-29" in e for e in plan.errors)


def test_the_refresh_turns_api_versions_into_one_entry_per_minor(tmp_path):
    def version(name, released, deprecated=None, end=None):
        stamp = lambda d: datetime.fromisoformat(d).replace(tzinfo=timezone.utc) if d else None  # noqa: E731
        return ApiVersion(
            name=name,
            label=f"Kubernetes {name}",
            region="fr-par",
            available_cnis=[],
            available_container_runtimes=[],
            available_feature_gates=[],
            available_admission_plugins=[],
            available_kubelet_args={},
            additional_components=[],
            deprecated_at=stamp(deprecated),
            end_of_life_at=stamp(end),
            released_at=stamp(released),
        )

    latest = version("1.35.3", "2026-04-01", "2027-04-10", "2027-08-10")
    latest.available_kubelet_args = {"maxPods": "uint16", "cpuManagerPolicy": "enum:none|static"}
    latest.available_feature_gates = ["InPlacePodVerticalScaling", "HPAScaleToZero"]
    latest.available_admission_plugins = ["PodNodeSelector"]
    latest.available_cnis = ["cilium", "calico", "none"]
    older = version("1.35.1", "2026-02-10", "2027-04-01", "2027-08-01")
    older.available_feature_gates = ["RemovedSince"]
    document = catalog_document([latest, older, version("1.36.0", "2026-06-16")], "fr-par", DAY)
    none = {
        "read_from": "api",
        "available_kubelet_args": {},
        "available_feature_gates": [],
        "available_admission_plugins": [],
        "available_cnis": [],
    }
    assert document["versions"] == [
        {
            "minor": "1.35",
            "released": "2026-02-10",
            "deprecated": "2027-04-10",
            "end_of_support": "2027-08-10",
            "latest_patch": "1.35.3",
            "read_from": "api",
            # What the minor accepts is what its latest patch lists (1.35.1's gate is gone).
            "available_kubelet_args": {"cpuManagerPolicy": "enum:none|static", "maxPods": "uint16"},
            "available_feature_gates": ["HPAScaleToZero", "InPlacePodVerticalScaling"],
            "available_admission_plugins": ["PodNodeSelector"],
            "available_cnis": ["calico", "cilium", "none"],
        },
        {
            "minor": "1.36",
            "released": "2026-06-16",
            "deprecated": None,
            "end_of_support": None,
            "latest_patch": "1.36.0",
            **none,
        },
    ]
    path = tmp_path / "catalog.json"
    write_catalog(document, path)
    reread = load_catalog(path)
    assert reread.as_of == DAY and reread.supported(DAY) == ["1.35", "1.36"]
    assert reread.find("1.35").latest_patch == "1.35.3" and reread.find("1.35").read_from == "api"
    assert reread.find("1.35").cnis == ("calico", "cilium", "none")


def test_refresh_without_credentials_is_one_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCW_")}
    env["HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "versions", "refresh"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "versions refresh needs Scaleway credentials: set SCW_ACCESS_KEY and SCW_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert CATALOG_FILE.read_text().startswith('{\n  "as_of"')
