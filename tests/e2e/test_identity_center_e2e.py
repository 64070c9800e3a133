"""People who sign in through IAM Identity Center, end to end on the local AWS: `switchrole local demo` on the
Identity Center example (two permission sets beside an IAM user), then, with --then, a change that takes a set's
role away, turns the IAM-user group into a permission set, and adds a set. Every row of both rounds must be as
expected: granted sets switch, a set is refused a role granted only to others, a hub permission set with
AdministratorAccess is refused by strict trust and by the MFA-requiring trust, an expired grant is refused, and
the role taken away is refused after the update.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import ROOT, dump
from ruamel.yaml import YAML

pytestmark = pytest.mark.e2e
EXE = [sys.executable, "-m", "switchrole.cli"]
EXAMPLE = ROOT / "examples" / "identity-center.yaml"


def changed(folder: Path) -> Path:
    """SRE loses Admin in pay-prod; break-glass becomes permission set BreakGlass (alice leaves the file); a new
    set OnCall gets ReadOnly in pay-dev."""
    data = YAML(typ="rt").load(EXAMPLE.read_text())
    data["groups"]["sre"]["grants"] = [g for g in data["groups"]["sre"]["grants"] if g["role"] != "Admin"]
    data["groups"]["break-glass"]["permission_set"] = "BreakGlass"
    del data["users"]["alice"]
    data["groups"]["oncall"] = {"permission_set": "OnCall", "grants": [{"role": "ReadOnly", "accounts": ["pay-dev"]}]}
    path = folder / "b-changed.yaml"
    path.write_text(dump(data))
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("identity-center")
    result = subprocess.run(
        [*EXE, "local", "demo", "--config", str(EXAMPLE), "--then", str(changed(folder)), "--format", "json"],
        capture_output=True, text=True, timeout=900, cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    yield json.loads(result.stdout)


def rows(report: dict[str, Any], round_: int) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(c["who"], c["role"], c["why"]): c for c in report["rounds"][round_]["checks"]}


def test_every_row_of_both_rounds_is_as_expected(report: dict[str, Any]) -> None:
    assert report["as_expected"] is True and len(report["rounds"]) == 2
    for round_ in report["rounds"]:
        assert all(check["as_expected"] for check in round_["checks"]), round_["summary"]
        assert re.match(r"(\d+)/\1 checks as expected", round_["summary"])


def test_the_first_round_shows_what_permission_sets_may_and_may_not_do(report: dict[str, Any]) -> None:
    first = rows(report, 0)
    granted = {(who, role) for who, role, why in first if why == "granted"}
    assert {
        ("permission set SRE", "pay-prod-Admin"),
        ("permission set SRE", "pay-dev-ReadOnly"),
        ("permission set Developers", "pay-dev-Deployer"),
        ("alice", "pay-prod-Admin"),
    } <= granted
    admins = "permission set SwitchroleDemoAdministrators"
    for key in (
        ("permission set SRE", "pay-prod-Deployer", "Deployer not granted to SRE"),
        (admins, "pay-prod-Admin", "set with admin vs trust: strict"),
        (admins, "pay-prod-ReadOnly", "set with admin vs MFA in the trust"),
        ("permission set Developers", "pay-prod-Deployer", "grant expired"),
    ):
        assert first[key]["result"] == "refused", key


def test_after_the_update_the_role_taken_away_is_refused_and_the_new_sets_switch(report: dict[str, Any]) -> None:
    second = rows(report, 1)
    assert second[("permission set SRE", "pay-prod-Admin", "access removed")]["result"] == "refused"
    granted = {(who, role) for who, role, why in second if why == "granted"}
    assert {("permission set BreakGlass", "pay-dev-Admin"), ("permission set OnCall", "pay-dev-ReadOnly")} <= granted
    assert second[("alice", "pay-prod-Admin", "access removed")]["result"] == "refused"
