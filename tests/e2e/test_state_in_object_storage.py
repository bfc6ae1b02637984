"""State in S3-compatible storage, as a team keeps it in Scaleway Object Storage: moto's server on loopback,
logged into with the URL form docs/state-and-ci.md documents, and the engine's lock between two updates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from kapsule.names import ROOT
from tests.e2e.conftest import base_config, kubernetes_client, write_stack

UP = (
    "import sys; from pathlib import Path; from kapsule.engine import driver; from pulumi.automation.errors import CommandError\n"
    "try:\n    driver.up('local', root=Path(sys.argv[1]), on_output=lambda _: None)\n"
    "except CommandError as error:\n    print(str(error)[-3000:]); sys.exit(1)\n"
)
PREVIEW = (
    "import sys, json; from pathlib import Path; from kapsule.engine import driver\n"
    "r = driver.preview('local', root=Path(sys.argv[1]), on_output=lambda _: None, expect_no_changes=True)\n"
    "print(json.dumps(r.change_summary))\n"
)


def s3_config(cluster, await_until: str) -> dict:
    """A stack of its own namespace and one Service, so it shares no object with the other tests' stack."""
    config = base_config(cluster)
    config["kapsule:namespaces"] = ["s3-apps"]
    config["kapsule:services"] = {
        "edge": {
            "namespace": "s3-apps",
            "await_until": await_until,
            "selector": {"app": "edge"},
            "ports": [{"name": "http", "port": 80, "target_port": 8080}],
            "source_ranges": ["10.0.0.0/8"],
        }
    }
    return config


def test_two_concurrent_ups_one_is_refused_by_the_lock_and_no_state_is_lost(project, cluster, s3_server):
    """An `up` that waits for its load balancer's address holds the stack's lock in the bucket; a second `up`
    of the same stack meanwhile is refused by that lock. Once the address comes (written into the Service's
    status, as the cloud controller would), the first finishes, and the state in the bucket is whole."""
    from urllib.parse import urlparse

    import boto3

    host = urlparse(s3_server).netloc
    # The documented form, with the two parameters a server without TLS needs.
    backend = f"s3://kapsule-state?endpoint={host}&region=fr-par&s3ForcePathStyle=true&disableSSL=true"
    env = {
        **os.environ,
        "KAPSULE_LOCAL_BACKEND_URL": backend,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": "fr-par",
    }

    def run(script: str, **kwargs):
        return subprocess.Popen(
            [sys.executable, "-c", script, str(project)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **kwargs,
        )

    bucket = boto3.client(
        "s3", endpoint_url=s3_server, aws_access_key_id="local", aws_secret_access_key="local", region_name="fr-par"
    )
    try:
        write_stack(project, s3_config(cluster, "nothing"))
        first = run(UP)
        assert first.wait(300) == 0, first.stdout.read()
        write_stack(project, s3_config(cluster, "address"))
        waiting = run(UP)
        deadline = time.monotonic() + 120
        while not any("locks" in o["Key"] for o in bucket.list_objects_v2(Bucket="kapsule-state").get("Contents", [])):
            assert waiting.poll() is None and time.monotonic() < deadline, "the waiting update never took the lock"
            time.sleep(0.2)
        second = run(UP)
        assert second.wait(300) == 1
        assert "locked" in second.stdout.read()
        deadline = time.monotonic() + 120
        api = kubernetes_client(cluster)
        while True:  # the Service exists once the waiting update created it; then its address comes
            try:
                api.patch_namespaced_service_status(
                    "edge", "s3-apps", {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}}
                )
                break
            except Exception:  # noqa: BLE001 not created yet
                assert time.monotonic() < deadline, "the waiting update never created the Service"
                time.sleep(0.5)
        assert waiting.wait(300) == 0, waiting.stdout.read()
        preview = run(PREVIEW)
        assert preview.wait(300) == 0
        summary = json.loads(preview.stdout.read().strip().splitlines()[-1])
        assert summary == {"same": 6}, (
            summary
        )  # the stack, the cluster component, its provider, the namespace, the Service and its component
    finally:
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; from kapsule.engine import driver; driver.destroy('local', root=Path(sys.argv[1]), on_output=lambda _: None)",
                str(project),
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=300,
        )
        write_stack(project, base_config(cluster))
