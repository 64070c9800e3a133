"""Session first: one MFA code opens an MFA session, and every switch is an AssumeRole from that session.

Why not the AWS CLI's ``mfa_serial`` profiles: they call AssumeRole with the
user's *long-term* keys plus the MFA code. The role's trust policy sees that
MFA, but whether the caller's own policies do (the hub grants require
``aws:MultiFactorAuthPresent``, and the hub's MFA policy denies everything
without it) is contested, and the field reports say they do not. A session
from ``sts:GetSessionToken`` with the code carries MFA for both sides, so this
path works under either reading (documentation: "The embedded local AWS", MFA readings).

Credentials are cached (:mod:`switchrole.client.cache`) so that one code
serves every role until the session expires. A role whose
``mfa.max_age_seconds`` the cached session has outlived asks for a new code
(AWS checks ``aws:MultiFactorAuthAge`` when the role is assumed). Role
credentials are cached too, until shortly before they expire, so back-to-back
commands in one role make one AssumeRole. The code itself comes from
:mod:`switchrole.client.prompt` when no option or variable gives it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

# the cache's old home: these names are still imported from here
from switchrole.client.boto import session as boto3_session
from switchrole.client.cache import REFRESH_MARGIN as REFRESH_MARGIN
from switchrole.client.cache import CredentialCache as CredentialCache
from switchrole.client.cache import TemporaryCredentials as TemporaryCredentials
from switchrole.client.cache import default_cache_directory as default_cache_directory
from switchrole.client.prompt import NoCode

# The cached MFA session lasts 1 hour, not GetSessionToken's 12-hour default (900..129,600): the default
# mfa.max_age_seconds is 3,600, so a longer session would mostly be refused by the roles anyway, and a stolen
# cache file is worth at most an hour (credential changes need a 15-minute-fresh code: hub_user_policies.fresh_mfa).
SESSION_SECONDS = 3_600
# AWS documents AssumeRole from GetSessionToken credentials as limited to one hour, like role chaining
# (knowledge center "iam-role-chaining-limit"); asking for more fails, so switches from a session ask for at most this.
ROLE_SECONDS_FROM_SESSION = 3_600
MFA_AGE_MARGIN = 30  # ask for a new code this long before the role's maximum MFA age is reached

TokenProvider = Callable[[], str | None]


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
    has one) the command's deadline can stop (:mod:`switchrole.client.deadline`): botocore waits for it for ever."""
    import botocore.exceptions
    import botocore.session
    from botocore.credentials import ProcessProvider

    from switchrole.client.deadline import tracked_popen

    core = botocore.session.Session(profile=profile)
    session = boto3_session(region_name=region, botocore_session=core)  # ProfileNotFound, as boto3 raises it
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
        return boto3_session(
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
    reason = "no MFA session is cached" if cached is None else f"the cached MFA is older than the role's {max_age} s"
    try:
        code = token()
    except NoCode as exc:
        raise SessionFailed(f"{reason}: {exc}") from None
    if not code:
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
