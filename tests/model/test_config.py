"""Loading and validating accounts files: the model's answers, and one clear line per bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import EXAMPLE, variant
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.model.errors import ConfigError
from switchrole.model.loading import loads
from switchrole.model.organisation import Organisation

runner = CliRunner()


def validate(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "accounts.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["validate", "--config", str(path)])
    return result.exit_code, result.stderr


class TestModel:
    def test_defaults_are_resolved_per_role_kind(self, example_org: Organisation) -> None:
        readonly, admin, auditor = (example_org.role_kinds[k] for k in ("ReadOnly", "Admin", "Auditor"))
        assert (readonly.mfa_required, readonly.mfa_max_age_seconds, readonly.max_session_duration) == (
            True,
            3600,
            14400,
        )
        assert (admin.mfa_required, admin.mfa_max_age_seconds, admin.max_session_duration) == (True, 900, 3600)
        assert auditor.mfa_required is False and auditor.external_id == "switchrole-audit-2026"
        assert readonly.path == "/switchrole/" and readonly.name == "ReadOnly"
        assert readonly.managed_policy_arns == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)

    def test_star_grant_expands_to_accounts_with_that_role(self, example_org: Organisation) -> None:
        developer_accounts = [a.name for a in example_org.accounts if "Developer" in a.role_keys]
        assert developer_accounts == ["shop-dev", "data-dev"]
        access = example_org.group_access("readers")
        assert [a.name for a in access["ReadOnly"]] == ["shop-prod", "shop-dev", "data-prod", "data-dev"]

    def test_who_is_granted_a_role_in_an_account(self, example_org: Organisation) -> None:
        assert example_org.users_granted("ReadOnly", "shop-prod") == ("alice", "bob", "carol")
        assert example_org.users_granted("Developer", "shop-dev") == ("bob",)
        assert example_org.users_granted("Admin", "data-dev") == ("alice",)
        assert example_org.users_granted("Developer", "shop-prod") == ()

    def test_user_roles_are_distinct_pairs(self, example_org: Organisation) -> None:
        pairs = [(a.name, k.key) for a, k in example_org.user_roles("carol")]
        assert pairs == [
            ("shop-prod", "ReadOnly"),
            ("shop-dev", "ReadOnly"),
            ("data-prod", "ReadOnly"),
            ("data-dev", "ReadOnly"),
            ("data-dev", "Developer"),
        ]
        assert example_org.user_roles("erin") == []

    @pytest.mark.slow
    def test_example_validates(self) -> None:
        result = runner.invoke(app, ["validate", "--config", str(EXAMPLE)])
        assert result.exit_code == 0, result.output
        assert "OK" in result.stdout


def set_in(*path: Any, value: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


def delete(*path: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        node = data
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return change


def append_account(**account: Any) -> Callable[[Any], None]:
    return lambda data: data["accounts"].append(account)


BAD_INPUTS = [
    # (id, change, field path in the message, words in the message)
    ("short-id", set_in("accounts", 0, "account_id", value="22222222222"), "accounts[0].account_id", "12 digits"),
    ("unquoted-id", set_in("accounts", 1, "account_id", value=333333333333), "accounts[1].account_id", "quoted"),
    ("letters-id", set_in("hub", "account_id", value="11111111111x"), "hub.account_id", "12 digits"),
    (
        "duplicate-id",
        append_account(name="shop-qa", account_id="222222222222", roles=["ReadOnly"]),
        "accounts[4].account_id",
        "duplicate account id",
    ),
    (
        "duplicate-name",
        append_account(name="shop-prod", account_id="777777777777", roles=["ReadOnly"]),
        "accounts[4].name",
        "duplicate account name",
    ),
    ("hub-as-target", set_in("accounts", 2, "account_id", value="111111111111"), "accounts[2].account_id", "hub"),
    ("unknown-role-kind", set_in("accounts", 0, "roles", value=["ReadOnly", "Admn"]), "accounts[0].roles[1]", "Admin"),
    (
        "unknown-grant-role",
        set_in("groups", "readers", "grants", 0, "role", value="Reader"),
        "groups.readers.grants[0].role",
        "unknown role kind",
    ),
    (
        "unknown-grant-account",
        set_in("groups", "shop-developers", "grants", 0, "accounts", value=["shop-dve"]),
        "groups.shop-developers.grants[0].accounts[0]",
        "did you mean 'shop-dev'",
    ),
    (
        "grant-to-account-without-role",
        set_in("groups", "shop-developers", "grants", 0, "accounts", value=["shop-prod"]),
        "groups.shop-developers.grants[0].accounts[0]",
        "has no role kind 'Developer'",
    ),
    ("unknown-group", set_in("users", "bob", "groups", value=["shop-devs"]), "users.bob.groups[0]", "unknown group"),
    (
        "session-too-short",
        set_in("roles", "ReadOnly", "max_session_duration", value=1800),
        "roles.ReadOnly.max_session_duration",
        "3600",
    ),
    (
        "session-too-long",
        set_in("defaults", "max_session_duration", value=50000),
        "defaults.max_session_duration",
        "43200",
    ),
    (
        "mfa-age-zero",
        set_in("roles", "Admin", "mfa", value={"max_age_seconds": 0}),
        "roles.Admin.mfa.max_age_seconds",
        "greater than 0",
    ),
    (
        "mfa-age-negative",
        set_in("defaults", "mfa", "max_age_seconds", value=-5),
        "defaults.mfa.max_age_seconds",
        "greater than 0",
    ),
    (
        "bad-role-name",
        set_in("roles", "ReadOnly", "name", value="read only!"),
        "roles.ReadOnly.name",
        "valid role name",
    ),
    ("role-name-too-long", set_in("roles", "ReadOnly", "name", value="R" * 65), "roles.ReadOnly.name", "at most 64"),
    (
        "console-path-too-long",
        set_in("roles", "ReadOnly", "role_path", value="/" + "p" * 60 + "/"),
        "roles.ReadOnly.role_path",
        "at most 64",
    ),
    ("bad-account-name", set_in("accounts", 0, "name", value="shop prod"), "accounts[0].name", "account name"),
    ("account-name-too-long", set_in("accounts", 0, "name", value="a" * 65), "accounts[0].name", "at most 64"),
    (
        "bad-role-kind-key",
        lambda d: d["roles"].insert(0, "Read-Only", {"managed_policies": []}),
        "roles.Read-Only",
        "role kind key",
    ),
    (
        "unknown-key",
        set_in("roles", "Admin", "mfaa", value={"required": True}),
        "roles.Admin.mfaa",
        "did you mean 'mfa'",
    ),
    ("unknown-top-key", set_in("group", value={}), "group", "did you mean 'groups'"),
    (
        "unknown-account-key",
        set_in("accounts", 0, "role", value=["ReadOnly"]),
        "accounts[0].role",
        "did you mean 'roles'",
    ),
    ("missing-hub", delete("hub"), "hub", "is required"),
    (
        "string-for-bool",
        set_in("roles", "Developer", "source_identity", value="yes"),
        "roles.Developer.source_identity",
        "boolean",
    ),
    ("bad-trust", set_in("roles", "Admin", "trust", value="strictly"), "roles.Admin.trust", "'strict'"),
    (
        "bad-policy-arn",
        set_in("roles", "Admin", "managed_policies", value=["arn:aws:iam::policy"]),
        "roles.Admin.managed_policies[0]",
        "ARN",
    ),
    ("case-duplicate-group", set_in("groups", "Readers", value={"grants": []}), "groups.Readers", "only by case"),
    (
        "grant-accounts-not-list",
        set_in("groups", "readers", "grants", 0, "accounts", value="shop-prod"),
        "groups.readers.grants[0].accounts",
        '"*"',
    ),
    (
        "too-many-groups",
        set_in("users", "bob", "groups", value=[f"g{i}" for i in range(11)]),
        "users.bob.groups",
        "at most 10",
    ),
]


@pytest.mark.parametrize(("change", "field", "words"), [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_naming_the_field(tmp_path: Path, change: Any, field: str, words: str) -> None:
    code, stderr = validate(tmp_path, variant(change))
    assert code == 2
    lines = [line for line in stderr.splitlines() if f": {field}: " in line]
    assert lines, stderr
    assert any(words in line for line in lines), stderr
    assert "Traceback" not in stderr


def test_problem_lines_carry_the_file_line(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('account_id: "333333333333"', 'account_id: "3333"')
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if '"3333"' in line)
    code, stderr = validate(tmp_path, text)
    assert code == 2
    assert (
        stderr.strip()
        == f"{tmp_path / 'accounts.yaml'}:{line_no}: accounts[1].account_id: must be exactly 12 digits, got '3333'"
    )


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["accounts"][0]["roles"] = ["ReadOnly", "Nope"]
        data["users"]["bob"]["groups"] = ["nobody"]
        data["groups"]["readers"]["grants"][0]["role"] = "Missing"

    code, stderr = validate(tmp_path, variant(change))
    assert code == 2
    assert len(stderr.strip().splitlines()) == 3


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("hub: [\n", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("hub: {account_id: '111111111111', name: x}\nhub: {}\n", "the key 'hub' is written twice"),
        ("\tindented: tab\n", "not valid YAML"),
    ],
)
def test_empty_or_non_yaml_files(tmp_path: Path, text: str, words: str) -> None:
    code, stderr = validate(tmp_path, text)
    assert code == 2
    assert words in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read the file" in result.stderr


def test_loads_raises_config_error_with_all_problems() -> None:
    with pytest.raises(ConfigError) as info:
        loads(variant(set_in("accounts", 0, "account_id", value="1")), "x.yaml")
    assert len(info.value.problems) == 1
    assert info.value.lines[0].startswith("x.yaml:")


def test_validate_warns_about_unused_grants_but_succeeds(tmp_path: Path) -> None:
    code, stderr = validate(tmp_path, variant(set_in("users", "dave", "groups", value=[])))
    assert code == 0
    assert "roles.Auditor: no user is in a group granted this role kind" in stderr
    assert "groups.auditors: has no members" in stderr
