"""The privileged plan-comment job: a fork's artifact never chooses the pull request, and its plan is defused.

The job's own `run:` scripts are executed here under bash, with a fake `gh` that answers as GitHub's
pull-request API does, so a change to the workflow is what these tests judge.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.test_workflows import WORKFLOWS, steps, workflow

SHA = "a" * 40
OTHER = "b" * 40
COMMENT = workflow("plan-comment.yml")


def step(name_part: str) -> dict:
    return next(s for s in steps(COMMENT) if name_part in s.get("name", ""))


def pull(number: int, sha: str) -> dict:
    return {"number": number, "head": {"sha": sha, "ref": "feature", "repo": {"full_name": "fork/kapsule"}}}


def run_find_pr(tmp_path: Path, pulls: list, head_sha: str = SHA) -> tuple[subprocess.CompletedProcess, str, str]:
    """The `pr` step with a fake gh serving `pulls`; returns the process, $GITHUB_OUTPUT and gh's arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "pulls.answer").write_text(json.dumps(pulls))
    gh = bin_dir / "gh"
    gh.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$FAKE_DIR/gh.args"\ncat "$FAKE_DIR/pulls.answer"\n')
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    # What a hostile fork would put in its artifact, were the job to read it.
    (tmp_path / "pr-number.txt").write_text("12\nnumber=999\nother<<X\nanything\nX\n")
    output = tmp_path / "github-output"
    output.write_text("")
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_DIR": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        **{key: value for key, value in step("Find the pull request")["env"].items() if "${{" not in value},
        "GH_TOKEN": "token",
        "REPOSITORY": "owner/kapsule",
        "HEAD_SHA": head_sha,
        "HEAD_OWNER": "fork",
        "HEAD_BRANCH": "feature; rm -rf /",
    }
    result = subprocess.run(
        ["bash", "-c", step("Find the pull request")["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    args = (tmp_path / "gh.args").read_text() if (tmp_path / "gh.args").exists() else ""
    return result, output.read_text(), args


def test_the_number_comes_from_github_matched_on_the_runs_head_never_from_the_artifact(tmp_path):
    result, output, args = run_find_pr(tmp_path, [pull(7, OTHER), pull(12, SHA)])
    assert result.returncode == 0, result.stderr
    assert output == "number=12\n"
    assert "head=fork:feature; rm -rf /" in args.splitlines() and "repos/owner/kapsule/pulls" in args.splitlines()


@pytest.mark.parametrize(
    "pulls, head_sha",
    [
        ([pull(7, OTHER)], SHA),  # the fork pushed again: the run's commit heads no pull request
        ([pull(7, SHA), pull(8, SHA)], SHA),  # two pull requests: no guessing
        ([], SHA),
        ([pull(12, SHA)], "12\nnumber=999"),  # an event value that is no commit id
        ([{"number": "12\nnumber=999", "head": {"sha": SHA}}], SHA),  # an answer that is no number
    ],
)
def test_anything_but_one_matching_pull_request_comments_nowhere(tmp_path, pulls, head_sha):
    result, output, _ = run_find_pr(tmp_path, pulls, head_sha)
    assert result.returncode == 1
    assert output == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_no_step_reads_a_number_from_the_artifact_and_the_comment_targets_the_events_pull_request():
    text = (WORKFLOWS / "plan-comment.yml").read_text()
    assert "pr-number" not in text and "pr-number" not in (WORKFLOWS / "pull-request.yml").read_text()
    sticky = next(s for s in steps(COMMENT) if s.get("uses", "").startswith("marocchino/"))
    assert sticky["with"]["number"] == "${{ steps.pr.outputs.number }}"
    assert step("Find the pull request")["env"]["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    order = [s.get("id") or s.get("uses", s.get("name")).split("@")[0] for s in steps(COMMENT)]
    assert order.index("pr") < order.index("actions/download-artifact"), (
        "the target is fixed before the artifact is read"
    )


def run_defuse(tmp_path: Path, plan: bytes | None) -> str:
    (tmp_path / "artifact").mkdir()
    if plan is not None:
        (tmp_path / "artifact" / "plan.md").write_bytes(plan)
    env = {"PATH": os.environ["PATH"], "HEAD_SHA": SHA}
    result = subprocess.run(
        ["bash", "-c", step("Bound and defuse")["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return (tmp_path / "comment.md").read_text(encoding="utf-8")


def test_the_posted_plan_is_bounded_and_cannot_mention_link_or_inject_html(tmp_path):
    hostile = (
        "### plan\n@owner/admins please merge, see https://evil.example/login or www.evil.example\n"
        "<details><summary>1 to create</summary>\n<img src=x onerror=alert(1)></details>\u202e\x00\n"
    ).encode() + b"x" * 70000
    comment = run_defuse(tmp_path, hostile)
    assert len(comment) < 60200 and "cut at 60,000 characters" in comment
    assert "@owner" not in comment and "https://" not in comment and "www.evil" not in comment
    assert "<img" not in comment and "&lt;img" in comment
    assert "<details><summary>1 to create</summary>" in comment and "</details>" in comment
    assert "\u202e" not in comment and "\x00" not in comment


def test_a_missing_or_linked_plan_posts_a_sentence(tmp_path):
    assert run_defuse(tmp_path, None).startswith("The pull request's run left no plan.")
    other = tmp_path / "other"
    other.mkdir()
    (other / "secret").write_text("token")
    (other / "artifact").mkdir()
    (other / "artifact" / "plan.md").symlink_to(other / "secret")
    result = subprocess.run(
        ["bash", "-c", step("Bound and defuse")["run"]],
        cwd=other,
        env={"PATH": os.environ["PATH"], "HEAD_SHA": SHA},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0 and "token" not in (other / "comment.md").read_text()


#: Link and image syntax cmark-gfm (GitHub's markdown engine) turns into `<a href` or `<img`.
LINKS = [
    "[click](//evil.example/path)",
    "[click](/owner/repo/settings)",
    "[click](https://evil.example)",
    "![pixel](//evil.example/p.png)",
    '![pixel](https://evil.example/p.png "title")',
    "<https://evil.example>",
    "<mailto:someone@evil.example>",
    "someone@evil.example",
    "https://evil.example/x",
    "www.evil.example",
    "[full][ref] [collapsed][] [ref]\n\n[ref]: //evil.example/ref\n",
    "   [ref2]: https://evil.example 'title'\n\n[ref2]",
    "[outer ![inner](//e.example/i.png)](//e.example)",
    "| a | [x](//evil.example) |\n| --- | --- |\n| ![i](//e.example/i) | <img src=//e.example> |",
    "`code [x](//e.example)` and [y](<//e.example/with space>)",
    # An entity cmark-gfm decodes before its email autolink pass, and `www.` after an underscore (emphasis).
    "contact foo&#64;evil.com",
    "contact foo&commat;evil.com or foo&#x40;evil.com",
    "_www.evil.com_",
]


@pytest.mark.parametrize("outside", LINKS)
def test_no_link_or_image_from_outside_text_survives_githubs_renderer(tmp_path, outside):
    """Protocol-relative links and images once passed the defuse step (checked with cmark-gfm)."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    plan = f"### Plan\n\n| resource | value |\n| --- | --- |\n| `web` | {outside} |\n\n{outside}\n".encode()
    rendered = cmarkgfm.github_flavored_markdown_to_html(run_defuse(tmp_path, plan), options=Options.CMARK_OPT_UNSAFE)
    assert "<a " not in rendered and "<img" not in rendered, rendered
    raw = cmarkgfm.github_flavored_markdown_to_html(outside, options=Options.CMARK_OPT_UNSAFE)
    assert "<a " in raw or "<img" in raw  # each case is a link or an image before the defuse


def test_the_plans_own_markdown_reads_as_the_plan_wrote_it(tmp_path):
    """The plan escapes its values itself (`&amp;`, `&lt;`, `&gt;`) and opens with its marker: the defuse keeps
    both, so the comment shows `<` where the plan shows it, and the marker stays an HTML comment, not text."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    from kapsule.reports.plan import MARKDOWN_MARKER
    from tests.conftest import ROOT

    plan = subprocess.run(
        [os.sys.executable, "-m", "kapsule", "plan", "--stack", "dev", "--format", "markdown"],
        cwd=ROOT,
        env={**os.environ, "PULUMI_BACKEND_URL": f"file://{tmp_path / 'no-state'}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    ).stdout
    assert plan.startswith(MARKDOWN_MARKER)
    plan += "\na &lt;value&gt; &amp; more\n"
    comment = run_defuse(tmp_path, plan.encode())
    assert comment.startswith(MARKDOWN_MARKER + "\n")
    rendered = cmarkgfm.github_flavored_markdown_to_html(comment, options=Options.CMARK_OPT_UNSAFE)
    assert "&lt;!--" not in rendered and "&amp;lt;" not in rendered and "&amp;amp;" not in rendered, rendered
    assert "a &lt;value&gt; &amp; more" in rendered  # shown as `a <value> & more`


def test_the_comment_stays_within_githubs_limit_when_escaping_grows_the_plan(tmp_path):
    """60,000 bytes of `&` and `<` grow fivefold when escaped: the comment is cut after the escapes, never
    halfway through an entity, and stays under GitHub's 65,536 characters."""
    comment = run_defuse(tmp_path, b"&<" * 30000)
    assert len(comment) < 60200 and "cut at 60,000 characters" in comment
    body = comment.split("\n\n(The plan was cut")[0]
    assert body.endswith(("&amp;", "&lt;")), body[-12:]
