"""Node age in the drift report: nodes past their pool's max_node_age_days keep the stack's drift issue open."""

from __future__ import annotations

import json

from kapsule.drift.age import AgedNode
from kapsule.drift.report import MARKER, DriftReport
from kapsule.engine.drift import node_age, with_age


def test_aged_nodes_are_drift_in_every_format_and_names_stay_inert():
    aged = [AgedNode("default", "scw-node-`@team`", 41.25, 30)]
    report = DriftReport("dev", [])
    markdown = with_age(report, aged, "markdown")
    assert markdown.startswith(MARKER.format(stack="dev"))
    assert "### Nodes past their pool's maximum age" in markdown
    assert "| `scw-node-'@team'` | `default` | 41.2 days | 30 |" in markdown
    assert "this issue stays open until they are gone" in markdown
    document = json.loads(with_age(report, aged, "json"))
    assert document["drift"] is True
    assert document["aged_nodes"] == [
        {"pool": "default", "node": "scw-node-`@team`", "age_days": 41.25, "max_node_age_days": 30}
    ]
    assert "scw-node-`@team`  pool default: 41.2 days, over 30" in with_age(report, aged, "text")
    assert json.loads(with_age(report, [], "json"))["drift"] is False
    assert "maximum age" not in with_age(report, [], "markdown")


def test_a_stack_whose_pools_declare_no_age_is_not_read(tmp_path):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.x.yaml").write_text(
        "config:\n  kapsule:cluster:\n    name: x\n    version: '1.35.2'\n    delete_additional_resources: true\n"
        "  kapsule:network:\n    subnet: 172.16.0.0/22\n"
        "  kapsule:pools:\n    default:\n      node_type: DEV1-M\n      size: 1\n"
    )
    assert node_age("x", tmp_path) == ([], "")


def test_a_node_age_that_could_not_be_read_never_lets_the_issue_close(monkeypatch, capsys):
    """Node age unread (Scaleway down, no credentials) once gave exit 0 with no other drift: the issue closed
    while nodes could still be past their age. Exit 1 touches no issue."""
    from kapsule.engine import drift as drift_command

    monkeypatch.setattr(drift_command, "_has_state", lambda stack: True)
    monkeypatch.setattr(drift_command.driver, "drift_preview", lambda stack, root, on_event: None)
    monkeypatch.setattr(drift_command, "node_age", lambda stack, root: ([], "list_nodes: no answer within 30 s"))
    assert drift_command.run_drift("dev", "markdown") == 1
    captured = capsys.readouterr()
    assert "node age was not checked: list_nodes: no answer within 30 s" in captured.out + captured.err
    monkeypatch.setattr(drift_command, "node_age", lambda stack, root: ([], ""))
    assert drift_command.run_drift("dev", "markdown") == 0
