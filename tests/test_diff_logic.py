"""Pure logic of the plan: version arithmetic, upgrade rules, and the property diff with the provider's rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.versions import Version, pool_problem, upgrade_path, upgrade_problem
from kapsule.plan.diff import diff_resource
from kapsule.plan.replacement import forces_replacement
from kapsule.plan.safety import cni_problem
from kapsule.resources.model import SEALED, UNKNOWN, Secret
from kapsule.state.records import RecordedResource, decode

POOL = "scaleway:kubernetes/pool:Pool"


def recorded(type_: str, inputs: dict, outputs: dict | None = None) -> RecordedResource:
    """A small recorded resource for one rule at a time (the records' real exports are replayed in
    test_engine_records.py). A bridged resource's state mirrors its inputs, as right after `up`."""
    if outputs is None and "__defaults" in inputs:
        outputs = _without_bookkeeping(inputs)
    return RecordedResource(
        urn=f"urn:pulumi:dev::kapsule::{type_}::x",
        type=type_,
        custom=True,
        id="x",
        inputs=inputs,
        outputs=outputs or {},
    )


def _without_bookkeeping(value):
    if isinstance(value, dict):
        return {k: _without_bookkeeping(v) for k, v in value.items() if not k.startswith("__")}
    return value


@given(st.integers(20, 40), st.integers(20, 40), st.integers(0, 9), st.integers(0, 9))
def test_a_cluster_moves_to_its_own_minor_or_the_next_only(live_minor, minor, live_patch, patch):
    problem = upgrade_problem(f"1.{live_minor}.{live_patch}", f"1.{minor}.{patch}")
    allowed = minor == live_minor + 1 or (minor == live_minor and patch >= live_patch)
    assert (problem is None) is allowed


def test_upgrade_messages_name_the_allowed_path():
    assert upgrade_path(Version.parse("1.33.2"), Version.parse("1.36")) == ["1.33", "1.34", "1.35", "1.36"]
    assert "1.33 -> 1.34 -> 1.35 -> 1.36" in upgrade_problem("1.33.2", "1.36")
    assert upgrade_problem("1.35.4", "1.35.2").startswith("1.35.4 -> 1.35.2 is a downgrade")
    assert upgrade_problem("1.35.4", "1.35") is None  # auto-upgrade follows the minor's patches
    assert "major" in upgrade_problem("1.35.1", "2.0.0")
    with pytest.raises(ValueError):
        Version.parse("1.35-rc1")


def test_pools_never_run_ahead_of_the_cluster_nor_beyond_the_kubelet_skew():
    assert pool_problem("1.35.2", "1.35.2") is None
    assert pool_problem("1.32.0", "1.35") is None
    assert "ahead" in pool_problem("1.36.0", "1.35")
    assert "ahead" in pool_problem("1.35.3", "1.35.2")
    assert "4 minors behind" in pool_problem("1.31.9", "1.35")
    assert cni_problem("cilium", "cilium") is None and "can never change" in cni_problem("cilium", "calico")


def test_sealed_secrets_are_not_compared_unless_something_upstream_is_new():
    state = recorded(
        "kubernetes:core/v1:Secret", {"data": Secret(SEALED), "type": "Opaque"}
    )  # as the provider records it
    assert diff_resource(state.type, {"stringData": Secret({"a": "b"}), "type": "Opaque"}, state).action == "same"
    assert diff_resource(state.type, {"stringData": Secret(UNKNOWN), "type": "Opaque"}, state).action == "same"
    mutable = {"enableSecretMutable": True}
    upstream = diff_resource(
        state.type,
        {"stringData": Secret(UNKNOWN), "type": "Opaque"},
        state,
        upstream=frozenset({POOL}),
        provider_inputs=mutable,
    )
    assert upstream.action == "update" and list(upstream.changed) == ["data"]


def test_a_secret_whose_data_changes_is_replaced_unless_its_provider_makes_secrets_mutable():
    state = recorded("kubernetes:core/v1:Secret", {"data": Secret({"a": "Yg=="}), "type": "Opaque"})
    desired = {"stringData": Secret({"a": "c"}), "type": "Opaque"}
    assert diff_resource(state.type, desired, state).action == "replace"
    assert (
        diff_resource(state.type, desired, state, provider_inputs={"enableSecretMutable": "false"}).action == "replace"
    )
    assert diff_resource(state.type, desired, state, provider_inputs={"enableSecretMutable": True}).action == "update"
    # The program's provider sets it: a rotated pull key updates the Secret in place.
    from tests.conftest import render_stack

    provider = render_stack("dev").one("pulumi:providers:kubernetes")
    assert provider.inputs["enableSecretMutable"] == "true"  # provider inputs travel as JSON text


