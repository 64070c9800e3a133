"""The command line: synth, matrix, and the real CDK CLI on the same app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from factories import EXAMPLE, ROOT, variant
from typer.testing import CliRunner

from switchrole.cli.main import app

runner = CliRunner()

SMALL = """\
hub: {account_id: "111111111111", name: identity}
roles:
  ReadOnly: {managed_policies: [ReadOnlyAccess]}
accounts:
  - {name: solo, account_id: "222222222222", roles: [ReadOnly]}
groups:
  readers: {grants: [{role: ReadOnly, accounts: "*"}]}
users:
  alice: {groups: [readers]}
"""


def test_matrix_json_has_the_documented_fields() -> None:
    result = runner.invoke(app, ["matrix", "--config", str(EXAMPLE), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    required = {
        "user",
        "group",
        "account_name",
        "account_id",
        "role_name",
        "role_arn",
        "mfa_required",
        "mfa_max_age_seconds",
        "max_session_duration",
        "external_id_required",
    }
    assert all(required <= set(row) for row in rows)
    alice_admin = [r for r in rows if r["user"] == "alice" and r["role_name"] == "Admin"]
    assert [r["account_name"] for r in alice_admin] == ["shop-prod", "shop-dev", "data-prod", "data-dev"]
    assert alice_admin[0]["mfa_max_age_seconds"] == 900
    assert alice_admin[0]["role_arn"] == "arn:aws:iam::222222222222:role/switchrole/Admin"
    dave = [r for r in rows if r["user"] == "dave"]
    assert {(r["mfa_required"], r["mfa_max_age_seconds"], r["external_id_required"]) for r in dave} == {
        (False, None, True)
    }
    assert not [r for r in rows if r["user"] == "erin"]


def test_matrix_markdown_filters_by_user() -> None:
    result = runner.invoke(app, ["matrix", "--config", str(EXAMPLE), "--format", "md", "--user", "bob"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("| user | group | account | role |")
    assert len(lines) == 2 + 3 + 2  # header, rule, Developer in shop-dev, ReadOnly in shop-prod and shop-dev; count
    assert all("| bob |" in line for line in lines[2:5])
    assert lines[5:] == ["", "3 switches for 1 user"]


@pytest.mark.parametrize(("args", "words"), [(["--format", "xml"], "--format"), (["--user", "zoe"], "no user 'zoe'")])
def test_matrix_bad_usage(args: list[str], words: str) -> None:
    result = runner.invoke(app, ["matrix", "--config", str(EXAMPLE), *args])
    assert result.exit_code == 2
    assert words in result.stderr


ROLE = "arn:aws:iam::222222222222:role/switchrole/ReadOnly"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--role-arn", ROLE, "--all", "--user", "bob", "--config", str(EXAMPLE)], "--role-arn and --all: give one"),
        (["--role-arn", ROLE, "--session-name", "bad name!"], "--session-name: 2-64 of A-Z a-z 0-9 _ + = , . @ -"),
    ],
)
def test_smoke_refuses_what_it_cannot_do_before_any_call(
    args: list[str], line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a stranger's run: both were accepted (the first silently ran --all; the second reached AWS)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a call would fail otherwise, not with exit 2
    result = runner.invoke(app, ["smoke", *args])
    assert (result.exit_code, result.stdout) == (2, "")
    (shown,) = result.stderr.splitlines()
    assert shown.startswith(line)


def test_synth_writes_the_cloud_assembly(tmp_path: Path) -> None:
    out = tmp_path / "assembly"
    result = runner.invoke(app, ["synth", "--config", str(EXAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").exists()
    assert sorted(p.name for p in out.glob("*.template.json"))[0] == "SwitchRole-Hub.template.json"
    assert "SwitchRole-shop-prod" in result.stdout


def test_invalid_config_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(variant(lambda d: d["accounts"][0].__setitem__("account_id", "1")))
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")  # a previous assembly must survive untouched
    result = runner.invoke(app, ["synth", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 2
    assert "accounts[0].account_id" in result.stderr
    assert [p.name for p in out.iterdir()] == ["manifest.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.yaml", "out"]


def test_synth_refuses_to_replace_a_directory_that_is_not_an_assembly(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["synth", "--config", str(EXAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a cloud assembly" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_console_script_is_installed() -> None:
    exe = shutil.which("switchrole") or str(Path(os.sys.executable).parent / "switchrole")
    result = subprocess.run([exe, "validate", "--config", str(EXAMPLE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{EXAMPLE}: OK")


@pytest.mark.slow
class TestRealCdkCli:
    """`npx cdk` (pinned in package.json) runs app.py; config selection and failures behave the same."""

    def cdk(self, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"}
        return subprocess.run(
            ["npx", "--no-install", "cdk", *args, "--no-notices"], cwd=cwd, env=env, capture_output=True, text=True
        )

    def test_synth_with_another_config(self, tmp_path: Path) -> None:
        other = tmp_path / "other.yaml"
        other.write_text(SMALL)
        result = self.cdk("synth", "-c", f"config={other}", "-o", str(tmp_path / "out"), "-q")
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in (tmp_path / "out").glob("*.template.json")) == [
            "SwitchRole-Hub.template.json",
            "SwitchRole-solo.template.json",
        ]
        assert "end-of-life" not in result.stderr.lower()

    def test_invalid_config_fails_and_writes_no_template(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_text(variant(lambda d: d["users"]["bob"].__setitem__("groups", ["nobody"])))
        result = self.cdk("synth", "-c", f"config={bad}", "-o", str(tmp_path / "out"), "-q")
        assert result.returncode != 0
        assert f"{bad}:" in result.stderr and "users.bob.groups[0]: unknown group 'nobody'" in result.stderr
        assert "Traceback" not in result.stderr
        assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


@pytest.mark.slow
def test_cdk_synth_and_switchrole_synth_build_the_file_cdk_json_names(tmp_path: Path) -> None:
    """Issue 19: in a folder whose cdk.json names another accounts file, `npx cdk synth` built it while
    `switchrole synth` (and validate, diff) read accounts.yaml: both now build the same stacks."""
    settings = json.loads((ROOT / "cdk.json").read_text())
    settings["context"]["config"] = "other.yaml"
    (tmp_path / "cdk.json").write_text(json.dumps(settings))
    (tmp_path / "app.py").write_text((ROOT / "app.py").read_text())
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    (tmp_path / "accounts.yaml").write_text(EXAMPLE.read_text())
    (tmp_path / "other.yaml").write_text(SMALL)
    env = {**os.environ, "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"}
    cdk = subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "-o", "by-cdk", "-q", "--no-notices"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert cdk.returncode == 0, cdk.stderr
    ours = subprocess.run(
        [os.sys.executable, "-m", "switchrole.cli", "synth", "--out", "by-switchrole"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert ours.returncode == 0, ours.stderr
    by_cdk = {p.name: p.read_text() for p in (tmp_path / "by-cdk").glob("*.template.json")}
    by_switchrole = {p.name: p.read_text() for p in (tmp_path / "by-switchrole").glob("*.template.json")}
    assert sorted(by_cdk) == ["SwitchRole-Hub.template.json", "SwitchRole-solo.template.json"]
    assert by_cdk == by_switchrole
