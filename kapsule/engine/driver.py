"""The one driver of the real engine: every `pulumi up`, preview, export and destroy of this project goes
through here, for the local stack and for real ones, with the CLI that `make engine` built.

The program runs in this process as an Automation API inline program: the CLI is handed `--client` and no
Python language host is needed. `PULUMI_HOME` stays inside `.tools/`, so nothing touches the user's home.

Two guards, each one error: the local stack never runs against a real cluster or Scaleway, and a real stack
never runs against the local servers.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..names import CONFIG_NAMESPACE, PROJECT, ROOT
from ..stackfile.reading import decode_value, existing_cluster, read_stack_file, stack_file_path
from ..stackfile.stacks import LOCAL_STACK
from .guard import GuardError, kubeconfig_file_text, local_environment, refuse_decrypted, refuse_local_kubeconfig
from .servers import BIN, TOOLS, local_directory

#: The local stack's passphrase: it only ever encrypts secrets of the local stack, in `.pulumi-state/`.
LOCAL_PASSPHRASE = "kapsule-local-only"
PULUMI_HOME = TOOLS / "pulumi-home"
PRIVATE_TMP = TOOLS / "tmp"
#: The policy pack, as an executable the CLI launches directly (no Python language plugin needed).
POLICY_PACK = ROOT / "policy" / "analyzer"
#: The local stack's HOME: private, empty of any account's configuration.
LOCAL_HOME = TOOLS / "home"


class DriverError(Exception):
    """The engine cannot run this stack here: one sentence, naming what to do."""


def guard(stack: str, root: Path = ROOT) -> None:
    """Refuse the local stack against anything but the local servers, and any other stack against them
    (its kubeconfig file or inline kubeconfig; a `secure:` one is judged once decrypted, in workspace_stack)."""
    config = read_stack_file(stack_file_path(stack, root)).config
    settings = existing_cluster(config)
    file = settings.get("kubeconfig_file")
    target = (root / Path(file).expanduser()).resolve() if isinstance(file, str) else None
    local = local_directory() / "kubeconfig"
    if stack == LOCAL_STACK:
        if target != local.resolve():
            shown = local.relative_to(ROOT) if local.is_relative_to(ROOT) else local
            raise DriverError(
                f"the local stack runs only on the local Kubernetes API: stacks/Pulumi.{stack}.yaml must say "
                f"kapsule:existing_cluster.kubeconfig_file: {shown}"
            )
        scaleway = [
            key
            for key in (f"{CONFIG_NAMESPACE}:registry", f"{CONFIG_NAMESPACE}:cluster", f"{CONFIG_NAMESPACE}:network")
            if key in config
        ]
        services = decode_value(config.get(f"{CONFIG_NAMESPACE}:services", "{}"))
        reserved = [
            f"{CONFIG_NAMESPACE}:services.{name}.load_balancer.reserve_ip"
            for name, service in (services.items() if isinstance(services, dict) else ())
            if isinstance(service, dict) and (service.get("load_balancer") or {}).get("reserve_ip") is True
        ]
        if scaleway or reserved:
            raise DriverError(
                f"the local stack never creates Scaleway resources: remove {', '.join(scaleway + reserved)} from stacks/Pulumi.{stack}.yaml"
            )
        return
    if target is not None and target == local.resolve():
        raise DriverError(f"stack {stack} points at the local Kubernetes API ({file}): only the local stack runs there")
    try:
        if target is not None:
            refuse_local_kubeconfig(
                stack, f"kapsule:existing_cluster.kubeconfig_file ({file})", kubeconfig_file_text(target)
            )
        if isinstance(settings.get("kubeconfig"), str):
            refuse_local_kubeconfig(stack, "kapsule:existing_cluster.kubeconfig", settings["kubeconfig"])
    except GuardError as error:
        raise DriverError(str(error)) from None


def environment(stack: str) -> dict[str, str]:
    """What the CLI and the program run with: the built engine first on PATH, its home inside `.tools/`, the
    file backend in the repository unless PULUMI_BACKEND_URL says otherwise, and no plugin downloads."""
    env = {
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        "PULUMI_HOME": str(PULUMI_HOME),
        "PULUMI_SKIP_UPDATE_CHECK": "1",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_BACKEND_URL": os.environ.get("PULUMI_BACKEND_URL") or f"file://{ROOT / '.pulumi-state'}",
        "KAPSULE_PYTHON": sys.executable,
        # pulumi-kubernetes writes the kubeconfig, credentials and all, to a temporary file it never removes
        # (provider/pkg/provider/util.go, writeKubeconfigToFile): keep those in a private folder, emptied after.
        "TMPDIR": str(PRIVATE_TMP),
    }
    if stack == LOCAL_STACK:
        env["PULUMI_CONFIG_PASSPHRASE"] = LOCAL_PASSPHRASE
        env["PULUMI_BACKEND_URL"] = os.environ.get("KAPSULE_LOCAL_BACKEND_URL") or f"file://{ROOT / '.pulumi-state'}"
        env["HOME"] = str(LOCAL_HOME)  # never the user's, where ~/.config/scw and ~/.kube live
    elif not os.environ.get("PULUMI_CONFIG_PASSPHRASE") and not os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        raise DriverError(f"stack {stack}: set PULUMI_CONFIG_PASSPHRASE (it encrypts the stack's secrets)")
    return env


def workspace_stack(stack: str, *, root: Path = ROOT, extra_env: dict[str, str] | None = None) -> Any:
    """The stack, selected or created, with the program as an inline program of this process.

    `root` is the project directory the CLI works in (its Pulumi.yaml and stack files); the program is always
    this repository's `__main__.py`.
    """
    from pulumi import automation as auto

    if not (BIN / "pulumi").is_file():
        raise DriverError(f"{BIN / 'pulumi'} is missing: run `make engine` first")
    guard(stack, root)
    env = {**environment(stack), **(extra_env or {})}
    PULUMI_HOME.mkdir(parents=True, exist_ok=True)
    for private in (PRIVATE_TMP, LOCAL_HOME):
        private.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(private, 0o700)  # a folder made earlier, or by someone else, keeps no wider mode
    if env["PULUMI_BACKEND_URL"].startswith("file://"):
        Path(env["PULUMI_BACKEND_URL"][len("file://") :]).mkdir(parents=True, exist_ok=True)
    # The engine's processes (plugins, the policy pack) and the program read these: the local stack gets an
    # allow-listed environment, nothing else of the caller's.
    if stack == LOCAL_STACK:
        env = local_environment(env, os.environ)
        os.environ.clear()
    os.environ.update(env)
    options = auto.LocalWorkspaceOptions(
        work_dir=str(root),
        pulumi_home=str(PULUMI_HOME),
        env_vars=env,
        pulumi_command=auto.PulumiCommand(root=str(TOOLS), skip_version_check=True),
    )
    selected = auto.create_or_select_stack(stack_name=stack, project_name=PROJECT, program=_program, opts=options)
    if stack != LOCAL_STACK and isinstance(
        existing_cluster(read_stack_file(stack_file_path(stack, root)).config).get("kubeconfig"), dict
    ):
        # Only a `secure:` kubeconfig needs the engine to decrypt it: one more CLI call, for those stacks alone.
        try:
            refuse_decrypted(stack, selected.get_all_config())
        except GuardError as error:
            raise DriverError(str(error)) from None
    return selected


def _program() -> None:
    """The real `__main__.py`, run by the engine through the SDK's own language server."""
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


