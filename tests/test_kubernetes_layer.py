"""The Kubernetes layer: Services, ingress, pull credentials; valid manifests and annotations the controller accepts."""

from __future__ import annotations

import base64
import json

import kubernetes_validate
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.annotations import CONTROLLER_KEYS, CONTROLLER_WRITTEN_ANNOTATION, PREFIX
from components.ingress import IngressSpec, chart_values, service_spec
from components.load_balancer import engine_annotations
from components.load_balancer_spec import (
    HealthCheckSpec,
    LoadBalancerSpec,
    ProxyProtocolSpec,
    render_annotations,
    unknown_annotations,
)
from kapsule.resources.model import Secret, unsealed
from tests.ccm_parser import PARSERS
from tests.conftest import render_stack, stack_config

SERVICE = "kubernetes:core/v1:Service"
SECRET = "kubernetes:core/v1:Secret"
RELEASE = "kubernetes:helm.sh/v3:Release"


def kubernetes_version(stack: str) -> str:
    config, _ = stack_config(stack)
    return ".".join(config["kapsule:cluster"]["version"].split(".")[:2]) + ".0"


def check_annotations(annotations: dict[str, str], ports: list[int]) -> None:
    for key, value in annotations.items():
        assert key.startswith(PREFIX), key
        suffix = key[len(PREFIX) :]
        assert suffix in CONTROLLER_KEYS and suffix != "id", key
        PARSERS[suffix](value, ports)


def test_manifests_are_valid_kubernetes_objects_for_the_stack_version(stack):
    rendering = render_stack(stack)
    version = kubernetes_version(stack)
    manifests = [r for r in rendering.resources if r.type.startswith("kubernetes:core/v1:")]
    assert {r.type for r in manifests} >= {SERVICE, SECRET, "kubernetes:core/v1:Namespace"}
    for resource in manifests:
        kubernetes_validate.validate(unsealed(resource.inputs), version, strict=True)


def test_every_emitted_annotation_is_defined_and_parses_as_the_controller_parses_it(stack):
    services = render_stack(stack).by_type(SERVICE)
    assert services
    for service in services:
        ports = [p["port"] for p in service.inputs["spec"]["ports"]]
        annotations = service.inputs["metadata"]["annotations"]
        # The Kubernetes provider's own annotations (what `up` waits for, force over conflicts) are not the controller's.
        assert {k: v for k, v in annotations.items() if k.startswith("pulumi.com/")} == engine_annotations(
            service.name and "address"
        )
        check_annotations({k: v for k, v in annotations.items() if not k.startswith("pulumi.com/")}, ports)


@pytest.mark.parametrize(
    ("await_until", "annotations"),
    [
        ("address", {"pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress}", "pulumi.com/patchForce": "true"}),
        ("ready_pods", {"pulumi.com/patchForce": "true"}),
        ("nothing", {"pulumi.com/skipAwait": "true", "pulumi.com/patchForce": "true"}),
    ],
)
def test_what_up_waits_for_is_the_providers_own_annotation(await_until, annotations):
    def edit(config):
        config["kapsule:services"]["api"]["await_until"] = await_until

    service = next(s for s in render_stack("prod", edit).by_type(SERVICE) if s.name == "api")
    assert {
        k: v for k, v in service.inputs["metadata"]["annotations"].items() if k.startswith("pulumi.com/")
    } == annotations


def test_kubernetes_objects_use_the_cluster_provider_that_waits_for_pools(stack):
    rendering = render_stack(stack)
    provider = rendering.one("pulumi:providers:kubernetes")
    pools = {p.urn for p in rendering.by_type("scaleway:kubernetes/pool:Pool")}
    assert pools <= set(provider.depends_on)
    kubernetes_objects = [r for r in rendering.resources if r.type.startswith("kubernetes:")]
    assert kubernetes_objects
    for resource in kubernetes_objects:
        assert resource.provider == provider.urn, resource.urn


def test_controller_written_fields_are_ignored(stack):
    for service in render_stack(stack).by_type(SERVICE):
        assert f'metadata.annotations["{CONTROLLER_WRITTEN_ANNOTATION}"]' in service.ignore_changes
        assert (
            'metadata.labels["k8s.scaleway.com/managed-by-scaleway-cloud-controller-manager"]' in service.ignore_changes
        )
        assert CONTROLLER_WRITTEN_ANNOTATION not in service.inputs["metadata"]["annotations"]


