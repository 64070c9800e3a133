"""The MFA-session-first client path: the 0600 cache, MFA age per role, sources (profile or aws-vault's env)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from switchrole.client.sessions import (
    CredentialCache,
    SessionFailed,
    TemporaryCredentials,
    mfa_session,
    role_cache_key,
    source_session,
)

SERIAL = "arn:aws:iam::111111111111:mfa/alice"
NOW = datetime.now(UTC)


def credentials(
    *, expires_in: float = 3600, mfa_ago: float | None = 0, key: str = "ASIASESSION"
) -> TemporaryCredentials:
    return TemporaryCredentials(
        key, "session-secret", "session-token", NOW + timedelta(seconds=expires_in),
        NOW - timedelta(seconds=mfa_ago) if mfa_ago is not None else None,
    )  # fmt: skip


class Source:
    """A hub user's long-term keys whose STS client answers GetSessionToken from a Stubber."""

    region_name = "us-east-1"

    def __init__(self, *, token: str | None = None) -> None:
        self.session = boto3.Session(
            aws_access_key_id="AKIALONGTERM", aws_secret_access_key="x", aws_session_token=token
        )
        self.calls = 0

    def get_credentials(self) -> Any:
        return self.session.get_credentials()

    def client(self, service: str, **kwargs: Any) -> Any:
        client = boto3.client(
            "sts", region_name="us-east-1", aws_access_key_id="AKIALONGTERM", aws_secret_access_key="x"
        )
        stubber = Stubber(client)
        stubber.add_response(
            "get_caller_identity", {"Arn": "arn:aws:iam::111111111111:user/alice", "Account": "1", "UserId": "A"}
        )
        answer = {
            "AccessKeyId": "ASIANEWSESSION00",
            "SecretAccessKey": "s",
            "SessionToken": "t",
            "Expiration": NOW + timedelta(hours=12),
        }
        stubber.add_response("get_session_token", {"Credentials": answer},
                             {"SerialNumber": SERIAL, "TokenCode": "123456", "DurationSeconds": 3600})  # fmt: skip
        stubber.activate()
        self.calls += 1
        return client


def test_cache_files_are_private_and_survive_a_second_process(tmp_path: Path) -> None:
    cache = CredentialCache(tmp_path / "cache")
    cache.put("session", ("AKIALONGTERM", SERIAL, ""), credentials())
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
    (entry,) = (tmp_path / "cache").iterdir()
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    program = (
        "import sys; from pathlib import Path; from switchrole.client.sessions import CredentialCache; "
        "c = CredentialCache(Path(sys.argv[1])).get('session', ('AKIALONGTERM', sys.argv[2], '')); "
        "print(c.access_key_id if c else 'none')"
    )
    other = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path / "cache"), SERIAL], capture_output=True, text=True
    )
    assert other.stdout.strip() == "ASIASESSION", other.stderr


def test_expired_entries_are_ignored_and_removed(tmp_path: Path) -> None:
    cache = CredentialCache(tmp_path)
    cache.put("role", ("k",), credentials(expires_in=60))  # within the refresh margin: as good as expired
    assert cache.get("role", ("k",)) is None
    assert list(tmp_path.iterdir()) == []


def test_loosely_permitted_entries_are_not_trusted(tmp_path: Path) -> None:
    cache = CredentialCache(tmp_path)
    cache.put("role", ("k",), credentials())
    (entry,) = tmp_path.iterdir()
    entry.chmod(0o644)
    assert cache.get("role", ("k",)) is None


VALID = json.loads(credentials().to_json())


@pytest.mark.parametrize(
    "content",
    [
        "[]", '"text"', "1", "null", "{", "\udcff",
        json.dumps({**VALID, "Expiration": "2099-01-01T00:00:00"}),  # no UTC offset: compares with nothing
        json.dumps({**VALID, "Expiration": 4102444800}),
        json.dumps({**VALID, "AccessKeyId": ["A"]}),
        json.dumps({**VALID, "SessionToken": ""}),
        json.dumps({**VALID, "MfaAuthenticatedAt": 5}),
        json.dumps({**VALID, "MfaAuthenticatedAt": "2026-01-01T00:00:00"}),
    ],
)  # fmt: skip
def test_an_entry_that_is_not_what_switchrole_wrote_is_ignored_and_replaced(tmp_path: Path, content: str) -> None:
    cache = CredentialCache(tmp_path)
    cache.put("role", ("k",), credentials())
    (entry,) = tmp_path.iterdir()
    entry.write_text(content, errors="surrogateescape")
    assert cache.get("role", ("k",)) is None
    cache.put("role", ("k",), credentials(key="ASIANEW"))
    again = cache.get("role", ("k",))
    assert again is not None and again.access_key_id == "ASIANEW"


def test_a_fifo_under_an_entrys_name_neither_blocks_nor_stays(tmp_path: Path) -> None:
    """A FIFO never written to would block a plain open until the command's deadline."""
    cache = CredentialCache(tmp_path)
    cache.put("role", ("k",), credentials())
    (entry,) = tmp_path.iterdir()
    entry.unlink()
    os.mkfifo(entry, 0o600)
    assert cache.get("role", ("k",)) is None  # returns at once (O_NONBLOCK)
    cache.put("role", ("k",), credentials())
    assert entry.is_file() and cache.get("role", ("k",)) is not None


def test_no_cache_directory_caches_nothing(tmp_path: Path) -> None:
    cache = CredentialCache(None)
    cache.put("role", ("k",), credentials())
    assert cache.get("role", ("k",)) is None


