"""The offline plan against recorded runs of the real engine (`tests/fixtures/engine-records`, a copy of
`../shared/engine-records`): for every edit of every record set, the plan's step for each URN is the
engine's. The records are the real Pulumi CLI v3.274.1 with the real Scaleway and Kubernetes provider
plugins, so these tests say what the engine says, not what the program rendered."""

from __future__ import annotations

import copy
import dataclasses
import filecmp
import json
import shutil
from pathlib import Path

import pytest

from kapsule.exits import EXIT_CHANGES
from kapsule.names import PROVIDER_TYPE_PREFIX, ROOT, STACK_TYPE
from kapsule.plan.stack import plan_stack
from kapsule.stackfile.environment import InvalidStackConfig
from kapsule.state.reading import read_state

RECORDS = ROOT / "tests" / "fixtures" / "engine-records"
SHARED = ROOT.parent / "shared" / "engine-records"
#: Stack outputs the program gained after the records were made (at commit 5fac92f): the engine shows
#: them as changes too, so they are the one difference a base stack has from its own export. `service_ips`
#: now reads an unreserved load balancer's address from the Service's status (the record's web had one).
OUTPUTS_ADDED_SINCE = {"region": (None, "fr-par")}
OUTPUTS_CHANGED_SINCE = {
    "scaleway": OUTPUTS_ADDED_SINCE,
    "kubernetes": {
        **OUTPUTS_ADDED_SINCE,
        "service_ips": ({"api": "51.15.103.53", "web": None}, {"api": "51.15.103.53", "web": "51.159.0.3"}),
    },
}
#: Service annotations the program gained after the records were made (the provider's own: what `up` waits
#: for, and force over field conflicts). Against a record's export the engine would add them, once, as an
#: update of those paths alone; `as_recorded` takes them out of a plan before it is compared with the engine.
ANNOTATIONS_ADDED_SINCE = frozenset(
    f'metadata.annotations["{key}"]' for key in ("pulumi.com/waitFor", "pulumi.com/patchForce", "pulumi.com/skipAwait")
)


def as_recorded(plan) -> dict[str, str]:
    """Each URN's action, as the program of the records would have had it: an update that only adds the
    annotations added since is `same`. Anything else the plan says stays as it is."""
    actions = {}
    for change in plan.changes:
        action = change.action
        if action == "update" and set(change.changed) <= ANNOTATIONS_ADDED_SINCE:
            assert all(old is None for old, _ in change.changed.values()), change.changed
            action = "same"
        actions[change.resource.urn] = action
    return actions


#: Each record set: its folder and the stack its export belongs to.
SETS = {"scaleway": "eng", "kubernetes": "engk"}
EDITS = [(name, path.stem) for name in SETS for path in sorted((RECORDS / name / "edits").glob("*.yaml"))]


def project_for(tmp_path: Path, stack: str, stack_file: Path) -> Path:
    """A project root holding the program and one stack file (and an empty policy config: the rules'
    defaults, which judge but never change an action)."""
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    (root / "policy" / "config").mkdir(parents=True)
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copy(stack_file, root / "stacks" / f"Pulumi.{stack}.yaml")
    (root / "policy" / "config" / f"{stack}.json").write_text("{}", encoding="utf-8")
    return root


def plan_of(tmp_path: Path, record_set: str, stack_file: Path, export: Path | None = None):
    stack = SETS[record_set]
    state = read_state(export or RECORDS / record_set / "export.json", stack=stack)
    return plan_stack(stack, project_for(tmp_path, stack, stack_file), state), state


def engine_only(urn: str) -> bool:
    """The Stack and the default providers: the engine steps them, the program does not declare them."""
    type_ = urn.split("::")[2].split("$")[-1]
    return type_ == STACK_TYPE or (type_.startswith(PROVIDER_TYPE_PREFIX) and urn.split("::")[-1].startswith("default"))


