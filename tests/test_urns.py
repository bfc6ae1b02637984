"""URNs and aliases, as the engine's step generator computes them (pure logic, no runtime)."""

from __future__ import annotations

from kapsule.resources.urns import AliasSpec, alias_urns, make_urn, name_of, qualified_type

STACK = "urn:pulumi:prod::kapsule::pulumi:pulumi:Stack::kapsule-prod"


def test_a_urn_carries_the_whole_parent_chain_but_never_the_stack():
    cluster = make_urn("prod", "kapsule", STACK, "kapsule:cluster:Cluster", "cluster")
    assert cluster == "urn:pulumi:prod::kapsule::kapsule:cluster:Cluster::cluster"
    pool = make_urn("prod", "kapsule", cluster, "kapsule:pool:Pool", "a")
    child = make_urn("prod", "kapsule", pool, "scaleway:kubernetes/pool:Pool", "a")
    assert qualified_type(child) == "kapsule:cluster:Cluster$kapsule:pool:Pool$scaleway:kubernetes/pool:Pool"
    assert name_of("urn:pulumi:prod::kapsule::t:m:T::odd::name") == "odd::name"


def test_a_type_alias_names_the_old_urn_under_the_same_parent():
    cluster = "urn:pulumi:prod::kapsule::kapsule:cluster:Cluster::cluster"
    found = alias_urns(
        stack="prod", project="kapsule", parent=cluster, type_="kapsule:pool:Pool", name="a",
        aliases=[AliasSpec(type="kapsule:cluster:Pool")], parent_alias=None, matched={},
    )  # fmt: skip
    assert found == ["urn:pulumi:prod::kapsule::kapsule:cluster:Cluster$kapsule:cluster:Pool::a"]


def test_children_inherit_the_alias_their_parent_was_found_under():
    new_parent = "urn:pulumi:prod::kapsule::kapsule:cluster:Cluster$kapsule:pool:Pool::web"
    old_parent = "urn:pulumi:prod::kapsule::kapsule:cluster:Cluster$kapsule:cluster:Pool::web"
    found = alias_urns(
        stack="prod", project="kapsule", parent=new_parent, type_="scaleway:kubernetes/pool:Pool", name="web",
        aliases=[], parent_alias=old_parent, matched={new_parent: old_parent},
    )  # fmt: skip
    assert found == [
        "urn:pulumi:prod::kapsule::kapsule:cluster:Cluster$kapsule:cluster:Pool$scaleway:kubernetes/pool:Pool::web"
    ]


def test_a_child_named_after_its_renamed_parent_follows_the_old_name():
    # The engine's convention: a child `<parent>-ip` of a parent renamed from `old` is looked up as `old-ip`.
    found = alias_urns(
        stack="dev", project="kapsule", parent="urn:pulumi:dev::kapsule::a:b:C::new", type_="x:y:Z", name="new-ip",
        aliases=[AliasSpec(type="x:y:Old")], parent_alias="urn:pulumi:dev::kapsule::a:b:C::old", matched={},
    )  # fmt: skip
    assert found == [
        "urn:pulumi:dev::kapsule::a:b:C$x:y:Old::new-ip",
        "urn:pulumi:dev::kapsule::a:b:C$x:y:Z::old-ip",
        "urn:pulumi:dev::kapsule::a:b:C$x:y:Old::old-ip",
    ]


def test_no_parent_and_a_whole_urn_are_taken_as_given():
    parent = "urn:pulumi:dev::kapsule::a:b:C::p"
    found = alias_urns(
        stack="dev", project="kapsule", parent=parent, type_="x:y:Z", name="n",
        aliases=[AliasSpec(no_parent=True), AliasSpec(urn="urn:pulumi:dev::kapsule::x:y:Z::elsewhere")],
        parent_alias=None, matched={},
    )  # fmt: skip
    assert found == ["urn:pulumi:dev::kapsule::x:y:Z::n", "urn:pulumi:dev::kapsule::x:y:Z::elsewhere"]
