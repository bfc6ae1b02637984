"""`make mutation`: mutmut (pinned in requirements.txt) on the modules that decide what users act on, then each
module's score (killed / (killed + survived + untested + timed out)) and its surviving mutants.

The target is 85% per module; it is printed, not enforced. `MODULES="kapsule/upgrade/path.py ..."` limits the
run to some modules (their mutants only). mutmut works in ./mutants (a copy of the tree) and keeps its results
there between runs; `rm -rf mutants` starts afresh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.85
#: What counts in a score, by mutmut's own name for each mutant's exit code (mutmut.stats.status_by_exit_code).
KILLED = ("killed", "caught by type check", "timeout")
COUNTED = (*KILLED, "survived", "no tests", "suspicious", "segfault")


def _module(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def main() -> int:
    from mutmut.stats import status_by_exit_code

    mutmut = [sys.executable, "-m", "mutmut"]
    wanted = os.environ.get("MODULES", "").split()
    patterns = [f"{_module(p)}*" for p in wanted]
    run = subprocess.run(
        [*mutmut, "run", "--max-children", os.environ.get("JOBS", "2"), *patterns], cwd=ROOT, check=False
    )
    if run.returncode not in (0, 1):
        print(f"make mutation: mutmut run exited {run.returncode}", file=sys.stderr)
        return 1
    below = scored = 0
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        source = str(meta.relative_to(ROOT / "mutants")).removesuffix(".meta")
        if wanted and source not in wanted:
            continue
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        checked = {name: status_by_exit_code[code] for name, code in codes.items() if code is not None}
        killed = sum(1 for status in checked.values() if status in KILLED)
        counted = sum(1 for status in checked.values() if status in COUNTED)
        if not counted:
            continue
        score = killed / counted
        scored += 1
        below += score < TARGET
        print(f"{source}: {score:.1%} ({killed} of {counted} mutants killed; target {TARGET:.0%})")
        for name, status in sorted(checked.items()):
            if status not in KILLED:
                print(f"  {status}: {name}  (python -m mutmut show {name})")
    if not scored:  # mutmut exits 0 or 1 even when its clean run of the tests failed and no mutant was tried
        print(
            "make mutation: no module was scored: mutmut did not get as far as testing mutants (its output is above; "
            "the tests it runs must pass on the unmutated code first)",
            file=sys.stderr,
        )
        return 1
    print(f"{below} module(s) under the {TARGET:.0%} target (a figure to raise, not a gate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
