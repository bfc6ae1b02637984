"""The platform team's cluster stack: the network, the cluster, its pools and the registry. Its exports are the
contract the application teams' platform stacks read (docs/stacks.md)."""

import pulumi

from components import (
    Cluster,
    ClusterSpec,
    Pool,
    PoolSpec,
    PrivateNetwork,
    PrivateNetworkSpec,
    RegistryNamespace,
    RegistryNamespaceSpec,
    RegistryPullSecret,
)

tags = {"env": pulumi.get_stack(), "owner": "platform"}
network = PrivateNetwork("network", PrivateNetworkSpec(subnet="172.20.0.0/22"), region="fr-par", tags=tags)
cluster = Cluster(
    "cluster",
    ClusterSpec(name=f"shared-{pulumi.get_stack()}", version="1.35.2", delete_additional_resources=False),
    network=network,
    tags=tags,
)
Pool(
    "workers",
    PoolSpec(node_type="PRO2-S", size=3, autoscaling=True, min_size=2, max_size=6),
    cluster=cluster,
    tags=tags,
)
images = RegistryNamespace("images", RegistryNamespaceSpec(name=f"shared-{pulumi.get_stack()}-images"), region="fr-par")
# Read-only pull credentials (an IAM application limited to ContainerRegistryReadOnly, and its key): no
# namespaces here, so no Kubernetes object; the application teams make their pull Secrets from the export.
pull = RegistryPullSecret("registry-pull", registry=images)

pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
pulumi.export("cluster_id", cluster.id)
pulumi.export("region", cluster.region)
pulumi.export("registry_endpoint", images.endpoint)
pulumi.export("registry_pull_config", pulumi.Output.secret(pull.docker_config))
pulumi.export("wildcard_dns", cluster.wildcard_dns)
