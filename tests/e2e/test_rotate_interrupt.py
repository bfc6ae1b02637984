"""Ctrl-C during `kapsule rotate --apply`, against the real kube-apiserver and kube-controller-manager: the node
being drained is put back as it was found and the command exits 130. The command runs in a process of its own,
with the Ctrl-C handler the command line installs first (exit at once), as `python -m kapsule` runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.test_rotate import NAMESPACE, POOL, PROVIDER, kube_node, replica_set, wait_for_budget, web_pod
from tests.e2e.test_rotate import project as project  # the same stack as the other rotation tests
from tests.scaleway_api import node, pool, serve

#: The command line as `python -m kapsule` starts it (its Ctrl-C handler exits at once), then `rotate --apply`
#: on the project given.
COMMAND = """
import os, signal, sys
from pathlib import Path
signal.signal(signal.SIGINT, lambda signum, frame: os._exit(1))
from kapsule.cli.main import parser
from kapsule.cli.rotate import run_rotate
sys.exit(run_rotate(parser().parse_args(sys.argv[2:]), root=Path(sys.argv[1]), poll_seconds=0.2))
"""


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    from kapsule.engine.servers import LocalCluster

    with LocalCluster(directory=tmp_path_factory.mktemp("rotate-interrupt-api")) as started:
        yield started


def test_ctrl_c_while_a_node_drains_puts_it_back_and_exits_130(api_server, project, monkeypatch):
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(api_server.kubeconfig))
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    now = datetime.now(timezone.utc)
    api = next(iter_api := serve(monkeypatch))
    process = None
    try:
        api.pools = [pool("p1", POOL)]
        api.nodes = [
            node("n-old", "old", "p1", PROVIDER + "old", now - timedelta(days=40)),
            node("n-young", "young", "p1", PROVIDER + "young", now - timedelta(days=5)),
        ]
        core.create_namespace({"metadata": {"name": NAMESPACE}})
        for name in ("old", "young"):
            kube_node(core, name)
        uid = replica_set(apps, NAMESPACE, "web", 3)
        for name, where in (("web-0", "old"), ("web-1", "old"), ("web-2", "young")):
            web_pod(core, name, where, uid)
        # One disruption allowed: the drain evicts one pod of `old`, then waits on the budget for the other.
        client.PolicyV1Api(api_client).create_namespaced_pod_disruption_budget(
            NAMESPACE,
            {"metadata": {"name": "web"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}},
        )
        wait_for_budget(api_client, 1)
        argv = ["rotate", "--stack", "edge", "--apply", "--format", "json", "--kubeconfig", str(api_server.kubeconfig)]
        process = subprocess.Popen(
            [sys.executable, "-c", COMMAND, str(project), *argv, "--drain-timeout", "120s"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        deadline = time.monotonic() + 60
        while not (core.read_node("old").spec.unschedulable and len(core.list_namespaced_pod(NAMESPACE).items) == 2):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate(timeout=5)
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)  # the node is cordoned, one pod evicted, the drain waits on the budget
        out, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert "rotate --apply: interrupted" in err
        assert json.loads(out)["due"][0]["node"] == "old"
        assert not core.read_node("old").spec.unschedulable, "the node is put back as it was found"
        assert api.asked("POST") == [], "nothing is replaced"
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.communicate()
        next(iter_api, None)
