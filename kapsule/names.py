"""The names the whole program shares: type tokens (diff, cost, render and policy read them from here),
the project and where it lives, and the placeholder that stands for a `secure:` value the offline plan
cannot decrypt. Pure data."""

from pathlib import Path

#: The Pulumi project (`Pulumi.yaml`), the second part of every URN.
PROJECT = "kapsule"
#: The repository root: `Pulumi.yaml`, `__main__.py`, `stacks/`.
ROOT = Path(__file__).resolve().parent.parent

#: The config namespace of this project's own keys in a stack file (`kapsule:cluster`).
CONFIG_NAMESPACE = PROJECT
#: How a secret shows anywhere: in place of a `secure:` value the plan cannot decrypt, and in every message,
#: plan and report.
SECRET_PLACEHOLDER = "[secret]"

CLUSTER = "scaleway:kubernetes/cluster:Cluster"
POOL = "scaleway:kubernetes/pool:Pool"
ACL = "scaleway:kubernetes/acl:Acl"
VPC = "scaleway:network/vpc:Vpc"
PRIVATE_NETWORK = "scaleway:network/privateNetwork:PrivateNetwork"
PUBLIC_GATEWAY = "scaleway:network/publicGateway:PublicGateway"
PUBLIC_GATEWAY_IP = "scaleway:network/publicGatewayIp:PublicGatewayIp"
GATEWAY_NETWORK = "scaleway:network/gatewayNetwork:GatewayNetwork"
REGISTRY = "scaleway:registry/namespace:Namespace"
#: The project's own pool component (`components.pool.Pool.TYPE`): its input `maxNodeAgeDays` is the pool's `max_node_age_days`.
POOL_COMPONENT = "kapsule:pool:Pool"
LB_IP = "scaleway:loadbalancers/ip:Ip"
API_KEY = "scaleway:iam/apiKey:ApiKey"
K8S_PROVIDER = "pulumi:providers:kubernetes"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
SERVICE = "kubernetes:core/v1:Service"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

# The engine's own type tokens.
STACK_TYPE = "pulumi:pulumi:Stack"
#: What a StackReference reads: recorded in state as an external resource, never created or deleted.
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
#: Every provider resource's type starts so (`pulumi:providers:scaleway`).
PROVIDER_TYPE_PREFIX = "pulumi:providers:"
#: The top-level inputs a bridged provider filled in itself, as it records them.
DEFAULTS_KEY = "__defaults"

# Engine property names (the provider's camelCase) read by more than one module.
NODE_TYPE = "nodeType"
SIZE, MIN_SIZE, MAX_SIZE = "size", "minSize", "maxSize"
ROOT_VOLUME_TYPE, ROOT_VOLUME_SIZE = "rootVolumeType", "rootVolumeSizeInGb"
DELETE_ADDITIONAL_RESOURCES = "deleteAdditionalResources"
UPGRADE_POOLS = "upgradePools"
PROJECT_ID = "projectId"

#: What a copy of the project leaves out (the tests' and the benchmark's copies): the environment, caches,
#: state, and the engine's build outputs and wrapper modules (hundreds of MiB).
NOT_COPIED = (".venv", ".git", "__pycache__", ".pulumi-state", ".hypothesis", ".tools", "tools")
