"""Request authorization for the local emulator: the IAM semantics switchrole relies on.

moto 5.2 checks the caller's identity policies but treats every condition it
does not implement as satisfied, never evaluates a trust policy across
accounts, and has no MFA context. Against switchrole's templates that is worse
than incomplete: AWS's MFA policy (a Deny with ``BoolIfExists``) would deny
every hub user everything, while the ``aws:ResourceAccount`` and MFA
conditions of the grants would be ignored.

This module replaces moto's authorization check (inside the emulator's process
only) with a small evaluator of the parts of IAM that switchrole's policies
use: explicit Deny over Allow; Action/NotAction and Resource wildcards; the
condition operators ``String*``, ``Arn*``, ``Bool``, ``Numeric*`` with
``IfExists`` and missing-key rules; the policy variable ``${aws:username}``;
and for ``sts:AssumeRole``, the target role's trust policy (account-root
principals included) with MFA taken from the request's ``SerialNumber`` and
``TokenCode``, the code checked against the virtual MFA device's seed. moto's
``GetSessionToken`` (one fixed key in no account) is replaced by sessions that
belong to the calling user and remember whether, and when, MFA was used.

The evaluator itself, pure, is :mod:`switchrole.iam.evaluate`; this module is its moto wiring (the
request, the sessions, the MFA readings). It is a model of IAM, not IAM: the template tests remain the proof of the
generated policies; the demo shows that they work together end to end.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from switchrole.iam.evaluate import (
    ALLOW,
    DENY,
    MFA_FAILED,
    evaluate,
    totp_valid,
)

# --------------------------------------------------------------------------- moto integration

# The emulated AWS Organizations membership: account id -> organization id (set through the admin API by the
# demo from hub.organization_id). A request whose resource (or caller) account is a member carries
# aws:ResourceOrgID (aws:PrincipalOrgID), as on AWS; any other account's key stays unmodelled (fails closed).
ORGANIZATION: dict[str, str] = {}


@dataclass(frozen=True)
class UserSession:
    """Temporary credentials from GetSessionToken: the IAM user, optionally MFA-authenticated."""

    account_id: str
    partition: str
    user: str
    secret: str
    token: str
    mfa_at: float | None


# moto's GetSessionToken returns one fixed key that maps to no account; these map to the calling user.
SESSIONS: dict[str, UserSession] = {}


def install() -> None:
    """Replace moto's authorization check and GetSessionToken with this module's (idempotent)."""
    import moto.iam.access_control as access_control
    import moto.iam.models as iam_models
    from moto.sts.models import STSBackend
    from moto.sts.responses import TokenResponse

    access_control.IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]
    TokenResponse.get_session_token = get_session_token  # type: ignore[method-assign]
    if not getattr(STSBackend.get_caller_identity, "switchrole", False):
        STSBackend.get_caller_identity = _identity_with_sessions(STSBackend.get_caller_identity)  # type: ignore[method-assign]
    if not getattr(access_control.create_access_key, "switchrole", False):
        access_control.create_access_key = _with_sessions(access_control.create_access_key)
        iam_models.get_account_id_from = get_account_id_from


def _with_sessions(original: Any) -> Any:
    def create_access_key(account_id: str, partition: str, access_key_id: str, headers: dict[str, str]) -> Any:
        session = SESSIONS.get(access_key_id)
        if session is None:
            return original(account_id, partition, access_key_id, headers)
        from moto.iam.access_control import IAMUserAccessKey

        key = IAMUserAccessKey.__new__(IAMUserAccessKey)  # the user's identity and policies, with this session's keys
        key.account_id, key.partition = session.account_id, session.partition
        key._owner_user_name, key._access_key_id, key._secret_access_key = session.user, access_key_id, session.secret
        return key

    create_access_key.switchrole = True  # type: ignore[attr-defined]
    return create_access_key


def _identity_with_sessions(original: Any) -> Any:
    def get_caller_identity(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
        session = SESSIONS.get(access_key_id)
        if session is None:
            user_id, arn, account = original(self, access_key_id, region)
            return str(user_id), str(arn), str(account)
        from moto.iam.models import iam_backends

        user = iam_backends[session.account_id][session.partition].users[session.user]
        return user.id, user.arn, session.account_id

    get_caller_identity.switchrole = True  # type: ignore[attr-defined]
    return get_caller_identity


def get_account_id_from(access_key: str) -> str:
    """The account of ``access_key``: a session's (:data:`SESSIONS`), else the one whose IAM holds the key, else
    moto's default account (as moto's own, which this replaces)."""
    session = SESSIONS.get(access_key)
    if session is not None:
        return session.account_id
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    # moto's own looks in every partition of every account and so creates each partition's IAM backend on the
    # way (each parses all of AWS's managed policies: seconds of the demo's CPU); a key is only ever in one that
    # exists, so only those are searched
    for account_id, account in list(iam_backends.items()):
        if any(access_key in backend.access_keys for backend in list(dict.values(account))):
            return str(account_id)
    return DEFAULT_ACCOUNT_ID


def get_session_token(self: Any) -> Any:
    """``sts:GetSessionToken`` for an IAM user's long-term key, checking the MFA code when one is given."""
    import secrets

    from moto.core.responses import ActionResult
    from moto.iam.models import iam_backends
    from moto.sts.utils import random_session_token

    key_id, account = self.get_access_key(), self.current_account
    backend = iam_backends[account][self.partition]
    user = next((u for u in backend.users.values() if any(k.access_key_id == key_id for k in u.access_keys)), None)
    if user is None:
        _raise_sts_denied("GetSessionToken needs the long-term access key of an IAM user")
    serial, code = self._get_param("SerialNumber"), self._get_param("TokenCode")
    mfa_at = None
    if serial is not None or code is not None:
        if not _mfa_code_valid(backend, user.name, serial, code):
            _raise_sts_denied(MFA_FAILED)
        mfa_at = time.time()
    duration = self._get_int_param("DurationSeconds", 43200)
    new_key = "ASIA" + secrets.token_hex(8).upper()
    session = UserSession(account, self.partition, user.name, secrets.token_urlsafe(30), random_session_token(), mfa_at)
    SESSIONS[new_key] = session
    expiration = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=duration)
    return ActionResult(
        {
            "Credentials": {
                "AccessKeyId": new_key,
                "SecretAccessKey": session.secret,
                "SessionToken": session.token,
                "Expiration": expiration,
            }
        }
    )


