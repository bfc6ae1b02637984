"""`kapsule plan` against recorded state: actions, replacement reasons, what is destroyed, upgrade safety."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kapsule.exits import EXIT_CHANGES, EXIT_DESTRUCTIVE, EXIT_INVALID, EXIT_NO_CHANGES
from kapsule.names import ROOT
from kapsule.plan.outcome import Plan
from kapsule.plan.stack import plan_stack
from kapsule.state.reading import read_state
from tests import recorded
from tests.conftest import STACKS, copy_project, render_stack
from tests.test_engine_records import as_recorded

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each real stack as if `pulumi up` had just deployed it: one export file per stack."""
    directory = tmp_path_factory.mktemp("state")
    return {
        stack: recorded.write(directory / f"{stack}.json", recorded.export(render_stack(stack))) for stack in STACKS
    }


def plan_after(
    tmp_path: Path, deployed: dict[str, Path], stack: str, edit: Edit | None = None, state: Path | None = None
) -> Plan:
    """Plan `stack` after `edit` changes its stack file, against what was deployed."""
    root = copy_project(tmp_path / "project", {stack: edit} if edit else None)
    return plan_stack(stack, root, read_state(state or deployed[stack]))


def changes(plan: Plan) -> dict[tuple[str, str], str]:
    """(type, name) -> action of every resource that is not unchanged."""
    return {(c.resource.type, c.resource.name): c.action for c in plan.changes if c.action != "same"}


def one(plan: Plan, type_: str, name: str):
    return next(c for c in plan.changes if c.resource.type == type_ and c.resource.name == name)


