"""Session first: one MFA code opens an MFA session, and every switch is an AssumeRole from that session.

Why not the AWS CLI's ``mfa_serial`` profiles: they call AssumeRole with the
user's *long-term* keys plus the MFA code. The role's trust policy sees that
MFA, but whether the caller's own policies do (the hub grants require
``aws:MultiFactorAuthPresent``, and the hub's MFA policy denies everything
without it) is contested, and the field reports say they do not. A session
from ``sts:GetSessionToken`` with the code carries MFA for both sides, so this
path works under either reading (see the README, "MFA readings").

Credentials are cached so that one code serves every role until the session
expires: files of mode 0600 in a 0700 directory under the user's cache
directory (``$SWITCHROLE_CACHE_DIR``, else ``$XDG_CACHE_HOME/switchrole``, else
``~/.cache/switchrole``), like the AWS CLI's own cache; never in the
repository, never printed. A role whose ``mfa.max_age_seconds`` the cached
session has outlived asks for a new code (AWS checks ``aws:MultiFactorAuthAge``
when the role is assumed). Role credentials are cached too, until shortly
before they expire, so back-to-back commands in one role make one AssumeRole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

# The cached MFA session lasts 1 hour, not GetSessionToken's 12-hour default (900..129,600): the default
# mfa.max_age_seconds is 3,600, so a longer session would mostly be refused by the roles anyway, and a stolen
# cache file is worth at most an hour (credential changes need a 15-minute-fresh code: policies.fresh_mfa).
SESSION_SECONDS = 3_600
# AWS documents AssumeRole from GetSessionToken credentials as limited to one hour, like role chaining
# (knowledge center "iam-role-chaining-limit"); asking for more fails, so switches from a session ask for at most this.
ROLE_SECONDS_FROM_SESSION = 3_600
REFRESH_MARGIN = 900  # never hand out credentials that expire within 15 minutes (botocore refreshes below that)
MFA_AGE_MARGIN = 30  # ask for a new code this long before the role's maximum MFA age is reached

TokenProvider = Callable[[], str | None]


@dataclass(frozen=True)
class TemporaryCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime
    mfa_authenticated_at: datetime | None = None  # when the MFA code was used (sessions only)

    @classmethod
    def from_sts(cls, credentials: dict[str, Any], mfa_at: datetime | None = None) -> TemporaryCredentials:
        return cls(
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
            credentials["Expiration"],
            mfa_at,
        )

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        return self.expiration <= (now or datetime.now(UTC)) + timedelta(seconds=seconds)

    def mfa_age(self, now: datetime | None = None) -> float | None:
        if self.mfa_authenticated_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.mfa_authenticated_at).total_seconds()

    def boto_session(self, region: str | None) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            region_name=region,
        )

    def _fields(self) -> dict[str, str]:
        """The credentials in STS's field names, shared by the credential_process answer and the cache file."""
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": self.expiration.isoformat(),
        }

    def credential_process(self) -> str:
        """The JSON an AWS CLI/SDK ``credential_process`` must print on stdout."""
        return json.dumps({"Version": 1, **self._fields()})

    def to_json(self) -> str:
        at = self.mfa_authenticated_at
        return json.dumps({**self._fields(), "MfaAuthenticatedAt": at.isoformat() if at else None})

    @classmethod
    def from_json(cls, text: str) -> TemporaryCredentials:
        data = json.loads(text)
        at = data.get("MfaAuthenticatedAt")
        return cls(
            str(data["AccessKeyId"]),
            str(data["SecretAccessKey"]),
            str(data["SessionToken"]),
            datetime.fromisoformat(data["Expiration"]),
            datetime.fromisoformat(at) if at else None,
        )


