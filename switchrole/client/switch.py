"""The STS switch core: what a switch asks for, AssumeRole's parameters, and one line for every way it fails.

Shared by the credential_process path (:mod:`switchrole.client.assume`), the smoke check
(:mod:`switchrole.live.smoke`) and the audit: a request (:class:`SmokeRequest`) from a role ARN or the
accounts file, botocore's standard retries with bounded waits (:data:`RETRIES`), and :func:`classify`, which
turns anything a switch can raise into :class:`SmokeFailed`, one clear line and an exit code, diagnosed for the
step that failed (which side refused, and why, in words; never an AWS answer's body).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from switchrole.client.console import display_name
from switchrole.client.prompt import NoCode
from switchrole.client.redact import redact
from switchrole.client.sessions import SessionFailed, credential_failure
from switchrole.model.exits import EXIT_FAILED, EXIT_USAGE
from switchrole.model.expiry import ended, iso, utc_now
from switchrole.model.organisation import (
    SSO_ROLE_PREFIX,
    SSO_ROLE_SUFFIX_CHARS,
    Organisation,
    RoleKind,
    TargetAccount,
    permission_set_grantee,
)
from switchrole.model.schema import IAM_NAME_CHARSET

# Standard retries (throttling included), and a bounded wait: an endpoint that never answers is reported within
# about a minute (4 attempts of at most 5 s to connect and 10 s to read, plus backoff).
RETRIES = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
ROLE_ARN = re.compile(rf"arn:aws[a-z-]*:iam::([0-9]{{12}}):role(/(?:[\x21-\x7e]*/)?)([{IAM_NAME_CHARSET}]+)")
SESSION_NAME_RE = re.compile(rf"[{IAM_NAME_CHARSET}]{{2,64}}")  # AssumeRole's RoleSessionName
# An Identity Center role (or a session of it): AWSReservedSSO_<permission set>_<16 hex>
SSO_SESSION_RE = re.compile(rf"[:/]{SSO_ROLE_PREFIX}([{IAM_NAME_CHARSET}]+)_[0-9a-f]{{{SSO_ROLE_SUFFIX_CHARS}}}(?:/|$)")
TokenProvider = Callable[[], str]


@dataclass(frozen=True)
class SmokeRequest:
    """One switch to check. ``source_identity`` sets SourceIdentity to the caller's user name."""

    role_arn: str
    label: str = ""
    session_name: str | None = None
    duration: int | None = None
    external_id: str | None = None
    source_identity: bool = False
    mfa_serial: str | None = None
    mfa_required: bool | None = None  # None: unknown (no accounts file)
    mfa_max_age: int | None = None  # the role's mfa.max_age_seconds: an older MFA session needs a new code
    source_has_mfa: bool = False  # the source is already an MFA session (check_user's, shared by its switches)
    account_name: str = ""  # from the accounts file; "" when the role is not in it
    role_key: str = ""

    @property
    def account_id(self) -> str:
        """The account of the role to switch into."""
        return parse_role_arn(self.role_arn)[0]


class SmokeFailed(Exception):
    """One line for the user (``message``), a kind for scripts, and AWS's own error message (``aws_message``:
    which side refused, in AWS's words; never a response body)."""

    def __init__(self, kind: str, message: str, exit_code: int = EXIT_FAILED, aws_message: str = "") -> None:
        super().__init__(message)
        self.kind, self.message, self.exit_code, self.aws_message = kind, message, exit_code, aws_message