def _raise_sts_denied(message: str) -> NoReturn:
    from moto.core.exceptions import AccessDeniedError, _RESTError

    error = AccessDeniedError(user_arn="", action="")
    _RESTError.__init__(error, "AccessDenied", message)
    raise error


def _mfa_code_valid(backend: Any, user: str | None, serial: str | None, code: str | None) -> bool:
    """The code must come from a virtual MFA device enabled on the calling user."""
    device = backend.virtual_mfa_devices.get(serial)
    owner = backend.users.get(user) if user else None
    return bool(
        device is not None
        and owner is not None
        and serial in owner.mfa_devices
        and totp_valid(device.base32_string_seed, code or "")
    )


def _documents(policies: Iterable[Any]) -> list[dict[str, Any]]:
    from moto.iam.access_control import IAMPolicy

    return [IAMPolicy(p)._policy_json for p in policies]


def _param(request: Any, name: str) -> str | None:
    value = request._data.get(name)
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def _caller(request: Any) -> tuple[str, str | None, Any]:
    """(principal ARN, IAM user name or None, moto IAM backend of the caller's account)."""
    key = request._access_key
    arn = key.arn
    user = getattr(key, "_owner_user_name", None)
    if user is None and ":assumed-role/" in arn:
        role_name = arn.split("/")[1]
        for role in request.backend.roles.values():
            if role.name == role_name:
                arn = role.arn  # aws:PrincipalArn of a role session is the role's ARN
                break
    return arn, user, request.backend


STRICT, LENIENT = "strict", "lenient"
MFA_READINGS = (STRICT, LENIENT)
# How this emulator answers the contested question (documentation: the local AWS, MFA readings); it starts strict.
MFA_READING = {"value": STRICT}


def set_mfa_reading(reading: str) -> None:
    if reading not in MFA_READINGS:
        raise ValueError(f"MFA reading must be one of {', '.join(MFA_READINGS)}, not {reading!r}")
    MFA_READING["value"] = reading


