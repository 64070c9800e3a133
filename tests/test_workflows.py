"""The GitHub workflows are checked offline against the vendored GitHub workflow schema (check-jsonschema)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from factories import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CHECK = str(Path(sys.executable).parent / "check-jsonschema")


def check(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHECK, "--builtin-schema", "vendor.github-workflows", *map(str, paths)], capture_output=True, text=True
    )


def test_workflows_are_valid() -> None:
    assert [p.name for p in WORKFLOWS] == ["deploy.yml", "pull-request.yml"]
    result = check(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_checker_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    steps:\n      - run: echo hi\n")  # no runs-on
    assert check(broken).returncode != 0


def test_no_expression_is_pasted_into_a_shell_script() -> None:
    """`${{ inputs.* }}` or PR data inside `run:` is a script injection; they go through `env:`."""
    for workflow in WORKFLOWS:
        in_run = False
        for line in workflow.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("run:"):
                in_run, indent = True, len(line) - len(line.lstrip())
                script = stripped[4:]
            elif in_run and line.strip() and len(line) - len(line.lstrip()) <= indent:
                in_run, script = False, ""
            else:
                script = stripped if in_run else ""
            assert not re.search(r"\$\{\{\s*(inputs|github\.event)", script), f"{workflow.name}: {line}"


def test_pull_request_workflow_runs_tests_synth_lint_and_posts_the_review() -> None:
    text = (ROOT / ".github" / "workflows" / "pull-request.yml").read_text()
    for step in (
        "make test",
        "make synth",
        "cfn-lint",
        "switchrole diff --base origin/main --format md",
        "GITHUB_STEP_SUMMARY",
    ):
        assert step in text, step
    assert "fetch-depth: 0" in text
