"""What Scaleway offers (kapsule/catalog, components/*.json): the published calendar and what it means for a
stack, node types as Scaleway offers them, the pinned SDK's arguments, and `catalog refresh` through the SDK."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import subprocess
import sys
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from pulumiverse_scaleway import kubernetes

from components.api_access import ApiAccessSpec
from components.catalog import load_catalog
from components.cluster_spec import AutoscalerSpec, ClusterSpec
from components.pool import PoolSpec, pool_problems
from kapsule.names import ROOT
from kapsule.plan.stack import plan_stack
from tests.conftest import copy_project
from tests.test_engine_records import RECORDS, plan_of, project_for

DAY = date(2026, 12, 7)


def test_the_calendar_is_scaleways_published_one():
    catalog = load_catalog()
    table = {
        v.minor: (str(v.released), str(v.deprecated), str(v.end_of_support), v.read_from) for v in catalog.versions
    }
    assert table == {
        "1.33": ("2025-09-04", "2026-09-04", "2026-11-04", "docs"),
        "1.34": ("2025-09-29", "2026-09-29", "2026-11-29", "docs"),
        "1.35": ("2026-01-19", "2027-01-19", "2027-03-19", "docs"),
        "1.36": ("2026-07-07", "2027-07-07", "2027-09-07", "docs"),
    }
    assert "version-support-policy.mdx" in catalog.source
    assert catalog.supported(DAY) == ["1.35", "1.36"] and catalog.check("1.35.2", DAY) == (None, None)


def _deployed_at(tmp_path: Path, version: str) -> tuple[Path, Path]:
    """The scaleway record set's base stack and export, with the cluster (live and declared) on `version`."""
    stack = yaml.safe_load((RECORDS / "scaleway" / "Pulumi.eng.yaml").read_text())
    stack["config"]["kapsule:cluster"]["version"] = version
    stack_file = tmp_path / "Pulumi.eng.yaml"
    stack_file.write_text(yaml.safe_dump(stack))
    document = json.loads((RECORDS / "scaleway" / "export.json").read_text())
    for resource in document["deployment"]["resources"]:
        if resource["type"] == "scaleway:kubernetes/cluster:Cluster":
            resource["inputs"]["version"] = resource["outputs"]["version"] = version
    export = tmp_path / "export.json"
    export.write_text(json.dumps(document))
    return stack_file, export


def test_a_cluster_past_its_minors_end_is_moved_by_force_and_the_plan_says_when(tmp_path, monkeypatch):
    monkeypatch.setenv("KAPSULE_TODAY", DAY.isoformat())
    stack_file, export = _deployed_at(tmp_path, "1.34.6")
    plan, _ = plan_of(tmp_path, "scaleway", stack_file, export)
    assert plan.errors == []
    [warning] = [w for w in plan.warnings if "by force" in w]
    assert (
        "1.34 reached its end of support on 2026-11-29: Scaleway moves the cluster by force to 1.35's latest patch "
        "within 30 days, by 2026-12-29" in warning
    )


def test_the_newest_minor_past_its_end_is_moved_to_the_next_minor_the_catalog_does_not_list_yet():
    catalog = load_catalog()
    newest = catalog.versions[0]
    assert newest.end_of_support is not None
    alone = dataclasses.replace(catalog, versions=(newest,))
    move = alone.forced_move(newest.minor, newest.end_of_support + timedelta(days=1))
    assert move is not None
    assert "Scaleway moves the cluster by force to the next minor within 30 days" in move
    assert "set the version to the next minor before then" in move


def test_a_new_cluster_on_a_deprecated_minor_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("KAPSULE_TODAY", "2026-11-21")  # 1.34 deprecated, not yet ended
    stack_file, _ = _deployed_at(tmp_path, "1.34.6")
    plan = plan_stack("eng", project_for(tmp_path, "eng", stack_file), None)
    assert any(
        "Scaleway deprecated on 2026-09-29: no new cluster is created on it; use 1.35 or 1.36" in e for e in plan.errors
    )


CLUSTER = ClusterSpec(name="gpu", version="1.35.2", delete_additional_resources=True)


def test_an_l4_pool_in_a_zone_without_it_is_refused_naming_a_zone_that_has_it():
    pool = PoolSpec(node_type="L4-1-24G", zone="fr-par-1", size=1)
    [problem] = pool_problems(pool, cluster=CLUSTER, region="fr-par")
    assert problem.path == ("zone",) and problem.message == (
        "L4-1-24G is not offered in fr-par-1; Scaleway offers it in fr-par-2"
    )
    assert pool_problems(pool.model_copy(update={"zone": "fr-par-2"}), cluster=CLUSTER, region="fr-par") == []


