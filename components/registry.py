"""RegistryNamespace: a Container Registry namespace, private unless a stack says otherwise."""

from __future__ import annotations

import re
from typing import Optional

import pulumi
from pydantic import field_validator
from pulumiverse_scaleway import registry

from .catalog import REGISTRY_REGIONS
from .spec import Spec

#: Namespace names are global across Scaleway: lower case letters, digits and single dashes.
NAMESPACE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class RegistryNamespaceSpec(Spec):
    """A registry namespace as a stack declares it."""

    name: str
    region: Optional[str] = None
    is_public: bool = False
    description: Optional[str] = None
    protect: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if len(value) > 63 or not NAMESPACE_NAME.match(value):
            raise ValueError(
                f"{value!r} must be 1 to 63 lower case letters, digits and single dashes (names are global across Scaleway)"
            )
        return value


class RegistryNamespace(pulumi.ComponentResource):
    """A Container Registry namespace with its push/pull endpoint."""

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
        region = spec.region or region
        if region not in REGISTRY_REGIONS:
            raise ValueError(
                f"RegistryNamespace {name}: region {region!r} has no Container Registry; allowed: {', '.join(REGISTRY_REGIONS)}"
            )
        super().__init__("kapsule:registry:RegistryNamespace", name, None, opts)
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
