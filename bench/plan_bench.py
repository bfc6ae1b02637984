"""Benchmark of `python -m kapsule plan`: run with `make bench`; prints its figures, asserts nothing.

Every figure is a fresh process, timed wall-clock, with its peak resident memory; the scenarios are
interleaved round after round and the median is kept, so that a noisy shared machine slows all of
them alike and the ratios stay meaningful.

- floor: the bare import of exactly the SDK modules `plan --all` loads (read from its `-X importtime`), nothing
  else: left collecting, with the collector paused, and paused then frozen (`gc.freeze()`) as the program does;
- all stacks: `plan --all` of the real stacks (no recorded state: every resource rendered);
- dev, synthetic: `plan --stack` of the dev stack, and of a stack of 100 pools and 100 services.

Targets: all stacks within 1.2x the floor with the collector paused while it imports, as kapsule/__main__.py
pauses it; the program's start-up within 1.3x the floor; the synthetic stack within 2x the dev stack. The
frozen floor's ratio is printed beside them, with no target: the frozen floor also skips the collection at
exit, and is then the import alone (docs/benchmarks.md). tests/test_bench.py runs every scenario once (`--rounds 1 --no-warm-up`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from kapsule.names import NOT_COPIED  # noqa: E402 (the repository on the path first)

#: The SDKs whose modules make the floor: Pulumi's own and the two providers' the components construct from.
SDK_PACKAGES = ("pulumi", "pulumi_kubernetes", "pulumiverse_scaleway")
#: The floor's program: import each module named on its command line.
IMPORT_ARGUMENTS = "import importlib, sys; [importlib.import_module(name) for name in sys.argv[1:]]"
POOLS, SERVICES = 100, 100


def synthetic_stack(dev_file: Path, pools: int = POOLS, services: int = SERVICES) -> dict:
    """The dev stack grown to `pools` fixed-size pools across the zones and `services` LoadBalancer Services."""
    document = yaml.safe_load(dev_file.read_text(encoding="utf-8"))
    config = document["config"]
    config["kapsule:cluster"]["name"] = "kapsule-bench"
    config["kapsule:cluster"]["type"] = "kapsule-dedicated-16"
    config["kapsule:registry"]["name"] = "kapsule-bench-images"
    config["kapsule:pools"] = {
        f"pool-{i:03d}": {"node_type": "DEV1-M", "zone": f"fr-par-{1 + i % 2}", "size": 1, "autohealing": True}
        for i in range(pools)
    }
    config["kapsule:services"] = {
        f"svc-{i:03d}": {
            "namespace": "apps",
            "selector": {"app.kubernetes.io/name": f"svc-{i:03d}"},
            "ports": [{"name": "http", "port": 80, "target_port": 8080}],
            "load_balancer": {"type": "LB-S", "zone": "fr-par-1"},
        }
        for i in range(services)
    }
    return document


def sdk_modules(command: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    """The SDK modules `command` loads, forked workers included, read from Python's `-X importtime` report."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode not in (0, 2, 3):
        raise SystemExit(f"{' '.join(command)} failed with exit code {done.returncode}: {done.stderr[-2000:]}")
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    found = sorted(name for name in names if name.split(".", 1)[0] in SDK_PACKAGES)
    if not found:
        raise SystemExit(f"{' '.join(command)}: no SDK module in its -X importtime report")
    return found


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall-clock seconds and peak resident memory (MiB) of one fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2, 3):
        raise SystemExit(f"{' '.join(command)} failed with exit code {code}: {process.stderr.read().decode()}")
    process.stderr.close()
    return elapsed, usage.ru_maxrss // 1024  # Linux reports KiB


