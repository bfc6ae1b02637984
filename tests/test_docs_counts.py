"""The counts the docs state are the counts the code has: the engine-record edits and the end-to-end tests."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

from tests.conftest import ROOT
from tests.test_engine_records import EDITS


def test_the_docs_state_the_number_of_engine_record_edits_the_tests_replay():
    by_set = Counter(record_set for record_set, _ in EDITS)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    plan = (ROOT / "docs" / "plan.md").read_text(encoding="utf-8")
    assert re.findall(r"(\d+) edits and both base stacks", readme) == [str(len(EDITS))]
    assert re.findall(r"(\d+) edits \((\d+) of the\s+Scaleway layer, (\d+) of the Kubernetes layer\)", plan) == [
        (str(len(EDITS)), str(by_set["scaleway"]), str(by_set["kubernetes"]))
    ]


def end_to_end_tests() -> int:
    """The tests of tests/e2e as pytest collects them (parametrized cases counted one by one)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", "tests/e2e"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,  # without the engine built, the tier's conftest exits 4 after the count is printed
    )
    collected = re.search(r"^(\d+) tests? collected", done.stdout, re.M)
    assert collected, done.stdout + done.stderr
    return int(collected.group(1))


def test_the_engine_page_states_the_number_of_end_to_end_tests():
    engine = (ROOT / "docs" / "engine.md").read_text(encoding="utf-8")
    assert re.findall(r"The end-to-end tier now holds (\d+) tests", engine) == [str(end_to_end_tests())]
