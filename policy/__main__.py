"""The policy pack: each rule of `policy.rules` as a stack validation policy. Run by the Pulumi CLI only:
constructing a PolicyPack blocks, waiting for the engine."""

import sys
from pathlib import Path

# The project root, for `components` and `policy.rules`, whatever directory the CLI starts the pack in.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.engine_view import settings, subjects  # noqa: E402
from policy.model import Rule  # noqa: E402
from policy.rules import RULES  # noqa: E402


def stack_policy(rule: Rule) -> StackValidationPolicy:
    """One rule as a stack validation policy whose settings are configurable per stack."""

    def validate(args: StackValidationArgs, report_violation) -> None:
        for violation in rule.run(subjects(args.resources), settings(args.get_config())):
            report_violation(violation.message, violation.urn)

    schema = None
    if rule.settings:
        schema = PolicyConfigSchema(
            properties={key: {**rule.schema[key], "default": value} for key, value in rule.settings.items()}
        )
    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel(rule.level),
        config_schema=schema,
    )


PolicyPack(name="kapsule-guardrails", policies=[stack_policy(rule) for rule in RULES])
