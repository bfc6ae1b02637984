"""The plan and the cost as a reader sees them: text, the pull-request markdown and JSON (`plan`, `cost`).
Nothing below imports a report.

May import: kapsule.exits, kapsule.upgrade, kapsule.names, kapsule.resources, kapsule.cost, kapsule.plan.
"""
