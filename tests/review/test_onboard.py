"""`switchrole onboard`: a minimal, byte-preserving edit of the accounts file, or no edit at all."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from factories import EXAMPLE
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.model.loading import load

runner = CliRunner()


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def onboard(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["onboard", "--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.yaml"
    path.write_text(EXAMPLE.read_text())
    return path


def test_adds_only_lines_and_keeps_every_other_byte(config: Path) -> None:
    before = config.read_text()
    code, out, err = onboard(config, "--name", "shop-stg", "--account-id", "444444444444", "--roles", "ReadOnly,Admin")
    assert code == 0, err
    removed, added = changed_lines(before, config.read_text())
    assert removed == []
    assert added == ['  - {name: shop-stg,  account_id: "444444444444", roles: [ReadOnly, Admin]}\n']  # aligned
    org = load(config)
    assert org.account("shop-stg").role_keys == ("ReadOnly", "Admin")
    assert "npx cdk bootstrap aws://444444444444/us-east-1 --template bootstrap-template.json" in out
    assert "--trust" not in out  # no principal of the hub may deploy into it (issue 19)
    assert "npx cdk deploy SwitchRole-shop-stg" in out and "npx cdk deploy SwitchRole-Hub" in out
    assert "switchrole smoke" in out


def test_grants_extend_lists_in_place_or_add_a_grant(config: Path) -> None:
    before = config.read_text()
    code, _, err = onboard(
        config, "--name", "shop-stg", "--account-id", "444444444444", "--roles", "ReadOnly,Developer,Admin",
        "--grant", "shop-developers:ReadOnly", "--grant", "auditors:ReadOnly", "--grant", "platform-admins:Admin",
    )  # fmt: skip
    assert code == 0, err
    assert "platform-admins already has Admin in every account that has it" in err
    removed, added = changed_lines(before, config.read_text())
    assert removed == ["      - {role: ReadOnly, accounts: [shop-prod, shop-dev]}\n"]
    assert added == [
        '  - {name: shop-stg,  account_id: "444444444444", roles: [ReadOnly, Developer, Admin]}\n',
        "      - {role: ReadOnly, accounts: [shop-prod, shop-dev, shop-stg]}\n",
        "      - {role: ReadOnly, accounts: [shop-stg]}\n",  # auditors had no ReadOnly grant: a new one
    ]
    org = load(config)
    assert org.users_granted("ReadOnly", "shop-stg") == ("alice", "bob", "carol", "dave")
    assert org.users_granted("Admin", "shop-stg") == ("alice",)
    assert org.users_granted("Developer", "shop-stg") == ()


def test_block_style_files_get_block_style_entries(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(
        "hub:\n  account_id: '111111111111'\n  name: identity\n"
        "roles:\n  ReadOnly:\n    managed_policies: [ReadOnlyAccess]\n"
        "accounts:\n- name: one\n  account_id: '222222222222'\n  roles:\n  - ReadOnly\n"
        "# trailing comment stays after the list\n"
        "groups:\n  readers:\n    grants:\n    - role: ReadOnly\n      accounts:\n      - one\n"
    )
    before = config.read_text()
    code, _, err = onboard(
        config, "--name", "two", "--account-id", "333333333333", "--roles", "ReadOnly", "--grant", "readers:ReadOnly"
    )
    assert code == 0, err
    removed, added = changed_lines(before, config.read_text())
    assert removed == []
    assert added == ["- name: two\n", '  account_id: "333333333333"\n', "  roles: [ReadOnly]\n", "      - two\n"]
    assert load(config).users_granted("ReadOnly", "two") == ()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--name", "shop-stg", "--account-id", "222222222222", "--roles", "ReadOnly"], "duplicate account id"),
        (["--name", "shop-prod", "--account-id", "444444444444", "--roles", "ReadOnly"], "duplicate account name"),
        (["--name", "shop-stg", "--account-id", "4444", "--roles", "ReadOnly"], "12 digits"),
        (
            ["--name", "shop-stg", "--account-id", "444444444444", "--roles", "ReadOnly,Root"],
            "unknown role kind 'Root'",
        ),
        (
            ["--name", "shop-stg", "--account-id", "444444444444", "--roles", "ReadOnly", "--grant", "nobody:ReadOnly"],
            "unknown group 'nobody'",
        ),
        (
            ["--name", "shop-stg", "--account-id", "444444444444", "--roles", "ReadOnly", "--grant", "readers:Admin"],
            "does not get role kind 'Admin'",
        ),
        (
            ["--name", "shop-stg", "--account-id", "444444444444", "--roles", "ReadOnly", "--grant", "readers"],
            "GROUP:ROLE",
        ),
        (["--name", "shop stg", "--account-id", "444444444444", "--roles", "ReadOnly"], "account name"),
    ],
    ids=[
        "dup-id",
        "dup-name",
        "bad-id",
        "unknown-role",
        "unknown-group",
        "grant-without-role",
        "bad-grant",
        "bad-name",
    ],
)
def test_invalid_results_leave_the_file_untouched(config: Path, args: list[str], words: str) -> None:
    before = config.read_bytes()
    mtime = config.stat().st_mtime_ns
    code, _, err = onboard(config, *args)
    assert code == 2
    assert words in err, err
    assert config.read_bytes() == before and config.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in config.parent.iterdir()) == ["accounts.yaml"]  # no temp file left


def test_dry_run_writes_nothing(config: Path) -> None:
    before = config.read_bytes()
    code, out, _ = onboard(
        config, "--name", "shop-stg", "--account-id", "444444444444", "--roles", "ReadOnly", "--dry-run"
    )
    assert code == 0
    assert '+  - {name: shop-stg,  account_id: "444444444444", roles: [ReadOnly]}' in out
    assert config.read_bytes() == before
