"""The table of SDK modules the plan loads before it forks (components/sdk.py) is complete.

A component that starts constructing from an SDK module not in the table would load it again in every
forked planner, with the collector running; this test names the module to add.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PROGRAM = """
import gc, json, sys
from pathlib import Path
gc.disable()
from components.sdk import load_sdk
from kapsule.plan.batch import plan_one
from kapsule.plan.outcome import Plan
from kapsule.stackfile.stacks import stack_names

load_sdk()
before = set(sys.modules)
kinds = [type(plan_one(name, None, required=False)).__name__ for name in stack_names(Path(ROOT))]
loaded = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("pulumi", "pulumi_kubernetes", "pulumiverse_scaleway"))
print(json.dumps({"plans": kinds, "loaded": loaded}))
""".replace("ROOT", repr(str(ROOT)))


def test_planning_every_stack_after_load_sdk_loads_no_further_sdk_module(tmp_path):
    env = {**os.environ, "PULUMI_BACKEND_URL": f"file://{tmp_path}", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["plans"] and set(found["plans"]) == {"Plan"}, found  # every stack really rendered
    assert found["loaded"] == [], f"add these to components/sdk.py KUBERNETES_MODULES: {found['loaded']}"


def test_a_command_that_renders_nothing_does_not_load_the_kubernetes_sdk_classes():
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kapsule", "versions"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pulumi_kubernetes.core.v1._inputs" not in done.stderr