def machine() -> str:
    """The machine the figures come from: CPU model and count, memory, Python."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        kib = next(
            int(row.split()[1]) for row in Path("/proc/meminfo").read_text().splitlines() if row.startswith("MemTotal")
        )
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = ""
    return f"{os.cpu_count()} CPUs ({model}){memory}, Python {sys.version.split()[0]}"


def main() -> int:
    """Run the scenarios interleaved and print medians, ratios and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="rounds of every scenario (default 7)")
    parser.add_argument("--no-warm-up", action="store_true", help="skip the untimed first run of each scenario")
    arguments = parser.parse_args()
    rounds = arguments.rounds
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="kapsule-bench-") as scratch:
        project = Path(scratch) / "project"
        shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*NOT_COPIED))
        for stack in project.glob("stacks/Pulumi.*.yaml"):
            if stack.name != "Pulumi.dev.yaml":
                stack.unlink()
        bench_file = project / "stacks" / "Pulumi.bench.yaml"
        bench_file.write_text(yaml.safe_dump(synthetic_stack(project / "stacks" / "Pulumi.dev.yaml"), sort_keys=False))
        policy = project / "policy" / "config"
        (policy / "bench.json").write_text((policy / "dev.json").read_text())  # every stack has a policy config
        # No recorded state anywhere: every plan renders and prints every resource.
        env = {**os.environ, "PULUMI_BACKEND_URL": f"file://{scratch}/no-state", "PYTHONWARNINGS": "ignore"}
        plan_all = [python, "-m", "kapsule", "plan", "--all"]
        modules = sdk_modules(plan_all, ROOT, env)
        scenarios = {
            "floor (SDK imports)": ([python, "-c", IMPORT_ARGUMENTS, *modules], ROOT),
            "floor, collector paused": ([python, "-c", "import gc; gc.disable(); " + IMPORT_ARGUMENTS, *modules], ROOT),
            "floor, paused then frozen": (
                [python, "-c", f"import gc; gc.disable(); {IMPORT_ARGUMENTS}; gc.freeze()", *modules],
                ROOT,
            ),
            "plan --all (3 stacks)": (plan_all, ROOT),
            # What every real preview pays before the engine does anything: the program itself starting.
            "program under SDK mocks (dev)": ([python, str(ROOT / "bench" / "program_under_mocks.py")], ROOT),
            "plan dev": ([python, "-m", "kapsule", "plan", "--stack", "dev"], project),
            f"plan {POOLS} pools + {SERVICES} services": (
                [python, "-m", "kapsule", "plan", "--stack", "bench"],
                project,
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in scenarios}
        memory: dict[str, int] = {name: 0 for name in scenarios}
        for command, cwd in () if arguments.no_warm_up else scenarios.values():
            measure(command, cwd, env)  # warm the file cache once, untimed
        for round_number in range(1, rounds + 1):
            print(f"round {round_number}/{rounds}...", file=sys.stderr, flush=True)
            for name, (command, cwd) in scenarios.items():
                seconds, mib = measure(command, cwd, env)
                times[name].append(seconds)
                memory[name] = max(memory[name], mib)
    median = {name: statistics.median(values) for name, values in times.items()}
    floor, paused, frozen, every, program, dev, big = (median[name] for name in scenarios)
    print(f"kapsule plan benchmark: {rounds} interleaved rounds, medians; {machine()}")
    print(f"floor: the {len(modules)} modules of {', '.join(SDK_PACKAGES)} that plan --all loads")
    print(f"{'scenario':<36}{'median s':>10}{'min s':>8}{'max s':>8}{'peak MiB':>10}")
    for name in scenarios:
        print(f"{name:<36}{median[name]:>10.2f}{min(times[name]):>8.2f}{max(times[name]):>8.2f}{memory[name]:>10}")
    verdict = {True: "met", False: "MISSED"}
    # The command pauses the collector while it imports (kapsule/__main__.py): like is compared with like only
    # against the floor with the same pause. The other ratio is printed beside it, to show what the pause hides.
    print(
        f"plan --all / floor: {every / paused:.2f}x with the collector paused in both, as the program runs "
        f"(target <= 1.2x: {verdict[every / paused <= 1.2]}); {every / floor:.2f}x against the floor left collecting"
    )
    # Frozen, the floor's heap is out of the collection at exit too, as the program's is: what is left is the
    # import alone, and the ratio is the plan's whole own work (schemas, three renders) over it.
    print(f"plan --all / floor paused then frozen: {every / frozen:.2f}x (the import alone; no target)")
    print(
        f"program under SDK mocks / floor: {program / floor:.2f}x (target <= 1.3x: {verdict[program / floor <= 1.3]})"
    )
    print(f"{POOLS} pools + {SERVICES} services / dev: {big / dev:.2f}x (target <= 2x: {verdict[big / dev <= 2]})")
    print(f"peak memory: {max(memory.values())} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
