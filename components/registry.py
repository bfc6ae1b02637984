"""RegistryNamespace: a Container Registry namespace, private unless a stack says otherwise; its read-only pull
credentials (RegistryPullSecret); and the pull Secrets of a stack whose registry lives in another stack
(SharedRegistryPullSecret)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from .existing_cluster import MOVED, referenced_secret
from .scaleway import iam, registry
from .spec import Problem, check

if TYPE_CHECKING:
    from .cluster import Cluster
    from .existing_cluster import ExistingCluster
from .registry_spec import RegistryNamespaceSpec, SharedRegistrySpec, registry_problems, shared_registry_problems


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
        opts: pulumi.ResourceOptions | None = None,
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
    return json.dumps(
        {"auths": {server: {"username": "nologin", "password": secret_key, "auth": auth}}}, sort_keys=True
    )


def pull_secrets(
    name: str,
    namespaces: list[str],
    docker_config: pulumi.Input[str],
    *,
    provider: pulumi.ProviderResource,
    parent: pulumi.Resource,
    secret_name: str,
    aliases: list[pulumi.Alias] | None = None,
    depends_on: pulumi.Input[Any] | None = None,
) -> list[k8s.core.v1.Secret]:
    """One `kubernetes.io/dockerconfigjson` Secret per namespace, named `<name>-<namespace>`, its data a Pulumi secret.

    `depends_on`: the component's own (the namespaces, in a stack), which each Secret takes too: the SDK does
    not hand a component's dependencies down to its children, and a Secret created before its namespace fails.
    """
    return [
        k8s.core.v1.Secret(
            f"{name}-{namespace}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=namespace),
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": pulumi.Output.secret(docker_config)},
            opts=pulumi.ResourceOptions(parent=parent, provider=provider, aliases=aliases, depends_on=depends_on),
        )
        for namespace in namespaces
    ]


class RegistryPullSecret(pulumi.ComponentResource):
    """Read-only pull credentials for a private namespace: an IAM application, its key, and image pull Secrets."""

    TYPE = "kapsule:registry:RegistryPullSecret"

    access_key: pulumi.Output[str]
    """The API key's access key (not secret on its own)."""
    docker_config: pulumi.Output[str]
    """The credentials as a `.dockerconfigjson` document, always a Pulumi secret: what a stack exports as `registry_pull_config`."""
    secret_name: str
    """The name of the `kubernetes.io/dockerconfigjson` Secret in each namespace."""

    secrets: list[k8s.core.v1.Secret]
    """One pull Secret per namespace, its data a Pulumi secret."""

    # longer than 60 lines: a component constructor registers its children in order, each with parent=self; split, its state would travel between halves
    def __init__(
        self,
        name: str,
        *,
        registry: RegistryNamespace,
        cluster: Cluster | ExistingCluster | None = None,
        namespaces: list[str] | None = None,
        secret_name: str = "scaleway-registry",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Build the component; a problem with the spec or its links raises one SpecError before anything is registered.

        Args:
            name: Logical name; the IAM application, policy, key and Secrets are named after it.
            registry: The private RegistryNamespace to pull from.
            cluster: The Cluster (or ExistingCluster) whose provider creates the Secrets; required with namespaces.
            namespaces: Kubernetes namespaces that get the pull Secret; none: only the credentials, for `docker_config`.
            secret_name: Name of the `kubernetes.io/dockerconfigjson` Secret in each namespace.
            opts: Pulumi resource options.
        """
        namespaces = list(namespaces or [])
        problems = []
        if registry.spec.is_public:
            problems.append(Problem(("registry",), f"{registry.spec.name!r} is public; it needs no pull credentials"))
        if namespaces and cluster is None:
            problems.append(
                Problem(("cluster",), "is required with namespaces: its Kubernetes provider creates the Secrets")
            )
        check(f"RegistryPullSecret {name}", problems)
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
        self.docker_config = pulumi.Output.secret(key.secret_key.apply(lambda secret: docker_config(server, secret)))
        self.secret_name = secret_name
        self.secrets = (
            pull_secrets(
                name,
                namespaces,
                self.docker_config,
                provider=cluster.provider,
                parent=self,
                secret_name=secret_name,
                depends_on=opts and opts.depends_on,
            )
            if cluster is not None
            else []
        )
        self.access_key = key.access_key
        self.register_outputs({"access_key": self.access_key})


class SharedRegistryPullSecret(pulumi.ComponentResource):
    """Image pull Secrets made from another stack's registry credentials (its `registry_pull_config` output),
    read through a StackReference: this stack needs no Scaleway credentials and makes no IAM key."""

    TYPE = "kapsule:registry:SharedRegistryPullSecret"

    docker_config: pulumi.Output[str]
    """The other stack's `.dockerconfigjson` document, always a Pulumi secret."""
    source: str
    """Where the credentials come from, for people: `stack organization/kapsule/prod (output registry_pull_config)`."""
    secret_name: str
    """The name of the `kubernetes.io/dockerconfigjson` Secret in each namespace."""
    secrets: list[k8s.core.v1.Secret]
    """One pull Secret per namespace, its data a Pulumi secret."""

    def __init__(
        self,
        name: str,
        spec: SharedRegistrySpec,
        *,
        cluster: Cluster | ExistingCluster,
        secret_name: str = "scaleway-registry",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Build the component; a problem with the spec raises one SpecError before anything is registered.

        Args:
            name: Logical name; the Secrets are `<name>-<namespace>`, as RegistryPullSecret names them, so that a
                Secret moved out of a single stack (`pulumi state move`) is found at the root under its alias.
            spec: The namespaces, and the stack and output the credentials come from.
            cluster: The Cluster (or ExistingCluster) whose provider creates the Secrets; an ExistingCluster's
                StackReference is read again when `spec.stack_reference` names the same stack, or is unset.
            secret_name: Name of the `kubernetes.io/dockerconfigjson` Secret in each namespace.
            opts: Pulumi resource options.
        """
        shared: pulumi.StackReference | None = getattr(cluster, "reference", None)
        default = cluster.spec.stack_reference if shared is not None else None  # type: ignore[union-attr]  # a reference: an ExistingCluster's spec
        check(
            f"SharedRegistryPullSecret {name}", shared_registry_problems(spec, default_reference=default, linked=True)
        )
        super().__init__(self.TYPE, name, None, opts)
        wanted = spec.stack_reference or default
        assert wanted is not None  # checked above
        reference = (
            shared
            if shared is not None and default == wanted
            else pulumi.StackReference(wanted, opts=pulumi.ResourceOptions(parent=self))
        )
        self.docker_config = referenced_secret(reference, wanted, spec.output)
        self.source = f"stack {wanted} (output {spec.output})"
        self.secret_name = secret_name
        self.secrets = pull_secrets(
            name,
            spec.pull_secret_namespaces,
            self.docker_config,
            provider=cluster.provider,
            parent=self,
            secret_name=secret_name,
            aliases=MOVED,
            depends_on=opts and opts.depends_on,
        )
        self.register_outputs({"secret_name": self.secret_name})
