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


def _last_json(tmp_path, program: str, *argv: str) -> dict:
    """Run `program` in a fresh interpreter (no state backend) and read the JSON it prints last."""
    env = {**os.environ, "PULUMI_BACKEND_URL": f"file://{tmp_path}", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", program, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_planning_every_stack_after_load_sdk_loads_no_further_sdk_module(tmp_path):
    found = _last_json(tmp_path, PROGRAM)
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


WIRING = """
import contextlib, gc, io, json, sys
gc.disable()  # as kapsule/__main__.py starts
import kapsule.cli.commands as commands
import kapsule.cli.main as main

seen = []


def spy(module, name):
    real = getattr(module, name)

    def called(*args, **kwargs):
        seen.append((name, gc.get_freeze_count(), gc.isenabled(), "pulumi_kubernetes.core.v1._inputs" in sys.modules))
        return real(*args, **kwargs)

    setattr(module, name, called)


spy(commands, "load_sdk")
spy(main, "plan_stacks")
spy(commands, "plan_stacks")
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main.main(sys.argv[1:])
print(json.dumps({"code": code, "seen": seen}))
"""


def test_plan_and_cost_load_the_sdk_frozen_before_their_planners_start(tmp_path):
    for argv in (["plan", "--all"], ["cost", "--stack", "dev"]):
        found = _last_json(tmp_path, WIRING, *argv)
        names = [name for name, *_ in found["seen"]]
        assert names == ["load_sdk", "plan_stacks"], (argv, found)
        (_, frozen_before, _, _), (_, frozen, collecting, loaded) = found["seen"]
        # When the planners start, the SDK is loaded and frozen with the rest, and the collector runs again.
        assert loaded and frozen > frozen_before and collecting, (argv, found)


def test_a_plan_refused_for_its_arguments_loads_no_sdk(tmp_path):
    for argv in (["plan", "--stack", "nosuch"], ["plan", "--all", "--state", "/nonexistent"]):
        found = _last_json(tmp_path, WIRING, *argv)
        assert found == {"code": 1, "seen": []}, (argv, found)
