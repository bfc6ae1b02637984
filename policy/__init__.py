"""The Kapsule policy pack: `pulumi preview --policy-pack policy`. The rules are in `policy.rules`, their
vocabulary in `policy.model`, their checks in `policy.checks`; `policy.engine_view` reads the engine's resources
as the offline plan hands them to the rules.

May import: kapsule.names, kapsule.files, kapsule.resources, kapsule.cost, components.
"""
