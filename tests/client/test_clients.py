"""Generated client settings: golden outputs, the merge into an existing AWS config, and botocore's parser."""

from __future__ import annotations

import configparser
import os
import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.configloader import raw_config_parse
from factories import EXAMPLE, example_data, variant
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.client.profiles import MergeConflict, merge_profiles, profiles_block, switchrole_command
from switchrole.model.organisation import Organisation

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
runner = CliRunner()

CASES = [
    (["profiles", "--user", "bob", "--command", "switchrole"], "profiles-bob.ini"),
    (["profiles", "--user", "dave", "--hub-profile", "hub-dave", "--command", "switchrole"], "profiles-dave.ini"),
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


def test_profiles_parse_with_botocore_and_use_an_mfa_session_first(tmp_path: Path, example_org: Organisation) -> None:
    """Every key is one botocore reads; every switch goes through `switchrole assume` (MFA session first)."""
    config = tmp_path / "config"
    config.write_text(profiles_block(example_org, "carol", hub_profile="identity"))
    parsed = raw_config_parse(str(config))
    roles = [f"profile {a.name}-{k.key}" for a, k in example_org.user_roles("carol")]
    assert sorted(parsed) == sorted(["profile identity-mfa", *roles])
    for name, settings in parsed.items():
        assert set(settings) == {"credential_process", "region"}, name
    program = switchrole_command()
    assert Path(program).is_absolute() and os.access(program, os.X_OK)  # works without the venv on PATH
    assert parsed["profile identity-mfa"]["credential_process"] == (
        f"{program} session --hub-profile identity --mfa-serial arn:aws:iam::111111111111:mfa/carol"
    )
    readonly = parsed["profile data-prod-ReadOnly"]["credential_process"]
    assert readonly == (
        f"{program} assume --role-arn arn:aws:iam::555555555555:role/switchrole/ReadOnly --session-name carol "
        "--hub-profile identity --duration 3600 --mfa-serial arn:aws:iam::111111111111:mfa/carol --mfa-max-age 3600"
    )  # ReadOnly allows 4 h, but a switch from an MFA session is capped at 1 h
    assert parsed["profile data-dev-Developer"]["credential_process"].endswith("--source-identity")


def test_users_without_mfa_get_no_session_profile_and_no_credentials_anywhere(example_org: Organisation) -> None:
    block = profiles_block(example_org, "dave", hub_profile="identity")
    assert "--mfa-serial" not in block and "-mfa]" not in block
    assert "--duration 3600 --external-id switchrole-audit-2026" in block
    for word in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "mfa_serial ="):
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
    assert "--hub-profile renamed-hub" in again and again.count(">>> switchrole profiles for dave") == 1


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


# --------------------------------------------------------------------------- console display names

LONG = "shop-" + "x" * 55 + "prod"  # 64 characters: "<account>-<role>" must be cut for the console


def test_cut_display_names_stay_unique_in_every_console_output(tmp_path: Path) -> None:
    """A 64-character account name with ReadOnly and Admin: cutting both names to 64 characters made two
    identical `[shop-xxx…]` AESR sections (the second shadows the first) and two identical console entries."""
    config = tmp_path / "accounts.yaml"
    config.write_text(EXAMPLE.read_text().replace("shop-prod", LONG))
    aesr = runner.invoke(app, ["links", "--user", "alice", "-f", "extend-switch-roles", "--config", str(config)])
    assert aesr.exit_code == 0, aesr.output
    parser = configparser.RawConfigParser(strict=True, interpolation=None)  # strict: a repeated section fails
    parser.read_string(aesr.stdout)
    mine = [s for s in parser.sections() if s.startswith("shop-x")]
    assert mine == [f"shop-{'x' * 22}…{'x' * 23}prod-ReadOnly", f"shop-{'x' * 24}…{'x' * 24}prod-Admin"]
    assert all(len(s) <= 64 for s in parser.sections())
    for fmt in ("text", "md", "html"):
        result = runner.invoke(app, ["links", "--user", "alice", "-f", fmt, "--config", str(config)])
        assert result.exit_code == 0, result.output
        urls = re.findall(r"https://signin\.aws\.amazon\.com/switchrole\?[^\s)\"<]+", result.stdout)
        names = [parse_qs(urlsplit(url.replace("&amp;", "&")).query)["displayName"][0] for url in urls]
        assert len(names) == len(set(names)) == 8, (fmt, names)
        assert set(mine) <= set(names) and all(len(n) <= 64 for n in names), fmt


def test_account_names_whose_cut_names_would_meet_are_refused(tmp_path: Path) -> None:
    """Two long names alike at both ends (they differ only in the middle, which the cut drops)."""

    def twins(data: object) -> None:
        accounts = data["accounts"]  # type: ignore[index]
        accounts[0]["name"] = "shop-" + "x" * 30 + "a" + "x" * 24 + "prod"
        accounts[1]["name"] = "shop-" + "x" * 30 + "b" + "x" * 24 + "prod"
        for group in data["groups"].values():  # type: ignore[index]
            for grant in group["grants"]:
                if grant["accounts"] != "*":
                    grant["accounts"] = [a for a in grant["accounts"] if a not in ("shop-prod", "shop-dev")]
                    grant["accounts"] = grant["accounts"] or "*"

    config = tmp_path / "accounts.yaml"
    config.write_text(variant(twins))
    assert [a["name"] for a in example_data()["accounts"][:2]] == ["shop-prod", "shop-dev"]
    result = runner.invoke(app, ["links", "--user", "alice", "--config", str(config)])
    assert result.exit_code == 2 and result.stdout == ""
    assert "accounts[1].name" in result.stderr and "is also shop-x" in result.stderr, result.stderr


