"""Permission-set groups in the file: what validates, what is refused (one line naming the field), and the model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import ROOT, dump
from ruamel.yaml import YAML
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.model.errors import ConfigError
from switchrole.model.loading import loads
from switchrole.model.organisation import Organisation

EXAMPLE = ROOT / "examples" / "identity-center.yaml"
runner = CliRunner()


def example() -> Any:
    return YAML(typ="rt").load(EXAMPLE.read_text())


def changed(change: Callable[[Any], None]) -> str:
    data = example()
    change(data)
    return dump(data)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loads(text, "ic.yaml")
    return info.value.lines


@pytest.fixture(scope="module")
def org() -> Organisation:
    return loads(EXAMPLE.read_text(), "ic.yaml")


def test_the_example_validates_with_two_permission_sets_beside_users(org: Organisation) -> None:
    assert [g.permission_set for g in org.permission_set_groups] == ["SRE", "Developers"]
    assert org.members("sre") == () and org.members("break-glass") == ("alice",)
    assert org.hub.identity_center is not None and org.hub.identity_center.mfa_at_sign_in


def test_who_is_granted_names_permission_sets_apart_from_users(org: Organisation) -> None:
    assert org.users_granted("Admin", "pay-prod") == ("alice",)
    assert org.permission_sets_granted("Admin", "pay-prod") == ("SRE",)
    assert org.permission_sets_granted("ReadOnly", "pay-dev") == ("Developers", "SRE")
    assert org.permission_sets_granted("Admin", "pay-dev") == ()


def test_permission_set_access_rows_carry_the_set_and_a_one_hour_session(org: Organisation) -> None:
    rows = [a for a in org.permission_set_access() if a.permission_set == "SRE"]
    assert {(a.account.name, a.role.key) for a in rows} == {
        ("pay-prod", "Admin"),
        ("pay-prod", "ReadOnly"),
        ("pay-dev", "ReadOnly"),
    }
    assert {a.user for a in rows} == {"permission set SRE"}
    assert all(a.session_seconds == 3600 for a in rows)
    assert not org.group_requires_mfa("sre")  # no IAM MFA policy: Identity Center's sign-in


@pytest.mark.parametrize(
    ("region", "path"),
    [
        ("eu-west-1", "/aws-reserved/sso.amazonaws.com/eu-west-1/"),
        ("us-east-1", "/aws-reserved/sso.amazonaws.com/"),  # AWS writes no region segment for us-east-1
    ],
)
def test_role_patterns_follow_the_home_region_and_match_exactly_one_set(region: str, path: str) -> None:
    def set_region(data: Any) -> None:
        data["hub"]["identity_center"]["region"] = region

    org = loads(changed(set_region), "ic.yaml")
    [pattern] = org.permission_set_role_patterns("SRE")
    assert pattern == f"arn:aws:iam::111111111111:role{path}AWSReservedSSO_SRE_" + "?" * 16


def mfa_kind_without_promise(data: Any) -> None:
    data["hub"]["identity_center"]["mfa_at_sign_in"] = False


def source_identity_kind(data: Any) -> None:
    data["roles"]["Deployer"]["source_identity"] = True


def user_in_set(data: Any) -> None:
    data["users"]["alice"]["groups"].append("sre")


def no_identity_center(data: Any) -> None:
    del data["hub"]["identity_center"]


def same_set_twice(data: Any) -> None:
    data["groups"]["developers"]["permission_set"] = "sre"


def half_an_admin_stack(data: Any) -> None:
    data["hub"]["identity_center"]["instance_arn"] = "arn:aws:sso:::instance/ssoins-0123456789abcdef"


def assignment_without_stack(data: Any) -> None:
    data["groups"]["sre"]["identity_store_group"] = "9067b9d0f1-2b3c4d5e-6f70-4a81-92b3-c4d5e6f70812"


def long_name(data: Any) -> None:
    data["groups"]["sre"]["permission_set"] = "S" * 33


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        (mfa_kind_without_promise, "groups.sre.grants[0].role", "group 'sre' (permission set SRE) is granted Admin"),
        (source_identity_kind, "groups.developers.grants[0].role", "requires a source identity"),
        (user_in_set, "users.alice.groups[1]", "Identity Center assigns its people"),
        (no_identity_center, "groups.sre.permission_set", "needs hub.identity_center"),
        (same_set_twice, "groups.developers.permission_set", "also groups.sre's"),
        (half_an_admin_stack, "hub.identity_center.account_id", "needs both instance_arn and account_id"),
        (long_name, "groups.sre.permission_set", "at most 32"),
        (assignment_without_stack, "groups.sre.identity_store_group", "an assignment needs"),
    ],
)
def test_what_cannot_hold_for_a_permission_set_is_refused_naming_the_field(
    change: Callable[[Any], None], where: str, words: str
) -> None:
    lines = problems(changed(change))
    assert any(where in line and words in line for line in lines), lines


def test_the_mfa_refusal_names_every_group_and_kind_once(tmp_path: Path) -> None:
    path = tmp_path / "ic.yaml"
    path.write_text(changed(mfa_kind_without_promise))
    result = runner.invoke(app, ["validate", "--config", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    refused = [line for line in result.stderr.splitlines() if "requires MFA" in line]
    assert [line.split(": ")[1] for line in refused] == [
        "groups.sre.grants[0].role",
        "groups.sre.grants[1].role",
        "groups.developers.grants[1].role",
    ]
    assert "Traceback" not in result.stderr