def kapsule(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kapsule", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


def test_a_stack_planned_against_its_own_deployment_has_no_changes(tmp_path, deployed, stack):
    plan = plan_after(tmp_path, deployed, stack)
    assert changes(plan) == {}
    assert plan.errors == [] and plan.exit_code == EXIT_NO_CHANGES
    assert plan.count("same") == len(plan.changes) > 10


def test_an_in_place_change_is_an_update_with_old_and_new(tmp_path, deployed):
    def edit(config):
        config["kapsule:pools"]["default"]["max_size"] = 5
        config["kapsule:tags"]["team"] = "web"

    plan = plan_after(tmp_path, deployed, "dev", edit)
    pool = one(plan, "scaleway:kubernetes/pool:Pool", "default")
    assert pool.action == "update" and not pool.destructive
    assert pool.changed["maxSize"] == (3, 5)
    assert pool.changed["tags"][1] == ["env=dev", "owner=platform", "team=web"]
    assert plan.exit_code == EXIT_CHANGES


def test_a_node_type_change_replaces_the_pool_and_says_what_it_destroys(tmp_path, deployed):
    def edit(config):
        config["kapsule:pools"]["default"]["node_type"] = "DEV1-L"

    plan = plan_after(tmp_path, deployed, "dev", edit)
    pool = one(plan, "scaleway:kubernetes/pool:Pool", "default")
    assert pool.action == "replace"
    assert pool.changed["nodeType"] == ("DEV1-M", "DEV1-L")
    assert pool.reasons == ["nodeType changed: the provider replaces the resource"]
    assert "every node of the pool" in pool.destroys
    # The Kubernetes provider waits for the pool, but its kubeconfig comes from the cluster, which stays:
    # the provider and every object on it are untouched.
    assert {k: v for k, v in changes(plan).items() if v == "replace"} == {
        ("scaleway:kubernetes/pool:Pool", "default"): "replace"
    }
    assert one(plan, "pulumi:providers:kubernetes", "cluster-kubernetes").action == "same"
    assert plan.exit_code == EXIT_DESTRUCTIVE


def test_a_new_subnet_replaces_the_network_then_the_cluster_and_everything_on_it(tmp_path, deployed):
    def edit(config):
        config["kapsule:network"]["subnet"] = "172.16.4.0/22"

    plan = plan_after(tmp_path, deployed, "dev", edit)
    cluster = one(plan, "scaleway:kubernetes/cluster:Cluster", "cluster")
    assert one(plan, "scaleway:network/privateNetwork:PrivateNetwork", "network").reasons == [
        "ipv4Subnet changed: the provider replaces the resource"
    ]
    assert cluster.action == "replace" and cluster.reasons == [
        "privateNetworkId changed from one network to another: the provider replaces the resource"
    ]
    assert "every workload" in cluster.destroys and "delete_additional_resources is true" in cluster.destroys
    assert one(plan, "scaleway:kubernetes/pool:Pool", "default").reasons == [
        "clusterId changed: the provider replaces the resource"
    ]
    assert one(plan, "pulumi:providers:kubernetes", "cluster-kubernetes").action == "replace"
    for change in plan.changes:
        if change.resource.type.startswith("kubernetes:"):
            assert change.action == "replace", change.resource.urn
    assert one(plan, "scaleway:registry/namespace:Namespace", "registry").action == "same"


def test_renaming_the_registry_replaces_it_and_loses_its_images(tmp_path, deployed):
    plan = plan_after(tmp_path, deployed, "dev", lambda c: c["kapsule:registry"].update(name="kapsule-dev-images-2"))
    registry = one(plan, "scaleway:registry/namespace:Namespace", "registry")
    assert registry.action == "replace" and registry.destroys == "every image pushed to the registry namespace"


def test_renaming_the_cluster_is_in_place_but_warns_of_the_control_plane_redeploy(tmp_path, deployed):
    plan = plan_after(tmp_path, deployed, "staging", lambda c: c["kapsule:cluster"].update(name="kapsule-staging-2"))
    assert one(plan, "scaleway:kubernetes/cluster:Cluster", "cluster").action == "update"
    assert [w for w in plan.warnings if "kapsule:cluster" in w] == [
        "stacks/Pulumi.staging.yaml: kapsule:cluster.name: renaming 'kapsule-staging' to 'kapsule-staging-2' "
        "redeploys the control plane: expect one to two hours of API server disruption"
    ]
    assert plan.exit_code == EXIT_CHANGES


def test_a_removed_service_is_deleted_with_its_reserved_ip(tmp_path, deployed):
    plan = plan_after(tmp_path, deployed, "staging", lambda c: c["kapsule:services"].pop("api"))
    deleted = {k for k, v in changes(plan).items() if v == "delete"}
    assert deleted == {
        ("kapsule:load_balancer:LoadBalancerService", "api"),
        ("kubernetes:core/v1:Service", "api"),
        ("scaleway:loadbalancers/ip:Ip", "api-ip"),
    }
    assert "reserved load balancer IP" in one(plan, "scaleway:loadbalancers/ip:Ip", "api-ip").destroys
    assert plan.exit_code == EXIT_DESTRUCTIVE


def test_replacing_a_protected_resource_is_flagged(tmp_path, deployed):
    plan = plan_after(tmp_path, deployed, "prod", lambda c: c["kapsule:registry"].update(region="nl-ams"))
    registry = one(plan, "scaleway:registry/namespace:Namespace", "registry")
    assert registry.action == "replace"
    assert "protected: `pulumi up` refuses until protect is turned off in the stack file" in registry.reasons


def test_the_autoscaler_owns_the_live_pool_size(tmp_path, deployed, stack):
    document = recorded.export(render_stack(stack))
    drifted = []
    for resource in document["deployment"]["resources"]:
        if resource["type"] == "scaleway:kubernetes/pool:Pool":
            resource["inputs"]["size"] = resource["outputs"]["size"] = 7
            drifted.append(resource["urn"])
    path = recorded.write(tmp_path / "drifted.json", document)
    plan = plan_after(tmp_path, deployed, stack, state=path)
    assert drifted and changes(plan) == {}


def test_provider_defaults_are_not_changes_but_removed_inputs_are(tmp_path, deployed):
    document = json.loads(deployed["dev"].read_text())
    pool = next(r for r in document["deployment"]["resources"] if r["type"] == "scaleway:kubernetes/pool:Pool")
    pool["inputs"]["rootVolumeType"] = "l_ssd"
    pool["inputs"]["__defaults"].append("rootVolumeType")
    pool["inputs"]["placementGroupId"] = "fr-par-1/11111111-2222-3333-4444-555555555555"
    plan = plan_after(tmp_path, deployed, "dev", state=recorded.write(tmp_path / "defaults.json", document))
    change = one(plan, "scaleway:kubernetes/pool:Pool", "default")
    assert change.changed == {"placementGroupId": ("fr-par-1/11111111-2222-3333-4444-555555555555", None)}
    assert change.action == "replace"


# Upgrade safety: versions and CNI against what runs.


def deployed_at(
    tmp_path: Path, stack: str, cluster_version: str, pool_version: str | None = None, cni: str | None = None
) -> Path:
    rendering = render_stack(stack)
    overrides: dict[str, dict[str, Any]] = {}
    for resource in rendering.resources:
        if resource.type == "scaleway:kubernetes/cluster:Cluster":
            overrides[resource.urn] = {"version": cluster_version}
            if cni:  # the provider's state and the recorded inputs both hold the live CNI
                resource.inputs["cni"] = cni
                overrides[resource.urn]["cni"] = cni
        if resource.type == "scaleway:kubernetes/pool:Pool":
            overrides[resource.urn] = {"version": pool_version or cluster_version}
    return recorded.write(tmp_path / f"{stack}-{cluster_version}.json", recorded.export(rendering, overrides=overrides))


@pytest.mark.parametrize(
    ("live", "allowed"),
    [("1.35.2", True), ("1.34.6", True), ("1.33.9", False), ("1.36.1", False)],
)
def test_cluster_version_moves_one_minor_at_most_and_never_back(tmp_path, deployed, live, allowed):
    plan = plan_after(tmp_path, deployed, "dev", state=deployed_at(tmp_path, "dev", live))
    assert (plan.errors == []) is allowed
    if live == "1.33.9":
        assert plan.errors == [
            "stacks/Pulumi.dev.yaml: kapsule:cluster.version: 1.33.9 -> 1.35 skips a minor version; "
            "Kapsule upgrades one minor at a time: 1.33 -> 1.34 -> 1.35, one apply per step"
        ]
    if live == "1.36.1":
        assert "is a downgrade" in plan.errors[0] and "allowed: 1.36 or 1.37" in plan.errors[0]
    if not allowed:
        assert plan.exit_code == EXIT_INVALID


def test_pools_that_do_not_follow_the_cluster_may_not_fall_too_far_behind(tmp_path, deployed):
    def edit(config):
        config["kapsule:cluster"].update(version="1.35.2", upgrade_pools=False)
        config["kapsule:cluster"]["auto_upgrade"]["enabled"] = False

    state = deployed_at(tmp_path, "dev", "1.34.5", pool_version="1.31.8")
    plan = plan_after(tmp_path, deployed, "dev", edit, state=state)
    assert plan.errors == [
        "stacks/Pulumi.dev.yaml: kapsule:pools.default.version: 1.31.8 is 4 minors behind the cluster's 1.35.2; "
        "kubelets may be at most 3 minors older than the API server"
    ]


def test_a_cni_change_is_refused_with_the_reason(tmp_path, deployed):
    plan = plan_after(tmp_path, deployed, "dev", state=deployed_at(tmp_path, "dev", "1.35.1", cni="calico"))
    assert len(plan.errors) == 1
    assert plan.errors[0].startswith(
        "stacks/Pulumi.dev.yaml: kapsule:cluster.cni: 'calico' -> 'cilium': the CNI of an existing cluster"
    )
    cluster = one(plan, "scaleway:kubernetes/cluster:Cluster", "cluster")
    assert cluster.action == "replace" and cluster.changed["cni"] == ("calico", "cilium")


# The command line: formats, exit codes, state discovery, secrets.


def test_cli_reads_the_local_backend_checkpoint_and_exits_by_severity(tmp_path):
    project = copy_project(
        tmp_path / "project", {"dev": lambda c: c["kapsule:pools"]["default"].update(node_type="DEV1-L")}
    )
    backend = tmp_path / "backend"
    for stack in STACKS:
        recorded.write(
            backend / ".pulumi" / "stacks" / "kapsule" / f"{stack}.json", recorded.checkpoint(render_stack(stack))
        )
    env = {"PATH": "/usr/bin:/bin", "PULUMI_BACKEND_URL": f"file://{backend}", "KAPSULE_TODAY": "2026-11-21"}
    assert kapsule("plan", "--stack", "staging", cwd=project, env=env).returncode == EXIT_NO_CHANGES
    dev = kapsule("plan", "--stack", "dev", cwd=project, env=env)
    assert dev.returncode == EXIT_DESTRUCTIVE, dev.stderr
    assert f"against {backend}/.pulumi/stacks/kapsule/dev.json: 1 to replace, " in dev.stdout
    assert "nodeType: DEV1-M -> DEV1-L" in dev.stdout
    every = kapsule("plan", "--all", "--format", "json", cwd=project, env=env)
    assert every.returncode == EXIT_DESTRUCTIVE
    assert [p["destructive"] for p in json.loads(every.stdout)] == [True, False, False]
    fresh = kapsule(
        "plan", "--stack", "dev", cwd=project, env={**env, "PULUMI_BACKEND_URL": f"file://{tmp_path}/empty"}
    )
    assert fresh.returncode == EXIT_CHANGES and "no recorded state, so every resource is a create" in fresh.stdout


def test_outputs_are_byte_identical_and_never_show_a_secret(tmp_path):
    project = copy_project(
        tmp_path / "project", {"staging": lambda c: c["kapsule:cluster"].update(name="kapsule-staging-2")}
    )
    states = tmp_path / "exports"
    secrets: list[str] = []
    for stack in STACKS:
        rendering = render_stack(stack)
        document = recorded.export(rendering, show_secrets=True)
        recorded.write(states / f"{stack}.json", document)
        secrets += [r.outputs["secretKey"] for r in rendering.resources if r.type == "scaleway:iam/apiKey:ApiKey"]
        secrets += [
            r.outputs["kubeconfigs"][0]["token"]
            for r in rendering.resources
            if r.type == "scaleway:kubernetes/cluster:Cluster"
        ]
    assert secrets
    for form in ("text", "markdown", "json"):
        first = kapsule("plan", "--all", "--state", str(states), "--format", form, cwd=project)
        second = kapsule("plan", "--all", "--state", str(states), "--format", form, cwd=project)
        assert first.returncode == EXIT_CHANGES, first.stderr
        assert first.stdout == second.stdout
        for secret in secrets:
            assert secret.replace("-", "")[:12] not in first.stdout.replace("-", "")


def test_markdown_is_one_comment_with_a_summary_row_per_stack(tmp_path, deployed):
    project = copy_project(
        tmp_path / "project", {"prod": lambda c: c["kapsule:pools"]["fr-par-2"].update(node_type="PRO2-M")}
    )
    policy = project / "policy" / "config" / "prod.json"
    policy.write_text(policy.read_text().replace('"maxMonthly": 6000', '"maxMonthly": 9000'))  # larger nodes cost more
    result = kapsule("plan", "--all", "--state", str(deployed["dev"].parent), "--format", "markdown", cwd=project)
    assert result.returncode == EXIT_DESTRUCTIVE, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "<!-- kapsule-plan -->"
    assert "| `dev` | 0 | 0 | 0 | 0 |" in result.stdout and "| no changes |" in result.stdout
    prod = [line for line in lines if line.startswith("| `prod`")][0]
    assert "| **destructive** |" in prod and prod.endswith(" |") and "+EUR" in prod
    assert "> Replacing `fr-par-2` (`scaleway:kubernetes/pool:Pool`) destroys every node of the pool" in result.stdout
    assert re.search(r"^! +nodeType: PRO2-S -> PRO2-M$", result.stdout, re.M)


def test_an_unreadable_state_file_is_one_clear_error(tmp_path):
    broken = tmp_path / "dev.json"
    broken.write_text("{not json")
    result = kapsule("plan", "--stack", "dev", "--state", str(broken), cwd=Path(__file__).parent.parent)
    assert result.returncode == EXIT_INVALID
    assert result.stderr.startswith(f"{broken}: not a readable Pulumi state file")
    assert "Traceback" not in result.stderr


def test_planning_stacks_in_parallel_gives_what_one_by_one_gives(monkeypatch, deployed):
    from kapsule.plan import batch as cli
    from kapsule.reports.plan import format_json

    told: dict[str, list] = {"parallel": [], "sequential": []}
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 4)
    parallel = cli.plan_stacks(
        list(STACKS), deployed["dev"].parent, progress=lambda *seen: told["parallel"].append(seen)
    )
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 1)
    sequential = cli.plan_stacks(
        list(STACKS), deployed["dev"].parent, progress=lambda *seen: told["sequential"].append(seen)
    )
    assert format_json(parallel) == format_json(sequential)
    assert [plan.stack for plan in parallel] == list(STACKS)
    # Progress: each stack once, counted up to the total, in the order the plans arrive.
    for seen in told.values():
        assert [done for done, _, _ in seen] == list(range(1, len(STACKS) + 1))
        assert sorted(stack for _, _, stack in seen) == sorted(STACKS) and {total for _, total, _ in seen} == {
            len(STACKS)
        }


