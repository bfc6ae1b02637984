"""`make bench`, the real-engine part: `make engine` warm (every binary relinked from the Go build cache; cold
with --cold, in a fresh GOCACHE: tens of minutes), `make up` of the local stack, and a no-op preview, each
beside the offline plan of the same stack. Figures are printed; nothing is asserted."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of up, preview and the offline plan (default 3)")
    parser.add_argument("--cold", action="store_true", help="also time a cold `make engine` (a fresh Go build cache)")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="kapsule-engine-bench-") as scratch:
        env = {**os.environ, "KAPSULE_TOOLS": str(Path(scratch) / "tools")}
        builds = {"make engine, warm": timed(["bash", "tools/engine/build.sh"], env)}
        if args.cold:
            builds["make engine, cold"] = timed(
                ["bash", "tools/engine/build.sh"],
                {**env, "KAPSULE_TOOLS": str(Path(scratch) / "cold"), "GOCACHE": str(Path(scratch) / "gocache")},
            )
        from kapsule.engine.servers import LocalCluster

        if LocalCluster.running() is not None:
            raise SystemExit(
                "the local Kubernetes API is running (make up): run make down first; the benchmark starts its own"
            )
        local = {**os.environ, "KAPSULE_LOCAL_BACKEND_URL": f"file://{scratch}/state"}
        engine = [python, "-m", "kapsule.engine"]
        rounds: dict[str, list[float]] = {
            "make up (local stack, first)": [],
            "no-op preview": [],
            "offline plan (local stack)": [],
        }
        try:
            rounds["make up (local stack, first)"].append(timed([*engine, "up"], local))
            for _ in range(args.rounds):
                rounds["no-op preview"].append(timed([*engine, "preview"], local))
                state = Path(scratch) / "state" / ".pulumi" / "stacks" / "kapsule" / "local.json"
                rounds["offline plan (local stack)"].append(
                    timed([python, "-m", "kapsule", "plan", "--stack", "local", "--state", str(state)], local)
                )
        finally:
            subprocess.run([*engine, "down"], cwd=ROOT, env=local, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"kapsule engine benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    for name, seconds in builds.items():
        print(f"{name:<36}{seconds:>10.1f} s")
    for name, values in rounds.items():
        print(f"{name:<36}{statistics.median(values):>10.2f} s  (median of {len(values)})")
    preview, plan = statistics.median(rounds["no-op preview"]), statistics.median(rounds["offline plan (local stack)"])
    print(f"no-op preview / offline plan: {preview / plan:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