#: Edits whose stack file Scaleway's published offer refuses, with the (node type, zone) it refuses. The engine's
#: preview took them: it never asks the API whether a type is offered in a zone, so `up` would have failed there.
#: Scaleway's Instances datasheet: DEV1 is not offered in PAR3.
REFUSED_BY_THE_OFFER = {("scaleway", "l"): ("DEV1-L", "fr-par-3")}


def offering(node_type: str, zone: str):
    """The node-type table, with `node_type` also offered in `zone`."""
    from components.node_types import load_node_types

    table = load_node_types()
    entry = table.types[node_type]
    types = {**table.types, node_type: dataclasses.replace(entry, zones=(*entry.zones, zone))}
    return dataclasses.replace(table, types=types)


@pytest.mark.parametrize(("record_set", "edit"), EDITS, ids=[f"{s}/{e}" for s, e in EDITS])
def test_the_plan_takes_the_engines_step_for_every_resource(tmp_path, monkeypatch, record_set, edit):
    """For an edit the offer refuses (REFUSED_BY_THE_OFFER), the table is patched to offer the type there: the
    step the plan would take is still compared with the engine's; the refusal has its own test below."""
    expected = json.loads((RECORDS / record_set / "edits" / f"{edit}.engine.json").read_text(encoding="utf-8"))
    if (record_set, edit) in REFUSED_BY_THE_OFFER:
        patched = offering(*REFUSED_BY_THE_OFFER[record_set, edit])
        monkeypatch.setattr("components.pool.load_node_types", lambda: patched)
    plan, _ = plan_of(tmp_path, record_set, RECORDS / record_set / "edits" / f"{edit}.yaml")
    planned = as_recorded(plan)
    steps = {urn: step["op"] for urn, step in expected["steps"].items()}
    for urn in [u for u in steps if engine_only(u)]:
        assert steps.pop(urn) == "same", f"the engine stepped {urn}; the plan has no step for it"
    assert planned == steps, expected["edit"]


def test_an_edit_the_offer_refuses_is_refused_naming_the_zones_that_have_the_type(tmp_path):
    """Edit l moves the DEV1-L pool to fr-par-3, where Scaleway offers no DEV1: the plan stops before any call."""
    with pytest.raises(InvalidStackConfig) as raised:
        plan_of(tmp_path, "scaleway", RECORDS / "scaleway" / "edits" / "l.yaml")
    assert (
        "kapsule:pools.fixed.zone: DEV1-L is not offered in fr-par-3; Scaleway offers it in fr-par-1, fr-par-2"
        in str(raised.value)
    )


@pytest.mark.parametrize("record_set", sorted(SETS))
def test_the_base_stack_against_its_own_export_is_no_changes(tmp_path, record_set):
    stack = SETS[record_set]
    plan, state = plan_of(tmp_path, record_set, RECORDS / record_set / f"Pulumi.{stack}.yaml")
    assert [urn for urn, action in as_recorded(plan).items() if action != "same"] == []
    assert plan.output_changes == OUTPUTS_CHANGED_SINCE[record_set] and plan.errors == []
    assert len(plan.changes) == len([urn for urn in state.resources if not engine_only(urn)])


def test_a_secure_value_the_plan_cannot_compare_is_said_to_may_change(tmp_path):
    """`web` carries a `secure:` cookie name: the engine compares the decrypted value, the plan cannot."""
    plan, _ = plan_of(tmp_path, "kubernetes", RECORDS / "kubernetes" / "Pulumi.engk.yaml")
    web = next(c for c in plan.changes if c.resource.urn.endswith("kubernetes:core/v1:Service::web"))
    assert as_recorded(plan)[web.resource.urn] == "same"
    assert web.uncertain == [
        'metadata.annotations["service.beta.kubernetes.io/scw-loadbalancer-sticky-sessions-cookie-name"]'
    ]
    api = next(c for c in plan.changes if c.resource.urn.endswith("kubernetes:core/v1:Service::api"))
    assert api.uncertain == []
    from kapsule.reports.plan import format_json, format_text

    text = format_text(plan)
    assert text.splitlines()[0].endswith("unchanged, 1 may change")
    assert (
        'may change: metadata.annotations["service.beta.kubernetes.io/scw-loadbalancer-sticky-sessions-cookie-name"] holds a secret (a secure: value, or another stack\'s output)'
        in text
    )
    by_urn = {r["urn"]: r for r in json.loads(format_json([plan]))[0]["resources"]}
    assert by_urn[web.resource.urn]["uncertain"] == web.uncertain and by_urn[api.resource.urn]["uncertain"] == []


