"""Generated client settings: golden outputs, the merge into an existing AWS config, and botocore's parser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from botocore.configloader import raw_config_parse
from factories import EXAMPLE
from typer.testing import CliRunner

from switchrole.cli import app
from switchrole.clients import MergeConflict, merge_profiles, profiles_block
from switchrole.config import Organisation

GOLDEN = Path(__file__).parent / "golden"
runner = CliRunner()

CASES = [
    (["profiles", "--user", "bob"], "profiles-bob.ini"),
    (["profiles", "--user", "dave", "--hub-profile", "hub-dave"], "profiles-dave.ini"),
    (["links", "--user", "alice"], "links-alice.txt"),
    (["links", "--user", "bob", "--format", "md"], "links-bob.md"),
    (["links", "--user", "bob", "--format", "html"], "links-bob.html"),
    (["links", "--user", "alice", "--format", "extend-switch-roles"], "aesr-alice.ini"),
]


@pytest.mark.parametrize(("args", "golden"), CASES, ids=[c[1] for c in CASES])
def test_golden_output(args: list[str], golden: str) -> None:
    """Reviewed outputs for the example; regenerate deliberately with SWITCHROLE_UPDATE_GOLDEN=1 and review the diff."""
    result = runner.invoke(app, [*args, "--config", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    path = GOLDEN / golden
    if os.environ.get("SWITCHROLE_UPDATE_GOLDEN"):
        path.write_text(result.stdout)
    assert result.stdout == path.read_text()


def test_profiles_parse_with_botocore_and_match_the_grants(tmp_path: Path, example_org: Organisation) -> None:
    config = tmp_path / "config"
    config.write_text(profiles_block(example_org, "carol", hub_profile="identity"))
    parsed = raw_config_parse(str(config))
    assert sorted(parsed) == sorted(f"profile {a.name}-{k.key}" for a, k in example_org.user_roles("carol"))
    readonly = parsed["profile data-prod-ReadOnly"]
    assert readonly == {
        "role_arn": "arn:aws:iam::555555555555:role/switchrole/ReadOnly",
        "source_profile": "identity",
        "mfa_serial": "arn:aws:iam::111111111111:mfa/carol",
        "role_session_name": "carol",
        "duration_seconds": "14400",
        "region": "us-east-1",
    }
    developer = parsed["profile data-dev-Developer"]
    assert "role_arn" not in developer
    assert developer["credential_process"].startswith("switchrole assume --role-arn arn:aws:iam::666666666666:role/")
    assert "--source-identity" in developer["credential_process"]


def test_no_mfa_serial_for_roles_without_mfa_and_no_credentials_anywhere(example_org: Organisation) -> None:
    block = profiles_block(example_org, "dave", hub_profile="identity")
    assert "mfa_serial" not in block
    for word in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
        assert word not in block


EXISTING = """\
[default]
region = eu-west-1
output   = json   ; odd spacing is kept

# my own notes
[profile personal]
aws_access_key_id = AKIAPERSONALPERSONAL
"""


def test_merge_appends_then_replaces_only_its_block(example_org: Organisation) -> None:
    first = merge_profiles(EXISTING, profiles_block(example_org, "bob", hub_profile="identity"), "bob")
    assert first.startswith(EXISTING)  # every existing byte kept
    assert first.count("[profile shop-dev-ReadOnly]") == 1
    other = profiles_block(example_org, "dave", hub_profile="identity")
    both = merge_profiles(first, other, "dave")
    again = merge_profiles(both, profiles_block(example_org, "bob", hub_profile="renamed-hub"), "bob")
    assert again.replace("renamed-hub", "identity") == both  # only bob's block changed
    assert again.startswith(EXISTING)
    assert "source_profile = hub-dave" not in again and again.count(">>> switchrole profiles for dave") == 1


def test_merge_refuses_to_shadow_an_unmanaged_profile(example_org: Organisation) -> None:
    mine = EXISTING + "\n[profile shop-prod-ReadOnly]\nrole_arn = arn:aws:iam::222222222222:role/mine\n"
    with pytest.raises(MergeConflict, match="shop-prod-ReadOnly already exists"):
        merge_profiles(mine, profiles_block(example_org, "bob", hub_profile="identity"), "bob")


def test_merge_cli_edits_in_place_and_exits_2_on_conflict(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(EXISTING)
    config.chmod(0o600)
    result = runner.invoke(app, ["profiles", "--user", "bob", "--config", str(EXAMPLE), "--merge", str(config)])
    assert result.exit_code == 0, result.output
    assert config.read_text().startswith(EXISTING) and "[profile shop-dev-Developer]" in config.read_text()
    assert config.stat().st_mode & 0o777 == 0o600
    before = config.read_text()
    again = runner.invoke(app, ["profiles", "--user", "bob", "--config", str(EXAMPLE), "--merge", str(config)])
    assert again.exit_code == 0 and config.read_text() == before  # idempotent
    config.write_text(before + "\n[profile shop-dev-ReadOnly]\nregion = x\n")
    clash = runner.invoke(app, ["profiles", "--user", "bob", "--config", str(EXAMPLE), "--merge", str(config)])
    assert clash.exit_code == 2 and "already exists" in clash.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["profiles", "--user", "zoe"], "no user 'zoe'"),
        (["links", "--user", "bob", "--format", "pdf"], "--format"),
    ],
)
def test_bad_usage(args: list[str], words: str) -> None:
    result = runner.invoke(app, [*args, "--config", str(EXAMPLE)])
    assert result.exit_code == 2
    assert words in result.stderr