def utc_iso(moment: datetime) -> str:
    """``2026-11-29T15:04:05Z``: to the second, in UTC (a naive time is taken as UTC, as botocore's are)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_role_arn(arn: str) -> tuple[str, str, str]:
    """(account id, path, name) of a role ARN; raises :class:`SmokeFailed` (usage) otherwise."""
    match = ROLE_ARN.fullmatch(arn)
    if not match:
        raise SmokeFailed("usage", f"--role-arn: {arn!r} is not an IAM role ARN (arn:aws:iam::<12 digits>:role/...)", 2)
    return match.group(1), match.group(2), match.group(3)


# --------------------------------------------------------------------------- requests from the accounts file


def request_for(org: Organisation, account: TargetAccount, kind: RoleKind, user: str | None) -> SmokeRequest:
    """The switch as ``user`` makes it; MFA when the role needs it, or when the user's groups carry the hub's
    MFA policy (which denies every switch without MFA, even into a role kind that opts out)."""
    mfa = kind.mfa_required or (user is not None and user in org.users and org.user_requires_mfa(user))
    return SmokeRequest(
        role_arn=kind.arn(account.account_id),
        label=display_name(account, kind),
        session_name=user,
        external_id=kind.external_id,
        source_identity=kind.source_identity,
        mfa_serial=org.hub.mfa_serial(user) if user and mfa else None,
        mfa_required=mfa,
        mfa_max_age=kind.mfa_max_age_seconds if kind.mfa_required else None,
        account_name=account.name,
        role_key=kind.key,
    )


def request_for_permission_set(
    org: Organisation, account: TargetAccount, kind: RoleKind, permission_set: str, person: str
) -> SmokeRequest:
    """The switch as ``person``, signed in to ``permission_set``'s role, makes it: no MFA code (an Identity
    Center session has no IAM MFA device; the trust relies on MFA at sign-in), the person's name as the
    session name, and at most an hour (role chaining)."""
    del permission_set  # the session decides which set; kept in the call for its readers
    return SmokeRequest(
        role_arn=kind.arn(account.account_id),
        label=display_name(account, kind),
        session_name=session_name_of(person, "switchrole"),
        external_id=kind.external_id,
        mfa_required=False,
        account_name=account.name,
        role_key=kind.key,
    )


def permission_set_of(org: Organisation, caller_arn: str) -> str | None:
    """The permission set whose Identity Center role ``caller_arn`` (a role session, or the role) is, with
    ``hub.identity_center`` in the file (the set may have no group there); None otherwise."""
    match = SSO_SESSION_RE.search(caller_arn)
    return None if match is None or org.hub.identity_center is None else match.group(1)


def find_role(org: Organisation, role_arn: str) -> tuple[TargetAccount, RoleKind] | None:
    """The account and role kind whose role has ``role_arn``, or None when the file has no such role."""
    for account in org.accounts:
        for key in account.role_keys:
            if org.role_kinds[key].arn(account.account_id) == role_arn:
                return account, org.role_kinds[key]
    return None


# --------------------------------------------------------------------------- diagnosis


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def explain_denied(
    request: SmokeRequest, caller_arn: str, org: Organisation | None, used_mfa: bool, direct_mfa: bool = False
) -> str:
    """Which side most likely refused an AssumeRole: the hub grant, its end (``until:``), MFA, or the trust.

    A switch into another account needs an Allow from both the caller's own (hub) policies and the role's
    trust policy. A missing hub grant is named first: it is what to fix (granting the role also adds the user
    to a ``trust: strict`` list), and it is the side AWS's own message names ("no identity-based policy
    allows"). A strict trust's list of users is the cause only for a caller the file does not know (a hub
    administrator with ``sts:AssumeRole`` on ``*`` from elsewhere).
    """
    user = caller_arn.rsplit("/", 1)[-1] if ":user/" in caller_arn else None
    direct = (
        "MFA: an MFA code on AssumeRole with long-term keys may not count for your own hub policies; "
        "switch from an MFA session instead (switchrole profiles, switchrole smoke)"
    )
    no_mfa = "MFA: the role requires MFA and none was given (--mfa-serial and --token-code)"
    if org is None:
        if request.mfa_required and not used_mfa:
            return no_mfa
        if direct_mfa:
            return direct
        return (
            "refused by the hub (no sts:AssumeRole grant for you) or by the role's trust policy "
            "(MFA, external id, source identity); pass --config accounts.yaml for a precise diagnosis"
        )
    found = find_role(org, request.role_arn)
    if found is None:
        return f"hub grant: this role is not in {org.source}, so the hub grants it to nobody (or it does not exist)"
    account, kind = found
    permission_set = permission_set_of(org, caller_arn)
    if permission_set is not None:
        return _explain_permission_set(org, request, account, kind, permission_set)
    admitted = org.users_granted(kind.key, account.name)
    known = user is not None and user in org.users
    if known and (account.name, kind.key) not in {(a.name, k.key) for a, k in org.user_roles(str(user))}:
        return (
            f"hub grant: {user} is not granted {kind.key} in {account.name} by {org.source} "
            f"(switchrole matrix --user {user})"
        )
    end = org.access_end(str(user), account.name, kind.key) if known else None
    if end is not None and ended(end, utc_now()):
        whose = "every switch of" if end == org.users[str(user)].until else "the grant of"
        return f"expired: {org.source} ends {whose} {user} at {iso(end)} (until:), and IAM enforces it"
    trust_gap = None
    if kind.external_id is not None and request.external_id != kind.external_id:
        trust_gap = "trust: the role requires its external id (--external-id)"
    elif kind.source_identity and not request.source_identity:
        trust_gap = "trust: the role requires SourceIdentity set to your user name (--source-identity)"
    if not known:  # the file does not know this caller's hub permissions: name what it does know is missing
        if kind.strict_trust:
            admitted += tuple(permission_set_grantee(s) for s in org.permission_sets_granted(kind.key, account.name))
            only = f"admits only {', '.join(admitted)}" if admitted else "admits nobody (no user is granted it)"
            return (
                f"trust: {kind.key} in {account.name} has trust: strict and {only}; "
                f"{caller_arn or 'the caller'} is not a hub user in {org.source}"
            )
        return trust_gap or f"hub grant: {caller_arn or 'the caller'} is not a hub user in {org.source}"
    if request.mfa_required and not used_mfa:
        return no_mfa
    if trust_gap:
        return trust_gap
    if direct_mfa:
        return direct
    return (
        f"MFA age or deployment: {org.source} grants this, so the MFA session is older than the role's maximum "
        f"MFA age, or SwitchRole-Hub or {account.stack_name} is not deployed from this version of the file"
    )


def _explain_permission_set(
    org: Organisation, request: SmokeRequest, account: TargetAccount, kind: RoleKind, permission_set: str
) -> str:
    """:func:`explain_denied` for a caller signed in through Identity Center to ``permission_set``'s role."""
    if not any(g.permission_set == permission_set for g in org.permission_set_groups):
        sets = org.permission_sets_granted(kind.key, account.name)
        if kind.strict_trust or kind.mfa_required:  # the trust admits only the granted sets' roles
            only = f"only permission set(s) {', '.join(sets)}" if sets else "no permission set"
            return (
                f"trust: {kind.key} in {account.name} admits, from Identity Center, {only}; permission set "
                f"{permission_set} is not a group of {org.source}"
            )
        return f"hub grant: permission set {permission_set} is not a group of {org.source}"
    if permission_set not in org.permission_sets_granted(kind.key, account.name):
        return (
            f"hub grant: permission set {permission_set} is not granted {kind.key} in {account.name} by "
            f"{org.source} (switchrole matrix --permission-set {permission_set})"
        )
    end = org.access_end(permission_set_grantee(permission_set), account.name, kind.key)
    if end is not None and ended(end, utc_now()):
        return f"expired: {org.source} ends the grant of permission set {permission_set} at {iso(end)} (until:)"
    if kind.external_id is not None and request.external_id != kind.external_id:
        return "trust: the role requires its external id (--external-id)"
    return (
        f"deployment: {org.source} grants this, so SwitchRole-Hub or {account.stack_name} is not deployed from this "
        f"version of the file, or Identity Center's permission set {permission_set} does not reference the hub's "
        "switchrole policies"
    )


