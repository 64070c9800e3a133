"""An account's life after the first deploy: people leave, grants shrink, kinds are renamed.

One synthesis, of the example with alice (the only Admin) offboarded and the Developer kind renamed
to Engineer (keeping the IAM role name), serves every template test here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from factories import EXAMPLE, rename_kind, variant
from iam_eval import trust_admits
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.infra.validate import load_checked
from switchrole.model.loading import loads
from switchrole.model.organisation import Organisation

runner = CliRunner()
HUB = "111111111111"


def offboarded_and_renamed(data: Any) -> None:
    del data["users"]["alice"]
    rename_kind(data, "Developer", "Engineer")


@pytest.fixture(scope="module")
def after_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lifecycle") / "accounts.yaml"
    path.write_text(variant(offboarded_and_renamed))
    return path


@pytest.fixture(scope="module")
def after(after_file: Path) -> Organisation:
    return load_checked(after_file)


@pytest.fixture(scope="module")
def templates(after: Organisation, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    from switchrole.infra.assembly import synth

    out = tmp_path_factory.mktemp("lifecycle-assembly") / "cdk.out"
    return {s.stack_name: json.loads(s.template.read_text()) for s in synth(after, out)}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def test_offboarding_the_last_admin_validates_with_a_warning(after_file: Path) -> None:
    result = runner.invoke(app, ["validate", "--config", str(after_file)])
    assert result.exit_code == 0, result.output
    assert (
        "warning: trust: strict roles that no user or permission set is granted admit nobody: Admin in shop-prod"
        in result.stderr
    )


def test_matrix_says_who_is_admitted_by_nobody(after_file: Path) -> None:
    result = runner.invoke(app, ["matrix", "--config", str(after_file)])
    assert result.exit_code == 0
    assert "Admits nobody (trust: strict, no user granted): Admin in shop-prod (222222222222)" in result.stdout
    assert "| Admin |" not in result.stdout


def test_a_strict_role_nobody_is_granted_admits_nobody(templates: dict[str, dict[str, Any]]) -> None:
    """The deployed trust, read by an independent evaluator: no caller, however privileged, gets in."""
    roles = resources(templates["SwitchRole-shop-prod"], "AWS::IAM::Role")
    admin = next(r for r in roles.values() if r["Properties"]["RoleName"] == "Admin")
    trust = admin["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {"Sid": "AdmitNobody", "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
         "Action": ["sts:AssumeRole"]}
    ]  # fmt: skip
    for caller in (f"arn:aws:iam::{HUB}:user/alice", f"arn:aws:iam::{HUB}:role/Administrator",
                   f"arn:aws:iam::{HUB}:root", "arn:aws:iam::999999999999:user/mallory"):  # fmt: skip
        assert not trust_admits(trust, caller, mfa_age=0)
    readonly = next(r for r in roles.values() if r["Properties"]["RoleName"] == "ReadOnly")
    assert trust_admits(readonly["Properties"]["AssumeRolePolicyDocument"], f"arn:aws:iam::{HUB}:user/bob")  # control


def test_no_retained_resource_carries_a_group_membership(templates: dict[str, dict[str, Any]]) -> None:
    """Defect: memberships were User.Groups on a retained user, so leaving the file left them in place."""
    hub = templates["SwitchRole-Hub"]
    for resource in hub["Resources"].values():
        if resource.get("DeletionPolicy") == "Retain":
            assert "Groups" not in resource.get("Properties", {}), resource
    users = {lid: r["Properties"]["UserName"] for lid, r in resources(hub, "AWS::IAM::User").items()}
    groups = {lid: r["Properties"]["GroupName"] for lid, r in resources(hub, "AWS::IAM::Group").items()}
    members = {
        groups[r["Properties"]["GroupName"]["Ref"]]: sorted(users[u["Ref"]] for u in r["Properties"]["Users"])
        for r in resources(hub, "AWS::IAM::UserToGroupAddition").values()
    }
    assert members == {
        "shop-developers": ["bob"], "data-developers": ["carol"], "readers": ["carol"], "auditors": ["dave"]
    }  # fmt: skip
    for resource in resources(hub, "AWS::IAM::UserToGroupAddition").values():
        assert "DeletionPolicy" not in resource
    assert "alice" not in users.values()


def test_role_logical_ids_follow_the_role_name_not_the_kind_key(
    templates: dict[str, dict[str, Any]], example_assembly_dir: Path
) -> None:
    """Defect: renaming a kind key changed the role's logical id, so CloudFormation created a second role with
    the same name (which fails) instead of updating the existing one."""
    before = json.loads((example_assembly_dir / "SwitchRole-shop-dev.template.json").read_text())
    after = templates["SwitchRole-shop-dev"]

    def by_name(template: dict[str, Any]) -> dict[str, str]:
        return {r["Properties"]["RoleName"]: lid for lid, r in resources(template, "AWS::IAM::Role").items()}

    assert by_name(after) == by_name(before)
    assert by_name(before)["Developer"].startswith("Developer")


def test_offboard_edits_only_the_users_line_and_prints_the_follow_up(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(EXAMPLE.read_text())
    result = runner.invoke(app, ["offboard", "--user", "bob", "--config", str(config)])
    assert result.exit_code == 0, result.output
    before, after = EXAMPLE.read_text().splitlines(keepends=True), config.read_text().splitlines(keepends=True)
    assert [line for line in before if line not in after] == [
        "  bob:   {groups: [shop-developers], until: 2099-06-30T00:00:00Z}   # contractor: every switch ends then\n"
    ]
    assert len(after) == len(before) - 1
    assert "bob" not in loads(config.read_text()).users
    assert "  Developer in shop-dev (333333333333)" in result.stdout
    assert "aws iam delete-access-key --user-name bob --access-key-id <each key id>" in result.stdout
    assert "aws iam deactivate-mfa-device --user-name bob --serial-number arn:aws:iam::111111111111:mfa/bob" in (
        result.stdout
    )
    assert "aws iam delete-user --user-name bob" in result.stdout
    for leftover in ("ssh-public-keys", "service-specific-credentials", "user-policies", "attached-user-policies"):
        assert f"aws iam list-{leftover} --user-name bob" in result.stdout  # each one blocks delete-user
    assert "at most 8 h here" in result.stdout  # Developer's session length: what revoking sessions is about


def test_offboard_one_group_keeps_the_user(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(EXAMPLE.read_text())
    result = runner.invoke(app, ["offboard", "--user", "carol", "--group", "readers", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "  carol: {groups: [data-developers]}\n" in config.read_text()
    assert "delete-user" not in result.stdout
    result = runner.invoke(app, ["offboard", "--user", "carol", "--group", "data-developers", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "  carol: {groups: []}\n" in config.read_text()


def test_offboard_block_style_file(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().split("users:")[0] + (
        "users:\n  # alice joined in 2024\n  alice:\n    groups:\n      - platform-admins\n      - readers\n\n"
        "  # the data team\n  carol:\n    groups: [data-developers]\n"
    )
    config = tmp_path / "accounts.yaml"
    config.write_text(text)
    result = runner.invoke(app, ["offboard", "--user", "alice", "--group", "readers", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "    groups:\n      - platform-admins\n\n  # the data team\n" in config.read_text()
    result = runner.invoke(app, ["offboard", "--user", "alice", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert config.read_text().endswith("users:\n\n  # the data team\n  carol:\n    groups: [data-developers]\n")
    assert "joined in 2024" not in config.read_text()  # the comment about alice left with her
    result = runner.invoke(app, ["offboard", "--user", "carol", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "users: {}\n" in config.read_text() and loads(config.read_text()).users == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "zoe"], "--user: no user 'zoe' in the file (users: alice, bob, carol, dave, erin)"),
        (["--user", "bob", "--group", "readers"], "--group: bob is not in group 'readers' in the file"),
    ],
)
def test_offboard_refuses_bad_input_and_leaves_the_file(tmp_path: Path, args: list[str], message: str) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(EXAMPLE.read_text())
    result = runner.invoke(app, ["offboard", *args, "--config", str(config)])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert config.read_text() == EXAMPLE.read_text()
