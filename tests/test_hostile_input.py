"""Hostile stack files: every input either renders, or fails with the one clear error and registers nothing."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kapsule.names import NOT_COPIED, ROOT
from kapsule.plan.render import render
from kapsule.stackfile.messages import StackConfigError
from kapsule.stackfile.reading import read_stack_file
from tests.conftest import STACKS, stack_config

BASES = {stack: stack_config(stack)[0] for stack in STACKS}
FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63), 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "ÿ",
            "名前",
            "🚀",
            "\u202e",
            "a" * 5000,
            "1.35",
            "cilium",
            "DEV1-M",
            "fr-par-1",
            "true",
            "10s",
            "0.0.0.0/0",
        ]
    ),
)
hostile_values = st.recursive(
    hostile_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a config value, containers included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


@st.composite
def mutated_stack(draw) -> tuple[str, dict[str, Any]]:
    """A real stack's config with a few values replaced, keys added or keys removed."""
    stack = draw(st.sampled_from(STACKS))
    config = copy.deepcopy(BASES[stack])
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(config)))
        targets = paths(config[key])
        path = draw(st.sampled_from(targets))
        parent = config[key]
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "add", "remove"]))
        if not path:
            config[key] = draw(hostile_values)
        elif action == "replace":
            parent[path[-1]] = draw(hostile_values)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=20))] = draw(hostile_values)
        elif action == "remove" and isinstance(parent, (dict, list)):
            del parent[path[-1]]
    return stack, config


def check(path: Path, stack: str) -> None:
    """The property: a rendering with resources and no error, or one StackConfigError and no resources."""
    display = str(path)
    try:
        flat, secret_keys, _ = read_stack_file(path)
    except StackConfigError as error:
        event("refused while reading the file")
        assert_clear(error, display)
        return
    rendering = render(stack, flat, secret_keys, preview=True, check=False)
    if rendering.error is None:
        event("rendered")
        assert rendering.resources, "a stack that renders registers its resources"
        return
    event("refused by validation")
    assert isinstance(rendering.error, StackConfigError), repr(rendering.error)
    assert_clear(rendering.error, f"stacks/Pulumi.{stack}.yaml")
    assert rendering.resources == [], "an invalid stack file registers nothing"


def assert_clear(error: StackConfigError, stack_file: str) -> None:
    lines = str(error).splitlines()
    assert lines[0] == f"{stack_file}: invalid stack config", lines[0]
    assert len(lines) >= 2 and all(line.startswith("  ") and ": " in line for line in lines[1:]), lines
    assert "Traceback" not in str(error)


@FUZZ
@given(mutated_stack())
def test_mutated_stack_files_render_or_fail_with_one_clear_error(tmp_path_factory, case):
    stack, config = case
    path = tmp_path_factory.mktemp("fuzz") / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, allow_unicode=True), encoding="utf-8")
    check(path, stack)


def alias_bomb(width: int, depth: int) -> str:
    """A few lines whose last alias stands for width ** depth strings ("billion laughs")."""
    lines = ["anchors:", f"  a0: &a0 [{', '.join(['x'] * width)}]"]
    for level in range(1, depth):
        lines.append(f"  a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    lines += ["config:", f"  kapsule:tags: *a{depth - 1}"]
    return "\n".join(lines) + "\n"


documents = st.one_of(
    st.sampled_from(
        [
            "",
            "---\n",
            "~\n",
            "[]\n",
            "42\n",
            "config:\n",
            "config: 7\n",
            "config:\n  region: fr-par\n",
            "\t\n",
            "config: {kapsule:cluster: {version: !!binary aGk=}}\n",
        ]
    ),
    st.text(max_size=200),
    st.builds(alias_bomb, st.integers(2, 10), st.integers(2, 9)),
    st.integers(40, 3000).map(lambda depth: "config:\n  kapsule:tags: " + "[" * depth + "]" * depth + "\n"),
    st.integers(40, 3000).map(lambda depth: "config:\n  kapsule:cluster: " + "{a: " * depth + "1" + "}" * depth + "\n"),
    st.builds(
        lambda key, value: yaml.safe_dump({"config": {key: value}}, allow_unicode=True),
        st.text(max_size=20),
        hostile_values,
    ),
)


@FUZZ
@given(documents)
def test_hostile_documents_fail_with_one_clear_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("hostile") / "Pulumi.dev.yaml"
    path.write_text(text, encoding="utf-8")
    check(path, "dev")


DEEP = "(file): nests deeper than YAML can be read"


def test_the_command_line_gives_the_message_and_no_traceback(tmp_path):
    import shutil

    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*NOT_COPIED))
    for name, text, expected in [
        ("bomb", alias_bomb(10, 9), "kapsule:tags: expands to more than 20000 values (YAML aliases?)"),
        # Refused from the parser's events, before libyaml's composer recurses into it.
        ("deep", "config:\n  kapsule:tags: " + "[" * 5000 + "]" * 5000 + "\n", DEEP),
        ("empty", "", "kapsule:cluster: is required: declare the cluster and its pools here, or existing_cluster"),
    ]:
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(text, encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "kapsule", "plan", "--stack", name],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(f"stacks/Pulumi.{name}.yaml: invalid stack config\n"), result.stderr
        assert expected in result.stderr and "Traceback" not in result.stderr


def test_yaml_is_only_ever_loaded_safely():
    unsafe = (
        "yaml.load(",
        "yaml.unsafe_load",
        "yaml.full_load",
        "yaml.load_all(",
        "UnsafeLoader",
        "FullLoader",
        "Loader=yaml.Loader",
    )
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8")
        found = [pattern for pattern in unsafe if pattern in text]
        assert not found, f"{path.relative_to(ROOT)} loads YAML unsafely: {found}"
    config = (ROOT / "kapsule" / "stackfile" / "reading.py").read_text()
    assert 'SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)' in config and "SAFE_LOADER(text)" in config
