"""The benchmark's offline scenarios run: each once, so that a broken scenario fails here, not on `make bench`.

Only `bench/plan_bench.py`. Its engine half (`bench/engine_bench.py`, `make bench` after it) deploys the local
stack through the real engine, which the end-to-end tier covers; it needs `make engine` first.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_every_plan_benchmark_scenario_runs_once_and_prints_its_figures():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "plan_bench.py"), "--rounds", "1", "--no-warm-up"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for scenario in (
        "floor (SDK imports)",
        "floor, collector paused",
        "floor, paused then frozen",
        "plan --all (3 stacks)",
        "plan dev",
        "pools",
    ):
        assert scenario in done.stdout, done.stdout
    assert "with the collector paused in both, as the program runs (target <= 1.2x" in done.stdout
    assert "plan --all / floor paused then frozen: " in done.stdout
    # The floor is what the plan itself loads: hundreds of modules of the three SDKs, read from -X importtime.
    assert int(done.stdout.split("floor: the ", 1)[1].split()[0]) > 300, done.stdout
