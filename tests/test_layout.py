"""The layout: each room's `__init__.py` says what it may import, and the code keeps to it; no import
circle; no module over 400 lines of formatted code; the README stays a manual."""

from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("kapsule", "components", "policy")
MAX_LINES = 400


def modules() -> dict[str, Path]:
    """Every module of the three packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, at the top or inside a function, type-checking blocks included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in known else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {target for target in found if target in known and target != name}


def room(name: str) -> str:
    """The room a module lives in: a subpackage of kapsule, or a package, or kapsule's own bottom modules."""
    parts = name.split(".")
    if (
        parts[0] == "kapsule"
        and len(parts) > 2
        or name in ("kapsule.engine", "kapsule.cli")
        or (parts[0] == "kapsule" and len(parts) == 2 and (ROOT / "kapsule" / parts[1] / "__init__.py").is_file())
    ):
        return ".".join(parts[:2])
    return "kapsule" if parts[0] == "kapsule" else parts[0]


def allowed(known: dict[str, Path]) -> dict[str, set[str]]:
    """Each room and the rooms its `__init__.py` docstring says it may import."""
    rooms = {}
    for name, path in known.items():
        if path.name != "__init__.py":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        line = re.search(r"^May import: (.*)\.$", doc, re.M)
        assert line, f"{path.relative_to(ROOT)}: its docstring has no 'May import: ...' line"
        rooms[room(name)] = {item.strip() for item in line.group(1).split(",")}
    return rooms


def upward(known: dict[str, Path]) -> list[str]:
    """Each import that goes to a room the importer's docstring does not allow."""
    rooms = allowed(known)
    wrong = []
    for name, path in known.items():
        mine = room(name)
        for target in imports(name, path, known):
            theirs = room(target)
            if theirs == mine or (name == "kapsule.__main__" and theirs == "kapsule.cli"):
                continue
            bottom = theirs == "kapsule" and target in {
                f"kapsule.{m}" for m in rooms["kapsule"] | {"exits", "names", "files", "scaleway"}
            }
            if theirs not in rooms[mine] and not (bottom and target in rooms[mine]):
                wrong.append(f"{name} imports {target} ({theirs} is not in {mine}'s 'May import')")
    return wrong


