"""Another team's stack: a small Kapsule cluster built from the `components` package, as any stack would."""

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
)

config = pulumi.Config()
team = config.get("team") or "payments"
tags = {"env": pulumi.get_stack(), "owner": team}

network = PrivateNetwork("network", PrivateNetworkSpec(subnet="172.20.0.0/22"), region="nl-ams", tags=tags)
cluster = Cluster(
    "cluster",
    ClusterSpec(name=f"{team}-{pulumi.get_stack()}", version="1.35.2", cni="cilium", delete_additional_resources=True),
    network=network,
    tags=tags,
)
workers = Pool(
    "workers",
    PoolSpec(node_type="PRO2-XS", zone="nl-ams-2", size=2, autoscaling=True, min_size=1, max_size=4, autohealing=True),
    cluster=cluster,
    tags=tags,
)
images = RegistryNamespace("images", RegistryNamespaceSpec(name=f"{team}-images"), region="nl-ams")

pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))
pulumi.export("registry_endpoint", images.endpoint)
pulumi.export("kubernetes_provider", cluster.provider.urn)