def test_reserved_ip_is_attached_by_bare_id_in_the_same_zone():
    rendering = render_stack("prod")
    ips = {ip.name: ip for ip in rendering.by_type("scaleway:loadbalancers/ip:Ip")}
    services = {s.name: s for s in rendering.by_type(SERVICE)}
    for name in ("ingress", "api"):
        ip = ips[f"{name}-ip"]
        annotations = services[name].inputs["metadata"]["annotations"]
        assert annotations[PREFIX + "ip-ids"] == ip.id.split("/")[1]
        assert annotations[PREFIX + "zone"] == ip.inputs["zone"]
    assert rendering.outputs["ingress_ip"] == ips["ingress-ip"].outputs["ipAddress"]
    assert rendering.outputs["service_ips"]["api"] == ips["api-ip"].outputs["ipAddress"]


def test_proxy_protocol_is_on_both_sides_or_neither(stack):
    rendering = render_stack(stack)
    config, _ = stack_config(stack)
    ingress = config.get("kapsule:ingress", {})
    if ingress.get("controller", "none") == "none":
        pytest.skip("no ingress controller")
    release = rendering.one(RELEASE)
    service = next(s for s in rendering.by_type(SERVICE) if s.name == "ingress")
    annotations = service.inputs["metadata"]["annotations"]
    lb_side = any(k.startswith(PREFIX + "proxy-protocol-") for k in annotations)
    values = release.inputs["values"]
    if release.inputs["chart"] == "ingress-nginx":
        controller_side = values["controller"]["config"]["use-proxy-protocol"] == "true"
    else:
        controller_side = bool(values.get("ports", {}).get("web", {}).get("proxyProtocol"))
    assert lb_side == controller_side == bool(ingress.get("proxy_protocol"))
    if lb_side:
        assert annotations[PREFIX + "health-check-send-proxy"] == "true"


@pytest.mark.parametrize("controller", ["ingress-nginx", "traefik"])
@pytest.mark.parametrize("proxy", [True, False])
def test_both_controllers_agree_with_their_load_balancer(controller, proxy):
    spec = IngressSpec(controller=controller, chart_version="1.2.3", proxy_protocol=proxy)
    values = chart_values(spec, "ingress/ingress")
    annotations = render_annotations(service_spec(spec, controller).load_balancer)
    lb_side = PREFIX + "proxy-protocol-v2" in annotations
    if controller == "ingress-nginx":
        controller_side = values["controller"]["config"]["use-proxy-protocol"] == "true"
        assert values["controller"]["service"] == {"enabled": False}
    else:
        controller_side = (
            "proxyProtocol" in values["ports"].get("web", {}) and "proxyProtocol" in values["ports"]["websecure"]
        )
        assert values["service"] == {"enabled": False}
    assert lb_side == controller_side == proxy


def test_ingress_chart_is_pinned_from_the_stack_file(stack):
    config, _ = stack_config(stack)
    release = render_stack(stack).one(RELEASE)
    assert release.inputs["version"] == config["kapsule:ingress"]["chart_version"]
    assert release.inputs["name"] == config["kapsule:ingress"]["controller"]


def test_pull_secret_is_read_only_and_secret(stack):
    rendering = render_stack(stack)
    config, _ = stack_config(stack)
    policy = rendering.one("scaleway:iam/policy:Policy")
    application = rendering.one("scaleway:iam/application:Application")
    key = rendering.one("scaleway:iam/apiKey:ApiKey")
    assert policy.inputs["applicationId"] == application.id == key.inputs["applicationId"]
    (rule,) = policy.inputs["rules"]
    assert rule["permissionSetNames"] == ["ContainerRegistryReadOnly"]
    assert rule["projectIds"] == [rendering.one("scaleway:registry/namespace:Namespace").outputs["projectId"]]
    secrets = rendering.by_type(SECRET)
    assert sorted(s.inputs["metadata"]["namespace"] for s in secrets) == sorted(
        config["kapsule:registry"]["pull_secret_namespaces"]
    )
    secret_key = key.outputs["secretKey"]
    for secret in secrets:
        assert secret.inputs["type"] == "kubernetes.io/dockerconfigjson"
        data = secret.inputs["stringData"]
        assert isinstance(data, Secret) or isinstance(data[".dockerconfigjson"], Secret)
        auth = json.loads(unsealed(data)[".dockerconfigjson"])["auths"]["rg.fr-par.scw.cloud"]
        assert auth["username"] == "nologin" and auth["password"] == secret_key
        assert base64.b64decode(auth["auth"]).decode() == f"nologin:{secret_key}"
    assert secret_key not in json.dumps({k: str(v) for k, v in rendering.outputs.items()})


# --- The annotation spec, without the runtime ---------------------------------------------------


