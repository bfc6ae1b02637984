"""ExistingCluster: a Kubernetes cluster made elsewhere (another stack, the console, another tool), reached
through its kubeconfig, so that a stack can manage only the Kubernetes layer on it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from .files import FileProblem, read_regular
from .offers import region_problem
from .spec import Problem, Spec, check

#: A stack reference as Pulumi takes it: `organization/project/stack` (Pulumi Cloud, and the file and
#: object-storage backends with `organization`), or `project/stack`.
STACK_REFERENCE = re.compile(r"([A-Za-z0-9_.-]{1,100}/){1,2}[A-Za-z0-9_.-]{1,100}")
#: The organisation of the file and object-storage backends (their only one); `project/stack` means it too.
OWN_ORGANIZATION = "organization"


def foreign_organization(reference: str) -> str | None:
    """The organisation a three-part stack reference names, when it is not this repository's own."""
    parts = reference.split("/")
    return parts[0] if len(parts) == 3 and parts[0] != OWN_ORGANIZATION else None


#: A kubeconfig is a few KiB; a larger file (or a device) is refused before it is read.
MAX_KUBECONFIG_BYTES = 1024 * 1024


class ExistingClusterSpec(Spec):
    """Where the kubeconfig of a cluster made elsewhere comes from: exactly one of three sources."""

    stack_reference: str | None = None
    """Another stack whose `kubeconfig` output is read through a StackReference: `organization/project/stack` (or `project/stack`)."""
    output: str = Field(default="kubeconfig", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_]+$")
    """The referenced stack's output that holds the kubeconfig (a cluster stack of this project exports `kubeconfig`)."""
    kubeconfig: str | None = None
    """The kubeconfig itself, as a `secure:` value (`pulumi config set --secret --path kapsule:existing_cluster.kubeconfig < file`)."""
    kubeconfig_file: str | None = None
    """A kubeconfig file on the machine that runs `pulumi up`, for a cluster made with the console or another tool (`~` is expanded)."""
    region: str | None = None
    """The cluster's Scaleway region, where its load balancers go; default: the stack's `region`."""

    def own_problems(self) -> list[Problem]:
        return existing_cluster_problems(self)


def existing_cluster_problems(spec: ExistingClusterSpec, *, region: str | None = None) -> list[Problem]:
    """Every problem with an existing cluster's spec: one kubeconfig source, well formed, in a Kapsule region."""
    problems: list[Problem] = []
    given = [key for key in ("stack_reference", "kubeconfig", "kubeconfig_file") if getattr(spec, key) is not None]
    if len(given) != 1:
        what = "none is given" if not given else f"{' and '.join(given)} are given"
        problems.append(
            Problem(
                (), f"needs exactly one of stack_reference, kubeconfig (a secure: value) or kubeconfig_file; {what}"
            )
        )
    if spec.stack_reference is not None and not STACK_REFERENCE.fullmatch(spec.stack_reference):
        problems.append(
            Problem(
                ("stack_reference",),
                f"{spec.stack_reference!r} is not a stack reference: write organization/project/stack (or project/stack)",
            )
        )
    if spec.output != "kubeconfig" and spec.stack_reference is None:
        problems.append(Problem(("output",), "names an output of the referenced stack; it needs stack_reference"))
    if spec.kubeconfig_file is not None and not spec.kubeconfig_file.strip():
        problems.append(Problem(("kubeconfig_file",), "is empty; give the path of a kubeconfig file"))
    where = spec.region or region
    if where is not None:
        problem = region_problem(where)
        if problem:
            problems.append(Problem(("region",), problem))
    return problems


def read_kubeconfig(path: str) -> str:
    """A kubeconfig file's text, read as every file handed to this project is: a regular file, bounded.

    Raises ValueError naming the file; its content is never part of a message.
    """
    file = Path(path).expanduser()
    try:
        raw = read_regular(file, MAX_KUBECONFIG_BYTES, "a kubeconfig is a few KiB")
        if b"\x00" in raw:  # /proc/self/environ and other binary files: never handed on as a kubeconfig
            raise ValueError(
                f"kubeconfig_file {str(file)!r} is not a kubeconfig (it holds NUL bytes): give a kubeconfig file's path"
            )
        return raw.decode("utf-8")
    except FileProblem as error:
        raise ValueError(f"kubeconfig_file {str(file)!r} {error}") from None
    except UnicodeDecodeError:
        raise ValueError(f"kubeconfig_file {str(file)!r} is not UTF-8 text") from None


