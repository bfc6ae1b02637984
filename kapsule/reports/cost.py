"""`python -m kapsule cost`: each stack's monthly cost per resource, as text, JSON or markdown. Pure formatting."""

from __future__ import annotations

import json
from typing import Any

from ..cost.estimate import CostChange, CostLine, money, money_range, signed_range
from ..plan.outcome import Invalid, Plan


def _amount(line: CostLine, currency: str) -> str:
    if line.unpriced:
        priced = f"{money_range(line.low, line.high, currency)} + " if line.high else ""
        return f"{priced}not priced ({line.unpriced})"
    if line.free:
        return "free"
    text = money_range(line.low, line.high, currency)
    if line.current is not None:
        text += f", now {money(line.current, currency)}"
    return text + (" (estimate)" if line.estimate else "")


def _carbon(cost: CostChange) -> str:
    kg = cost.after.kg_co2e
    return (
        f"{kg:,.2f} kg CO2e a month at most"
        if kg is not None
        else "unknown (the price catalog has no footprint for every product yet)"
    )


def format_cost_text(plans: list[Plan]) -> str:
    """Each stack: its total, every priced resource, its carbon, and the change against recorded state."""
    blocks = []
    for plan in plans:
        cost = plan.cost
        assert cost is not None
        after, currency = cost.after, cost.after.currency
        lines = [
            f"Stack {plan.stack} ({plan.stack_file}): {after.total()} a month of {after.hours_per_month} hours"
            f" (prices as of {after.as_of}{', estimates' if after.estimate else ''})",
        ]
        width = max((len(line.name) for line in after.lines), default=0)
        what = max((len(line.what) for line in after.lines), default=0)
        lines += [f"    {line.name:<{width}}  {line.what:<{what}}  {_amount(line, currency)}" for line in after.lines]
        lines.append(f"    Carbon: {_carbon(cost)}")
        if cost.before is not None:
            lines.append(
                f"    Recorded state ({plan.state}): {money_range(cost.before.low, cost.before.high, currency)}; "
                f"change {signed_range(*cost.delta, currency)}"
            )
        lines += [f"    Not priced: {item}" for item in after.unpriced]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def format_cost_json(results: list[Plan | Invalid]) -> str:
    """The costs for machines: per stack the totals, the change, and every resource line."""
    document: list[dict[str, Any]] = []
    for result in results:
        if isinstance(result, Invalid):
            document.append({"stack": result.stack, "stack_file": result.stack_file, "error": result.error})
            continue
        cost = result.cost
        assert cost is not None
        entry = {"stack": result.stack, "stack_file": result.stack_file, "state": result.state, **cost.document()}
        entry["hours_per_month"] = cost.after.hours_per_month
        entry["resources"] = [
            {
                "urn": line.urn,
                "type": line.type,
                "name": line.name,
                "what": line.what,
                "low": line.low,
                "high": line.high,
                "current": line.current,
                "kg_co2e": line.kg_co2e,
                "free": line.free,
                "estimate": line.estimate,
                "unpriced": line.unpriced,
            }
            for line in cost.after.lines
        ]
        document.append(entry)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def format_cost_markdown(results: list[Plan | Invalid]) -> str:
    """One table per stack, for a pull request or a wiki page."""
    lines = ["## Kapsule monthly cost", ""]
    for result in results:
        if isinstance(result, Invalid):
            lines += [f"### `{result.stack}`: invalid", "", "```text", result.error.replace("```", "'''"), "```", ""]
            continue
        cost = result.cost
        assert cost is not None
        currency = cost.after.currency
        lines += [f"### `{result.stack}`: {cost.after.total()} a month", ""]
        lines += ["| Resource | What | Monthly |", "|---|---|---:|"]
        lines += [
            f"| `{line.name}` | {line.what} | {_amount(line, currency)} |" for line in cost.after.lines if not line.free
        ]
        free = sorted({line.name for line in cost.after.lines if line.free})
        lines += ["", f"Free: {', '.join(f'`{n}`' for n in free) or 'nothing'}. Carbon: {_carbon(cost)}.", ""]
    return "\n".join(lines)