def circles_of(known: dict[str, Path]) -> list[list[str]]:
    """Each import circle, as its sorted members."""
    edges = {name: imports(name, path, known) for name, path in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                circles.append(sorted(members))

    for node in edges:
        if node not in index:
            visit(node)
    return circles


def test_every_import_goes_to_a_room_the_importer_may_import():
    known = modules()
    assert len([r for r in allowed(known) if r.startswith("kapsule.")]) >= 3
    wrong = upward(known)
    assert not wrong, "\n".join(wrong)


def test_there_is_no_import_circle():
    circles = circles_of(modules())
    assert not circles, circles


def test_a_planted_circle_and_a_planted_upward_import_are_found(tmp_path):
    """The checks find what they look for: the state importing the plan, which imports it back."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from kapsule.plan import b\n", encoding="utf-8")
    b.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..state.a import x\n", encoding="utf-8")
    known = {**modules(), "kapsule.state.a": a, "kapsule.plan.b": b}
    assert upward(known) == [
        "kapsule.state.a imports kapsule.plan.b (kapsule.plan is not in kapsule.state's 'May import')"
    ]
    assert circles_of(known) == [["kapsule.plan.b", "kapsule.state.a"]]


@functools.cache
def formatted(path: Path) -> str:
    """A module as the project's formatter (ruff, configured in pyproject.toml) writes it."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(path), "-"],
        input=path.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return done.stdout


def test_no_module_is_over_400_lines_of_formatted_code():
    long = {
        str(path.relative_to(ROOT)): n
        for path in modules().values()
        if (n := len(formatted(path).splitlines())) > MAX_LINES
    }
    assert not long, long


def test_the_readme_is_a_manual_of_at_most_14_kb():
    assert len((ROOT / "README.md").read_bytes()) <= 14 * 1024


#: Underscore names that are public API all the same: `os._exit` is documented as the way to leave a forked child.
PUBLIC_UNDERSCORE = {"os._exit"}
#: A private name of a dependency that has no public form, with why it is used: checked by name, so a new one fails.
PRIVATE_ALLOWED = {
    # pulumi has no public test for an `@input_type` Args class (a resource input that nests further inputs).
    ("kapsule.stackfile.environment", "pulumi._types"),
}


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_crossings(name: str, path: Path) -> list[str]:
    """Each private name this module reaches in another module: imported (`from x import _y`, `import x._y`) or
    read as an attribute of something it did not define (`module._y`, `obj.attr._y`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = {
        node.name if not isinstance(node, ast.Assign) else target.id
        for node in tree.body
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Assign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node])
        if not isinstance(node, ast.Assign) or isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            module = node.module or ""
            if any(private(part) for part in module.split(".")):
                found.append(f"from {module} import ... (a private module)")
            found += [
                f"from {module} import {a.name}"
                for a in node.names
                if private(a.name) and (name, f"{module}.{a.name}") not in PRIVATE_ALLOWED
            ]
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if any(private(p) for p in a.name.split("."))]
        elif isinstance(node, ast.Attribute) and private(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and (base.id in {"self", "cls"} or base.id in own):
                continue
            if isinstance(base, ast.Name) and f"{base.id}.{node.attr}" in PUBLIC_UNDERSCORE:
                continue
            found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return [f"{name}: {what}" for what in found]


def test_no_module_reaches_a_private_name_of_another_module():
    """A helper used elsewhere gets a public name in the room that owns it; nothing uses a dependency's privates."""
    found = [crossing for name, path in modules().items() for crossing in private_crossings(name, path)]
    assert not found, "\n".join(found)


def test_a_planted_private_import_and_a_private_attribute_are_found(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from kapsule.reports.plan import format_text, _hidden\n"
        "from pulumi.runtime import rpc\n"
        "class Own:\n    _cache = {}\n"
        "def f(s):\n    Own._cache.clear()\n    return rpc._special_sig_key, s.workspace._run(), os._exit\n",
        encoding="utf-8",
    )
    assert private_crossings("kapsule.planted", planted) == [
        "kapsule.planted: from kapsule.reports.plan import _hidden",
        "kapsule.planted: rpc._special_sig_key (line 7)",
        "kapsule.planted: s.workspace._run (line 7)",
    ]


MAX_FUNCTION_LINES = 60
#: The comment, on the line above a `def`, that lets a function be longer, followed by why.
LONG_FUNCTION = "# longer than 60 lines:"


def long_functions(source: str) -> list[tuple[str, int]]:
    """Each function of formatted `source` over MAX_FUNCTION_LINES lines without a comment above it saying why."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            above = lines[first - 2].strip() if first > 1 else ""
            if length > MAX_FUNCTION_LINES and not (
                above.startswith(LONG_FUNCTION) and above[len(LONG_FUNCTION) :].strip()
            ):
                found.append((node.name, length))
    return found


def test_no_function_is_over_60_lines_of_formatted_code_unless_a_comment_says_why():
    long = {
        f"{path.relative_to(ROOT)}:{name}": n
        for path in modules().values()
        for name, n in long_functions(formatted(path))
    }
    assert not long, long


def test_a_long_function_needs_its_reason():
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}") == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions(f"{LONG_FUNCTION}\ndef f():\n{body}") == [("f", MAX_FUNCTION_LINES + 1)]  # no reason given
    assert long_functions(f"{LONG_FUNCTION} one table\ndef f():\n{body}") == []
    assert long_functions(f"def f():\n{body[: -len(body) // MAX_FUNCTION_LINES]}") == []
