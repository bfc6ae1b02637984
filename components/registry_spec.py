"""RegistryNamespaceSpec and SharedRegistrySpec: a registry namespace's plain values, and another stack's registry."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from .existing_cluster import STACK_REFERENCE
from .offers import REGISTRY_REGIONS
from .spec import Problem, Spec

#: Namespace names are global across Scaleway: lower case letters, digits and single dashes.
NAMESPACE_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class RegistryNamespaceSpec(Spec):
    """A registry namespace as a stack declares it."""

    name: str
    """Namespace name, global across Scaleway: lower case letters, digits, single dashes. A change replaces it and loses its images."""
    region: str | None = None
    """`fr-par`, `nl-ams` or `pl-waw`; the stack's region when unset."""
    is_public: bool = False
    """Anyone may pull."""
    description: str | None = None
    """Free text."""
    protect: bool = False
    """Pulumi `protect` on the namespace."""
    pull_secret_namespaces: list[str] = Field(default_factory=list)
    """Kubernetes namespaces that get a `kubernetes.io/dockerconfigjson` Secret `scaleway-registry` with read-only pull credentials (an IAM application limited to `ContainerRegistryReadOnly` and its API key, a Pulumi secret); refused for a public namespace."""
    export_pull_config: bool = False
    """Export those read-only pull credentials as the stack output `registry_pull_config` (a `.dockerconfigjson` document, always a Pulumi secret), for platform stacks that make their pull Secrets from it (`shared_registry`); refused for a public namespace."""

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


def registry_problems(spec: RegistryNamespaceSpec, *, region: str | None = None) -> list[Problem]:
    """Every problem with a registry namespace spec, in a stack of `region` when given (its own `region` wins)."""
    problems: list[Problem] = []
    if spec.is_public and spec.pull_secret_namespaces:
        problems.append(
            Problem(
                ("pull_secret_namespaces",),
                "a public namespace needs no pull credentials; drop them or set is_public: false",
            )
        )
    if spec.is_public and spec.export_pull_config:
        problems.append(
            Problem(
                ("export_pull_config",), "a public namespace needs no pull credentials; drop it or set is_public: false"
            )
        )
    where = spec.region or region
    if where is not None and where not in REGISTRY_REGIONS:
        problems.append(
            Problem(("region",), f"{where!r} has no Container Registry; allowed: {', '.join(REGISTRY_REGIONS)}")
        )
    return problems


class SharedRegistrySpec(Spec):
    """A registry that lives in another stack: this stack makes pull Secrets from that stack's pull credentials."""

    pull_secret_namespaces: list[str] = Field(min_length=1)
    """Kubernetes namespaces that get the `kubernetes.io/dockerconfigjson` Secret `scaleway-registry`, made from the other stack's pull credentials."""
    stack_reference: str | None = None
    """The stack that declares the registry with `export_pull_config: true`: `organization/project/stack` (or `project/stack`); default: `existing_cluster.stack_reference`."""
    output: str = Field(default="registry_pull_config", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_]+$")
    """That stack's output holding the `.dockerconfigjson` document (a stack of this project exports `registry_pull_config`)."""

    def own_problems(self) -> list[Problem]:
        """The spec's own rules (see `shared_registry_problems`)."""
        return shared_registry_problems(self)


def shared_registry_problems(
    spec: SharedRegistrySpec, *, default_reference: str | None = None, linked: bool = False
) -> list[Problem]:
    """Every problem with a shared registry's spec; `linked`: the stack's `existing_cluster.stack_reference`
    (`default_reference`) is known, so a missing `stack_reference` can be judged."""
    problems: list[Problem] = []
    if spec.stack_reference is not None and not STACK_REFERENCE.fullmatch(spec.stack_reference):
        problems.append(
            Problem(
                ("stack_reference",),
                f"{spec.stack_reference!r} is not a stack reference: write organization/project/stack (or project/stack)",
            )
        )
    if linked and spec.stack_reference is None and default_reference is None:
        problems.append(
            Problem(
                ("stack_reference",),
                "is required: name the stack that declares the registry with export_pull_config: true "
                "(it defaults to existing_cluster.stack_reference, which this stack does not set)",
            )
        )
    if len(set(spec.pull_secret_namespaces)) != len(spec.pull_secret_namespaces):
        problems.append(Problem(("pull_secret_namespaces",), f"lists a namespace twice: {spec.pull_secret_namespaces}"))
    return problems
