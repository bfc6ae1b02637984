"""The README is the manual and `docs/` the reference: generated from the code, and checked against it."""

from __future__ import annotations

import re
import subprocess
import sys

from pydantic import BaseModel

from kapsule.generated import workflows
from kapsule.generated.fields import model_of
from kapsule.generated.reference import COMPONENTS, _outputs, documents
from kapsule.names import ROOT
from kapsule.stackfile.schema import StackConfig

README = (ROOT / "README.md").read_text(encoding="utf-8")


def models(model: type[BaseModel], seen: set | None = None) -> set[type[BaseModel]]:
    """A model and every model nested in it."""
    seen = seen if seen is not None else set()
    seen.add(model)
    for field in model.model_fields.values():
        nested = model_of(field.annotation)
        if nested is not None and nested not in seen:
            models(nested, seen)
    return seen


def test_every_stack_key_has_a_description():
    missing = [
        f"{m.__name__}.{name}" for m in models(StackConfig) for name, f in m.model_fields.items() if not f.description
    ]
    assert missing == []


def test_every_component_output_and_argument_is_described():
    import inspect

    import components
    from kapsule.generated.reference import _arguments

    for name in COMPONENTS:
        cls = getattr(components, name)
        outputs = dict(_outputs(cls))
        assert all(outputs.values()), (name, outputs)
        registered = re.findall(
            r'"(\w+)": self\.', inspect.getsource(cls).split("register_outputs(", 1)[1].split(")", 1)[0]
        )
        assert registered and set(registered) <= set(outputs), (name, registered)
        parameters = list(inspect.signature(cls.__init__).parameters)[1:]
        described = _arguments(cls)
        assert [p for p in parameters if not described.get(p)] == [], name


def test_the_generated_reference_is_up_to_date():
    generated = {**documents(), **workflows.documents()}
    stale = [
        str(path.relative_to(ROOT))
        for path, text in generated.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], f"run `make generate`: {stale}"


def test_docs_check_names_a_stale_file_and_exits_1(tmp_path):
    from tests.conftest import copy_project

    project = copy_project(tmp_path / "project")
    page = project / "docs" / "stack-keys.md"
    page.write_text(page.read_text(encoding="utf-8").replace("Node count", "Node total"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "kapsule", "generate", "--check"], cwd=project, capture_output=True, text=True
    )
    assert result.returncode == 1 and "docs/stack-keys.md: out of date; run `make generate`" in result.stderr
    assert "Node total" in page.read_text(encoding="utf-8")  # --check writes nothing
    assert (
        subprocess.run([sys.executable, "-m", "kapsule", "generate"], cwd=project, capture_output=True).returncode == 0
    )
    assert "Node count" in page.read_text(encoding="utf-8")


def test_every_stack_key_is_in_the_reference():
    reference = (ROOT / "docs" / "stack-keys.md").read_text(encoding="utf-8")
    for name in StackConfig.model_fields:
        assert f"`{name}`" in reference
    assert "docs/stack-keys.md" in README and "docs/components.md" in README


def test_readme_commands_are_the_makefile_targets():
    makefile = (ROOT / "Makefile").read_text()
    assert "make preview" in README and "make test" in README
    assert "\npreview:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
