"""The Kapsule platform program: read this stack's config, build its environment, export what others need."""

import os
from pathlib import Path

import pulumi

from kapsule.access.acl import program_live_run_rules
from kapsule.stackfile.environment import build, read_config

# In a CI job that opened the allow-list, the live run rules are read again right before it is registered.
environment = build(read_config(Path(__file__).resolve().parent), program_live_run_rules(dict(os.environ)))
for name, value in environment.exports().items():
    pulumi.export(name, value)
