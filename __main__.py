"""The Kapsule platform program: read this stack's config, build its environment, export what others need."""

import os
from pathlib import Path

import pulumi

from components.api_access import CLUSTER_VARIABLE
from kapsule.stackfile.environment import build, read_config

reread = None
if os.environ.get(CLUSTER_VARIABLE):
    # Only a CI job that opened the allow-list loads the Scaleway client: it reads the live run rules again right
    # before the allow-list is registered. Every other preview, and every offline plan, pays nothing for it.
    from kapsule.access.acl import program_live_run_rules

    reread = program_live_run_rules(dict(os.environ))
environment = build(read_config(Path(__file__).resolve().parent), reread)
for name, value in environment.exports().items():
    pulumi.export(name, value)
