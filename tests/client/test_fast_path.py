"""The credential_process fast path: the same invocation answered from the cache, with the standard library.

The key the fast path computes from the raw command line must be the key the full command line computes from
Typer's parsed options (checked on every line of real generated profiles); anything that may choose other
hub credentials or another endpoint misses; and the real console script, on a hit, imports none of boto3,
Typer, Rich, pydantic, the CDK or the organisation model (an import check, not a timing).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from switchrole.cli import client_commands
from switchrole.cli.main import app
from switchrole.client.cache import CredentialCache, TemporaryCredentials
from switchrole.client.invocation import KIND, cached_answer, invocation_key, parse, remember
from switchrole.client.profiles import profiles
from switchrole.model.organisation import Organisation

NOW = datetime.now(UTC)
ANSWER = TemporaryCredentials("ASIAROLE", "role-secret", "role-token", NOW + timedelta(hours=1))
HEAVY = ("boto3", "botocore", "typer", "click", "rich", "pydantic", "aws_cdk", "jsii", "ruamel", "yaml", "moto")
OURS_HEAVY = (
    "switchrole.model.organisation",
    "switchrole.cli.main",
    "switchrole.client.sessions",
    "switchrole.live.smoke",
    "switchrole.client.assume",
)


@pytest.fixture
def surroundings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A person's home: AWS config and credentials files, a private cache, the AWS_* variables set here only."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    (tmp_path / "config").write_text("[profile hub]\nregion = eu-west-1\n")
    (tmp_path / "credentials").write_text("[hub]\naws_access_key_id = AKIAHUB\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("SWITCHROLE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a miss that calls AWS reaches a closed port
    return tmp_path


def typer_options(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The invocation options the full command line hands to the cache for ``argv`` (no AWS call made)."""
    seen: dict[str, Any] = {}

    def capture(options: dict[str, Any], obtain: Any) -> str:
        seen.update(options)
        return "{}"

    monkeypatch.setattr(client_commands, "_credential_process", capture)
    with pytest.raises(SystemExit) as exited:
        app(args=argv, prog_name="switchrole")
    assert exited.value.code == 0
    return seen


def test_every_generated_line_gets_the_key_the_full_command_line_computes(
    example_org: Organisation, surroundings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = []
    for user in example_org.users:
        for profile in profiles(example_org, user, hub_profile="hub", command="switchrole"):
            settings = dict(profile.settings)
            lines.append(shlex.split(settings["credential_process"])[1:])
    assert {line[0] for line in lines} == {"assume", "session"}
    written = ["assume", "--role-arn=arn:aws:iam::1:role/R", "--session-name=a", "--source-identity"]
    for argv in [*lines, [*lines[-1], "--token-code", "123456"], written]:
        fast = parse(argv)
        assert fast is not None, argv
        assert invocation_key(fast) == invocation_key(typer_options(argv, monkeypatch)), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["assume"],  # required options missing
        ["assume", "--role-arn", "arn:aws:iam::1:role/R"],
        ["assume", "--role-arn", "a", "--role-arn", "b", "--session-name", "s"],  # given twice
        ["assume", "--role-arn", "a", "--session-name", "s", "--profile", "p", "--hub-profile", "q"],  # same, twice
        ["assume", "--role-arn", "a", "--session-name", "s", "--duration", "1h"],
        ["assume", "--role-arn", "a", "--session-name", "s", "--no-source-identity"],
        ["assume", "--role-arn", "a", "--session-name", "s", "--help"],
        ["assume", "--role-arn", "--session-name", "s"],
        ["session", "--mfa-serial", "m", "extra"],
        ["smoke", "--role-arn", "a"],
        [],
    ],
)
def test_what_the_small_parser_does_not_handle_goes_to_the_full_command_line(argv: list[str]) -> None:
    assert parse(argv) is None


ARGV = ["assume", "--role-arn", "arn:aws:iam::222222222222:role/switchrole/Admin", "--session-name", "ana",
        "--hub-profile", "hub", "--duration", "3600", "--mfa-serial", "arn:aws:iam::111111111111:mfa/ana"]  # fmt: skip


def test_the_same_invocation_in_the_same_surroundings_is_answered_from_the_cache(surroundings: Path) -> None:
    options = parse(ARGV)
    assert options is not None and cached_answer(ARGV) is None
    remember(options, ANSWER)
    assert json.loads(cached_answer(ARGV) or "{}") == json.loads(ANSWER.credential_process())
    assert cached_answer([*ARGV, "--token-code", "123456"]) is not None  # the code is not part of the key


@pytest.mark.parametrize(
    "change",
    [
        lambda home, env: (home / "credentials").write_text("[hub]\naws_access_key_id = AKIAROTATED\n"),
        lambda home, env: (home / "config").write_text("[profile hub]\nendpoint_url = http://127.0.0.1:5000\n"),
        lambda home, env: (home / "credentials").unlink(),
        lambda home, env: env.setenv("AWS_ACCESS_KEY_ID", "ASIAVAULT"),
        lambda home, env: env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        lambda home, env: env.setenv("AWS_PROFILE", "other"),
    ],
    ids=["keys-rotated", "config-edited", "credentials-gone", "env-keys", "env-endpoint", "env-profile"],
)
def test_anything_that_may_choose_other_credentials_or_endpoint_misses(
    surroundings: Path, change: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = parse(ARGV)
    assert options is not None
    remember(options, ANSWER)
    change(surroundings, monkeypatch)  # variables through monkeypatch: undone after the test
    assert cached_answer(ARGV) is None
    assert cached_answer([*ARGV[:-2], "--mfa-serial", "arn:aws:iam::111111111111:mfa/bo"]) is None


def test_an_entry_about_to_expire_is_not_handed_out(surroundings: Path) -> None:
    options = parse(ARGV)
    assert options is not None
    remember(options, TemporaryCredentials("ASIAOLD", "s", "t", NOW + timedelta(minutes=10)))
    assert cached_answer(ARGV) is None


def test_a_fifo_as_the_aws_config_file_does_not_block(surroundings: Path) -> None:
    (surroundings / "config").unlink()
    os.mkfifo(surroundings / "config")
    assert cached_answer(ARGV) is None  # returns (a blocking open would hang the test)


def test_the_console_script_answers_a_hit_without_the_heavy_imports(surroundings: Path) -> None:
    """The real console script, as the AWS CLI runs it: the answer on stdout, and `-X importtime` shows that
    nothing heavy was imported; a miss goes on to the full command line (which imports them)."""
    options = parse(ARGV)
    assert options is not None
    remember(options, ANSWER, CredentialCache(surroundings / "cache"))
    assert (surroundings / "cache").is_dir() and any(
        p.name.startswith(KIND) for p in (surroundings / "cache").iterdir()
    )
    script = Path(sys.executable).parent / "switchrole"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    hit = subprocess.run([sys.executable, "-X", "importtime", str(script), *ARGV], env=env, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert hit.returncode == 0, hit.stderr
    assert json.loads(hit.stdout)["AccessKeyId"] == "ASIAROLE"
    imported = {line.split("|")[-1].strip() for line in hit.stderr.splitlines() if line.startswith("import time:")}
    assert "switchrole.client.cache" in imported  # the check sees what was imported
    assert not {name for name in imported if name.split(".")[0] in HEAVY or name in OURS_HEAVY}

    miss = subprocess.run([sys.executable, "-X", "importtime", str(script), *ARGV[:-4]], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "typer" in miss.stderr  # a miss went on to the full command line
