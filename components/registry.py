"""RegistryNamespace: a Container Registry namespace, private unless a stack says otherwise."""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Optional

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, field_validator
from .scaleway import iam, registry

from .catalog import REGISTRY_REGIONS

if TYPE_CHECKING:
    from .cluster import Cluster
from .spec import Problem, Spec, check

#: Namespace names are global across Scaleway: lower case letters, digits and single dashes.
NAMESPACE_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class RegistryNamespaceSpec(Spec):
    """A registry namespace as a stack declares it."""

    name: str
    """Namespace name, global across Scaleway: lower case letters, digits, single dashes. A change replaces it and loses its images."""
    region: Optional[str] = None
    """`fr-par`, `nl-ams` or `pl-waw`; the stack's region when unset."""
    is_public: bool = False
    """Anyone may pull."""
    description: Optional[str] = None
    """Free text."""
    protect: bool = False
    """Pulumi `protect` on the namespace."""
    pull_secret_namespaces: list[str] = Field(default_factory=list)
    """Kubernetes namespaces that get a `kubernetes.io/dockerconfigjson` Secret `scaleway-registry` with read-only pull credentials (an IAM application limited to `ContainerRegistryReadOnly` and its API key, a Pulumi secret); refused for a public namespace."""

    def own_problems(self) -> list[Problem]:
        """The spec's own rules (see `registry_problems`)."""
        return registry_problems(self)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if len(value) > 63 or not NAMESPACE_NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} must be 1 to 63 lower case letters, digits and single dashes (names are global across Scaleway)"
            )
        return value


def registry_problems(spec: RegistryNamespaceSpec, *, region: Optional[str] = None) -> list[Problem]:
    """Every problem with a registry namespace spec, in a stack of `region` when given (its own `region` wins)."""
    problems: list[Problem] = []
    if spec.is_public and spec.pull_secret_namespaces:
        problems.append(Problem(("pull_secret_namespaces",), "a public namespace needs no pull credentials; drop them or set is_public: false"))
    where = spec.region or region
    if where is not None and where not in REGISTRY_REGIONS:
        problems.append(Problem(("region",), f"{where!r} has no Container Registry; allowed: {', '.join(REGISTRY_REGIONS)}"))
    return problems


class RegistryNamespace(pulumi.ComponentResource):
    """A Container Registry namespace with its push/pull endpoint."""

    TYPE = "kapsule:registry:RegistryNamespace"

    id: pulumi.Output[str]
    """The namespace id (`<region>/<uuid>`)."""
    endpoint: pulumi.Output[str]
    """Where images are pushed and pulled: `rg.<region>.scw.cloud/<name>`."""

    def __init__(
        self,
        name: str,
        spec: RegistryNamespaceSpec,
        *,
        region: str,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        """Build the component; a problem with the spec or its links raises one SpecError before anything is registered.

        Args:
            name: Logical name of the namespace.
            spec: The namespace's plain values.
            region: The stack's region (the spec's `region` wins).
            opts: Pulumi resource options.
        """
        check(f"RegistryNamespace {name}", registry_problems(spec, region=region))
        region = spec.region or region
        super().__init__(self.TYPE, name, None, opts)
        self.spec = spec
        self.region = region
        self.namespace = registry.Namespace(
            name,
            name=spec.name,
            region=region,
            is_public=spec.is_public,
            description=spec.description,
            opts=pulumi.ResourceOptions(parent=self, protect=spec.protect),
        )
        self.id = self.namespace.id
        self.endpoint = self.namespace.endpoint
        self.register_outputs({"id": self.id, "endpoint": self.endpoint})


def docker_config(server: str, secret_key: str) -> str:
    """A `.dockerconfigjson` document: Scaleway's registry takes `nologin` and an API secret key."""
    auth = base64.b64encode(f"nologin:{secret_key}".encode()).decode()
    return json.dumps({"auths": {server: {"username": "nologin", "password": secret_key, "auth": auth}}}, sort_keys=True)


class RegistryPullSecret(pulumi.ComponentResource):
    """Read-only pull credentials for a private namespace: an IAM application, its key, and image pull Secrets."""

    TYPE = "kapsule:registry:RegistryPullSecret"

    access_key: pulumi.Output[str]
    """The API key's access key (not secret on its own)."""
    secret_name: str
    """The name of the `kubernetes.io/dockerconfigjson` Secret in each namespace."""

    secrets: list[k8s.core.v1.Secret]
    """One pull Secret per namespace, its data a Pulumi secret."""

    def __init__(
        self,
        name: str,
        *,
        registry: RegistryNamespace,
        cluster: "Cluster",
        namespaces: list[str],
        secret_name: str = "scaleway-registry",
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        """Build the component; a problem with the spec or its links raises one SpecError before anything is registered.

        Args:
            name: Logical name; the IAM application, policy, key and Secrets are named after it.
            registry: The private RegistryNamespace to pull from.
            cluster: The Cluster whose provider creates the Secrets.
            namespaces: Kubernetes namespaces that get the pull Secret (at least one).
            secret_name: Name of the `kubernetes.io/dockerconfigjson` Secret in each namespace.
            opts: Pulumi resource options.
        """
        if registry.spec.is_public:
            raise ValueError(f"RegistryPullSecret {name}: registry {registry.spec.name!r} is public; it needs no pull secret")
        if not namespaces:
            raise ValueError(f"RegistryPullSecret {name}: namespaces is empty; list the Kubernetes namespaces that pull")
        super().__init__(self.TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        application = iam.Application(
            name, description=f"Pulls images from {registry.spec.name} (read-only)", opts=child
        )
        iam.Policy(
            name,
            description=f"Read-only access to the Container Registry for {registry.spec.name}",
            application_id=application.id,
            rules=[
                iam.PolicyRuleArgs(
                    permission_set_names=["ContainerRegistryReadOnly"],
                    project_ids=[registry.namespace.project_id],
                )
            ],
            opts=child,
        )
        key = iam.ApiKey(name, application_id=application.id, description="image pulls from Kubernetes", opts=child)
        server = f"rg.{registry.region}.scw.cloud"
        config = pulumi.Output.secret(key.secret_key.apply(lambda secret: docker_config(server, secret)))
        self.secret_name = secret_name
        self.secrets = [
            k8s.core.v1.Secret(
                f"{name}-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=namespace),
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": config},
                opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider),
            )
            for namespace in namespaces
        ]
        self.access_key = key.access_key
        self.register_outputs({"access_key": self.access_key})