def test_the_plan_shows_what_the_program_warns_about(tmp_path, deployed):
    def extra(config):
        config["kapsule:services"]["api"]["load_balancer"]["extra_annotations"] = {
            "service.beta.kubernetes.io/scw-loadbalancer-bogus": "1"
        }

    plan = plan_after(tmp_path, deployed, "staging", extra)
    assert plan.warnings[0] == (
        "Service api: annotation 'service.beta.kubernetes.io/scw-loadbalancer-bogus' is not one the Scaleway "
        "cloud controller defines; it will be ignored"
    )
    assert one(plan, "kubernetes:core/v1:Service", "api").action == "update"


def test_unsetting_an_optional_computed_cluster_field_is_no_change(tmp_path):
    def with_cidrs(config):
        config["kapsule:cluster"].update(
            pod_cidr="100.64.0.0/15", service_cidr="10.32.0.0/20", service_dns_ip="10.32.0.10"
        )

    state = recorded.write(tmp_path / "dev.json", recorded.export(render_stack("dev", with_cidrs)))
    plan = plan_stack("dev", copy_project(tmp_path / "project"), read_state(state))
    assert changes(plan) == {} and plan.exit_code == EXIT_NO_CHANGES


def test_turning_on_mutable_secrets_updates_the_provider_and_nothing_on_it(tmp_path, deployed):
    # State recorded before the provider set enableSecretMutable. pulumi-kubernetes' DiffConfig replaces a
    # provider only when its active cluster changes, so the new setting is an update of the provider alone.
    document = json.loads(deployed["dev"].read_text())
    provider = next(r for r in document["deployment"]["resources"] if r["type"] == "pulumi:providers:kubernetes")
    del provider["inputs"]["enableSecretMutable"]
    plan = plan_after(tmp_path, deployed, "dev", state=recorded.write(tmp_path / "before.json", document))
    assert changes(plan) == {("pulumi:providers:kubernetes", "cluster-kubernetes"): "update"}
    assert one(plan, "pulumi:providers:kubernetes", "cluster-kubernetes").changed == {
        "enableSecretMutable": (None, "true")
    }
    assert plan.exit_code == EXIT_CHANGES