def _mfa_contexts(request: Any, user: str | None, backend: Any) -> tuple[dict[str, str], dict[str, str]]:
    """MFA keys as IAM sets them, for the caller's own policies and for the target's trust policy.

    Absent for long-term keys; "false" for temporary credentials without MFA; present (with the
    age) in a session that was MFA-authenticated with GetSessionToken, for both sides. An AssumeRole
    signed with long-term keys and carrying ``SerialNumber``/``TokenCode`` (a valid code from the
    caller's own device) gives the *trust policy* MFA with age 0; whether the *caller's* policies see
    it too is the contested point: not under the strict reading, yes under the lenient one.
    """
    session = SESSIONS.get(request._access_key._access_key_id)
    if session is not None and session.mfa_at is not None:
        mfa = {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": str(int(time.time() - session.mfa_at))}
        return mfa, mfa
    temporary = session is not None or not request._access_key.arn.split(":")[5].startswith("user/")
    without: dict[str, str] = {"aws:MultiFactorAuthPresent": "false"} if temporary else {}
    serial, code = _param(request, "SerialNumber"), _param(request, "TokenCode")
    if serial is None and code is None:
        return without, without
    if not _mfa_code_valid(backend, user, serial, code):
        raise PermissionError(MFA_FAILED)
    given = {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "0"}
    return (given if MFA_READING["value"] == LENIENT else without), given


def request_resource(request: Any, resource: str) -> str:
    """The request's resource ARN; moto passes ``*`` for services it does not map (IAM and SSM among them),
    where a statement naming the resource (``user/${aws:username}``) would then never match."""
    if resource != "*":
        return resource
    if request._action.startswith("iam:"):
        return _iam_resource(request)
    if request._action not in ("ssm:GetParameter", "ssm:GetParameters"):
        return resource
    try:
        body = json.loads(request._body or "{}")
    except (TypeError, ValueError):
        return resource
    names = body.get("Names") or [body.get("Name")]
    if not names or not names[0]:
        return resource
    return f"arn:aws:ssm:{request._region}:{request.account_id}:parameter/{str(names[0]).lstrip('/')}"


def _iam_resource(request: Any) -> str:
    """IAM's resource for calls about a user (the named one, else the caller) or a virtual MFA device."""
    account = request.account_id
    if request._action == "iam:CreateVirtualMFADevice":
        return f"arn:aws:iam::{account}:mfa{_param(request, 'Path') or '/'}{_param(request, 'VirtualMFADeviceName')}"
    name = _param(request, "UserName") or getattr(request._access_key, "_owner_user_name", None)
    if name is None or request._action in ("iam:ListVirtualMFADevices", "iam:GetAccountPasswordPolicy"):
        return "*"
    user = request.backend.users.get(name)
    return str(user.arn) if user is not None else f"arn:aws:iam::{account}:user/{name}"


def request_contexts(request: Any, resource: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request context as the caller's identity policies see it, and as a trust policy sees it.

    Keys AWS sets that are not supplied here are :data:`UNMODELLED_KEYS`: a condition on them fails closed.
    """
    arn, user, backend = _caller(request)
    now = time.time()
    context: dict[str, Any] = {
        "aws:PrincipalArn": arn,
        "aws:PrincipalAccount": request.account_id,
        "aws:CurrentTime": datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now)),
        "aws:SourceIp": "127.0.0.1",
    }
    if user is not None:
        context["aws:username"] = user
    parts = resource.split(":")
    context["aws:ResourceAccount"] = parts[4] if len(parts) > 4 and parts[4].isdigit() else request.account_id
    for key, account in (
        ("aws:ResourceOrgID", context["aws:ResourceAccount"]),
        ("aws:PrincipalOrgID", request.account_id),
    ):
        if account in ORGANIZATION:
            context[key] = ORGANIZATION[account]
    if request._action.startswith("s3:"):
        context["s3:ResourceAccount"] = context["aws:ResourceAccount"]
    for param, key in (
        ("ExternalId", "sts:ExternalId"),
        ("SourceIdentity", "sts:SourceIdentity"),
        ("RoleSessionName", "sts:RoleSessionName"),
    ):
        value = _param(request, param)
        if value is not None:
            context[key] = value
    tags = {_param(request, f"Tags.member.{n}.Key"): _param(request, f"Tags.member.{n}.Value") for n in range(1, 51)}
    tags.pop(None, None)
    if tags:
        context["aws:TagKeys"] = sorted(str(k) for k in tags)
        context |= {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    identity_mfa, trust_mfa = _mfa_contexts(request, user, backend)
    return context | identity_mfa, context | trust_mfa


def _request_actions(request: Any) -> list[str]:
    """AssumeRole with SourceIdentity/Tags also needs those actions allowed, like IAM does."""
    actions = [request._action]
    if request._action == "sts:AssumeRole":
        if _param(request, "SourceIdentity") is not None:
            actions.append("sts:SetSourceIdentity")
        if any(k.startswith("Tags.member") for k in request._data):
            actions.append("sts:TagSession")
    return actions


def _target_role(resource: str) -> Any:
    from moto.iam.models import iam_backends

    parts = resource.split(":")
    if len(parts) < 6 or not parts[4].isdigit() or parts[4] not in iam_backends:
        return None
    backend = iam_backends[parts[4]][parts[1]]
    for role in backend.roles.values():
        if role.arn == resource:
            return role
    return None


NO_IDENTITY_ALLOW = "because no identity-based policy allows the {action} action"
IDENTITY_DENY = "with an explicit deny in an identity-based policy"
NO_TRUST_ALLOW = "because no resource-based policy allows the {action} action"  # the role's trust policy
TRUST_DENY = "with an explicit deny in a resource-based policy"
NO_SUCH_ROLE = "because the role does not exist"  # AWS does not say: the emulator does, for the demo's checks


def _reason(identity: str, trust: str | None, action: str) -> str:
    """Which side refused, in the words AWS's AccessDenied messages use (the demo checks refusals by it)."""
    if identity == DENY:
        return IDENTITY_DENY
    if trust == DENY:
        return TRUST_DENY
    if identity != ALLOW and trust != ALLOW:
        return NO_IDENTITY_ALLOW.format(action=action)
    return (NO_TRUST_ALLOW if identity == ALLOW else NO_IDENTITY_ALLOW).format(action=action)


def _deny(request: Any, message: str | None = None, *, reason: str | None = None) -> NoReturn:
    """Raise AWS's error; for STS, name the role (or the MFA failure) and the reason, as AWS's message does."""
    if not request._action.startswith("sts:"):
        request._raise_access_denied()
        raise AssertionError("unreachable: moto raises AccessDenied")
    from moto.core.exceptions import AccessDeniedError, _RESTError

    role_arn = _param(request, "RoleArn")
    error = AccessDeniedError(user_arn=request._access_key.arn, action=request._action)
    if message is None and role_arn:
        message = (
            f"User: {request._access_key.arn} is not authorized to perform: {request._action} on resource: {role_arn}"
            + (f" {reason}" if reason else "")
        )
    if message is not None:  # keep moto's error type and status, with AWS's wording
        _RESTError.__init__(error, "AccessDenied", message)
    raise error


CHAINED_SECONDS = 3600


def _check_duration(request: Any, role: Any, *, chained: bool) -> None:
    """``DurationSeconds`` as STS checks it (moto does not): at most the role's MaxSessionDuration, and at most
    one hour from temporary credentials. AWS documents that limit for role chaining and, in its knowledge
    center, for AssumeRole from GetSessionToken credentials too; the model applies the stricter reading."""
    duration = int(_param(request, "DurationSeconds") or 3600)
    if duration > int(role.max_session_duration or 3600):
        raise _validation_error(
            f"The requested DurationSeconds exceeds the MaxSessionDuration set for this role: {duration}"
        )
    if chained and duration > CHAINED_SECONDS:
        raise _validation_error(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        )


def _validation_error(message: str) -> Exception:
    """STS's ValidationError, as an HTTP error (moto answers 500 to its service exceptions raised here)."""
    from moto.core.exceptions import _RESTError

    return _RESTError("ValidationError", message)


def _session_may(action: str, session: UserSession) -> bool:
    """What AWS lets GetSessionToken credentials call at all: no STS call but AssumeRole and
    GetCallerIdentity, and no IAM call unless the session was MFA-authenticated."""
    if action.startswith("sts:"):
        return action in ("sts:AssumeRole", "sts:GetCallerIdentity")
    return not action.startswith("iam:") or session.mfa_at is not None


def check_action_permitted(self: Any, resource: str) -> None:
    """Drop-in for moto's ``IAMRequestBase.check_action_permitted`` (``self`` is the moto request)."""
    if self._action in ("sts:GetCallerIdentity", "sts:GetSessionToken"):  # need no permission in AWS either
        return
    resource = request_resource(self, resource)
    session = SESSIONS.get(self._access_key._access_key_id)
    if session is not None and not _session_may(self._action, session):
        _deny(self)
    try:
        context, trust_context = request_contexts(self, resource)
    except PermissionError as exc:
        _deny(self, str(exc))
    identity = _documents(self._access_key.collect_policies())
    actions = _request_actions(self)
    results = [evaluate(identity, action, resource, context) for action in actions]
    if self._action != "sts:AssumeRole":
        if any(r != ALLOW for r in results):
            _deny(self)
        return
    role = _target_role(resource)
    if role is None:  # no trust policy can allow it: AWS answers AccessDenied, not "no such role"
        _deny(self, reason=NO_SUCH_ROLE)
    _check_duration(self, role, chained=session is not None or ":assumed-role/" in self._access_key.arn)
    trust = [json.loads(role.assume_role_policy_document)]
    caller = context["aws:PrincipalArn"]
    cross_account = resource.split(":")[4] != self.account_id
    for action, mine in zip(actions, results, strict=True):
        theirs = evaluate(trust, action, None, trust_context, caller)
        if DENY in (mine, theirs):
            allowed = False
        elif cross_account:  # both the caller's account and the role's trust must allow it
            allowed = mine == theirs == ALLOW
        else:  # same account: the identity allow suffices with a trust naming the account; a trust naming
            # the caller's own ARN suffices alone
            exact = evaluate(trust, action, None, trust_context, caller, exactly=True)
            allowed = theirs == ALLOW and (mine == ALLOW or exact == ALLOW)
        if not allowed:
            _deny(self, reason=_reason(mine, theirs, action))