def test_default_cache_directory_is_the_users_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SWITCHROLE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert CredentialCache.default().directory == tmp_path / "xdg" / "switchrole"
    monkeypatch.setenv("SWITCHROLE_CACHE_DIR", str(tmp_path / "mine"))
    assert CredentialCache.default().directory == tmp_path / "mine"


@pytest.mark.parametrize(("max_age", "asks"), [(3600, False), (900, True), (None, False)])
def test_a_role_with_a_shorter_mfa_age_than_the_session_asks_for_a_new_code(
    tmp_path: Path, max_age: int | None, asks: bool
) -> None:
    """A session whose MFA is 1,000 s old: ReadOnly (3,600 s) uses it; Admin (900 s) needs a new code."""
    cache = CredentialCache(tmp_path)
    cache.put("session", ("AKIALONGTERM", SERIAL, ""), credentials(mfa_ago=1000))
    source, asked = Source(), []
    opened = mfa_session(
        source,  # type: ignore[arg-type]
        serial=SERIAL, token=lambda: asked.append(1) or "123456", cache=cache, max_age=max_age,
    )  # fmt: skip
    session, fresh = opened.session, opened.credentials
    assert bool(asked) is asks and source.calls == int(asks) and opened.cached is not asks
    assert fresh is not None
    assert fresh.access_key_id == ("ASIANEWSESSION00" if asks else "ASIASESSION")
    assert session.get_credentials().get_frozen_credentials().access_key == fresh.access_key_id
    if asks:  # the new session replaced the old one in the cache, with a fresh MFA time
        cached = cache.get("session", ("AKIALONGTERM", SERIAL, ""))
        assert cached is not None and cached.access_key_id == "ASIANEWSESSION00" and (cached.mfa_age() or 99) < 5


def test_no_code_available_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(SessionFailed, match="no MFA session is cached: an MFA code is needed"):
        mfa_session(Source(), serial=SERIAL, token=lambda: None, cache=CredentialCache(tmp_path))  # type: ignore[arg-type]


def test_an_existing_session_in_the_environment_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """aws-vault exec exports its own MFA session: no GetSessionToken (it would fail with session credentials)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAVAULT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "vault-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "vault-token")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    source = source_session("identity")  # the hub profile holds no keys (aws-vault keeps them)
    assert source.get_credentials().get_frozen_credentials().access_key == "ASIAVAULT"
    vault_sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="ASIAVAULT", aws_secret_access_key="v")
    stubber = Stubber(vault_sts)  # the identity check: aws-vault's session is the hub user's
    stubber.add_response(
        "get_caller_identity", {"Arn": "arn:aws:iam::111111111111:user/alice", "Account": "1", "UserId": "A"}
    )
    stubber.activate()
    monkeypatch.setattr(source, "client", lambda *args, **kwargs: vault_sts)
    opened = mfa_session(source, serial=SERIAL, token=lambda: pytest.fail("no code"), cache=CredentialCache(None))
    assert opened.session is source and opened.credentials is None


def test_a_machine_role_is_not_taken_for_the_hub_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before a code is spent: the source must be an IAM user of the MFA device's account."""
    source = Source()
    role_sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="AKIALONGTERM", aws_secret_access_key="x")
    stubber = Stubber(role_sts)
    stubber.add_response(
        "get_caller_identity", {"Arn": "arn:aws:sts::111111111111:assumed-role/ec2/i-1", "Account": "1", "UserId": "A"}
    )
    stubber.activate()
    monkeypatch.setattr(source, "client", lambda *args, **kwargs: role_sts)
    with pytest.raises(SessionFailed, match="assumed-role/ec2/i-1, not an IAM user of the hub account 111111111111"):
        mfa_session(source, serial=SERIAL, token=lambda: pytest.fail("no code"), cache=CredentialCache(None))  # type: ignore[arg-type]


def test_an_explicit_hub_profile_with_keys_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "credentials").write_text("[identity]\naws_access_key_id = AKIAHUBPROFILE\naws_secret_access_key = x\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNRELATED")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    assert source_session("identity").get_credentials().get_frozen_credentials().access_key == "AKIAHUBPROFILE"


@pytest.mark.slow
def test_back_to_back_switches_make_one_assume_role(tmp_path: Path) -> None:
    """`switchrole assume` answers from the role cache: no STS call (the endpoint here answers nothing)."""
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text("[identity]\naws_access_key_id = AKIALONGTERM\naws_secret_access_key = x\n")
    args = ["--role-arn", "arn:aws:iam::222222222222:role/switchrole/ReadOnly", "--session-name", "alice",
            "--hub-profile", "identity", "--duration", "3600", "--mfa-serial", SERIAL]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_"))}
    env |= {"AWS_SHARED_CREDENTIALS_FILE": str(credentials_file), "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "SWITCHROLE_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    params = {"RoleArn": args[1], "RoleSessionName": "alice", "DurationSeconds": 3600, "SourceIdentity": False}
    source = boto3.Session(aws_access_key_id="AKIALONGTERM", aws_secret_access_key="x")
    CredentialCache(tmp_path / "cache").put("role", role_cache_key(source, params, None), credentials(key="ASIAROLE"))
    result = subprocess.run([sys.executable, "-m", "switchrole.cli", "assume", *args], env=env,
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["AccessKeyId"] == "ASIAROLE"
    other = [a if a != "alice" else "alice2" for a in args]  # another session name: not what was cached
    missing = subprocess.run([sys.executable, "-m", "switchrole.cli", "assume", *other], env=env,
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)  # fmt: skip
    assert missing.returncode == 1 and "cannot reach the AWS endpoint" in missing.stderr  # not cached: it tried
    assert "Traceback" not in missing.stderr