# --------------------------------------------------------------------------- options written into the AWS config


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--hub-profile", "x;y #z"], "--hub-profile"),  # other SDKs' INI parsers end the value at " #"
        (["--hub-profile", "a]b"], "--hub-profile"),  # [profile a]b-mfa]: a broken section header
        (["--hub-profile", "my hub"], "--hub-profile"),  # botocore splits "profile my hub" into three words
        (["--hub-profile", ""], "--hub-profile"),
        (["--mfa-serial", "arn:aws:iam::111111111111:mfa/a#b"], "--mfa-serial"),
        (["--mfa-serial", "arn:aws:iam::111111111111:mfa/alice ; rm -rf ~"], "--mfa-serial"),
        (["--mfa-serial", "arn:aws:iam::11111111111:mfa/alice"], "--mfa-serial"),  # 11 digits
        (["--mfa-serial", "arn:aws:iam::111111111111:mfa/"], "--mfa-serial"),
        (["--mfa-serial", "arn:aws:iam::111111111111:mfa/ålice"], "--mfa-serial"),
        (["--command", "switchrole\n[profile evil]"], "--command"),  # a line break starts a section
        (["--command", "switchrole #x"], "--command"),
        (["--command", "sw'itch\"role"], "--command"),
        (["--command", "$(touch pwned)"], "--command"),
        (["--command", " switchrole"], "--command"),
    ],
)
def test_options_that_would_break_the_aws_config_are_refused(tmp_path: Path, args: list[str], option: str) -> None:
    """Exit 2, one line naming the option, nothing printed and nothing merged."""
    config = tmp_path / "config"
    config.write_text(EXISTING)
    for merge in ([], ["--merge", str(config)]):
        result = runner.invoke(app, ["profiles", "--user", "carol", *args, *merge, "--config", str(EXAMPLE)])
        assert result.exit_code == 2, result.output
        assert result.stdout == "" and "Traceback" not in result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"{option}: "), line
    assert config.read_text() == EXISTING


def test_every_bad_option_gets_its_own_line() -> None:
    args = ["--hub-profile", "a b", "--mfa-serial", "x#y", "--command", "a;b", "--config", str(EXAMPLE)]
    result = runner.invoke(app, ["profiles", "--user", "carol", *args])
    assert result.exit_code == 2
    assert [line.split(":")[0] for line in result.stderr.splitlines()] == ["--hub-profile", "--mfa-serial", "--command"]


@pytest.mark.parametrize(
    "serial",
    ["arn:aws:iam::111111111111:mfa/carol", "arn:aws:iam::111111111111:mfa/team/carol.d+1@x", "GAHT12345678"],
)
def test_mfa_devices_and_hardware_serials_are_accepted(serial: str, example_org: Organisation) -> None:
    block = profiles_block(example_org, "carol", hub_profile="hub.carol@acme", mfa_serial=serial, command="switchrole")
    assert f"--hub-profile hub.carol@acme --mfa-serial {serial}\n" in block


@pytest.mark.parametrize(
    ("platform", "program"),
    [("linux", "/home/al ice/My Tools (x86)/switchrole"), ("win32", r"C:\Program Files\switchrole\switchrole.exe")],
)
def test_credential_process_lines_split_back_into_their_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example_org: Organisation, platform: str, program: str
) -> None:
    """botocore splits credential_process with compat_shell_split: POSIX words, or the Windows C runtime's
    rules on win32, where the POSIX single quotes of shlex.join are no quotes at all."""
    from botocore.compat import compat_shell_split

    monkeypatch.setattr(sys, "platform", platform)
    config = tmp_path / "config"
    config.write_text(profiles_block(example_org, "carol", hub_profile="identity", command=program))
    parsed = raw_config_parse(str(config))
    session = compat_shell_split(parsed["profile identity-mfa"]["credential_process"], platform)
    assert session == [
        program, "session", "--hub-profile", "identity", "--mfa-serial", "arn:aws:iam::111111111111:mfa/carol"
    ]  # fmt: skip
    readonly = compat_shell_split(parsed["profile data-prod-ReadOnly"]["credential_process"], platform)
    assert readonly[:3] == [program, "assume", "--role-arn"] and readonly[-2:] == ["--mfa-max-age", "3600"]


def test_an_odd_accounts_file_name_stays_inside_its_comment_line(tmp_path: Path) -> None:
    """The block's begin marker and the AESR header name the accounts file: a line break in that name
    would have started a section of its own."""
    config = tmp_path / "a\n[profile evil]\n.yaml"
    config.write_text(EXAMPLE.read_text())
    for args in (["profiles", "--command", "switchrole"], ["links", "-f", "extend-switch-roles"]):
        result = runner.invoke(app, [*args, "--user", "alice", "--config", str(config)])
        assert result.exit_code == 0, result.output
        assert "evil" not in "".join(_SECTION_HEADER.findall(result.stdout)) and "\\n[profile evil]" in result.stdout


_SECTION_HEADER = re.compile(r"^\[.*\]$", re.MULTILINE)
