"""`switchrole diff`: each kind of change, exit codes, and a git revision as the base."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import EXAMPLE, variant
from typer.testing import CliRunner

from switchrole.cli import app

runner = CliRunner()


def review(tmp_path: Path, change: Callable[[Any], None], fmt: str = "json") -> tuple[int, Any]:
    head = tmp_path / "accounts.yaml"
    head.write_text(variant(change))
    result = runner.invoke(app, ["diff", "--base", str(EXAMPLE), "--config", str(head), "--format", fmt])
    assert result.exit_code in (0, 3), result.output
    return result.exit_code, json.loads(result.stdout) if fmt == "json" else result.stdout


def test_no_change_exits_0(tmp_path: Path) -> None:
    code, report = review(tmp_path, lambda d: d["roles"]["ReadOnly"].__setitem__("description", "reworded"))
    assert code == 0
    assert report["access_changed"] is False and report["gained"] == report["lost"] == []


def test_grant_added(tmp_path: Path) -> None:
    code, report = review(tmp_path, lambda d: d["users"]["erin"]["groups"].append("readers"))
    assert code == 3
    assert {(r["user"], r["account"], r["role"]) for r in report["gained"]} == {
        ("erin", a, "ReadOnly") for a in ("shop-prod", "shop-dev", "data-prod", "data-dev")
    }
    assert report["gained"][0]["groups"] == ["readers"]


def test_grant_removed(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["groups"]["shop-developers"]["grants"][1]["accounts"] = ["shop-dev"]

    code, report = review(tmp_path, change)
    assert code == 3
    assert [(r["user"], r["account"], r["role"]) for r in report["lost"]] == [("bob", "shop-prod", "ReadOnly")]


def test_access_kept_through_another_group_is_not_lost(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["groups"]["data-developers"]["grants"][1]["accounts"] = ["data-dev"]  # carol still has it via readers

    code, report = review(tmp_path, change)
    assert code == 0, report


def test_mfa_relaxed_is_flagged_as_weaker(tmp_path: Path) -> None:
    code, report = review(tmp_path, lambda d: d["roles"]["ReadOnly"].__setitem__("mfa", {"required": False}))
    assert code == 3
    changed = {(c["user"], c["account"], c["role"]): c for c in report["changed"]}
    entry = changed[("alice", "shop-prod", "ReadOnly")]
    assert entry["changes"] == ["MFA no longer required"] and entry["weaker"] is True
    md = review(tmp_path, lambda d: d["roles"]["ReadOnly"].__setitem__("mfa", {"required": False}), "md")[1]
    assert "Weaker conditions" in md and "MFA no longer required" in md


def test_mfa_age_and_session_changes(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["roles"]["Admin"]["mfa"] = {"max_age_seconds": 600}
        data["roles"]["Admin"]["max_session_duration"] = 7200

    _, report = review(tmp_path, change)
    entry = next(c for c in report["changed"] if c["role"] == "Admin")
    assert entry["changes"] == ["MFA max age 900 s -> 600 s", "session 1 h -> 2 h"]
    assert entry["weaker"] is True  # a longer session is weaker, even with a stricter MFA age


def test_role_deleted_is_destructive_and_listed_first(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["accounts"][0]["roles"] = ["ReadOnly", "Admin"]  # Auditor leaves shop-prod

    code, report = review(tmp_path, change)
    assert code == 3
    assert report["destructive"] == ["role Auditor in shop-prod will be deleted (stack SwitchRole-shop-prod)"]
    assert [(r["user"], r["account"], r["role"]) for r in report["lost"]] == [("dave", "shop-prod", "Auditor")]
    md = review(tmp_path, change, "md")[1]
    assert md.index("Destructive") < md.index("Access lost")


def test_account_added(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["accounts"].append({"name": "shop-stg", "account_id": "444444444444", "roles": ["ReadOnly"]})

    code, report = review(tmp_path, change)
    assert code == 3
    assert "account added: shop-stg (444444444444) with ReadOnly" in report["structure"]
    assert {(r["user"], r["account"]) for r in report["gained"]} == {("alice", "shop-stg"), ("carol", "shop-stg")}


def test_user_removed_is_destructive(tmp_path: Path) -> None:
    _, report = review(tmp_path, lambda d: d["users"].__delitem__("erin"))
    assert any(line.startswith("user erin leaves the file") and "RETAIN" in line for line in report["destructive"])


def test_git_revision_as_base(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    config = tmp_path / "accounts.yaml"
    config.write_text(EXAMPLE.read_text())
    git("add", "accounts.yaml")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")
    config.write_text(variant(lambda d: d["users"]["erin"]["groups"].append("auditors")))
    result = runner.invoke(app, ["diff", "--base", "main", "--config", str(config)])
    assert result.exit_code == 3
    assert "Access gained (4)" in result.stdout and "| erin |" in result.stdout
    unknown = runner.invoke(app, ["diff", "--base", "no-such-branch", "--config", str(config)])
    assert unknown.exit_code == 2 and "neither a file nor a git revision" in unknown.stderr


@pytest.mark.parametrize("fmt", ["xml"])
def test_bad_format(fmt: str) -> None:
    result = runner.invoke(app, ["diff", "--base", str(EXAMPLE), "--config", str(EXAMPLE), "--format", fmt])
    assert result.exit_code == 2
