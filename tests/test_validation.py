"""Every rule a stack file can break: one message naming file, key path and what is allowed; nothing registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapsule.stackfile.messages import StackConfigError
from tests.conftest import render_stack


def cluster(**values):
    return lambda c: c["kapsule:cluster"].update(values)


def pool(**values):
    return lambda c: c["kapsule:pools"]["default"].update(values)


def dev_without_network(c):
    del c["kapsule:network"]


def kosmos_with_network(c):
    c["kapsule:cluster"].update(type="multicloud", cni="kilo")


def unknown_top_level_key(c):
    c["kapsule:regoin"] = "fr-par"


def registry(**values):
    return lambda c: c["kapsule:registry"].update(values)


def gateway_zone(c):
    c["kapsule:network"]["public_gateway"] = {"zone": "nl-ams-1"}


def no_node_left(c):
    c["kapsule:pools"]["default"].update(size=0, min_size=0, max_size=2)


def too_many_nodes(c):
    c["kapsule:pools"]["default"].update(max_size=151)


CASES = [
    # (edit of the dev stack, key path, words the message must carry)
    (
        cluster(cnii="cilium"),
        "kapsule:cluster.cnii",
        ["unknown key", "did you mean 'cni'", "delete_additional_resources"],
    ),
    (unknown_top_level_key, "kapsule:regoin", ["unknown key", "did you mean 'region'"]),
    (pool(sise=2), "kapsule:pools.default.sise", ["unknown key", "did you mean 'size'"]),
    (cluster(version=1.35), "kapsule:cluster.version", ["the number 1.35", "quote it"]),
    (pool(size="3"), "kapsule:pools.default.size", ["valid integer", "'3'"]),
    (pool(autohealing="yes"), "kapsule:pools.default.autohealing", ["valid boolean", "'yes'"]),
    (cluster(cni="weave"), "kapsule:cluster.cni", ["legacy", "cilium, cilium_native, calico"]),
    (cluster(cni="kilo"), "kapsule:cluster.cni", ["'kilo'", "kapsule", "cilium, cilium_native, calico"]),
    (cluster(cni="flannel2"), "kapsule:cluster.cni", ["'flannel2' is not allowed", "cilium"]),
    (cluster(type="kapsule-dedicated-2"), "kapsule:cluster.type", ["not allowed", "kapsule-dedicated-4"]),
    (cluster(version="1.35.2"), "kapsule:cluster.version", ["auto_upgrade.enabled is true", "'1.35'"]),
    (cluster(auto_upgrade={"enabled": False}), "kapsule:cluster.version", ["'1.35'", "pin a patch"]),
    (cluster(version="v1.35"), "kapsule:cluster.version", ["not a Kubernetes version"]),
    (
        cluster(auto_upgrade={"enabled": True, "maintenance_window_day": "funday"}),
        "kapsule:cluster.auto_upgrade.maintenance_window_day",
        ["'funday'", "sunday", "any"],
    ),
    (
        cluster(auto_upgrade={"enabled": True, "maintenance_window_start_hour": 24}),
        "kapsule:cluster.auto_upgrade.maintenance_window_start_hour",
        ["23", "24"],
    ),
    (
        cluster(autoscaler={"scale_down_delay_after_add": "600"}),
        "kapsule:cluster.autoscaler.scale_down_delay_after_add",
        ["bare number", "Go durations", "'600ms'"],
    ),
    (cluster(autoscaler={"expander": "cheapest"}), "kapsule:cluster.autoscaler.expander", ["least_waste", "price"]),
    (cluster(oidc={"issuer_url": "https://id.example.com"}), "kapsule:cluster.oidc.client_id", ["required"]),
    (cluster(name="Kapsule_Dev"), "kapsule:cluster.name", ["lower case"]),
    (
        cluster(service_cidr="10.32.0.0/16", service_dns_ip="10.99.0.10"),
        "kapsule:cluster.service_dns_ip",
        ["service_cidr"],
    ),
    (cluster(pod_cidr="10.32.0.0/33"), "kapsule:cluster.pod_cidr", ["IPv4 CIDR"]),
    (dev_without_network, "kapsule:network", ["required", "private network"]),
    (kosmos_with_network, "kapsule:network", ["forbidden", "Kosmos"]),
    (pool(size=5), "kapsule:pools.default.size", ["min_size <= size <= max_size", "1..3"]),
    (pool(autoscaling=False), "kapsule:pools.default.min_size", ["autoscaling is false"]),
    (pool(zone="nl-ams-1"), "kapsule:pools.default.zone", ["'nl-ams-1'", "fr-par-1, fr-par-2, fr-par-3"]),
    (pool(node_type="DEV1-S"), "kapsule:pools.default.node_type", ["too small"]),
    (pool(node_type="PLAY2-PICO"), "kapsule:pools.default.node_type", ["too small"]),
    (pool(node_type="dev1-m"), "kapsule:pools.default.node_type", ["Instance type"]),
    (pool(root_volume_size_in_gb=10), "kapsule:pools.default.root_volume_size_in_gb", ["20"]),
    (pool(root_volume_type="b_ssd"), "kapsule:pools.default.root_volume_type", ["l_ssd, sbs_5k or sbs_15k"]),
    (pool(taints=[{"key": "gpu", "effect": "Never"}]), "kapsule:pools.default.taints[0].effect", ["NoSchedule"]),
    (
        pool(upgrade_policy={"max_unavailable": 0, "max_surge": 0}),
        "kapsule:pools.default.upgrade_policy.max_unavailable",
        ["never proceed"],
    ),
    (pool(public_ip_disabled=True), "kapsule:pools.default.public_ip_disabled", ["Public Gateway"]),
    (no_node_left, "kapsule:pools", ["at least one node"]),
    (too_many_nodes, "kapsule:pools", ["151", "at most 150"]),
    (gateway_zone, "kapsule:network.public_gateway.zone", ["'nl-ams-1'", "fr-par-1"]),
    (registry(name="Team_Images"), "kapsule:registry.name", ["lower case", "global"]),
    (registry(region="it-mil"), "kapsule:registry.region", ["no Container Registry", "fr-par, nl-ams, pl-waw"]),
    (
        lambda c: c.update({"kapsule:region": "us-east"}),
        "kapsule:region",
        ["'us-east'", "fr-par, nl-ams, pl-waw, it-mil"],
    ),
    (lambda c: c["kapsule:network"].update(subnet="8.8.8.0/22"), "kapsule:network.subnet", ["private range"]),
    (lambda c: c["kapsule:network"].update(subnet="172.16.0.0/24"), "kapsule:network.subnet", ["/22"]),
    (
        lambda c: c["kapsule:pools"].update({"Big_Pool": c["kapsule:pools"]["default"]}),
        "kapsule:pools.Big_Pool",
        ["pool names"],
    ),
    (lambda c: c.update({"kapsule:pools": {}}), "kapsule:pools", ["is required with cluster", "at least one pool"]),
    (lambda c: c["kapsule:ingress"].pop("chart_version"), "kapsule:ingress.chart_version", ["required", "pin"]),
    (
        lambda c: c["kapsule:ingress"].update(controller="haproxy"),
        "kapsule:ingress.controller",
        ["none, ingress-nginx or traefik"],
    ),
    (
        lambda c: c["kapsule:ingress"]["load_balancer"].update(proxy_protocol={"version": "v2"}),
        "kapsule:ingress.load_balancer.proxy_protocol",
        ["ingress.proxy_protocol", "agree"],
    ),
    (
        lambda c: c["kapsule:ingress"].update(values={"service": {"type": "NodePort"}}),
        "kapsule:ingress.values.service",
        ["set by this spec"],
    ),
    (
        lambda c: c["kapsule:ingress"]["load_balancer"].update(zone="fr-par-3"),
        "kapsule:ingress.load_balancer.zone",
        ["cannot be placed"],
    ),
    (
        lambda c: c.update(
            {
                "kapsule:services": {
                    "web": {
                        "namespace": "shop",
                        "selector": {"app": "web"},
                        "ports": [{"name": "http", "port": 80, "target_port": 8080}],
                    }
                }
            }
        ),
        "kapsule:services.web.namespace",
        ["'shop'", "apps, default, ingress"],
    ),
    (
        lambda c: c.update(
            {
                "kapsule:services": {
                    "web": {
                        "selector": {"app": "web"},
                        "ports": [{"name": "http", "port": 80, "target_port": 8080}],
                        "load_balancer": {"sticky_sessions": "cookie"},
                    }
                }
            }
        ),
        "kapsule:services.web.load_balancer.sticky_sessions_cookie_name",
        ["required"],
    ),
    (
        lambda c: c.update(
            {
                "kapsule:services": {
                    "web": {
                        "selector": {"app": "web"},
                        "ports": [{"name": "http", "port": 80, "target_port": 8080}],
                        "load_balancer": {"health_check": {"type": "http"}},
                    }
                }
            }
        ),
        "kapsule:services.web.load_balancer.health_check.http_uri",
        ["required"],
    ),
    (
        lambda c: c.update(
            {
                "kapsule:services": {
                    "web": {
                        "selector": {"app": "web"},
                        "ports": [{"name": "http", "port": 80, "target_port": 8080}],
                        "load_balancer": {"timeout_server": "10000"},
                    }
                }
            }
        ),
        "kapsule:services.web.load_balancer.timeout_server",
        ["Go duration"],
    ),
    (
        lambda c: c.update(
            {
                "kapsule:services": {
                    "web": {
                        "selector": {"app": "web"},
                        "ports": [{"name": "http", "port": 80, "target_port": 8080}],
                        "load_balancer": {"proxy_protocol": {"ports": [443]}},
                    }
                }
            }
        ),
        "kapsule:services.web.load_balancer.proxy_protocol",
        ["[443]"],
    ),
    (registry(pull_secret_namespaces=["nope"]), "kapsule:registry.pull_secret_namespaces[0]", ["'nope'", "namespaces"]),
    (registry(is_public=True), "kapsule:registry.pull_secret_namespaces", ["public"]),
    (lambda c: c.update({"kapsule:namespaces": ["apps", "Apps"]}), "kapsule:namespaces", ["'Apps'"]),
    (
        lambda c: c.update({"kapsule:namespaces": ["apps", "ingress"]}),
        "kapsule:ingress.namespace",
        ["created by the ingress controller"],
    ),
    (
        lambda c: c.update(
            {
                "kapsule:services": {
                    "Web_1": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "target_port": 8080}]}
                }
            }
        ),
        "kapsule:services.Web_1",
        ["Kubernetes names"],
    ),
]


@pytest.mark.parametrize(("edit", "path", "words"), CASES, ids=[case[1] + f"#{i}" for i, case in enumerate(CASES)])
def test_rule_rejects_with_one_clear_message_and_registers_nothing(edit, path, words):
    rendering = render_stack("dev", edit, check=False)
    error = rendering.error
    assert isinstance(error, StackConfigError), repr(error)
    message = str(error)
    assert message.startswith("stacks/Pulumi.dev.yaml: invalid stack config")
    line = next((row for row in message.splitlines() if row.strip().startswith(path + ":")), None)
    assert line is not None, message
    for word in words:
        assert word in line, (word, line)
    assert "Traceback" not in message
    assert rendering.resources == []


def test_several_problems_are_reported_together():
    rendering = render_stack("dev", cluster(cni="weave", upgrade_pools="no"), check=False)
    message = str(rendering.error)
    assert "kapsule:cluster.cni:" in message and "kapsule:cluster.upgrade_pools:" in message
    assert rendering.resources == []


def test_the_error_is_a_pulumi_run_error_so_the_cli_shows_no_traceback():
    import pulumi

    rendering = render_stack("dev", cluster(cni="weave"), check=False)
    assert isinstance(rendering.error, pulumi.RunError)


# Messages that name the fix, duplicate keys and unknown namespaces.


def test_duplicate_keys_are_refused_with_both_lines(tmp_path):
    from kapsule.stackfile.reading import read_stack_file

    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(
        "config:\n  kapsule:region: fr-par\n  kapsule:cluster:\n    name: a\n    cni: cilium\n    name: b\n"
    )
    with pytest.raises(StackConfigError) as raised:
        read_stack_file(path)
    assert str(raised.value).splitlines()[1] == (
        "  kapsule:cluster.name: is given twice, at lines 4 and 6; Pulumi refuses duplicate keys: keep one"
    )
    path.write_text("config:\n  kapsule:region: fr-par\n  kapsule:region: nl-ams\n")
    with pytest.raises(StackConfigError, match="kapsule:region: is given twice, at lines 2 and 3"):
        read_stack_file(path)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("kapsul:cluster", "unknown config namespace 'kapsul'"),
        ("kap\u200bsule:cluster", "unknown config namespace 'kap\\u200bsule'"),
    ],
)
def test_an_unknown_config_namespace_is_reported(key, words):
    rendering = render_stack("dev", lambda c: c.update({key: {"name": "x"}}), check=False)
    assert isinstance(rendering.error, StackConfigError) and rendering.resources == []
    assert words in str(rendering.error)
    assert "did you mean `kapsule:cluster`" in str(rendering.error)


def test_messages_name_the_fix():
    def edit(config):
        config["kapsule:cluster"]["version"] = 1.3
        pool = config["kapsule:pools"]["default"]
        pool.update(min_size=5, max_size=3, size=4)
        config["kapsule:ingress"]["load_balancer"]["health_check"] = {"delay": 10000, "timeout": "500"}

    error = str(render_stack("dev", edit, check=False).error)
    assert (
        "kapsule:cluster.version: YAML read this as the number 1.3, not text (an unquoted 1.30 even becomes 1.3): quote it"
        in error
    )
    assert "kapsule:pools.default.min_size: 5 is greater than max_size (3)" in error
    assert (
        "kapsule:ingress.load_balancer.health_check.delay: 10000 is a bare number; durations are Go durations with a unit: '10s'"
        in error
    )
    assert (
        "kapsule:ingress.load_balancer.health_check.timeout: '500' is a bare number; durations are Go durations with a unit: '500ms'"
        in error
    )


def test_a_stack_file_that_is_a_device_or_pipe_is_refused_at_once(tmp_path):
    import os

    from kapsule.stackfile.reading import read_stack_file

    fifo = tmp_path / "Pulumi.dev.yaml"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(StackConfigError, match="is not a regular file"):
            read_stack_file(path)


def test_problems_in_different_components_come_back_together_and_nothing_is_registered():
    def own_rules(config):  # each spec's own rules, checked as the spec is read
        config["kapsule:cluster"].update(cni="kilo")
        config["kapsule:pools"]["default"].update(autoscaling=False, min_size=1)
        config["kapsule:registry"].update(region="it-mil")

    def links(config):  # rules between a component and its cluster, network and region
        config["kapsule:pools"]["default"].update(zone="nl-ams-1", public_ip_disabled=True, version="1.35.0")
        config["kapsule:ingress"]["load_balancer"]["zone"] = "fr-par-3"

    for edit, paths in (
        (
            own_rules,
            [
                "kapsule:cluster.cni",
                "kapsule:pools.default.min_size",
                "kapsule:pools.default.max_size",
                "kapsule:registry.region",
            ],
        ),
        (
            links,
            [
                "kapsule:pools.default.version",
                "kapsule:pools.default.zone",
                "kapsule:pools.default.public_ip_disabled",
                "kapsule:ingress.load_balancer.zone",
            ],
        ),
    ):
        rendering = render_stack("dev", edit, check=False)
        assert isinstance(rendering.error, StackConfigError) and rendering.resources == []
        assert sorted(path for path, _ in rendering.error.problems) == sorted(paths)