def policy(stack: str, root: Path = ROOT) -> dict[str, list[str]]:
    """The policy pack and this stack's levels, as the CLI takes them."""
    return {
        "policy_packs": [str(POLICY_PACK)],
        "policy_pack_configs": [str(root / "policy" / "config" / f"{stack}.json")],
    }


def _echo(text: str) -> None:
    print(text, end="" if text.endswith("\n") else "\n", flush=True)


def scrub() -> None:
    """Remove the kubeconfig copies the Kubernetes provider left in the private temporary folder."""
    for leftover in PRIVATE_TMP.glob("kubeconfig*"):
        leftover.unlink(missing_ok=True)


def _operation(stack: str, root: Path, env: dict[str, str] | None, run: Callable[[Any], Any]) -> Any:
    """`run` on the selected stack; afterwards the provider's kubeconfig copies are removed and this process's
    environment is the caller's again (the local stack's allow-list replaced it for the operation)."""
    saved = dict(os.environ)
    try:
        return run(workspace_stack(stack, root=root, extra_env=env))
    finally:
        scrub()
        os.environ.clear()
        os.environ.update(saved)


def up(
    stack: str,
    *,
    root: Path = ROOT,
    on_output: Callable[[str], None] = _echo,
    refresh: bool = True,
    env: dict[str, str] | None = None,
) -> Any:
    """`pulumi up --refresh` with the policy pack."""
    return _operation(
        stack, root, env, lambda s: s.up(on_output=on_output, refresh=refresh, color="never", **policy(stack, root))
    )


