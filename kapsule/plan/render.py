"""Run the real program under Pulumi's mock runtime and record every resource it registers."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import runpy
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func, wait_for_rpcs

from .. import names
from ..names import PROJECT, ROOT, STACK_REFERENCE_TYPE, STACK_TYPE
from ..resources.model import UNKNOWN, Rendering, Resource, Sealed, Secret, Unknown, nested_secrets, rebuilt
from ..resources.urns import AliasSpec, make_urn
from .mocks import SECRET_SIGNATURE, SIGNATURE_KEY, KapsuleMocks, plain

if TYPE_CHECKING:
    from pulumi.runtime.stack import Stack

MAIN = ROOT / "__main__.py"


class Baseline(Protocol):
    """Answers for resources that already exist: what the engine would return instead of creating them."""

    def answer(self, resource: Resource) -> tuple[str, dict[str, Any]] | None:
        """The recorded id and outputs of `resource`, or None when the engine would create it anew."""

    def stack_outputs(self, reference: str) -> dict[str, Any] | None:
        """The recorded outputs of a referenced stack (`organization/project/stack`), or None when not given."""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps what the engine would see: options, parents, dependencies.

    With a `baseline`, resources it knows keep their recorded ids and outputs, so that everything
    downstream of them resolves as it would against live state.
    """

    def __init__(self, mocks: pulumi_mocks.Mocks, baseline: Baseline | None = None) -> None:
        super().__init__(mocks)
        self.baseline = baseline
        self.registrations: dict[str, Resource] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """A URN as the engine makes it: the parent's whole qualified type, then this type.

        The engine (`Deployment.generateURN`) prefixes the parent's full `a$b` chain; the SDK's mock
        monitor keeps only its last segment, which would name every grandchild differently from real state.
        """
        return make_urn(pulumi.get_stack(), pulumi.get_project(), parent, type_, name)

    def ReadResource(  # noqa: N802 (gRPC method name)
        self, request: resource_pb2.ReadResourceRequest
    ) -> resource_pb2.ReadResourceResponse:
        """A StackReference reads the other stack's recorded outputs, when the plan was given them; otherwise
        they are unknown until that stack's update, as nothing else can say what they will be."""
        if request.type != STACK_REFERENCE_TYPE:
            return super().ReadResource(request)
        outputs = self.baseline.stack_outputs(request.id) if self.baseline is not None else None
        if outputs is not None:
            outputs = {key: _unreadable(value) for key, value in outputs.items()}
        state: dict[str, Any] = {"name": request.id, "outputs": wire(outputs) if outputs is not None else rpc.UNKNOWN}
        if outputs is not None:
            state["secretOutputNames"] = sorted(key for key, value in outputs.items() if isinstance(value, Secret))
        urn = self.make_urn(request.parent, request.type, request.name)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, request.id, state)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=_serialized(state))

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        if request.type == STACK_TYPE:
            return super().RegisterResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs, _ = plain(rpc.deserialize_properties(request.object, keep_unknowns=True))
        inputs = nested_secrets(inputs)
        resource = Resource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=bool(request.custom),
            inputs=inputs,
            protect=bool(request.protect),
            ignore_changes=sorted(request.ignoreChanges),
            depends_on=sorted(request.dependencies),
            property_dependencies={key: sorted(deps.urns) for key, deps in request.propertyDependencies.items()},
            provider=request.provider.rsplit("::", 1)[0] if request.provider else "",
            secret_outputs=sorted(request.additionalSecretOutputs),
            aliases=[_alias(alias) for alias in request.aliases],
            before_delete=list(request.hooks.before_delete),
        )
        answer = self.baseline.answer(resource) if self.baseline is not None else None
        if answer is None:
            response = super().RegisterResource(request)
        else:
            ident, state = answer
            wire_state = wire(state)
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, ident, wire_state)
            response = resource_pb2.RegisterResourceResponse(urn=urn, id=ident, object=_serialized(wire_state))
        resource.id = response.id
        if response.object:
            resource.outputs, _ = plain(rpc.deserialize_properties(response.object, keep_unknowns=True))
        self.registrations[urn] = resource
        return response


def _unreadable(value: Any) -> Any:
    """A referenced stack's output as the plan can know it: a secret recorded as ciphertext is a secret whose
    value cannot be read (the `secure:` placeholder), never an unknown. That stack may have changed it since
    this one last read it, so whatever is made from it is compared blind ("may change"), not assumed same."""

    def node(leaf: Any) -> Any:
        if isinstance(leaf, Secret):
            inner = _unreadable(leaf.value)
            return inner if isinstance(inner, Secret) else Secret(inner)
        return Secret(names.SECRET_PLACEHOLDER) if isinstance(leaf, Sealed) else leaf

    return rebuilt(value, node)


