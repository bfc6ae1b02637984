"""What a stack does not manage, as the offline plan sees it: the stacks it reads through StackReferences (a
platform stack's cluster stack, a shared registry's stack) and a kubeconfig file on the deploying machine.
Their problems, the config the plan renders, and the notes that say where things come from."""

from __future__ import annotations

import json

from components.existing_cluster import OWN_ORGANIZATION, foreign_organization, read_kubeconfig

from ..names import CONFIG_NAMESPACE, SECRET_PLACEHOLDER
from ..resources.model import Sealed, unsealed
from ..stackfile.reading import existing_cluster, stack_references
from ..state.records import RecordedState


class Elsewhere:
    """A stack's links to what it does not manage, read from its raw config and the referenced stacks' states."""

    def __init__(self, config: dict[str, str], references: dict[str, RecordedState | None] | None = None) -> None:
        """`references`: the recorded state of each referenced stack (`organization/project/stack`) that was found."""
        reads = stack_references(config)
        self.references: dict[str, RecordedState | None] = {**dict.fromkeys(reads), **(references or {})}
        """Every stack read, with its recorded state or None when it was not given."""
        self.problems = _missing_outputs(reads, self.references)
        """(key path, message) for each output `pulumi up` would stop on."""
        self.config, unread = _without_unreadable_kubeconfig(config)
        """The config to render: a kubeconfig file that cannot be read here becomes one the plan cannot see."""
        notes = [
            _elsewhere(name, self.references.get(name), key, output)
            for name, read in reads.items()
            for key, output in read
        ]
        notes += [_elsewhere_source(source) for source in _other_sources(config)]
        self.notes = notes + ([unread] if unread else [])
        """Where the cluster and the pull credentials come from, for people."""


def _without_unreadable_kubeconfig(config: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """The config the plan renders, and a note when the platform stack's kubeconfig file cannot be read here.

    The file is on the machine that runs `pulumi up`, not necessarily where the plan runs (a pull request's
    preview, without credentials): the plan goes on with a kubeconfig it cannot read, as for a `secure:` one,
    and everything the provider compares with it may change.
    """
    existing = existing_cluster(config)
    file = existing.get("kubeconfig_file")
    if not isinstance(file, str) or not file.strip():
        return config, None
    try:
        read_kubeconfig(file)
    except ValueError as error:
        unreadable = {key: value for key, value in existing.items() if key != "kubeconfig_file"} | {
            "kubeconfig": SECRET_PLACEHOLDER
        }
        note = f"{error}: the plan goes on without it, as for a secure: kubeconfig; `pulumi up` reads it where it runs"
        return {**config, EXISTING_CLUSTER: json.dumps(unreadable)}, note
    return config, None


def _missing_outputs(
    reads: dict[str, list[tuple[str, str]]], references: dict[str, RecordedState | None]
) -> list[tuple[str, str]]:
    """The outputs this stack reads that a referenced stack's recorded state does not have: `pulumi up` would
    stop on each (`require_output`), so the plan says so instead of guessing."""
    problems = []
    for reference, read in reads.items():
        found = references.get(reference)
        outputs = found.outputs if found is not None else None
        if found is None or outputs is None:
            continue
        for key, output in read:
            value = outputs.get(output)
            # Ciphertext cannot be read here, so it counts as present.
            if output in outputs and not isinstance(unsealed(value), Sealed) and (unsealed(value) or "") == "":
                problems.append(
                    (
                        f"{CONFIG_NAMESPACE}:{key}",
                        f"stack {reference} (recorded in {found.source}) exports {output!r} empty, which `pulumi up` would stop on",
                    )
                )
            if output not in outputs:
                fix = (
                    f"set {CONFIG_NAMESPACE}:registry.export_pull_config: true in that stack and update it first"
                    if output == "registry_pull_config"
                    else "name one of its outputs, or update that stack first"
                )
                problems.append(
                    (
                        f"{CONFIG_NAMESPACE}:{key}",
                        f"stack {reference} (recorded in {found.source}) has no output {output!r}, which `pulumi up` would stop on; {fix}"
                        f" (its outputs: {', '.join(sorted(outputs)) or 'none'})",
                    )
                )
    return problems


#: The platform stack's key, in Pulumi's config map.
EXISTING_CLUSTER = f"{CONFIG_NAMESPACE}:existing_cluster"


def _other_sources(config: dict[str, str]) -> list[str]:
    """How a platform stack that names no stack reference gets its kubeconfig: a file, or a secure: value."""
    existing = existing_cluster(config)
    if existing.get("stack_reference") is not None:
        return []
    if isinstance(existing.get("kubeconfig_file"), str):
        return [f"the kubeconfig file {existing['kubeconfig_file']}"]
    return ["a secure: kubeconfig"] if "kubeconfig" in existing else []


def _elsewhere(reference: str, found: RecordedState | None, key: str, output: str) -> str:
    organization = foreign_organization(reference)
    if organization is not None:
        what = (
            "the registry's pull credentials come"
            if key == "shared_registry.output"
            else "the cluster's kubeconfig comes"
        )
        return (
            f"{what} from stack {reference} of the organisation {organization}, not this repository's "
            f"({OWN_ORGANIZATION}): the plan cannot see another organisation's state, so what is read from it is "
            "known after that stack's update, and `pulumi up` reads that organisation's stack"
        )
    if key == "shared_registry.output":
        if found is not None:
            return f"the registry's pull credentials come from stack {reference} (output {output}), as recorded in {found.source}"
        return (
            f"the registry's pull credentials come from stack {reference} (output {output}): its recorded outputs were not "
            "given, so they are known after that stack's update"
        )
    if found is not None:
        return f"the cluster comes from stack {reference}: its outputs (the kubeconfig among them) as recorded in {found.source}"
    return (
        f"the cluster comes from stack {reference}: its recorded outputs were not given, so the kubeconfig and "
        "everything read from that stack are known after the cluster stack's update"
    )


def _elsewhere_source(source: str) -> str:
    return (
        f"the cluster is made elsewhere: this stack manages only the Kubernetes layer on it, reached through {source}"
    )