def test_default_health_check_notices_a_dead_node_within_five_seconds():
    check = HealthCheckSpec()
    seconds = lambda text: float(text[:-1])  # noqa: E731
    assert seconds(check.delay) * check.max_retries <= 5
    controller_default = 5 * 5
    assert seconds(check.delay) * check.max_retries < controller_default


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"sticky_sessions": "cookie"}, "sticky_sessions_cookie_name"),
        ({"health_check": {"type": "http"}}, "http_uri"),
        ({"health_check": {"type": {"80": "http", "5432": "pgsql"}, "http_uri": "/"}}, "pgsql_user"),
        ({"health_check": {"type": {"80:": "http"}}}, "port list"),
        ({"health_check": {"delay": "10000"}}, "Go duration"),
        ({"timeout_server": "30"}, "Go duration"),
        ({"forward_port_algorithm": "random"}, "roundrobin"),
        ({"reserve_ip": True, "ip_ids": ["x"]}, "keep one"),
        ({"private": True, "reserve_ip": True}, "no public IP"),
        ({"extra_annotations": {PREFIX + "send-proxy-v2": "true"}}, "deprecated"),
        ({"extra_annotations": {PREFIX + "id": "fr-par-1/x"}}, "written by the cloud controller"),
        ({"extra_annotations": {PREFIX + "timeout-server": "5s"}}, "timeout_server"),
        ({"type": "lb-s"}, "pattern"),
    ],
)
def test_invalid_load_balancer_specs_are_refused(values, words):
    with pytest.raises(ValueError) as raised:
        LoadBalancerSpec.model_validate(values)
    assert words in str(raised.value)


def test_escape_hatch_warns_only_on_keys_the_controller_does_not_define():
    spec = LoadBalancerSpec(
        extra_annotations={PREFIX + "bogus": "1", PREFIX + "externally-managed": "false", "other/key": "x"}
    )
    assert unknown_annotations(spec) == [PREFIX + "bogus"]
    annotations = render_annotations(spec)
    assert annotations[PREFIX + "externally-managed"] == "false" and annotations["other/key"] == "x"


PORTS = st.lists(st.integers(1, 65535), min_size=1, max_size=3, unique=True)
DURATIONS = st.builds(lambda n, unit: f"{n}{unit}", st.integers(1, 600), st.sampled_from(["ms", "s", "m"]))


@settings(max_examples=200, deadline=None)
@given(
    ports=PORTS,
    data=st.data(),
)
def test_any_valid_spec_renders_annotations_the_controller_accepts(ports, data):
    health_type = data.draw(st.sampled_from(["tcp", "http", "https", "mysql", "pgsql", "redis", "ldap"]))
    per_port = data.draw(st.booleans())
    check = {
        "type": {",".join(map(str, ports)): health_type} if per_port else health_type,
        "delay": data.draw(DURATIONS),
        "timeout": data.draw(DURATIONS),
        "max_retries": data.draw(st.integers(1, 10)),
        "send_proxy": data.draw(st.booleans()),
    }
    if health_type in ("http", "https"):
        check["http_uri"] = "/healthz"
        check["http_code"] = data.draw(st.integers(200, 499))
    if health_type == "mysql":
        check["mysql_user"] = "check"
    if health_type == "pgsql":
        check["pgsql_user"] = "check"
    sticky = data.draw(st.sampled_from([None, "none", "cookie", "table"]))
    spec = LoadBalancerSpec.model_validate(
        {
            "type": data.draw(st.sampled_from(["LB-S", "LB-GP-M", "LB-GP-L"])),
            "health_check": check,
            "forward_port_algorithm": data.draw(st.sampled_from([None, "roundrobin", "leastconn", "first"])),
            "sticky_sessions": sticky,
            "sticky_sessions_cookie_name": "sid" if sticky == "cookie" else None,
            "proxy_protocol": data.draw(
                st.sampled_from([None, {"version": "v1", "ports": "*"}, {"version": "v2", "ports": ports}])
            ),
            "protocol_http": data.draw(st.sampled_from([None, "*", ports])),
            "timeout_client": data.draw(st.one_of(st.none(), DURATIONS)),
            "timeout_tunnel": data.draw(st.one_of(st.none(), DURATIONS)),
            "max_connections": data.draw(st.one_of(st.none(), st.integers(1, 10000))),
            "use_hostname": data.draw(st.booleans()),
            "private": data.draw(st.booleans()),
            "ssl_compatibility_level": data.draw(
                st.sampled_from([None, "ssl_compatibility_level_intermediate", "ssl_compatibility_level_modern"])
            ),
            "target_node_labels": data.draw(
                st.dictionaries(st.sampled_from(["pool", "tier"]), st.sampled_from(["a", "b"]))
            ),
        }
    )
    check_annotations(render_annotations(spec), ports)


