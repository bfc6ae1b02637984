"""An application team's platform stack: its namespace and its load balancers, on a cluster another stack owns.

It can change its Services, but holds no credential that could touch the node pools or the registry: it only
reads the cluster stack's outputs, the kubeconfig and the registry's read-only pull credentials among them,
through a StackReference.
"""

import pulumi
import pulumi_kubernetes as k8s

from components import (
    ExistingCluster,
    ExistingClusterSpec,
    LoadBalancerService,
    LoadBalancerServiceSpec,
    ServicePortSpec,
    SharedRegistryPullSecret,
    SharedRegistrySpec,
)

config = pulumi.Config()
reference = config.get("cluster_stack") or f"organization/team-platform/{pulumi.get_stack()}"

cluster = ExistingCluster("cluster", ExistingClusterSpec(stack_reference=reference), region="fr-par")
namespace = k8s.core.v1.Namespace(
    "namespace-shop",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="shop"),
    opts=pulumi.ResourceOptions(parent=cluster, provider=cluster.provider),
)
# The Secret `scaleway-registry` in `shop`, made from the cluster stack's `registry_pull_config`.
pull = SharedRegistryPullSecret(
    "registry-pull",
    SharedRegistrySpec(pull_secret_namespaces=["shop"]),
    cluster=cluster,
    opts=pulumi.ResourceOptions(depends_on=[namespace]),
)
shop = LoadBalancerService(
    "shop",
    LoadBalancerServiceSpec(
        namespace="shop",
        selector={"app": "shop"},
        ports=[ServicePortSpec(name="https", port=443, target_port=8443)],
        source_ranges=["0.0.0.0/0"],
    ),
    cluster=cluster,
    opts=pulumi.ResourceOptions(depends_on=[namespace]),
)

pulumi.export("shop_service", shop.service.metadata.name)
pulumi.export("pull_secret_ids", pulumi.Output.all(*[secret.id for secret in pull.secrets]))
