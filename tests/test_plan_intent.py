"""The plan says intent and effect where they differ: a removed setting the provider keeps live, a cluster
deletion that takes its private network with it, a control-plane downgrade Scaleway refuses for a while. Each
case is the scaleway engine-record set's base stack against its export, edited to the case."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from kapsule.names import CLUSTER, POOL
from kapsule.plan.replacement import destroys
from tests.test_engine_records import RECORDS, plan_of

BASE = RECORDS / "scaleway" / "Pulumi.eng.yaml"


def deployed(tmp_path: Path, **cluster: object) -> Path:
    """The record set's export with the cluster's recorded inputs (and outputs) changed as given."""
    document = json.loads((RECORDS / "scaleway" / "export.json").read_text())
    for resource in document["deployment"]["resources"]:
        if resource["type"] == CLUSTER:
            resource["inputs"].update(cluster)
            resource["outputs"].update(cluster)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(document))
    return export


def declared(tmp_path: Path, **cluster: object) -> Path:
    """The base stack file with the cluster's keys changed as given."""
    stack = yaml.safe_load(BASE.read_text())
    stack["config"]["kapsule:cluster"].update(cluster)
    path = tmp_path / "Pulumi.eng.yaml"
    path.write_text(yaml.safe_dump(stack))
    return path


def cluster_action(plan) -> str:
    return next(c.action for c in plan.changes if c.resource.type == CLUSTER)


def test_removing_oidc_changes_nothing_live_and_the_plan_says_how_to_change_it(tmp_path):
    oidc = {"issuerUrl": "https://issuer.example.com", "clientId": "kapsule"}
    plan, _ = plan_of(tmp_path, "scaleway", BASE, deployed(tmp_path, openIdConnectConfig=oidc))
    assert cluster_action(plan) == "same"
    notes = [n for n in plan.notes if "cluster.oidc" in n]
    assert len(notes) == 2, plan.notes
    assert any(
        "sets cluster.oidc.issuer_url, and Scaleway keeps the live value 'https://issuer.example.com'" in n
        for n in notes
    )
    assert all("clear the cluster's OpenID Connect settings in Scaleway's console" in n for n in notes)


def test_removing_an_autoscaler_key_changes_nothing_live_and_the_plan_says_so(tmp_path):
    export = deployed(tmp_path, autoscalerConfig={"scaleDownUnneededTime": "20m"})
    plan, _ = plan_of(tmp_path, "scaleway", BASE, export)
    assert cluster_action(plan) == "same"
    assert [n for n in plan.notes if "cluster.autoscaler" in n] == [
        "cluster: the stack file no longer sets cluster.autoscaler.scale_down_unneeded_time, and Scaleway keeps "
        "the live value '20m': nothing changes; to change it, set the key to the value you want "
        "(docs/stack-keys.md gives Scaleway's default where it is known)"
    ]
    # Still set: no note.
    (tmp_path / "kept").mkdir()
    stack = declared(tmp_path / "kept", autoscaler={"scale_down_unneeded_time": "20m"})
    kept, _ = plan_of(tmp_path / "kept", "scaleway", stack, export)
    assert [n for n in kept.notes if "cluster.autoscaler" in n] == []


def test_removing_a_pools_security_group_changes_nothing_live_and_the_plan_says_so(tmp_path):
    document = json.loads((RECORDS / "scaleway" / "export.json").read_text())
    [pool] = [r for r in document["deployment"]["resources"] if r["type"] == POOL and r["urn"].endswith("::fixed")]
    pool["inputs"]["securityGroupId"] = pool["outputs"]["securityGroupId"] = (
        "fr-par-2/5e1b7c9a-0000-4000-8000-000000000001"
    )
    export = tmp_path / "export.json"
    export.write_text(json.dumps(document))
    plan, _ = plan_of(tmp_path, "scaleway", BASE, export)
    assert next(c.action for c in plan.changes if c.resource.urn == pool["urn"]) == "same"
    assert [n for n in plan.notes if "security_group_id" in n] == [
        "fixed: the stack file no longer sets pools.fixed.security_group_id, and Scaleway keeps the live value "
        "'fr-par-2/5e1b7c9a-0000-4000-8000-000000000001': nothing changes; the nodes stay in that security group; "
        "to change it, set the key to the group you want"
    ]


def test_a_control_plane_downgrade_says_when_it_becomes_possible_in_place(tmp_path):
    export = deployed(tmp_path, type="kapsule-dedicated-8")
    plan, _ = plan_of(tmp_path, "scaleway", declared(tmp_path, type="kapsule-dedicated-4"), export)
    assert cluster_action(plan) == "replace"
    [note] = [n for n in plan.notes if "downgrade" in n]
    assert "the 30-day commitment of kapsule-dedicated-8 has ended" in note
    assert "(created 2026-12-02; if it was created as kapsule-dedicated-8, from 2027-01-01)" in note
    assert "etcd holds less than kapsule-dedicated-4's quota" in note
    (tmp_path / "up").mkdir()
    stack = declared(tmp_path / "up", type="kapsule-dedicated-8")
    up, _ = plan_of(tmp_path / "up", "scaleway", stack, deployed(tmp_path / "up"))
    assert cluster_action(up) == "update" and not [n for n in up.notes if "downgrade" in n]


def test_a_downgrade_of_a_cluster_with_no_recorded_creation_day_says_when_without_a_date(tmp_path):
    """An export whose cluster has no createdAt output (hand-made, or an older provider's) still gets its note."""
    export = deployed(tmp_path, type="kapsule-dedicated-8")
    document = json.loads(export.read_text())
    for resource in document["deployment"]["resources"]:
        if resource["type"] == CLUSTER:
            del resource["outputs"]["createdAt"]
    export.write_text(json.dumps(document))
    plan, _ = plan_of(tmp_path, "scaleway", declared(tmp_path, type="kapsule-dedicated-4"), export)
    [note] = [n for n in plan.notes if "downgrade" in n]
    assert "counted from the day the cluster moved to kapsule-dedicated-8, and etcd holds less" in note


def test_a_cluster_deletion_with_delete_additional_resources_names_its_private_network():
    inputs = {"deleteAdditionalResources": True, "privateNetworkId": "fr-par/4b113527-c685-4f6e-a4fa-1663c052e0ef"}
    text = destroys(CLUSTER, inputs)
    assert (
        "the cluster's private network (fr-par/4b113527-c685-4f6e-a4fa-1663c052e0ef) if nothing else is attached"
        in text
    )
    assert "private network" not in destroys(CLUSTER, {**inputs, "deleteAdditionalResources": False})