def test_proxy_protocol_renders_one_version_only():
    annotations = render_annotations(LoadBalancerSpec(proxy_protocol=ProxyProtocolSpec(version="v1", ports=[80, 443])))
    assert annotations[PREFIX + "proxy-protocol-v1"] == "80,443"
    assert PREFIX + "proxy-protocol-v2" not in annotations and PREFIX + "send-proxy-v2" not in annotations


def test_every_rendered_key_is_owned_by_a_spec_key():
    from components.annotations import TYPED_KEYS

    spec = LoadBalancerSpec.model_validate(
        {
            "type": "LB-S", "zone": "fr-par-1", "use_hostname": True, "ip_ids": ["x"],
            "forward_port_algorithm": "first", "sticky_sessions": "cookie", "sticky_sessions_cookie_name": "s",
            "health_check": {"type": {"80": "http", "3306": "mysql", "5432": "pgsql"}, "send_proxy": True,
                             "http_uri": "/", "http_method": "GET", "http_code": 200, "mysql_user": "m", "pgsql_user": "p"},
            "proxy_protocol": {"version": "v1"}, "protocol_http": "*", "http_backend_tls": "*",
            "http_backend_tls_skip_verify": "*", "certificate_ids": ["c"], "ssl_compatibility_level": "ssl_compatibility_level_modern",
            "timeout_client": "1s", "timeout_server": "1s", "timeout_connect": "1s", "timeout_tunnel": "1s", "timeout_queue": "1s",
            "on_marked_down_action": "shutdown_sessions", "redispatch_attempt_count": 1, "max_retries": 1, "max_connections": 1,
            "connection_rate_limit": 1, "enable_access_logs": True, "enable_http3": True, "force_internal_ip": True,
            "target_node_labels": {"a": "b"}, "failover_host": "f", "ip_mode": "VIP",
        }
    )  # fmt: skip
    emitted = {key[len(PREFIX) :] for key in render_annotations(spec)}
    assert emitted <= set(TYPED_KEYS) <= CONTROLLER_KEYS
    assert set(TYPED_KEYS) - emitted <= {"private", "proxy-protocol-v2"}


@pytest.mark.parametrize("controller", ["ingress-nginx", "traefik"])
def test_ingress_status_publishes_the_load_balancer_service(controller):
    """With the chart's own Service off, the controller is pointed at ours, so Ingress status carries its address."""

    def edit(config):
        config["kapsule:ingress"]["controller"] = controller
        config["kapsule:ingress"]["chart_version"] = "4.13.3" if controller == "ingress-nginx" else "37.1.1"
        if controller == "traefik":
            config["kapsule:ingress"]["values"] = {"additionalArguments": ["--log.level=DEBUG"]}

    rendering = render_stack("dev", edit)
    release = rendering.one("kubernetes:helm.sh/v3:Release")
    service = next(r for r in rendering.by_type("kubernetes:core/v1:Service") if r.parent.endswith("::ingress"))
    published = f"{service.inputs['metadata']['namespace']}/{service.inputs['metadata']['name']}"
    if controller == "ingress-nginx":
        assert release.inputs["values"]["controller"]["extraArgs"] == {"publish-service": published}
    else:
        assert release.inputs["values"]["additionalArguments"] == [
            f"--providers.kubernetesingress.ingressendpoint.publishedservice={published}",
            "--log.level=DEBUG",
        ]


def test_the_published_service_is_owned_by_the_spec():
    with pytest.raises(ValueError, match="is set by this spec"):
        IngressSpec(
            controller="ingress-nginx",
            chart_version="1.2.3",
            values={"controller": {"extraArgs": {"publish-service": "a/b"}}},
        )
    with pytest.raises(ValueError, match="is set by this spec"):
        IngressSpec(
            controller="traefik",
            chart_version="1.2.3",
            values={"additionalArguments": ["--providers.kubernetesingress.ingressendpoint.publishedservice=a/b"]},
        )


def test_one_annotation_table_covers_every_load_balancer_field():
    from components.annotations import ANNOTATIONS, TYPED_KEYS

    fields = {(name,) for name in LoadBalancerSpec.model_fields} | {
        ("health_check", name) for name in HealthCheckSpec.model_fields
    }
    rendered = {annotation.field for annotation in ANNOTATIONS}
    # Every spec field is rendered through the table, except the component's own switches.
    assert fields - rendered == {("reserve_ip",), ("extra_annotations",), ("health_check",)}
    assert rendered <= fields
    assert {annotation.key for annotation in ANNOTATIONS} == set(TYPED_KEYS) <= CONTROLLER_KEYS
    assert len({annotation.key for annotation in ANNOTATIONS}) == len(ANNOTATIONS)