def classify(
    exc: Exception,
    step: str,
    request: SmokeRequest,
    caller_arn: str,
    org: Organisation | None,
    used_mfa: bool,
    direct_mfa: bool = False,
    profile: str | None = None,
) -> SmokeFailed:
    """One clear line and an exit code for anything a smoke step can raise (``profile``: the source session's,
    named when its credentials cannot be obtained)."""
    if isinstance(exc, SessionFailed | NoCode):
        return SmokeFailed("usage", str(exc), EXIT_USAGE)
    source = credential_failure(exc, profile)
    if source is not None:
        return SmokeFailed(source.kind, source.message, source.exit_code)
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return SmokeFailed("no-credentials", f"profile not found: {exc.kwargs.get('profile')}", EXIT_USAGE)
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        held = (
            f"profile {profile} holds none (no keys, no credential_process) and no AWS_ACCESS_KEY_ID is set"
            if profile
            else "no hub profile is named and no AWS_ACCESS_KEY_ID is set"
        )
        return SmokeFailed(
            "no-credentials",
            f"no source credentials: {held}; keep the hub user's keys in the profile, or with aws-vault give it "
            "`credential_process = aws-vault exec HUB --json` or run `aws-vault exec HUB -- ...` "
            "(documentation: profiles, aws-vault)",
            EXIT_USAGE,
        )
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        return SmokeFailed("unreachable", f"cannot reach the AWS endpoint ({exc.kwargs.get('endpoint_url', exc)})")
    if not isinstance(exc, botocore.exceptions.ClientError):
        return _transport_failure(exc, step)
    code, message = _code(exc), _message(exc)
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"):
        return SmokeFailed("expired-credentials", f"{step}: the source credentials have expired; refresh them")
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "InvalidToken"):
        return SmokeFailed("invalid-credentials", f"{step}: the source credentials are not valid ({code})")
    if code in ("Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"):
        return SmokeFailed("throttled", f"{step}: still throttled after retries; try again later")
    if "MultiFactorAuthentication" in message:
        return SmokeFailed("mfa-invalid", f"{step}: the MFA code is invalid or expired; use a fresh code")
    if step == "AssumeRole":
        if code in ("NoSuchEntity", "NoSuchEntityException") or "cannot be found" in message:
            return SmokeFailed(
                "role-not-found", f"AssumeRole: role {request.role_arn} does not exist (is it deployed?)"
            )
        if code == "ValidationError" and "DurationSeconds" in message:
            return SmokeFailed("usage", f"AssumeRole: {message}", EXIT_USAGE)
        if code == "ValidationError" and "role chaining" in message:
            return SmokeFailed("usage", f"AssumeRole: {message} (a switch from an MFA session is capped at 1 h)", 2)
        if code == "AccessDenied":
            why = explain_denied(request, caller_arn, org, used_mfa, direct_mfa)
            return SmokeFailed("access-denied", f"AssumeRole refused; most likely {why}", aws_message=message)
    if step == "ListBuckets" and code in ("AccessDenied", "AllAccessDisabled"):
        return SmokeFailed("list-buckets-denied", "ListBuckets refused: the role may not call s3:ListAllMyBuckets")
    return SmokeFailed("error", f"{step}: {redact(code)[:100]}: {redact(message)[:200]}")