def test_urns_name_the_whole_parent_chain_as_the_engine_does():
    # pulumi/pulumi's Deployment.generateURN prefixes the parent's full qualified type (`a$b`), not only
    # its last segment as the SDK's mock monitor does. A pool's resource sits two components deep.
    pool = render_stack("prod").by_type("scaleway:kubernetes/pool:Pool")[0]
    assert pool.urn == (
        "urn:pulumi:prod::kapsule::kapsule:cluster:Cluster$kapsule:pool:Pool$scaleway:kubernetes/pool:Pool::fr-par-1"
    )
    assert pool.parent == "urn:pulumi:prod::kapsule::kapsule:cluster:Cluster$kapsule:pool:Pool::fr-par-1"
    top = render_stack("prod").one("kapsule:cluster:Cluster")
    assert top.urn == "urn:pulumi:prod::kapsule::kapsule:cluster:Cluster::cluster"  # the stack adds nothing


@pytest.mark.parametrize("stack", STACKS)
def test_state_recorded_before_the_type_token_rename_plans_no_change(stack):
    """State exported before the components took `kapsule:<module>:<Name>` tokens (tests/fixtures, recorded
    with the earlier tokens): the aliases find every resource, so nothing is created, replaced or deleted."""
    old = read_state(ROOT / "tests" / "fixtures" / "state-before-token-rename" / f"{stack}.json.gz", stack=stack)
    assert any("kapsule:cluster:Pool" in urn for urn in old.resources)
    plan = plan_stack(stack, ROOT, old)
    # State recorded before the Services' provider annotations: their addition is the one update (as_recorded).
    # The API server's allow-list came after too: where the stack file declares one, its create is a change.
    # `max_node_age_days` came after it as well: the pool components' own input, an update that touches nothing.
    changed = [(urn, action) for urn, action in as_recorded(plan).items() if action != "same"]
    pools = [(urn, action) for urn, action in changed if urn.split("::")[2].endswith("$kapsule:pool:Pool")]
    assert {action for _, action in pools} <= {"update"}
    others = [(urn.rsplit("::", 1)[-1], action) for urn, action in changed if (urn, action) not in pools]
    assert others == ([("cluster-api-access", "create")] if stack in ("prod", "staging") else [])
    # The `region` export (the cluster stack's contract) came after this state was recorded.
    assert plan.output_changes == {"region": (None, "fr-par")} and plan.errors == []
    urns = [change.resource.urn for change in plan.changes]
    assert any("kapsule:pool:Pool$scaleway:kubernetes/pool:Pool" in urn for urn in urns)
    assert not any("kapsule:cluster:Pool" in urn or "kapsule:kubernetes:" in urn for urn in urns)
