"""`make bench`, the preflight part: `kapsule upgrade`'s preflight against the real kube-apiserver of `.tools`,
loaded with 10,000 pods on 20 nodes, 1,000 Helm release Secrets and 200 PodDisruptionBudgets. Prints the wall
time of the whole preflight, each check's share of it (requests, MiB read, seconds) and the peak memory of the
process that ran it (its own, measured in a child process so the loading does not count). Targets: 60 s and
400 MB on two cores; printed beside the figures, never asserted."""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS, TARGET_MB = 60, 400
POOL = "default-1a2b3c4"


def _release(index: int) -> dict:
    manifest = "".join(
        f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{index}-{n}\nspec:\n  replicas: 2\n"
        for n in range(5)
    )
    body = {
        "name": f"r{index}",
        "chart": {"metadata": {"name": f"chart{index}", "version": "1.0.0"}},
        "manifest": manifest,
    }
    packed = base64.b64encode(gzip.compress(json.dumps(body).encode())).decode()
    return {
        "metadata": {
            "name": f"sh.helm.release.v1.r{index}.v1",
            "labels": {"owner": "helm", "status": "deployed", "name": f"r{index}"},
        },
        "type": "helm.sh/release.v1",
        "data": {"release": base64.b64encode(packed.encode()).decode()},
    }


def load(kubeconfig: Path, pods: int, releases: int, budgets: int, nodes: int) -> float:
    """Create the objects through the Kubernetes Python client, eight requests at a time; the seconds it took."""
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(kubeconfig))
    core, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
    started = time.perf_counter()
    namespaces = [f"team-{n}" for n in range(10)]
    for name in namespaces:
        core.create_namespace({"metadata": {"name": name}})
    for n in range(nodes):
        name = f"node-{n}"
        core.create_node({"metadata": {"name": name, "labels": {"k8s.scaleway.com/pool-name": POOL}}})
        core.patch_node_status(name, {"status": {"allocatable": {"cpu": "16", "memory": "64Gi", "pods": "600"}}})

    def pod(i: int) -> None:
        core.create_namespaced_pod(
            namespaces[i % 10],
            {
                "metadata": {
                    "name": f"pod-{i}",
                    "labels": {"app": f"app-{i % budgets}"},
                    "annotations": {"note": "x" * 200},
                },
                "spec": {
                    "nodeName": f"node-{i % nodes}",
                    "containers": [
                        {"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
                    ],
                    "volumes": [{"name": "cache", "emptyDir": {}}] if i % 50 == 0 else [],
                },
            },
        )

    def secret(i: int) -> None:
        core.create_namespaced_secret(namespaces[i % 10], _release(i))

    def budget(i: int) -> None:
        policy.create_namespaced_pod_disruption_budget(
            namespaces[i % 10],
            {
                "metadata": {"name": f"pdb-{i}"},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": f"app-{i}"}}},
            },
        )

    with ThreadPoolExecutor(8) as pool:
        for work, count in ((pod, pods), (secret, releases), (budget, budgets)):
            list(pool.map(work, range(count)))
    return time.perf_counter() - started


CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from datetime import date
from components.catalog import load_catalog
from kapsule.stackfile.reading import read_stack_file, stack_file_path
from kapsule.stackfile.schema import parse
from kapsule.upgrade.live import connect
from kapsule.upgrade.path import plan_path
from kapsule.upgrade.preflight import CHECKS, run_named
from kapsule.upgrade.removals import load_removals
from pathlib import Path
root = Path({root!r})
path = stack_file_path("dev", root)
spec = parse("stacks/Pulumi.dev.yaml", read_stack_file(path).config)
today = date(2026, 11, 21)
plan = plan_path("dev", "stacks/Pulumi.dev.yaml", spec, "1.35", "the stack file", "1.36", load_catalog(), today)
removals = load_removals()[1]
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
profiler = None
if {profile!r}:
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
started = time.perf_counter()
live = connect(Path({kubeconfig!r}).read_text())
results = run_named(live, CHECKS, plan, removals)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
profile = ""
if profiler is not None:
    import io, pstats
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats({profile!r})
    profile = out.getvalue()
shares = {{
    name: [round(r.seconds, 2), r.spent.requests, round(r.spent.bytes / 2**20, 1),
           r.why or f"{{len(r.findings)}} finding(s)"]
    for name, r in results.items()
}}
print(json.dumps({{"seconds": seconds, "peak_mb": peak, "baseline_mb": baseline, "checks": shares, "profile": profile}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--releases", type=int, default=1_000)
    parser.add_argument("--budgets", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also print the N functions the preflight spent most time in",
    )
    args = parser.parse_args()
    from kapsule.engine.servers import LocalCluster

    with (
        tempfile.TemporaryDirectory(prefix="kapsule-preflight-bench-") as scratch,
        LocalCluster(directory=Path(scratch)) as cluster,
    ):
        took = load(cluster.kubeconfig, args.pods, args.releases, args.budgets, args.nodes)
        print(
            f"loaded {args.pods} pods on {args.nodes} nodes, {args.releases} Helm release Secrets, "
            f"{args.budgets} PodDisruptionBudgets in {took:.0f} s"
        )
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD.format(root=str(ROOT), kubeconfig=str(cluster.kubeconfig), profile=args.profile),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise SystemExit(f"the preflight failed: {child.stderr[-2000:]}")
        figures = json.loads(child.stdout)
    print(
        f"preflight: {figures['seconds']:.1f} s wall (target {TARGET_SECONDS} s), "
        f"peak {figures['peak_mb']:.0f} MB (target {TARGET_MB} MB; {figures['baseline_mb']:.0f} MB before it started)"
    )
    for name, (seconds, requests, mib, outcome) in figures["checks"].items():
        print(f"  {name:<26} {seconds:6.2f} s  {requests:4d} requests  {mib:7.1f} MiB  {outcome}")
    if figures["profile"]:
        print(figures["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