class CredentialCache:
    """Temporary credentials in files of mode 0600; ``CredentialCache(None)`` caches nothing.

    The directory must be a real directory (not a symlink) owned by the user with mode 0700; files are
    opened without following symlinks and used only when they are the user's and 0600. When the cache
    cannot be used, switchrole works without it (one line on stderr says why) rather than failing after
    an MFA code was spent.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @classmethod
    def default(cls) -> CredentialCache:
        return cls(default_cache_directory())

    def _path(self, kind: str, key: Sequence[str]) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.sha256("\0".join([kind, *key]).encode()).hexdigest()[:40]
        return self.directory / f"{kind}-{digest}.json"

    def _private_directory(self, create: bool) -> bool:
        """Is the directory ours alone (creating it 0700 when asked)?"""
        assert self.directory is not None
        try:
            if create:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(self.directory)
        except OSError:
            return False
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return False
        if stat.S_IMODE(info.st_mode) != 0o700:
            try:
                os.chmod(self.directory, 0o700)
            except OSError:
                return False
        return True

    def get(self, kind: str, key: Sequence[str]) -> TemporaryCredentials | None:
        """A cached entry that is still good for a while; expired, unreadable or loosely permitted files
        are ignored (and removed when expired)."""
        path = self._path(kind, key)
        if path is None or not self._private_directory(create=False):
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if stat.S_IMODE(info.st_mode) != 0o600 or info.st_uid != os.getuid() or not stat.S_ISREG(info.st_mode):
                return None
            with os.fdopen(fd, encoding="utf-8", closefd=False) as handle:
                credentials = TemporaryCredentials.from_json(handle.read(64_000))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        finally:
            os.close(fd)
        if credentials.expires_within(REFRESH_MARGIN):
            self.delete(kind, key)
            return None
        return credentials

    def put(self, kind: str, key: Sequence[str], credentials: TemporaryCredentials) -> None:
        path = self._path(kind, key)
        if path is None:
            return
        if not self._private_directory(create=True):
            _warn(f"not caching credentials: {path.parent} is not a private directory of yours (mode 0700)")
            return
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates it 0600
        except OSError as exc:
            _warn(f"not caching credentials in {path.parent}: {exc.strerror or exc}")
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(credentials.to_json())
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            _warn(f"not caching credentials in {path.parent}: {exc.strerror or exc}")

    def delete(self, kind: str, key: Sequence[str]) -> None:
        path = self._path(kind, key)
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()

    def clear(self) -> int:
        """Forget every cached session and role credential; the number of entries removed."""
        if self.directory is None or not self._private_directory(create=False):
            return 0
        removed = 0
        for path in self.directory.glob("*.json"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed


def _warn(message: str) -> None:
    print(f"switchrole: {message}", file=sys.stderr)


def default_cache_directory() -> Path:
    if os.environ.get("SWITCHROLE_CACHE_DIR"):
        return Path(os.environ["SWITCHROLE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "switchrole"


class SessionFailed(Exception):
    """No MFA session could be opened (no code available); the message is one line for the user."""


PROFILE_METHODS = ("shared-credentials-file", "config-file", "custom-process")


class SourceFailed(Exception):
    """A profile's credentials could not be obtained: one line that names the profile (``message``), a kind for
    scripts and an exit code (2: fix the profile; 1: refresh the credentials)."""

    def __init__(self, kind: str, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.kind, self.message, self.exit_code = kind, message, exit_code


def credential_failure(exc: BaseException, profile: str | None) -> SourceFailed | None:
    """What went wrong obtaining ``profile``'s credentials, as :class:`SourceFailed`; None when ``exc`` is not
    such a failure. Nothing its credential_process printed is quoted: that output may hold a credential."""
    import botocore.exceptions as errors

    if isinstance(exc, SourceFailed):
        return exc
    name = f"profile {profile}" if profile else "the default credentials"
    lost = f"{name}: its credentials could not be obtained"
    if isinstance(exc, json.JSONDecodeError):  # only a credential_process answers JSON here (STS and S3 are XML)
        return SourceFailed("no-credentials", f"{lost}: its credential_process printed no valid JSON (not shown)")
    if isinstance(exc, errors.CredentialRetrievalError):
        provider = str(exc.kwargs.get("provider", ""))
        if provider == "custom-process":
            return SourceFailed("no-credentials", f"{lost}: its credential_process failed (its output is not shown)")
        return SourceFailed("no-credentials", f"{lost} ({provider})")
    if isinstance(exc, RuntimeError) and "refreshed credentials are still expired" in str(exc):
        return SourceFailed(
            "expired-credentials",
            f"{name}: its credentials have expired, and refreshing them (credential_process) gave expired ones again",
            1,
        )
    if isinstance(exc, OSError) and not isinstance(exc, errors.BotoCoreError):  # the process could not be run
        why = exc.strerror or type(exc).__name__
        return SourceFailed("no-credentials", f"{lost}: its credential_process could not be run ({why})")
    return None


def profile_session(profile: str | None, region: str | None = None) -> boto3.Session:
    """``boto3.Session(profile_name=profile, region_name=region)``, whose credential_process (if the profile
    has one) the command's deadline can stop (:mod:`switchrole.deadline`): botocore waits for it for ever."""
    import botocore.exceptions
    import botocore.session
    from botocore.credentials import ProcessProvider

    from switchrole.deadline import tracked_popen

    core = botocore.session.Session(profile=profile)
    session = boto3.Session(botocore_session=core, region_name=region)  # ProfileNotFound, as boto3 raises it
    try:
        resolver = core.get_component("credential_provider")
    except botocore.exceptions.ProfileNotFound:  # $AWS_PROFILE names none: reported when credentials are needed
        return session
    original = resolver.get_provider("custom-process")
    if original is not None:
        name = core.get_config_variable("profile") or "default"  # as botocore names it
        tracked = ProcessProvider(profile_name=name, load_config=lambda: core.full_config, popen=tracked_popen(name))
        resolver.providers[resolver.providers.index(original)] = tracked
    return session


