"""`switchrole init DIR`: an organisation's own access repository, pinning switchrole instead of forking it.

The scaffold's copies of this repository's files (cdk.json's settings, the pins, the OIDC role template, the
workflows' actions) are compared with the originals here, so that they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from factories import ROOT
from typer.testing import CliRunner

from scripts.lock import locked
from switchrole import __version__, scaffold
from switchrole.cli.main import app
from switchrole.local import demo_checks as demo
from switchrole.scaffold import FILES, VENDORED, template
from switchrole.scaffold.wheel import WheelError, running_wheel

runner = CliRunner()
WORKFLOWS = ("pull-request.yml", "deploy.yml")


def files_under(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def pins(text: str) -> dict[str, str]:
    """name -> exact version, from requirements-file text."""
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[a-z,]+\])?==(\S+)", line.split("#")[0].strip())
        if match:
            found[match[1].lower()] = match[3]
    return found


def test_init_writes_the_repository_and_its_accounts_file_validates(tmp_path: Path) -> None:
    target = tmp_path / "new" / "access"  # missing parents are created
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(files_under(target)) == sorted([*FILES, VENDORED])
    assert result.stdout.splitlines()[: len(FILES) + 1] == [f"wrote {target / f}" for f in [*FILES, VENDORED]]
    accounts = target / "accounts.yaml"
    assert accounts.read_text().count("\n# ") >= 5  # each section is explained
    validated = runner.invoke(app, ["validate", "--config", str(accounts)])  # with the synthesis checks
    assert validated.exit_code == 0, validated.output
    assert validated.stdout.startswith(f"{accounts}: OK: 2 target accounts")
    assert "warning" not in validated.stderr
    wheel = (target / VENDORED).read_bytes()
    assert wheel == running_wheel().data and VENDORED.endswith(f"/switchrole-{__version__}-py3-none-any.whl")
    requirements = (target / "requirements.txt").read_text()
    assert f"\n./{VENDORED} \\\n    --hash=sha256:{hashlib.sha256(wheel).hexdigest()}\n" in requirements
    assert "switchrole==" not in requirements and "switchrole @" not in requirements  # never by name from an index
    for name in FILES:
        assert "{{switchrole_" not in (target / name).read_text(), name


def test_init_refuses_if_any_file_exists_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "accounts.yaml").write_text("mine\n")
    (tmp_path / ".github" / "workflows" / "deploy.yml").write_text("ours\n")
    (tmp_path / "README.md").symlink_to(tmp_path / "nowhere")  # a dangling link is not overwritten either
    before = files_under(tmp_path)
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{tmp_path / name}: exists; switchrole init overwrites nothing"
        for name in ("accounts.yaml", "README.md", ".github/workflows/deploy.yml")
    ]
    assert result.stdout == ""
    assert files_under(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".github", "README.md", "accounts.yaml"]


def test_init_refuses_an_existing_vendored_wheel(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / VENDORED).write_bytes(b"not the wheel")
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / VENDORED}: exists; switchrole init overwrites nothing\n"
    assert sorted(files_under(tmp_path)) == [VENDORED]


def test_init_writes_nothing_when_there_is_no_wheel_to_vendor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_wheel() -> None:
        raise WheelError("building switchrole's wheel from /src with setuptools.build_meta failed: no setuptools")

    monkeypatch.setattr(scaffold, "running_wheel", no_wheel)
    result = runner.invoke(app, ["init", str(tmp_path / "repo")])
    assert result.exit_code == 2
    assert result.stderr == (
        "building switchrole's wheel from /src with setuptools.build_meta failed: no setuptools; nothing written\n"
    )
    assert not (tmp_path / "repo").exists()


def test_init_refuses_a_file_where_a_folder_must_be(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / ".github").write_text("not a folder\n")
    result = runner.invoke(app, ["init", str(tmp_path / "repo")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{tmp_path / 'repo' / '.github'}: exists and is not a folder (switchrole init needs "
        ".github/pull_request_template.md)"
    ]
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == [".github"]
    (tmp_path / "file").write_text("x\n")
    result = runner.invoke(app, ["init", str(tmp_path / "file")])
    assert result.exit_code == 2 and result.stderr == f"{tmp_path / 'file'}: exists and is not a folder\n"


def test_init_refuses_a_symlinked_folder_inside_the_repository(tmp_path: Path) -> None:
    """`.github` pointing elsewhere would put the workflows outside the repository: refused, nothing written."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / ".github").symlink_to(elsewhere)
    result = runner.invoke(app, ["init", str(tmp_path / "repo")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{tmp_path / 'repo' / '.github'}: exists and is a symlink (init writes into real folders only) "
        "(switchrole init needs .github/pull_request_template.md)"
    ]
    assert list(elsewhere.iterdir()) == [] and sorted(p.name for p in (tmp_path / "repo").iterdir()) == [".github"]


def test_cdk_json_is_the_repositorys_except_the_app_entry() -> None:
    """Same feature flags, watch settings and default config as this repository's cdk.json: only `app` differs."""
    ours = json.loads((ROOT / "cdk.json").read_text())
    theirs = json.loads(template("cdk.json"))
    assert ours.pop("app") == "python3 app.py"
    assert theirs.pop("app") == "python3 -m switchrole.app"
    assert theirs == ours
    assert "from switchrole.app import main" in (ROOT / "app.py").read_text()  # the checkout runs the same entry


def test_pins_agree_with_the_repository() -> None:
    """The scaffold's lock pins the versions switchrole is tested with (tests/scaffold/test_lock.py: all of
    them), its extra apart; the CDK CLI is the repository's."""
    base, local = locked(template("requirements.txt")), locked(template("requirements-local.txt"))
    ours = pins((ROOT / "requirements.txt").read_text())
    assert ours.pop("moto") == local["moto"][0] and local["moto"][1] == {"server"}
    assert {name: base[name.replace(".", "-").lower()][0] for name in ours} == ours
    assert base["cfn-lint"][0] == pins((ROOT / "requirements-dev.txt").read_text())["cfn-lint"]
    ours_npm, theirs = json.loads((ROOT / "package.json").read_text()), json.loads(template("package.json"))
    assert (
        theirs["devDependencies"] == ours_npm["devDependencies"] == {"aws-cdk": ours_npm["devDependencies"]["aws-cdk"]}
    )
    ours_lock, theirs_lock = (
        json.loads((ROOT / "package-lock.json").read_text()),
        json.loads(template("package-lock.json")),
    )
    assert theirs_lock["packages"]["node_modules/aws-cdk"] == ours_lock["packages"]["node_modules/aws-cdk"]
    assert theirs_lock["packages"][""]["devDependencies"] == ours_npm["devDependencies"]
    assert theirs_lock["name"] == theirs_lock["packages"][""]["name"] == theirs["name"]


def test_the_oidc_role_template_is_the_repositorys() -> None:
    assert template("deploy/github-deploy-role.yaml") == (ROOT / "deploy" / "github-deploy-role.yaml").read_text()


def test_the_onboarding_guide_is_the_repositorys() -> None:
    """Outputs point to docs/onboarding.md (tests/scaffold/test_packaging.py): every new repository gets this one."""
    assert template("docs/onboarding.md") == (ROOT / "docs" / "onboarding.md").read_text()


def test_workflows_install_switchrole_from_requirements_and_use_the_repositorys_actions() -> None:
    """Adapted from .github/workflows: pip install -r requirements.txt instead of make; the same pinned actions
    (schema, pinning and script injection are checked with the repository's in test_workflows.py)."""
    ours = "".join((ROOT / ".github" / "workflows" / name).read_text() for name in WORKFLOWS)
    for name in WORKFLOWS:
        text = template(f"github/workflows/{name}")
        assert (
            "make " not in text
            and ".venv/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt" in text
        )
        assert "requirements-local.txt" not in text  # CI and deploys need no emulator
        for line in text.splitlines():
            if "uses:" in line:
                assert line.strip() in ours, (name, line)
    pull = template("github/workflows/pull-request.yml")
    for step in ("switchrole validate", "npx cdk synth", "cfn-lint", "switchrole diff --base origin/main --format md"):
        assert step in pull, step
    synth, deploy = template("github/workflows/deploy.yml").split("\n  synth:\n")[1].split("\n  deploy:\n")
    assert "-r requirements.txt" in synth and "id-token" not in synth
    assert "id-token: write" in deploy and "pip" not in deploy and "npm ci" in deploy
    assert "if: github.ref == format('refs/heads/{0}', github.event.repository.default_branch)" in synth


def test_pull_request_template_is_the_repositorys_checklist() -> None:
    ours = (ROOT / ".github" / "pull_request_template.md").read_text()
    assert template("github/pull_request_template.md") == ours  # its docs/onboarding.md is written too


def test_the_demo_finds_the_cdk_cli_of_the_current_folder_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "org"
    (here / "node_modules" / ".bin").mkdir(parents=True)
    (here / "node_modules" / ".bin" / "cdk").write_text("")
    monkeypatch.chdir(here)
    assert demo.cdk_binary() == here / "node_modules" / ".bin" / "cdk"
    monkeypatch.chdir(tmp_path)
    assert demo.cdk_binary() == demo.PROJECT / "node_modules" / ".bin" / "cdk"  # this checkout's
    monkeypatch.setattr(demo, "PROJECT", tmp_path / "site-packages")  # an installed wheel: none there
    with pytest.raises(demo.DemoFailed, match=r"run `npm ci` in the folder with package\.json"):
        demo.cdk_binary()
    assert os.getcwd() == str(tmp_path)


def test_the_scaffold_makes_every_file_that_decides_a_deploy_a_code_owners_review(tmp_path: Path) -> None:
    """Issue 19: cdk.json (which accounts file and app the deploy builds), the workflows, the pinned packages
    and the deploy's own trust are reviewed by the access owners, not only accounts.yaml."""
    result = runner.invoke(app, ["init", str(tmp_path / "repo")])
    assert result.exit_code == 0, result.output
    owners = (tmp_path / "repo" / ".github" / "CODEOWNERS").read_text().splitlines()
    owned = {line.split()[0] for line in owners if line.strip() and not line.startswith("#")}
    assert {"/cdk.json", "/.github/", "/requirements*.txt", "/vendor/", "/package.json", "/package-lock.json"} <= owned
    assert {"/accounts.yaml", "/bootstrap-template.json", "/deploy/"} <= owned