def preview(
    stack: str,
    *,
    root: Path = ROOT,
    on_output: Callable[[str], None] = _echo,
    refresh: bool = True,
    expect_no_changes: bool = False,
    env: dict[str, str] | None = None,
) -> Any:
    """`pulumi preview --refresh --diff` with the policy pack."""
    return _operation(
        stack,
        root,
        env,
        lambda s: s.preview(
            on_output=on_output,
            refresh=refresh,
            diff=True,
            color="never",
            expect_no_changes=expect_no_changes,
            **policy(stack, root),
        ),
    )


def drift_preview(
    stack: str, *, root: Path = ROOT, on_event: Callable[[Any], None], env: dict[str, str] | None = None
) -> str | None:
    """`pulumi preview --refresh` with the policy pack, its output kept: the caller reports from the events.
    A preview never writes the state: the refresh it runs first is held in memory for the preview alone.
    Returns None when the preview finished, or the engine's error lines when it stopped."""
    from pulumi.automation.errors import CommandError

    lines: list[str] = []
    try:
        _operation(
            stack,
            root,
            env,
            lambda s: s.preview(
                on_output=lines.append, on_event=on_event, refresh=True, diff=True, color="never", **policy(stack, root)
            ),
        )
    except CommandError as error:
        text = "".join(lines) + "\n" + str(error)
        found = [
            line.strip()
            for line in text.splitlines()
            if line.strip().startswith(("error:", "* ")) or "error" in line.lower()[:12]
        ]
        return "\n".join(dict.fromkeys(found)) or "the engine stopped with no error message"
    return None


def outputs(stack: str, *, root: Path = ROOT, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The stack's outputs, secrets decrypted (the caller never prints one): `{name: value}`."""
    return {name: output.value for name, output in _operation(stack, root, env, lambda s: s.outputs()).items()}


def export(stack: str, *, root: Path = ROOT, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`pulumi stack export` as a document: secrets stay ciphertext.

    Not the Automation API's `export_stack()`, which passes `--show-secrets` and would put every secret in
    clear into the document.
    """
    return _operation(
        stack,
        root,
        env,
        lambda s: json.loads(_pulumi(s.workspace, ["stack", "export", "--stack", stack]).stdout),
    )


def _pulumi(workspace: Any, args: list[str]) -> Any:
    """A CLI command in the workspace's folder and environment, through the workspace's own PulumiCommand (the
    Automation API's public runner), as the workspace runs its own commands (a local backend: no remote flags)."""
    home = {"PULUMI_HOME": workspace.pulumi_home} if workspace.pulumi_home else {}
    return workspace.pulumi_command.run(args, workspace.work_dir, {**home, **workspace.env_vars})


def destroy(
    stack: str, *, root: Path = ROOT, on_output: Callable[[str], None] = _echo, env: dict[str, str] | None = None
) -> Any:
    """`pulumi destroy`, running the program (its resource hooks run before a delete)."""
    return _operation(stack, root, env, lambda s: s.destroy(on_output=on_output, color="never", run_program=True))