def _transport_failure(exc: Exception, step: str) -> SmokeFailed:
    """Everything but an AWS error answer, as one line that quotes nothing of the answer: botocore's messages
    for a malformed reply contain its body, and a body may hold credentials."""
    from botocore.parsers import ResponseParserError

    errors = botocore.exceptions
    if isinstance(exc, errors.ReadTimeoutError | errors.ConnectionClosedError | errors.HTTPClientError):
        return SmokeFailed(
            "unreachable", f"{step}: the AWS endpoint did not answer (timed out or closed the connection)"
        )
    if isinstance(exc, ResponseParserError):
        return SmokeFailed("bad-answer", f"{step}: the endpoint's answer is not a valid AWS response (not shown)")
    if isinstance(exc, errors.RefreshWithMFAUnsupportedError):  # a profile's failures: classify names the profile
        return SmokeFailed("no-credentials", f"{step}: the profile's credentials could not be obtained", EXIT_USAGE)
    if isinstance(exc, errors.ParamValidationError):
        return SmokeFailed("usage", f"{step}: a parameter AWS would refuse ({type(exc).__name__})", EXIT_USAGE)
    if isinstance(exc, errors.BotoCoreError):
        return SmokeFailed("error", f"{step}: {type(exc).__name__}")
    if isinstance(exc, KeyError | TypeError | ValueError):  # an answer without the fields it must have
        return SmokeFailed("bad-answer", f"{step}: the endpoint's answer lacks what AWS returns (not shown)")
    raise exc


def profile_of(session: boto3.Session) -> str | None:
    """The profile a session's credentials come from (botocore's: ``--profile``, else ``AWS_PROFILE``, else
    ``default``), to name when they cannot be obtained."""
    return getattr(session, "profile_name", None)


def assume_role_params(
    role_arn: str, session_name: str, duration: int | None, external_id: str | None
) -> dict[str, Any]:
    """AssumeRole's parameters; the optional ones only when set (AWS's defaults otherwise)."""
    params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if duration:
        params["DurationSeconds"] = duration
    if external_id:
        params["ExternalId"] = external_id
    return params


def session_name_of(caller_arn: str, fallback: str = "switchrole-smoke") -> str:
    """The caller's own name as a role session name (CloudTrail shows who switched): characters AssumeRole
    refuses become "-", at most 64; ``fallback`` when fewer than 2 remain."""
    name = re.sub(rf"[^{IAM_NAME_CHARSET}]", "-", caller_arn.rsplit("/", 1)[-1])[:64]
    return name if len(name) >= 2 else fallback
