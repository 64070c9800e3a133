"""`switchrole init DIR`: an organisation's own access repository, pinning switchrole instead of forking it.

The scaffold's copies of this repository's files (cdk.json's settings, the pins, the OIDC role template, the
workflows' actions) are compared with the originals here, so that they cannot drift apart.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from factories import ROOT
from typer.testing import CliRunner

from switchrole import __version__
from switchrole.cli import app
from switchrole.local import demo
from switchrole.scaffold import FILES, template

runner = CliRunner()
WORKFLOWS = ("pull-request.yml", "deploy.yml")


def files_under(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def pins(text: str) -> dict[str, str]:
    """name -> exact version, from requirements-file text."""
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[a-z,]+\])?==(\S+)", line.strip())
        if match:
            found[match[1].lower()] = match[3]
    return found


def test_init_writes_the_repository_and_its_accounts_file_validates(tmp_path: Path) -> None:
    target = tmp_path / "new" / "access"  # missing parents are created
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(files_under(target)) == sorted(FILES)
    assert result.stdout.splitlines()[: len(FILES)] == [f"wrote {target / f}" for f in FILES]
    accounts = target / "accounts.yaml"
    assert accounts.read_text().count("\n# ") >= 5  # each section is explained
    validated = runner.invoke(app, ["validate", "--config", str(accounts)])  # with the synthesis checks
    assert validated.exit_code == 0, validated.output
    assert validated.stdout.startswith(f"{accounts}: OK: 2 target accounts")
    assert "warning" not in validated.stderr
    assert f"switchrole=={__version__}\n" in (target / "requirements.txt").read_text()
    assert "{{" not in (target / "README.md").read_text()


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
    scaffold = pins(template("requirements.txt"))
    assert scaffold.pop("switchrole") == __version__
    dev = pins((ROOT / "requirements-dev.txt").read_text())
    assert scaffold.pop("cfn-lint") == dev["cfn-lint"]
    assert scaffold == pins((ROOT / "requirements.txt").read_text())  # the versions switchrole is tested with
    ours, theirs = json.loads((ROOT / "package.json").read_text()), json.loads(template("package.json"))
    assert theirs["devDependencies"] == ours["devDependencies"] == {"aws-cdk": ours["devDependencies"]["aws-cdk"]}
    ours_lock, theirs_lock = (
        json.loads((ROOT / "package-lock.json").read_text()),
        json.loads(template("package-lock.json")),
    )
    assert theirs_lock["packages"]["node_modules/aws-cdk"] == ours_lock["packages"]["node_modules/aws-cdk"]
    assert theirs_lock["packages"][""]["devDependencies"] == ours["devDependencies"]
    assert theirs_lock["name"] == theirs_lock["packages"][""]["name"] == theirs["name"]


def test_the_oidc_role_template_is_the_repositorys() -> None:
    assert template("deploy/github-deploy-role.yaml") == (ROOT / "deploy" / "github-deploy-role.yaml").read_text()


def test_workflows_install_switchrole_from_requirements_and_use_the_repositorys_actions() -> None:
    """Adapted from .github/workflows: pip install -r requirements.txt instead of make; the same pinned actions
    (schema, pinning and script injection are checked with the repository's in test_workflows.py)."""
    ours = "".join((ROOT / ".github" / "workflows" / name).read_text() for name in WORKFLOWS)
    for name in WORKFLOWS:
        text = template(f"github/workflows/{name}")
        assert (
            "make " not in text
            and ".venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt" in text
        )
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
    ours = (ROOT / ".github" / "pull_request_template.md").read_text().splitlines()
    theirs = template("github/pull_request_template.md").splitlines()
    assert len(ours) == len(theirs)
    assert [a for a, b in zip(ours, theirs, strict=True) if a != b] == [
        line for line in ours if "docs/onboarding.md" in line
    ]  # the only repository-specific line


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


# Run by the fresh virtual environment: where switchrole is imported from, and every requirement reachable from
# its Requires-Dist (extras included) installed at an allowed version, as `pip check` would judge them.
REQUIREMENTS_CHECK = """
import sys
from importlib.metadata import PackageNotFoundError, distribution, version
from packaging.requirements import Requirement

import switchrole

print(switchrole.__file__)
print(distribution("switchrole").locate_file("switchrole/__init__.py"))
seen, problems = set(), []

def check(text, extra):
    req = Requirement(text)
    if req.marker is not None and not req.marker.evaluate({"extra": extra}):
        return
    key = (req.name.lower(), tuple(sorted(req.extras)))
    if key in seen:
        return
    seen.add(key)
    try:
        found = version(req.name)
    except PackageNotFoundError:
        problems.append(f"{req}: not installed")
        return
    if not req.specifier.contains(found, prereleases=True):
        problems.append(f"{req}: {found} installed")
    for wanted in ["", *req.extras]:
        for sub in distribution(req.name).requires or []:
            check(sub, wanted)

for text in distribution("switchrole").requires or []:
    check(text, "")
print(len(seen), "requirements")
if problems:
    sys.exit("\\n".join(problems))
"""


@pytest.mark.e2e
def test_an_installed_wheel_scaffolds_a_repository_that_cdk_synth_builds(tmp_path: Path) -> None:
    """The wheel is all switchrole needs at run time: built from the package's own files, installed in a fresh
    virtual environment, run outside this checkout, `switchrole init` then `npx cdk synth` work."""
    assert not tmp_path.resolve().is_relative_to(ROOT)
    source = tmp_path / "source"  # only what the wheel is built from: nothing else of the checkout can leak in
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "switchrole", source / "switchrole", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    setuptools = version("setuptools")
    assert built.returncode == 0, (
        f"building the wheel with this venv's setuptools {setuptools} failed (it needs >= 70.1, whose bdist_wheel"
        " is built in; `make setup` installs requirements-dev.txt's setuptools==80.9.0):\n"
        + (built.stdout + built.stderr)[-1500:]
    )
    (wheel,) = (tmp_path / "dist").glob("switchrole-*.whl")

    # A fresh venv with only the wheel installed; its dependencies are this venv's (a .pth file, so no index and
    # no download is needed), appended after the fresh site-packages so the wheel's switchrole is the one imported.
    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True, timeout=120)
    python = fresh / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--quiet",
         str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    fresh_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    (fresh_site / "dev-dependencies.pth").write_text("".join(f"{p}\n" for p in site.getsitepackages()))

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{fresh / 'bin'}{os.pathsep}{os.environ['PATH']}"
    assert shutil.which("python3", path=env["PATH"]) == str(fresh / "bin" / "python3")  # what cdk.json's app runs
    outside = tmp_path / "outside"
    outside.mkdir()

    def run(*args: str, cwd: Path = outside) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)

    checked = run("python3", "-c", REQUIREMENTS_CHECK)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    module, metadata = (Path(line) for line in checked.stdout.splitlines()[:2])
    assert module == metadata == fresh_site / "switchrole" / "__init__.py"

    assert run("switchrole", "init", "access").returncode == 0
    org = outside / "access"
    # `npm ci` here would need the npm registry; the scaffold's package-lock.json pins the same CDK CLI as this
    # checkout's (test_pins_agree_with_the_repository), so its node_modules is what `npm ci` would install.
    (org / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    synth = run("npx", "--no-install", "cdk", "synth", "--no-notices", "-q", cwd=org)
    assert synth.returncode == 0, synth.stderr[-2000:]
    manifest = json.loads((org / "cdk.out" / "manifest.json").read_text())
    stacks = sorted(k for k, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack")
    assert stacks == ["SwitchRole-Hub", "SwitchRole-dev", "SwitchRole-prod"]
    for stack in stacks:
        assert json.loads((org / "cdk.out" / f"{stack}.template.json").read_text())["Resources"]


def test_the_scaffold_makes_every_file_that_decides_a_deploy_a_code_owners_review(tmp_path: Path) -> None:
    """Issue 19: cdk.json (which accounts file and app the deploy builds), the workflows, the pinned packages
    and the deploy's own trust are reviewed by the access owners, not only accounts.yaml."""
    result = runner.invoke(app, ["init", str(tmp_path / "repo")])
    assert result.exit_code == 0, result.output
    owners = (tmp_path / "repo" / ".github" / "CODEOWNERS").read_text().splitlines()
    owned = {line.split()[0] for line in owners if line.strip() and not line.startswith("#")}
    assert {"/cdk.json", "/.github/", "/requirements*.txt", "/package.json", "/package-lock.json"} <= owned
    assert {"/accounts.yaml", "/bootstrap-template.json", "/deploy/"} <= owned
