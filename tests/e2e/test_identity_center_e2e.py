"""People who sign in through IAM Identity Center, end to end on the local AWS: `switchrole local demo` on the
Identity Center example (two permission sets beside an IAM user), then, with --then, a change that takes a set's
role away, turns the IAM-user group into a permission set, and adds a set. Every row of both rounds must be as
expected: granted sets switch, a set is refused a role granted only to others, a hub permission set with
AdministratorAccess is refused by strict trust and by the MFA-requiring trust, an expired grant is refused, and
the role taken away is refused after the update.
"""

from __future__ import annotations

import json
import os
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
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path, Path]]:
    """The demo's JSON report, the kept emulator's env file and the last file."""
    folder = tmp_path_factory.mktemp("identity-center")
    last = changed(folder)
    result = subprocess.run(
        [*EXE, "local", "demo", "--config", str(EXAMPLE), "--then", str(last), "--keep", "--format", "json"],
        capture_output=True, text=True, timeout=900, cwd=folder,
    )  # fmt: skip
    env_file = re.search(r"^  source (\S+local-aws\.env)$", result.stderr, re.MULTILINE)
    try:
        assert result.returncode == 0 and env_file, result.stderr[-4000:]
        yield json.loads(result.stdout), Path(env_file.group(1)), last
    finally:
        if env_file:
            subprocess.run([*EXE, "local", "stop", "--dir", str(Path(env_file.group(1)).parent)], capture_output=True)


@pytest.fixture(scope="module")
def report(kept: tuple[dict[str, Any], Path, Path]) -> dict[str, Any]:
    return kept[0]


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


def audit(env_file: Path, config: Path, before: str = "") -> dict[str, Any]:
    """The documented audit of a kept emulator (docs/audit.md), in bash, as the hub administrator."""
    switchrole = f"{sys.executable} -m switchrole.cli.main"
    script = f"""set -e
    source {env_file}
    eval "$({switchrole} local credentials --deployer)"
    {before}
    {switchrole} audit --config {config} --endpoint-url "$AWS_ENDPOINT_URL" --format json \\
        --token-code "$({switchrole} local mfa-code --deployer)" || test $? = 3
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_"))}
    run = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


def permission_set_findings(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (f["kind"], f["subject"], f["detail"]) for f in report["findings"] if f["subject"].startswith("permission set")
    ]


def test_the_audit_finds_a_permission_set_outside_the_file_that_reaches_roles(
    kept: tuple[dict[str, Any], Path, Path],
) -> None:
    """The emulator's administrators' set (AdministratorAccess, not in the file) may switch into the roles whose
    trust leaves the decision to the hub; the file's own sets are as the file says."""
    _, env_file, last = kept
    [(kind, subject, detail)] = permission_set_findings(audit(env_file, last))
    assert (kind, subject) == ("reachable", "permission set SwitchroleDemoAdministrators")
    assert "may switch into Deployer in pay-prod, Deployer in pay-dev" in detail


DRIFT = """
import os, sys, boto3
iam = boto3.client("iam", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="eu-west-1")
roles = {r["RoleName"].split("_")[1]: r["RoleName"] for r in iam.list_roles(PathPrefix="/aws-reserved/")["Roles"]}
hub = "arn:aws:iam::111111111111:policy/switchrole/"
undo = sys.argv[1] == "undo"
attach, detach = iam.attach_role_policy, iam.detach_role_policy
lose, gain = (attach, detach) if undo else (detach, attach)
lose(RoleName=roles["SRE"], PolicyArn=hub + "switchrole-sre-1")  # SRE loses its own policy
gain(RoleName=roles["OnCall"], PolicyArn=hub + "switchrole-developers-1")  # OnCall gets the developers' grants
"""


def test_the_audit_finds_a_set_that_lost_its_policy_and_one_that_got_anothers(
    kept: tuple[dict[str, Any], Path, Path], tmp_path: Path
) -> None:
    _, env_file, last = kept
    drift = tmp_path / "drift.py"
    drift.write_text(DRIFT)
    try:
        found = permission_set_findings(audit(env_file, last, f"{sys.executable} {drift} do"))
    finally:  # the next test uses the same kept emulator
        audit(env_file, last, f"{sys.executable} {drift} undo")
    assert ("missing", "permission set SRE") in [(k, s) for k, s, _ in found]
    assert any(
        k == "extra-policy" and s == "permission set OnCall" and "switchrole-developers-1, group developers'" in d
        for k, s, d in found
    ), found


def test_a_person_of_a_set_smokes_its_switches_on_the_kept_emulator(kept: tuple[dict[str, Any], Path, Path]) -> None:
    """As a person would: sign in to the set (the emulator's stand-in), then `smoke --all --permission-set`, and a
    single `smoke --role-arn` into an MFA-requiring role, which asks for no code (MFA was Identity Center's)."""
    _, env_file, last = kept
    switchrole = f"{sys.executable} -m switchrole.cli.main"
    read_only = "arn:aws:iam::222222222222:role/switchrole/ReadOnly"
    script = f"""set -e
    source {env_file}
    eval "$({switchrole} local credentials --permission-set SRE --person alice@example.com)"
    {switchrole} smoke --all --config {last} --permission-set SRE --json
    {switchrole} smoke --role-arn {read_only} --config {last} --json < /dev/null
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_"))}
    run = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    decoder, text = json.JSONDecoder(), run.stdout.strip()
    every, end = decoder.raw_decode(text)
    single = json.loads(text[end:])
    assert [(r["label"], r["ok"]) for r in every] == [("pay-prod-ReadOnly", True), ("pay-dev-ReadOnly", True)]
    assert all(r["assumed_arn"].endswith("/alice@example.com") for r in every)
    assert single["ok"] is True and single["assumed_arn"].startswith("arn:aws:sts::222222222222:assumed-role/ReadOnly/")