CLUSTER = "scaleway:kubernetes/cluster:Cluster"


@pytest.mark.parametrize(
    ("type_", "prop", "value"),
    [
        (CLUSTER, "podCidr", "100.64.0.0/15"),
        (CLUSTER, "serviceCidr", "10.32.0.0/20"),
        (CLUSTER, "serviceDnsIp", "10.32.0.10"),
        (CLUSTER, "autoscalerConfig", {"expander": "random"}),
        ("scaleway:network/privateNetwork:PrivateNetwork", "ipv4Subnet", {"subnet": "172.16.0.0/22"}),
        (POOL, "rootVolumeSizeInGb", 40),
        (POOL, "zone", "fr-par-1"),
        ("scaleway:iam/apiKey:ApiKey", "defaultProjectId", "6f1a9f0e-2b1c-4c8e-9d3a-0b1c2d3e4f50"),
    ],
)
def test_unsetting_an_optional_computed_field_is_no_change(type_, prop, value):
    state = recorded(type_, {"__defaults": [], "name": "x", prop: value})
    assert diff_resource(type_, {"name": "x"}, state).action == "same"
    # Setting it to something else still counts (and replaces where the field forces it).
    assert diff_resource(type_, {"name": "x", prop: "other"}, state).action != "same"


@pytest.mark.parametrize(
    ("old", "new", "action"),
    [
        ("kapsule", "kapsule-dedicated-4", "update"),
        ("kapsule-dedicated-4", "kapsule-dedicated-16", "update"),
        ("kapsule-dedicated-8", "kapsule", "replace"),
        ("kapsule-dedicated-16", "kapsule-dedicated-4", "replace"),
        ("kapsule", "multicloud", "replace"),
    ],
)
def test_a_cluster_type_moves_up_in_place_and_anything_else_replaces(old, new, action):
    state = recorded(CLUSTER, {"__defaults": [], "type": old, "cni": "cilium"})
    diff = diff_resource(CLUSTER, {"type": new, "cni": "cilium"}, state)
    assert diff.action == action
    if action == "replace":
        assert diff.reasons == [
            f"type {old!r} -> {new!r} is not among the cluster's available types: the provider replaces the cluster"
        ]


def test_a_cluster_network_is_replaced_only_when_it_moves_between_networks():
    pn = "11111111-2222-3333-4444-555555555555"
    attached = recorded(CLUSTER, {"__defaults": [], "privateNetworkId": pn})
    assert (
        diff_resource(CLUSTER, {"privateNetworkId": f"fr-par/{pn}"}, attached).action == "same"
    )  # region prefix ignored
    assert (
        diff_resource(CLUSTER, {"privateNetworkId": "fr-par/99999999-2222-3333-4444-555555555555"}, attached).action
        == "replace"
    )
    assert diff_resource(CLUSTER, {}, attached).action == "replace"  # detaching is not possible in place
    detached = recorded(CLUSTER, {"__defaults": []})
    assert diff_resource(CLUSTER, {"privateNetworkId": f"fr-par/{pn}"}, detached).action == "update"  # migration


def test_replacement_tables_follow_the_provider_schemas():
    gateway = "scaleway:network/publicGateway:PublicGateway"
    assert forces_replacement(gateway, "ipId") == "ipId"
    key = "scaleway:iam/apiKey:ApiKey"
    assert forces_replacement(key, "defaultProjectId") == "defaultProjectId"
    assert forces_replacement(key, "userId") is None


def test_a_tainted_resource_is_replaced():
    state = recorded(POOL, {"__defaults": [], "nodeType": "DEV1-M"})
    assert diff_resource(POOL, {"nodeType": "DEV1-M"}, state, tainted=True).action == "replace"


def test_plaintext_secrets_are_compared_and_a_changed_secret_type_replaces():
    state = recorded(
        "kubernetes:core/v1:Secret",
        decode(
            {
                "type": "Opaque",
                "data": {
                    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                    "plaintext": '{"a": "Yg=="}',
                },
            }
        ),
    )
    assert state.inputs["data"] == Secret({"a": "Yg=="})
    assert (
        diff_resource(state.type, {"type": "Opaque", "stringData": Secret({"a": "b"})}, state).action == "same"
    )  # base64 of "b"
    diff = diff_resource(
        state.type, {"type": "kubernetes.io/dockerconfigjson", "stringData": Secret({"a": "c"})}, state
    )
    assert diff.action == "replace" and set(diff.changed) == {"type", "data"}  # a secret is one value