def _alias(alias: Any) -> AliasSpec:
    """An alias as the SDK sends it (a URN, or a spec of the parts that differ)."""
    if alias.urn:
        return AliasSpec(urn=alias.urn)
    spec = alias.spec
    return AliasSpec(
        name=spec.name,
        type=spec.type,
        stack=spec.stack,
        project=spec.project,
        parent=spec.parentUrn,
        no_parent=spec.noParent,
    )


#: Each of the SDK's RPC threads (it calls the monitor from an executor) gets an event loop of its own.
_THREAD_LOOPS = threading.local()


def _serialized(state: dict[str, Any]) -> Any:
    """`state` in the engine's wire form, by the SDK's serializer, on the calling thread's own event loop."""
    loop = getattr(_THREAD_LOOPS, "loop", None)
    if loop is None:
        loop = _THREAD_LOOPS.loop = asyncio.new_event_loop()
    return loop.run_until_complete(rpc.serialize_properties(state, {}))


def wire(value: Any) -> Any:
    """A plain value back in the engine's wire form: secrets signed, unknowns as the unknown marker."""
    if isinstance(value, Secret):
        return {SIGNATURE_KEY: SECRET_SIGNATURE, "value": wire(value.value)}
    if isinstance(value, (Unknown, Sealed)):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value


class _RecordedHooks:
    """Takes the program's resource hook registrations under the mock runtime, where no engine calls them."""

    def register_resource_hook(self, hook: Any) -> None:
        """Nothing to serve: the hook's name reaches the recorded registration request."""

    def register_error_hook(self, hook: Any) -> None:
        """Likewise for error hooks."""


class WarningLog(logging.Handler):
    """Keeps the warnings the program logs through the mock engine, instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.logger = logging.Logger("kapsule.render")
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            self.messages.append(record.getMessage())


def render(
    stack: str,
    config: dict[str, str],
    secret_keys: Sequence[str] = (),
    *,
    preview: bool = True,
    program: Path = MAIN,
    check: bool = True,
    baseline: Baseline | None = None,
) -> Rendering:
    """Run `program` for `stack` with `config` under the mock runtime, in a fresh context and event loop.

    With `check` (the default) an exception from the program is raised; otherwise it is kept in
    `Rendering.error` beside whatever was registered before it.
    """
    rendering = contextvars.Context().run(_render, stack, dict(config), list(secret_keys), preview, program, baseline)
    if check and rendering.error is not None:
        raise rendering.error
    return rendering


def _render(
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    preview: bool,
    program: Path,
    baseline: Baseline | None,
) -> Rendering:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        monitor = RecordingMonitor(KapsuleMocks(preview), baseline)
        log = WarningLog()
        pulumi.runtime.set_mocks(
            monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor, logger=log.logger
        )
        # The offline plan never runs resource hooks (a pool's drain): it records their names from the
        # registration request. The SDK would otherwise serve hook callbacks over a gRPC server of its own,
        # and a process that forks after that (plan --all's workers) can hang.
        pulumi.runtime.settings.SETTINGS.callbacks = _RecordedHooks()
        set_all_config(config, list(secret_keys))
        root = pulumi.runtime.get_root_resource()
        program_dir = str(program.parent)
        added = program_dir not in sys.path
        if added:
            sys.path.insert(0, program_dir)
        error: BaseException | None = None
        outputs: dict[str, Any] = {}
        try:

            def run_program() -> None:
                runpy.run_path(str(program), run_name="__main__")

            loop.run_until_complete(run_pulumi_func(run_program))
            outputs = loop.run_until_complete(_resolve_outputs(cast("Stack", root).outputs))
            loop.run_until_complete(wait_for_rpcs())
        except Exception as raised:  # noqa: BLE001 handed to the caller through Rendering.error
            error = raised
        finally:
            if added:
                sys.path.remove(program_dir)
        resources = sorted(monitor.registrations.values(), key=lambda r: r.urn)
        return Rendering(stack=stack, resources=resources, outputs=outputs, error=error, warnings=log.messages)
    finally:
        _discard_pending(loop)
        loop.close()
        asyncio.set_event_loop(None)


def _discard_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a failed program left running, and forget it: the SDK keeps its pending outputs in a
    process-wide set, and the next rendering would otherwise wait on tasks of this closed loop. The error that
    failed the program is the rendering's; the futures it left unread say nothing more."""
    loop.set_exception_handler(lambda _loop, _context: None)
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    with pulumi.runtime.settings.SETTINGS.lock:
        pulumi.runtime.settings.SETTINGS.outputs.clear()


async def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for name in sorted(outputs):
        output = pulumi.Output.from_input(outputs[name])
        known = await output.is_known()
        secret = await output.is_secret()
        value = await output.future(with_unknowns=True) if known else UNKNOWN
        value, _ = plain(value)
        resolved[name] = Secret(value) if secret else value
    return resolved