@pytest.mark.parametrize(
    ("node_type", "volume", "path", "words"),
    [
        ("COPARM1-4C-16G", None, "node_type", "past its end of service at Scaleway; its successor is BASIC-A4C-16G"),
        ("GPU-3070-S", None, "node_type", "names no successor"),
        ("PRO2-S", "l_ssd", "root_volume_type", "l_ssd needs local storage, which PRO2-S does not have"),
        ("external", None, "node_type", "'external' pools join a Kosmos cluster only"),
    ],
)
def test_each_offer_rule_is_one_error_naming_the_alternative(node_type, volume, path, words):
    pool = PoolSpec(node_type=node_type, zone="fr-par-2", size=1, root_volume_type=volume)
    problems = pool_problems(pool, cluster=CLUSTER, region="fr-par")
    assert [(p.path, words in p.message) for p in problems] == [((path,), True)]


def test_a_local_storage_type_takes_l_ssd_and_a_kosmos_cluster_takes_external_pools():
    assert (
        pool_problems(PoolSpec(node_type="DEV1-M", size=1, root_volume_type="l_ssd"), cluster=CLUSTER, region="fr-par")
        == []
    )
    kosmos = ClusterSpec(name="k", type="multicloud", cni="kilo", version="1.35.2", delete_additional_resources=True)
    assert pool_problems(PoolSpec(node_type="external", size=1), cluster=kosmos, region="fr-par") == []


#: SDK arguments the program fills from a stack key of another name, and the key.
STACK_KEYS = {
    "Cluster": {"autoscaler_config": "autoscaler", "open_id_connect_config": "oidc", "auto_upgrade": "auto_upgrade"},
    "Pool": {},
    # The allow-list's rules are `kapsule:cluster.api_access.allowed` (with `scaleway_ranges`, docs/api-access.md).
    "Acl": {"acl_rules": "allowed", "no_ip_allowed": "full_isolation"},
}


def _documented() -> dict[str, set[str]]:
    rows: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "sdk-arguments.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0] in ("Cluster", "Pool", "Acl"):
            rows.setdefault(cells[0], set()).update(re.findall(r"`([a-z_]+)`", cells[1]))
    return rows


@pytest.mark.parametrize(
    ("resource", "args", "spec"),
    [
        ("Cluster", kubernetes.ClusterArgs, ClusterSpec),
        ("Pool", kubernetes.PoolArgs, PoolSpec),
        ("Acl", kubernetes.AclArgs, ApiAccessSpec),
        ("Autoscaler", kubernetes.ClusterAutoscalerConfigArgs, AutoscalerSpec),
    ],
)
def test_every_sdk_argument_is_a_stack_key_or_documented_as_left_out(resource, args, spec):
    """The pinned SDK's own argument list: a new SDK argument fails here until it is a key or a row of
    docs/sdk-arguments.md."""
    names = [n for n in inspect.signature(args.__init__).parameters if n not in ("self", "__self__")]
    documented = _documented().get(resource, set())
    fields = set(spec.model_fields) if spec is not None else set()
    keys = STACK_KEYS.get(resource, {})
    missing = [n for n in names if n not in documented and keys.get(n, n) not in fields]
    assert missing == [], f"{resource}: neither a stack key nor in docs/sdk-arguments.md: {missing}"
    stale = sorted(documented - set(names))
    assert stale == [], f"docs/sdk-arguments.md lists {resource} arguments the SDK no longer has: {stale}"


def test_the_acl_row_names_the_stack_key():
    row = next(
        line for line in (ROOT / "docs" / "sdk-arguments.md").read_text().splitlines() if line.startswith("| Acl |")
    )
    assert "`kapsule:cluster.api_access` key (docs/api-access.md)" in row


VERSIONS = {
    "versions": [
        {
            "name": name,
            "label": name,
            "region": "fr-par",
            "available_cnis": ["cilium", "calico", "none"],
            "available_container_runtimes": ["containerd"],
            "available_feature_gates": ["HPAScaleToZero"],
            "available_admission_plugins": ["AlwaysPullImages"],
            "available_kubelet_args": {"maxPods": "uint16"},
            "deprecated_at": deprecated,
            "end_of_life_at": end,
            "released_at": released,
        }
        for name, released, deprecated, end in (
            ("1.35.2", "2026-01-19T00:00:00Z", "2027-01-19T00:00:00Z", "2027-03-19T00:00:00Z"),
            ("1.35.4", "2026-03-02T00:00:00Z", "2027-01-19T00:00:00Z", "2027-03-19T00:00:00Z"),
        )
    ]
}