def test_bridged_defaults_are_skipped_at_every_level_and_removed_inputs_are_changes():
    state = recorded(
        POOL,
        {
            "__defaults": ["name"],
            "name": "default-1a2b3c4",
            "nodeType": "DEV1-M",
            "upgradePolicy": {"__defaults": ["maxSurge"], "maxSurge": 0, "maxUnavailable": 1},
            "labels": {"a": "1"},
        },
    )
    same = {"nodeType": "DEV1-M", "upgradePolicy": {"maxUnavailable": 1}, "labels": {"a": "1"}}
    assert diff_resource(POOL, same, state).action == "same"
    removed = diff_resource(POOL, {"nodeType": "DEV1-M", "upgradePolicy": {"maxUnavailable": 1}}, state)
    assert removed.action == "update" and removed.changed == {"labels": ({"a": "1"}, None)}


def test_ignore_changes_and_engine_inputs_are_left_out():
    state = recorded(POOL, {"__defaults": [], "nodeType": "DEV1-M", "size": 5})
    assert diff_resource(POOL, {"nodeType": "DEV1-M", "size": 1}, state, ignore_changes=["size"]).action == "same"
    provider = recorded("pulumi:providers:kubernetes", {"kubeconfig": Secret(SEALED), "version": "4.34.2"})
    assert diff_resource(provider.type, {"kubeconfig": Secret(UNKNOWN)}, provider).action == "same"


def test_replacement_follows_nested_paths_and_annotation_keys():
    assert forces_replacement("scaleway:network/privateNetwork:PrivateNetwork", "ipv4Subnet.subnet") == "ipv4Subnet"
    assert forces_replacement(POOL, "nodeType") == "nodeType" and forces_replacement(POOL, "maxSize") is None
    assert forces_replacement("kubernetes:core/v1:Service", 'metadata.annotations["x/y"]') is None
    service = recorded("kubernetes:core/v1:Service", {"metadata": {"annotations": {"a.b/c-d": "1"}, "name": "api"}})
    diff = diff_resource(service.type, {"metadata": {"annotations": {"a.b/c-d": "2"}, "name": "api"}}, service)
    assert diff.action == "update" and diff.changed == {'metadata.annotations["a.b/c-d"]': ("1", "2")}


def test_the_provider_normalises_node_types_and_ids_before_comparing():
    pool = recorded(
        POOL, {"__defaults": [], "nodeType": "DEV1-M", "securityGroupId": "11111111-2222-3333-4444-555555555555"}
    )
    same = {"nodeType": "dev1m", "securityGroupId": "fr-par-1/11111111-2222-3333-4444-555555555555"}
    assert diff_resource(POOL, same, pool).action == "same"
    assert diff_resource(POOL, {**same, "nodeType": "DEV1-L"}, pool).action == "replace"


def test_turning_autoscaling_off_leaves_the_live_bounds_alone():
    pool = recorded(
        POOL, {"__defaults": [], "nodeType": "DEV1-M", "autoscaling": True, "minSize": 1, "maxSize": 3, "size": 1}
    )
    diff = diff_resource(POOL, {"nodeType": "DEV1-M", "autoscaling": False, "size": 2}, pool)
    assert diff.action == "update" and set(diff.changed) == {"autoscaling", "size"}


def test_the_managed_by_label_kubernetes_keeps_is_no_change():
    # pulumi-kubernetes' Check re-adds `app.kubernetes.io/managed-by: pulumi` when the recorded inputs have it.
    namespace = recorded(
        "kubernetes:core/v1:Namespace",
        {"metadata": {"name": "apps", "labels": {"app.kubernetes.io/managed-by": "pulumi"}}},
    )
    assert diff_resource(namespace.type, {"metadata": {"name": "apps", "labels": {}}}, namespace).action == "same"
    assert diff_resource(namespace.type, {"metadata": {"name": "apps"}}, namespace).action == "same"
    other = diff_resource(
        namespace.type, {"metadata": {"name": "apps", "labels": {"app.kubernetes.io/managed-by": "helm"}}}, namespace
    )
    assert other.action == "update"
