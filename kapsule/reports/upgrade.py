"""An upgrade plan as a reader sees it: text, JSON (`steps`, each with `version`, `preflight` and `blockers`;
a top-level `blockers`), and the pull-request comment of an upgrade step."""

from __future__ import annotations

import json
from typing import Any

from ..upgrade.path import Check, Step, UpgradePlan
from .plan import inline_code, printable, prose

MARKER = "<!-- kapsule-upgrade -->"


def _step_lines(step: Step, index: int, total: int) -> list[str]:
    ends = f", supported until {step.end_of_support}" if step.end_of_support else ""
    lines = [
        f"Step {index} of {total}: kapsule:cluster.version {step.version}{ends}",
        "  1. the control plane is upgraded to " + step.version,
    ]
    for number, pool in enumerate(step.pools, start=2):
        lines.append(f"  {number}. pool {pool.name} ({pool.nodes}): {pool.note}")
    lines += [f"  warning: {warning}" for warning in step.warnings]
    return lines


def check_lines(checks: list[Check], indent: str = "  ") -> list[str]:
    reasons = {check.why for check in checks if check.status == "not run"}
    if len(reasons) == 1 and all(check.status == "not run" for check in checks):
        return [f"{indent}not run: {reasons.pop()}", *[f"{indent}  - {check.title}" for check in checks]]
    lines = []
    for check in checks:
        if check.status == "not run":
            lines.append(f"{indent}not run  {check.title}: {check.why}")
            continue
        lines.append(f"{indent}{check.status:<8} {check.title}")
        lines += [f"{indent}  - {finding}" for finding in check.findings]
    return lines


def format_upgrade_text(plan: UpgradePlan, written: str | None = None) -> str:
    """The steps, each step's part for each pool, the preflight and the verdict."""
    lines = [f"Upgrade of {plan.stack} ({plan.stack_file}): {plan.current} (from {plan.current_from}) to {plan.target}"]
    lines += [f"note: {note}" for note in plan.notes]
    lines += [f"warning: {warning}" for warning in plan.warnings]
    if not plan.steps:
        lines.append(f"Already on {plan.target}: nothing to upgrade.")
    for index, step in enumerate(plan.steps, start=1):
        lines += ["", *_step_lines(step, index, len(plan.steps))]
    if plan.steps:
        lines += ["", "Preflight (the live cluster, read-only):", *check_lines(plan.checks)]
    blockers = plan.blockers
    lines.append("")
    if blockers:
        lines.append(f"Blocked: {len(blockers)} blocker(s) to fix before the upgrade:")
        lines += [f"  - {blocker}" for blocker in blockers]
    elif plan.steps and plan.unchecked:
        names = [check.name for check in plan.unchecked]
        lines.append(
            f"No blocker found, but {len(names)} check(s) that could block did not run: {', '.join(names)}. "
            f"Run them against the cluster (--kubeconfig, a longer --deadline) before merging a step; "
            f"`--write` asks for --accept-unchecked {' '.join(names)}."
        )
    elif plan.steps:
        lines.append(
            f"Nothing blocks: {len(plan.steps)} step(s), one pull request each; `--write` sets the next one ({plan.steps[0].version})."
        )
    if written:
        lines += written.splitlines()
    return "\n".join(printable(line) for line in lines) + "\n"


def check_json(check: Check) -> dict[str, Any]:
    return {
        "name": check.name,
        "title": check.title,
        "status": check.status,
        "findings": check.findings,
        "why": check.why,
    }


def upgrade_document(plan: UpgradePlan, written: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plan as plain data."""
    document: dict[str, Any] = {
        "stack": plan.stack,
        "stack_file": plan.stack_file,
        "current": plan.current,
        "current_from": plan.current_from,
        "target": plan.target,
        "steps": [
            {
                "version": step.version,
                "minor": step.minor,
                "end_of_support": step.end_of_support.isoformat() if step.end_of_support else None,
                "pools": [
                    {
                        "name": p.name,
                        "follows": p.follows,
                        "version": p.version,
                        "nodes": p.nodes,
                        "max_unavailable": p.max_unavailable,
                        "max_surge": p.max_surge,
                        "note": p.note,
                    }
                    for p in step.pools
                ],
                "warnings": step.warnings,
                "preflight": [check_json(check) for check in step.preflight],
                "blockers": step.blockers,
            }
            for step in plan.steps
        ],
        "warnings": plan.warnings,
        "notes": plan.notes,
        "preflight_not_run": [{"name": c.name, "why": c.why} for c in plan.unchecked],
        "blockers": plan.blockers,
    }
    if written is not None:
        document["written"] = written
    return document


def format_upgrade_json(plan: UpgradePlan, written: dict[str, Any] | None = None) -> str:
    """The plan as one JSON document."""
    return json.dumps(upgrade_document(plan, written), indent=2) + "\n"


def format_upgrade_markdown(plan: UpgradePlan) -> str:
    """The pull-request comment of the next step: what it does, the preflight, what blocks, what follows."""
    lines = [
        MARKER,
        f"## Kapsule upgrade: {inline_code(plan.stack)}, {inline_code(plan.current)} to {inline_code(plan.target)}",
        "",
    ]
    if not plan.steps:
        return "\n".join(lines + [f"Already on {inline_code(plan.target)}: nothing to upgrade."]) + "\n"
    step = plan.steps[0]
    lines.append(
        f"This pull request is step 1 of {len(plan.steps)}: {inline_code('kapsule:cluster.version')} becomes {inline_code(step.version)}."
    )
    lines += ["", "| Step | Version | End of support | Blockers |", "|---:|---|---|---:|"]
    for index, each in enumerate(plan.steps, start=1):
        lines.append(f"| {index} | {inline_code(each.version)} | {each.end_of_support or ''} | {len(each.blockers)} |")
    lines += [
        "",
        "### What Kapsule does in this step",
        "",
        f"1. The control plane is upgraded to {inline_code(step.version)}.",
    ]
    lines += [
        f"{n}. Pool {inline_code(p.name)} ({prose(p.nodes)}): {prose(p.note)}."
        for n, p in enumerate(step.pools, start=2)
    ]
    lines += ["", "### Preflight", "", "| Check | Result |", "|---|---|"]
    for check in step.preflight:
        result = f"not run: {prose(check.why or '')}" if check.status == "not run" else check.status
        lines.append(f"| {prose(check.title)} | {result} |")
    findings = [f for check in step.preflight for f in check.findings]
    if findings:
        lines += ["", *[f"- {prose(f)}" for f in findings]]
    cautions = plan.warnings + step.warnings
    if cautions:
        lines += ["", *[f"> warning: {prose(w)}" for w in cautions]]
    unchecked = [check.name for check in step.preflight if check.status == "not run"]
    if step.blockers:
        verdict = "Blocked: fix the blockers above before merging."
    elif unchecked:
        verdict = (
            f"No blocker found, but {len(unchecked)} check(s) that could block did not run: {', '.join(unchecked)}."
        )
    else:
        verdict = "Nothing blocks this step."
    lines += ["", f"**{verdict}**"]
    lines.append("See docs/upgrades.md for each blocker's fix and the steps that follow.")
    return "\n".join(lines) + "\n"