def source_session(profile: str | None, region: str | None = None) -> boto3.Session:
    """The hub user's own credentials: ``profile`` (the hub profile the generated lines name) when it holds
    credentials, as botocore does for an explicit profile; otherwise the environment's
    ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``), which is how
    ``aws-vault exec`` and CI hand over credentials they keep elsewhere; otherwise the default chain.
    A profile whose credentials cannot be obtained (its credential_process fails, prints no JSON or
    expired credentials, or cannot be run) raises :class:`SourceFailed`."""
    import botocore.exceptions

    if profile is not None:
        try:
            session = profile_session(profile, region)
            credentials = session.get_credentials()
            # only what the profile itself holds: not the instance or container role botocore would fall back to
            if credentials is not None and credentials.method in PROFILE_METHODS:
                credentials.get_frozen_credentials()  # runs a refresh now (an expired credential_process answer)
                return session
        except botocore.exceptions.ProfileNotFound:
            pass
        except Exception as exc:
            failure = credential_failure(exc, profile)
            if failure is None:
                raise
            raise failure from None
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return boto3.Session(
            aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=os.environ.get("AWS_SESSION_TOKEN") or None,
            region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        )
    return profile_session(profile, region)


def _frozen(session: boto3.Session) -> Any:
    credentials = session.get_credentials()
    if credentials is None:
        import botocore.exceptions

        raise botocore.exceptions.NoCredentialsError()
    return credentials.get_frozen_credentials()


@dataclass(frozen=True)
class MfaSession:
    """What a switch is made from: ``session``; ``credentials`` None when the source was already a session
    (aws-vault's), ``cached`` when it came from the cache (and may have been revoked since)."""

    session: boto3.Session
    credentials: TemporaryCredentials | None
    cached: bool = False


STALE_CREDENTIALS = ("InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "InvalidToken")


def mfa_session(
    source: boto3.Session,
    *,
    serial: str,
    token: TokenProvider,
    cache: CredentialCache,
    max_age: int | None = None,
    endpoint_url: str | None = None,
    client_config: Any = None,
    refresh: bool = False,
) -> MfaSession:
    """A session that carries MFA for both sides of a switch.

    A cached session is reused (unless ``refresh``) while it is not about to expire and, when ``max_age``
    is given, while its MFA is younger than ``max_age`` (minus a margin); otherwise ``token`` is asked for a
    new code. Before a code is spent, the source must be an IAM user of the MFA device's account: not, say,
    the instance role of the machine, whose session would carry the person's name into CloudTrail.
    """
    frozen = _frozen(source)
    key = (frozen.access_key, serial, endpoint_url or "")
    cached = None if refresh else cache.get("session", key)
    if cached is not None and (max_age is None or (cached.mfa_age() or 0) < max_age - MFA_AGE_MARGIN):
        return MfaSession(cached.boto_session(source.region_name), cached, cached=True)
    sts = source.client(
        "sts", region_name=source.region_name or "us-east-1", endpoint_url=endpoint_url, config=client_config
    )
    hub = serial.split(":")[4] if serial.count(":") >= 5 else ""
    caller = sts.get_caller_identity()["Arn"]
    if not caller.startswith(f"arn:aws:iam::{hub}:user/"):
        raise SessionFailed(f"the source credentials are {caller}, not an IAM user of the hub account {hub}")
    if frozen.token:  # already a session (aws-vault exec): use it as it is; GetSessionToken would refuse it
        return MfaSession(source, None)
    code = token()
    if not code:
        reason = (
            "no MFA session is cached" if cached is None else f"the cached MFA is older than the role's {max_age} s"
        )
        raise SessionFailed(f"{reason}: an MFA code is needed (--token-code, SWITCHROLE_TOKEN_CODE or a terminal)")
    now = datetime.now(UTC)
    answer = sts.get_session_token(SerialNumber=serial, TokenCode=code, DurationSeconds=SESSION_SECONDS)
    credentials = TemporaryCredentials.from_sts(answer["Credentials"], now)
    cache.put("session", key, credentials)
    return MfaSession(credentials.boto_session(source.region_name), credentials)


def role_cache_key(source: boto3.Session, params: dict[str, Any], endpoint_url: str | None) -> tuple[str, ...]:
    """Who switches into what, how: the source's access key and every AssumeRole parameter but the MFA code."""
    relevant = {k: v for k, v in params.items() if k not in ("SerialNumber", "TokenCode")}
    return (_frozen(source).access_key, json.dumps(relevant, sort_keys=True), endpoint_url or "")