def referenced_secret(reference: pulumi.StackReference, stack: str, output: str) -> pulumi.Output[str]:
    """Another stack's output, read through `reference`, always a Pulumi secret; empty is one clear error.

    The engine reads the other stack's secrets with this stack's secrets provider, and when it cannot decrypt
    them it goes on with empty values ("eliding undecryptable secrets", pkg/resource/deploy/builtins.go);
    a Kubernetes provider would then fail on an empty kubeconfig with nothing to say why.
    """

    def present(value: object) -> str:
        if isinstance(value, str) and value.strip():
            return value
        raise pulumi.RunError(
            f"stack {stack}'s output {output!r} is empty here: either that stack exports it empty, or the engine could not "
            "decrypt that stack's secrets (it says 'eliding undecryptable secrets'). With a file or Object Storage backend "
            "and passphrase secrets, give both stacks the same PULUMI_CONFIG_PASSPHRASE, or a secrets provider both can "
            "open (pulumi stack change-secrets-provider)"
        )

    return pulumi.Output.secret(reference.require_output(output).apply(present))


#: Where `pulumi state move` puts a resource whose parent stays behind: at the root of the destination stack
#: (pkg/cmd/pulumi/state/state_move.go reparents it and rewrites its URN). A platform stack's provider and
#: namespaces, moved out of a single stack, are found there (docs/stacks.md, "Splitting a stack").
MOVED = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]


class ExistingCluster(pulumi.ComponentResource):
    """A cluster this stack does not manage: its Kubernetes provider, built from a kubeconfig kept secret."""

    TYPE = "kapsule:existing_cluster:ExistingCluster"

    kubeconfig: pulumi.Output[str]
    """The kubeconfig, always a Pulumi secret."""
    region: str
    """The cluster's region, where its load balancers are placed."""
    reference: pulumi.StackReference | None
    """The StackReference the kubeconfig is read through, when the spec names a stack (other outputs of that stack are read through it too)."""
    source: str
    """Where the kubeconfig comes from, for people: `stack organization/kapsule/dev`, `a secure: value`, a file."""

    def __init__(
        self,
        name: str,
        spec: ExistingClusterSpec,
        *,
        region: str,
        kubeconfig: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Build the component; a problem with the spec raises one SpecError before anything is registered.

        Args:
            name: Logical name; the Kubernetes provider is `<name>-kubernetes`.
            spec: Where the kubeconfig comes from.
            region: The stack's region (the spec's `region` wins).
            kubeconfig: The kubeconfig's text when the caller has it already: the decrypted `secure:` value, or
                the `kubeconfig_file` it read (then the file is not read again).
            opts: Pulumi resource options.
        """
        check(f"ExistingCluster {name}", existing_cluster_problems(spec, region=region))
        if kubeconfig is None:
            kubeconfig = read_kubeconfig(spec.kubeconfig_file) if spec.kubeconfig_file is not None else spec.kubeconfig
        super().__init__(self.TYPE, name, None, opts)
        self.spec = spec
        self.region = spec.region or region
        self.reference = None
        if spec.stack_reference is not None:
            self.reference = pulumi.StackReference(spec.stack_reference, opts=pulumi.ResourceOptions(parent=self))
            self.kubeconfig = referenced_secret(self.reference, spec.stack_reference, spec.output)
            self.source = f"stack {spec.stack_reference} (output {spec.output})"
        elif spec.kubeconfig_file is not None:
            self.kubeconfig = pulumi.Output.secret(cast(pulumi.Input[str], kubeconfig))  # one source: checked above
            self.source = f"the file {spec.kubeconfig_file}"
        else:
            self.kubeconfig = pulumi.Output.secret(cast(pulumi.Input[str], kubeconfig))  # one source: checked above
            self.source = "a secure: value"
        self.provider = k8s.Provider(
            f"{name}-kubernetes",
            kubeconfig=self.kubeconfig,
            # Secret data changes in place (a rotated pull key) instead of deleting and recreating the Secret.
            enable_secret_mutable=True,
            opts=pulumi.ResourceOptions(parent=self, aliases=MOVED),
        )
        self.register_outputs({"kubeconfig": self.kubeconfig})