@pytest.mark.parametrize(
    ("record_set", "type_", "name", "path", "live", "action"),
    [
        # The autoscaled pool's live size moved: `ignore_changes: size` covers it.
        ("scaleway", "scaleway:kubernetes/pool:Pool", "default", ("size",), 3, "same"),
        # The fixed pool's autohealing was turned on in the console.
        ("scaleway", "scaleway:kubernetes/pool:Pool", "fixed", ("autohealing",), True, "update"),
        # The registry was made public behind the engine's back.
        ("scaleway", "scaleway:registry/namespace:Namespace", "registry", ("isPublic",), True, "update"),
        # Someone edited the cluster's tags.
        ("scaleway", "scaleway:kubernetes/cluster:Cluster", "cluster", ("tags",), ["edited"], "update"),
        # A Service's spec drifted: pulumi-kubernetes compares its recorded inputs, which a refresh rewrites too.
        ("kubernetes", "kubernetes:core/v1:Service", "api", ("spec", "externalTrafficPolicy"), "Local", "update"),
    ],
)
def test_a_value_changed_behind_the_engines_back_is_an_update_after_a_refresh(
    tmp_path, record_set, type_, name, path, live, action
):
    """A refresh rewrites the recorded outputs (for pulumi-kubernetes, its recorded inputs too): the plan
    compares the stack file with those, as the provider does."""
    document = json.loads((RECORDS / record_set / "export.json").read_text(encoding="utf-8"))
    resource = next(
        r for r in document["deployment"]["resources"] if r["type"] == type_ and r["urn"].endswith(f"::{name}")
    )
    for side in ("outputs", "inputs") if type_.startswith("kubernetes:") else ("outputs",):
        target = resource[side]
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = copy.deepcopy(live)
    refreshed = tmp_path / "refreshed.json"
    refreshed.write_text(json.dumps(document), encoding="utf-8")
    stack = SETS[record_set]
    plan, _ = plan_of(tmp_path, record_set, RECORDS / record_set / f"Pulumi.{stack}.yaml", refreshed)
    actions = as_recorded(plan)
    assert actions.pop(resource["urn"]) == action
    assert [urn for urn, other in actions.items() if other != "same"] == []
    change = next(c for c in plan.changes if c.resource.urn == resource["urn"])
    if action == "update":
        assert plan.exit_code == EXIT_CHANGES and any(key.startswith(path[0]) for key in change.changed)


def test_the_records_are_a_faithful_copy_of_the_shared_ones():
    """The suite runs wherever the repository is cloned; beside `../shared`, the copy must still equal it."""
    if not SHARED.is_dir():
        pytest.skip("../shared/engine-records is not beside this clone")
    comparison = filecmp.dircmp(SHARED, RECORDS)
    differing: list[str] = []

    def walk(node: filecmp.dircmp, prefix: str) -> None:
        differing.extend(
            f"{prefix}{name}" for name in node.left_only + node.right_only + node.diff_files + node.funny_files
        )
        for name, child in node.subdirs.items():
            walk(child, f"{prefix}{name}/")

    walk(comparison, "")
    assert differing == [], "copy ../shared/engine-records into tests/fixtures/engine-records again"
    for left in SHARED.rglob("*"):
        if left.is_file():
            assert left.read_bytes() == (RECORDS / left.relative_to(SHARED)).read_bytes(), left