def _server(l_ssd_max: int, end: bool) -> dict:
    return {
        "alt_names": [],
        "arch": "x86_64",
        "ncpus": 8,
        "ram": 51539607552,
        "hourly_price": 0.0,
        "monthly_price": 0.0,
        "end_of_service": end,
        "gpu": 1,
        "per_volume_constraint": {"l_ssd": {"min_size": 0, "max_size": l_ssd_max}},
        "volumes_constraint": {"min_size": 0, "max_size": 0},
        "capabilities": None,
        "network": None,
        "gpu_info": None,
        "scratch_storage_max_size": None,
        "block_bandwidth": None,
        "scratch_storage_max_volumes_count": None,
    }


class _Scaleway(BaseHTTPRequestHandler):
    """Answers as the Scaleway API would, from constructed bodies; records each request."""

    seen: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        self.seen.append(("GET", url.path, parse_qs(url.query)))
        zone = url.path.split("/")[4] if url.path.startswith("/instance/") else ""
        if url.path == "/k8s/v1/regions/fr-par/versions":
            body = VERSIONS
        elif url.path.endswith("/products/servers"):
            body = {
                "servers": {"L4-1-24G": _server(0, False)}
                if zone == "fr-par-2"
                else {"DEV1-M": _server(20000000000, False)},
                "total_count": 1,
            }
        elif url.path == "/product-catalog/v2alpha1/public-catalog/products":
            # A recorded answer of the API's, in its wire format: eight products, six priced hourly in fr-par-1.
            body = json.loads((ROOT / "tests" / "fixtures" / "product_catalog_response.json").read_text())
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_refresh_reads_the_api_through_the_sdk_and_rewrites_the_catalog(tmp_path, monkeypatch):
    from scaleway import Client

    from kapsule.catalog import refresh as refresh_module

    for name, file in (
        ("CATALOG_FILE", "kubernetes_versions.json"),
        ("NODE_TYPES_FILE", "node_types.json"),
        ("PRICES_FILE", "prices.json"),
    ):
        copy_path = tmp_path / file
        copy_path.write_text((ROOT / "components" / file).read_text())
        monkeypatch.setattr(refresh_module, name, copy_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scaleway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Scaleway.seen = []
    try:
        client = Client(
            access_key="SCWXXXXXXXXXXXXXXXXX",
            secret_key="11111111-1111-1111-1111-111111111111",
            api_url=f"http://127.0.0.1:{server.server_address[1]}",
            default_region="fr-par",
            default_zone="fr-par-1",
        )
        lines = refresh_module.refresh(client, "fr-par", ["fr-par-1", "fr-par-2"], "fr-par-1", DAY)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert [(m, p) for m, p, _ in _Scaleway.seen] == [
        ("GET", "/k8s/v1/regions/fr-par/versions"),
        ("GET", "/instance/v1/zones/fr-par-1/products/servers"),
        ("GET", "/instance/v1/zones/fr-par-2/products/servers"),
        ("GET", "/product-catalog/v2alpha1/public-catalog/products"),
    ]
    assert _Scaleway.seen[1][2] == {"page": ["1"], "per_page": ["100"]}
    versions = json.loads((tmp_path / "kubernetes_versions.json").read_text())
    assert versions["versions"] == [
        {
            "minor": "1.35",
            "released": "2026-01-19",
            "deprecated": "2027-01-19",
            "end_of_support": "2027-03-19",
            "latest_patch": "1.35.4",
            "read_from": "api",
            "available_kubelet_args": {"maxPods": "uint16"},
            "available_feature_gates": ["HPAScaleToZero"],
            "available_admission_plugins": ["AlwaysPullImages"],
            "available_cnis": ["calico", "cilium", "none"],
        }
    ]
    types = json.loads((tmp_path / "node_types.json").read_text())["node_types"]
    assert types["L4-1-24G"]["zones"] == ["fr-par-2"] and types["L4-1-24G"]["read_from"] == "api"
    assert types["DEV1-M"]["local_storage"] is True and types["L4-1-24G"]["local_storage"] is False
    prices = json.loads((tmp_path / "prices.json").read_text())
    pro2 = prices["node_types"]["PRO2-S"]  # the fixture's fr-par-1 price, as test_cost reads it without the API
    assert (pro2["hourly"], pro2["estimate"], pro2["kg_co2e_hourly"]) == (0.2276, False, 0.0184)
    assert lines[2] == "components/prices.json: 6 prices from the public product catalog (fr-par-1)"


def test_the_catalog_command_shows_what_each_entry_rests_on():
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "catalog", "--today", DAY.isoformat()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "Kubernetes versions (components/kubernetes_versions.json, as of 2026-12-07)"
    rows = {line.split()[0]: line.split(None, 4)[4] for line in lines if re.match(r"  1\.3\d ", line)}
    assert rows == {
        "1.33": "past end of support   read from Scaleway's documentation",
        "1.34": "past end of support   read from Scaleway's documentation",
        "1.35": "supported             read from Scaleway's documentation",
        "1.36": "supported             read from Scaleway's documentation",
    }
    [l4] = [line for line in lines if line.startswith("  L4-1-24G ")]
    assert l4.split()[1:4] == ["fr-par-2,pl-waw-2", "block", "offered;"]
    assert "0.7875 EUR/h (estimate); zones read from Scaleway's documentation [gpu]" in l4
    [coparm] = [line for line in lines if line.startswith("  COPARM1-4C-16G ")]
    assert "end of service, successor BASIC-A4C-16G" in coparm
    assert any(line.startswith("  [gpu] Product availability guide") for line in lines)
    estimates = r"Prices \(components/prices\.json, as of [-0-9]+\): \d+ entries are estimates"
    assert any(re.fullmatch(estimates, line) for line in lines)


def test_the_bar_an_l4_pool_in_a_zone_that_offers_it_plans_with_a_price_labelled_an_estimate(tmp_path, monkeypatch):
    monkeypatch.setenv("KAPSULE_TODAY", DAY.isoformat())
    gpu = {"node_type": "L4-1-24G", "zone": "fr-par-2", "size": 1}
    root = copy_project(tmp_path / "project", {"dev": lambda c: c["kapsule:pools"].update(gpu=gpu)})
    policy = root / "policy" / "config" / "dev.json"
    settings = json.loads(policy.read_text())
    settings["allowed-node-types"] = {"enforcementLevel": "mandatory", "allowedNodeTypes": ["DEV1-M", "L4-*"]}
    policy.write_text(json.dumps(settings))  # the team's policy must allow GPU types: the default does not
    plan = plan_stack("dev", root)
    assert plan.errors == []
    [line] = [line for line in plan.cost.after.lines if line.name == "gpu"]
    assert line.unpriced is None and line.estimate and line.high == round(0.7875 * 730, 2)
    from kapsule.reports.plan import format_text

    [total] = [row for row in format_text(plan).splitlines() if row.startswith("Monthly cost: ")]
    assert total.endswith(", estimates)")


def test_what_a_minor_offers_is_checked_once_the_api_lists_were_read(monkeypatch):
    import components.catalog as module
    from components.spec import SpecError

    real = module.load_catalog()
    # Before a refresh the lists are unknown: nothing is refused for them.
    assert real.find("1.35").feature_gates is None
    ClusterSpec(name="c", version="1.35.2", delete_additional_resources=True, feature_gates=["Nope"])
    read = dataclasses.replace(
        real.find("1.35"),
        read_from="api",
        kubelet_args={"maxPods": "uint16"},
        feature_gates=("HPAScaleToZero",),
        admission_plugins=("AlwaysPullImages",),
        cnis=("cilium", "calico"),
    )
    patched = dataclasses.replace(real, versions=tuple(read if v.minor == "1.35" else v for v in real.versions))
    monkeypatch.setattr(module, "load_catalog", lambda: patched)
    with pytest.raises(SpecError) as raised:
        ClusterSpec(
            name="c",
            version="1.35.2",
            delete_additional_resources=True,
            cni="none",
            feature_gates=["HPAScaleToZero", "Nope"],
            admission_plugins=["PodNodeSelector"],
        )
    text = str(raised.value)
    assert "feature_gates: 'Nope' is not offered on Kubernetes 1.35 (the API lists: HPAScaleToZero)" in text
    assert "admission_plugins: 'PodNodeSelector' is not offered on Kubernetes 1.35" in text
    assert "cni: 'none' is not offered on Kubernetes 1.35 (the API lists: cilium, calico)" in text
    pool = PoolSpec(node_type="DEV1-M", size=1, kubelet_args={"maxPods": "50", "nope": "1"})
    assert [(p.path, p.message) for p in pool_problems(pool, cluster=CLUSTER, region="fr-par")] == [
        (("kubelet_args",), "'nope' is not offered on Kubernetes 1.35 (the API lists: maxPods)")
    ]
