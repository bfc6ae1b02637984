"""State in S3-compatible storage, as a team keeps it in Scaleway Object Storage: moto's server on loopback,
logged into with the URL form docs/state-and-ci.md documents, and the engine's lock between two updates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from kapsule.names import ROOT


def test_two_concurrent_ups_one_is_refused_by_the_lock_and_no_state_is_lost(project, s3_server, tmp_path):
    """Runs after test_local_stack.py, whose last test destroys its objects: this stack starts from an empty cluster."""
    deployed = project
    from urllib.parse import urlparse

    host = urlparse(s3_server).netloc
    # The documented form: s3://<bucket>?endpoint=<host>&region=<region>&s3ForcePathStyle=true (disableSSL for loopback).
    backend = f"s3://kapsule-state?endpoint={host}&region=fr-par&s3ForcePathStyle=true&disableSSL=true"
    env = {
        **os.environ,
        "KAPSULE_LOCAL_BACKEND_URL": backend,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": "fr-par",
    }
    script = (
        "import sys; from pathlib import Path; from kapsule.engine import driver; "
        "from pulumi.automation.errors import CommandError\n"
        "try:\n    driver.up('local', root=Path(sys.argv[1]), on_output=lambda _: None)\nexcept CommandError as e:\n"
        "    print(str(e)[-2000:]); sys.exit(1)\n"
    )
    results: list[subprocess.CompletedProcess] = []

    def run() -> None:
        results.append(subprocess.run([sys.executable, "-c", script, str(deployed)], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.returncode for r in results)
    refused = [r for r in results if r.returncode != 0]
    assert codes == [0, 1], [r.stdout[-500:] + r.stderr[-500:] for r in results]
    assert "locked" in refused[0].stdout + refused[0].stderr
    # Nothing lost: the state in the bucket holds the whole stack, and a preview from it changes nothing.
    check = (
        "import sys, json; from pathlib import Path; from kapsule.engine import driver\n"
        "r = driver.preview('local', root=Path(sys.argv[1]), on_output=lambda _: None, expect_no_changes=True)\n"
        "print(json.dumps(r.change_summary))\n"
    )
    preview = subprocess.run([sys.executable, "-c", check, str(deployed)], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert preview.returncode == 0, preview.stdout[-1000:] + preview.stderr[-1000:]
    summary = json.loads(preview.stdout.strip().splitlines()[-1])
    assert set(summary) == {"same"} and summary["same"] == 8
