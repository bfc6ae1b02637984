"""The Kapsule platform program: read this stack's config, build its environment, export what others need."""

import pulumi

from kapsule.environment import build, read_config

environment = build(read_config())
for name, value in environment.exports().items():
    pulumi.export(name, value)
