"""The plan, the cost, the upgrade and the node rotation as a reader sees them: text, markdown and JSON (`plan`,
`cost`, `upgrade`, `rotate`).
Nothing below imports a report.

May import: kapsule.exits, kapsule.upgrade, kapsule.rotate, kapsule.names, kapsule.resources, kapsule.cost, kapsule.plan.
"""
