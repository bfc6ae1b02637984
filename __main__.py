"""The Kapsule platform program: read this stack's config, build its environment, export what others need."""

from pathlib import Path

import pulumi

from kapsule.stackfile.environment import build, read_config

environment = build(read_config(Path(__file__).resolve().parent))
for name, value in environment.exports().items():
    pulumi.export(name, value)
