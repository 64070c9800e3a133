"""``switchrole assume`` and ``switchrole session``: ``credential_process`` commands for generated AWS CLI profiles.

Every generated role profile runs ``switchrole assume``: from the hub user's
MFA session (one code, cached; see :mod:`switchrole.client.sessions`) it assumes the
role, with ``SourceIdentity`` and the external id where the role needs them,
and prints the role's temporary credentials in the credential_process JSON
format on stdout, for the CLI or SDK that called it, and nothing else. The hub
MFA-session profile runs ``switchrole session``, which prints the session
itself (for work in the hub account). The MFA code comes from ``--token-code``,
``$SWITCHROLE_TOKEN_CODE`` or a prompt on the terminal, only when no cached
session will do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3

from switchrole.client.sessions import (
    STALE_CREDENTIALS,
    CredentialCache,
    TemporaryCredentials,
    TokenProvider,
    mfa_session,
    role_cache_key,
)
from switchrole.client.switch import RETRIES, SmokeFailed, SmokeRequest, assume_role_params, classify, profile_of


@dataclass(frozen=True)
class AssumeRequest:
    """One ``switchrole assume``: the role, the session name and the options a generated profile passes."""

    role_arn: str
    session_name: str
    duration: int | None = None
    external_id: str | None = None
    source_identity: bool = False
    mfa_serial: str | None = None
    mfa_max_age: int | None = None


def _sts(session: boto3.Session, endpoint_url: str | None = None) -> Any:
    return session.client(
        "sts", region_name=session.region_name or "us-east-1", endpoint_url=endpoint_url, config=RETRIES
    )


def assume_role(
    source: boto3.Session,
    request: AssumeRequest,
    *,
    token: TokenProvider,
    cache: CredentialCache,
    endpoint_url: str | None = None,
) -> TemporaryCredentials:
    """The role's credentials: cached ones while they last, else AssumeRole from the MFA session (or the
    source, without MFA); raises :class:`SmokeFailed` with one line, diagnosed for the step that failed. A cached
    session that AWS no longer accepts (revoked, or from an emulator since restarted) is dropped and opened
    again once."""
    import botocore.exceptions

    params = assume_role_params(request.role_arn, request.session_name, request.duration, request.external_id)
    step, caller = "GetCallerIdentity", ""
    smoke_request = SmokeRequest(role_arn=request.role_arn, mfa_required=bool(request.mfa_serial))
    try:
        key = role_cache_key(source, {**params, "SourceIdentity": request.source_identity}, endpoint_url)
        cached = cache.get("role", key)
        if cached is not None:
            return cached
        if request.source_identity:
            caller = _sts(source, endpoint_url).get_caller_identity()["Arn"]
            params["SourceIdentity"] = caller.rsplit("/", 1)[-1]
        for refresh in (False, True):
            assumer, opened = source, None
            if request.mfa_serial:
                step = "GetSessionToken"
                opened = mfa_session(
                    source,
                    serial=request.mfa_serial,
                    token=token,
                    cache=cache,
                    max_age=request.mfa_max_age,
                    endpoint_url=endpoint_url,
                    client_config=RETRIES,
                    refresh=refresh,
                )
                assumer = opened.session
            step = "AssumeRole"
            try:
                answer = _sts(assumer, endpoint_url).assume_role(**params)
            except botocore.exceptions.ClientError as exc:
                stale = exc.response.get("Error", {}).get("Code") in STALE_CREDENTIALS
                if opened is not None and opened.cached and not refresh and stale:
                    continue
                raise
            credentials = TemporaryCredentials.from_sts(answer["Credentials"])
            break
    except Exception as exc:
        mfa = bool(request.mfa_serial)
        raise classify(exc, step, smoke_request, caller, None, mfa, profile=profile_of(source)) from None
    cache.put("role", key, credentials)
    return credentials


def session_credentials(
    source: boto3.Session,
    *,
    serial: str,
    token: TokenProvider,
    cache: CredentialCache,
    endpoint_url: str | None = None,
) -> TemporaryCredentials:
    """The hub user's MFA session itself (raises :class:`SmokeFailed` with one line)."""
    try:
        opened = mfa_session(
            source, serial=serial, token=token, cache=cache, endpoint_url=endpoint_url, client_config=RETRIES
        )
    except Exception as exc:
        request = SmokeRequest(role_arn="", mfa_required=True)
        raise classify(exc, "GetSessionToken", request, "", None, True, profile=profile_of(source)) from None
    if opened.credentials is None:  # the source is already a session (aws-vault): nothing to add
        raise SmokeFailed("usage", "the source credentials are already an MFA session (aws-vault?): use them", 2)
    return opened.credentials


def token_code(given: str | None, device: str | None = None) -> str:
    """--token-code, else $SWITCHROLE_TOKEN_CODE, else the code the person types at their terminal (never
    stdout; :class:`~switchrole.client.prompt.NoCode` when there is no terminal or nothing usable was typed)."""
    if given:
        return given
    if os.environ.get("SWITCHROLE_TOKEN_CODE"):
        return os.environ["SWITCHROLE_TOKEN_CODE"]
    from switchrole.client.deadline import paused
    from switchrole.client.prompt import read_code

    with paused():  # the person's time does not count
        return read_code(device)


__all__ = ["AssumeRequest", "SmokeFailed", "assume_role", "session_credentials", "token_code"]
