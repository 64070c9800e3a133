"""The GitHub workflows are checked offline against the vendored GitHub workflow schema (check-jsonschema)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from factories import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# the workflows `switchrole init` writes into an organisation's own repository (see test_init.py)
SCAFFOLD_WORKFLOWS = sorted((ROOT / "switchrole" / "scaffold" / "files" / "github" / "workflows").glob("*.yml"))
CHECK = str(Path(sys.executable).parent / "check-jsonschema")


def check(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHECK, "--builtin-schema", "vendor.github-workflows", *map(str, paths)], capture_output=True, text=True
    )


def test_workflows_are_valid() -> None:
    assert [p.name for p in WORKFLOWS] == ["deploy.yml", "pull-request.yml"]
    result = check(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_scaffold_workflows_are_valid() -> None:
    assert [p.name for p in SCAFFOLD_WORKFLOWS] == ["deploy.yml", "pull-request.yml"]
    result = check(*SCAFFOLD_WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_checkout_leaves_its_token_for_later_steps() -> None:
    for path in [*WORKFLOWS, *SCAFFOLD_WORKFLOWS]:
        lines = path.read_text().splitlines()
        checkouts = [i for i, line in enumerate(lines) if "uses: actions/checkout@" in line]
        assert checkouts, path
        for i in checkouts:  # its `with:` block follows within a few lines
            assert any("persist-credentials: false" in line for line in lines[i + 1 : i + 4]), (path, i + 1)


def test_the_checker_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    steps:\n      - run: echo hi\n")  # no runs-on
    assert check(broken).returncode != 0


def test_no_expression_is_pasted_into_a_shell_script() -> None:
    """`${{ inputs.* }}` or PR data inside `run:` is a script injection; they go through `env:`."""
    for workflow in [*WORKFLOWS, *SCAFFOLD_WORKFLOWS]:
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


def test_deploy_runs_from_the_default_branch_only_and_the_token_stays_out_of_setup() -> None:
    text = (ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    assert "if: github.ref == format('refs/heads/{0}', github.event.repository.default_branch)" in text
    assert "deploys run from $DEFAULT only" in text  # and a step that fails visibly otherwise
    synth, deploy = text.split("\n  synth:\n")[1].split("\n  deploy:\n")
    assert "id-token" not in synth and "make setup" in synth  # packages are installed without the token
    assert "id-token: write" in deploy and "make setup" not in deploy and "pip" not in deploy
    assert "id-token" not in text.split("\njobs:\n")[0]  # not at workflow level
    assert '[[ "$ACCOUNT_ID" =~ ^[0-9]{12}$ ]]' in text and "deploys to account" in text


def test_every_action_is_pinned_by_commit_with_its_version() -> None:
    for workflow in [*WORKFLOWS, *SCAFFOLD_WORKFLOWS]:
        for line in workflow.read_text().splitlines():
            if "uses:" in line:
                assert re.search(r"uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), (workflow.name, line)


@pytest.mark.slow
def test_the_oidc_deploy_role_template_is_narrow_and_lints_clean() -> None:
    template = ROOT / "deploy" / "github-deploy-role.yaml"
    text = template.read_text()
    subject = "repo:${Repository}:environment:${Environment}:ref:refs/heads/${Branch}"  # bound to main too
    assert f"token.actions.githubusercontent.com:sub: !Sub {subject}" in text
    assert "include_claim_keys[]=ref" in text  # the one-time subject customization it needs, spelled out
    assert "token.actions.githubusercontent.com:aud: sts.amazonaws.com" in text
    assert "StringLike" not in text and '"*"' not in text  # no wildcard subject
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(template)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_docs_name_the_controls_that_keep_branches_from_deploying() -> None:
    """workflow_dispatch runs deploy.yml as it is on the chosen branch, which may edit it: the `if:` is defence in
    depth, and the docs must say that the environment's branch rule and the role's trust are the controls."""
    workflows = (ROOT / "docs" / "workflows.md").read_text()  # once the README's "Workflows" section
    assert workflows.startswith("# Workflows\n")
    assert "(the job's `if:`" not in workflows  # the old claim: the if: keeps other branches out
    for words in ("workflow file cannot enforce", "deployment-branch rule", "defence in depth",
                  "`repo:<owner>/<repo>:environment:production`", "which the role refuses"):  # fmt: skip
        assert words in workflows, words
    scaffold = ROOT / "switchrole" / "scaffold" / "files"
    deploy = (scaffold / "README.md").read_text().split("\n## Deploy\n")[1].split("\n## ")[0]
    assert "not the workflow's `if:`" in " ".join(deploy.split()) and "Deployment branches and tags" in deploy
    for workflow in (ROOT / ".github" / "workflows" / "deploy.yml", scaffold / "github" / "workflows" / "deploy.yml"):
        header = workflow.read_text().split("\non:")[0]
        assert "This file cannot enforce that" in header and "defence in depth" in header, workflow
    for role in (ROOT / "deploy" / "github-deploy-role.yaml", scaffold / "deploy" / "github-deploy-role.yaml"):
        assert "the workflow also refuses any" not in role.read_text(), role
        assert "That rule, not the workflow file," in role.read_text(), role
