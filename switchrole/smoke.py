"""The smoke check: prove a switch works by doing it, with credentials that are never printed.

Steps (each reported): who am I (``sts:GetCallerIdentity``), the MFA session
(``sts:GetSessionToken`` with the code, or the cached session: see
:mod:`switchrole.sessions`), ``sts:AssumeRole`` from it, who am I now (must be
``assumed-role/<role>/<session>`` in the role's account), ``s3:ListBuckets``
with the new credentials, and who am I again with the source credentials (the
switch back). Role credentials are kept in local variables only; the MFA
session goes to the 0600 cache unless the caller passes none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from switchrole.client.prompt import NoCode
from switchrole.config import Organisation, RoleKind, TargetAccount, ended, iso, utc_now
from switchrole.console import display_name
from switchrole.redact import redact
from switchrole.schema import IAM_NAME_CHARSET
from switchrole.sessions import CredentialCache, MfaSession, SessionFailed, credential_failure
from switchrole.sessions import mfa_session as open_mfa_session

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# Standard retries (throttling included), and a bounded wait: an endpoint that never answers is reported within
# about a minute (4 attempts of at most 5 s to connect and 10 s to read, plus backoff).
RETRIES = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)
ROLE_ARN = re.compile(rf"arn:aws[a-z-]*:iam::([0-9]{{12}}):role(/(?:[\x21-\x7e]*/)?)([{IAM_NAME_CHARSET}]+)")
SESSION_NAME_RE = re.compile(rf"[{IAM_NAME_CHARSET}]{{2,64}}")  # AssumeRole's RoleSessionName
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
        return parse_role_arn(self.role_arn)[0]


@dataclass
class Step:
    name: str
    ok: bool
    detail: str


@dataclass
class SmokeReport:
    request: SmokeRequest
    steps: list[Step] = field(default_factory=list)
    failure: str | None = None  # one clear line
    failure_kind: str | None = None
    aws_message: str = ""  # AWS's error message for a refusal (ARNs and the reason, no credential)
    exit_code: int = EXIT_OK
    expiration: datetime | None = None
    buckets: list[str] = field(default_factory=list)
    assumed_arn: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        """Everything worth reporting; by construction, no credential is in here."""
        return {
            "role_arn": self.request.role_arn,
            "label": self.request.label,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "failure": self.failure,
            "failure_kind": self.failure_kind,
            "assumed_arn": self.assumed_arn,
            "expiration": utc_iso(self.expiration) if self.expiration else None,
            "bucket_count": len(self.buckets) if self.ok else None,
            "buckets": self.buckets,
            "steps": [{"name": s.name, "ok": s.ok, "detail": s.detail} for s in self.steps],
        }


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


def find_role(org: Organisation, role_arn: str) -> tuple[TargetAccount, RoleKind] | None:
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
            "`credential_process = aws-vault exec HUB --json` or run `aws-vault exec HUB -- ...` (README: aws-vault)",
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


# --------------------------------------------------------------------------- the check


def run_smoke(
    session: boto3.Session,
    request: SmokeRequest,
    *,
    token: TokenProvider | None = None,
    org: Organisation | None = None,
    endpoint_url: str | None = None,
    cache: CredentialCache | None = None,
    session_first: bool = True,
) -> SmokeReport:
    """Perform one switch and report every step; ``endpoint_url`` None means AWS's standard resolution.

    With MFA, the switch is made from an MFA session (GetSessionToken with the code, or ``cache``'s);
    ``session_first=False`` is the AWS CLI's ``mfa_serial`` form instead (AssumeRole with the long-term keys
    and the code), which the demo shows refused under the strict reading of IAM's MFA keys.
    """
    report = SmokeReport(request)
    region = session.region_name or "us-east-1"
    # ``step`` is the AWS call under way (for classify), ``stage`` the reported step it belongs to
    step, stage, caller, used_mfa, mfa = "GetCallerIdentity", "source identity", "", request.source_has_mfa, False

    def client(service: str, source: boto3.Session = session, **credentials: str) -> Any:
        return source.client(service, region_name=region, endpoint_url=endpoint_url, config=RETRIES, **credentials)

    try:
        parse_role_arn(request.role_arn)
        source_sts = client("sts")
        caller = source_sts.get_caller_identity()["Arn"]
        report.steps.append(Step(stage, True, caller))

        switch_from = session
        mfa = bool(request.mfa_serial) and token is not None and request.mfa_required is not False
        if mfa and session_first:
            step, stage, used_mfa = "GetSessionToken", "MFA session", True
            assert request.mfa_serial is not None and token is not None
            opened = open_mfa_session(
                session,
                serial=request.mfa_serial,
                token=token,
                cache=cache or CredentialCache(None),
                max_age=request.mfa_max_age,
                endpoint_url=endpoint_url,
                client_config=RETRIES,
            )
            switch_from = opened.session
            report.steps.append(Step(stage, True, _session_detail(opened)))

        step, stage = "AssumeRole", "assume role"
        params = assume_role_params(
            request.role_arn, request.session_name or session_name_of(caller), request.duration, request.external_id
        )
        if request.source_identity:
            params["SourceIdentity"] = caller.rsplit("/", 1)[-1]
        if mfa and not session_first:
            params["SerialNumber"], params["TokenCode"] = request.mfa_serial, token()  # type: ignore[misc]
            used_mfa = True
        assumer = source_sts if switch_from is session else client("sts", switch_from)
        assumed = assumer.assume_role(**params)
        credentials = assumed["Credentials"]
        report.expiration = credentials["Expiration"]
        report.steps.append(
            Step(stage, True, f"session {params['RoleSessionName']}, expires {utc_iso(credentials['Expiration'])}")
        )
        role_credentials = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        del credentials, assumed

        step, stage = "GetCallerIdentity", "identity after switch"
        now = client("sts", **role_credentials).get_caller_identity()
        account, _, name = parse_role_arn(request.role_arn)
        expected = f":sts::{account}:assumed-role/{name}/{params['RoleSessionName']}"
        report.assumed_arn = now["Arn"]
        if now["Account"] != account or not now["Arn"].endswith(expected):
            raise SmokeFailed("wrong-identity", f"after the switch the caller is {now['Arn']}, not *{expected}")
        report.steps.append(Step(stage, True, now["Arn"]))

        step, stage = "ListBuckets", "list buckets"
        buckets = [b["Name"] for b in client("s3", **role_credentials).list_buckets().get("Buckets", [])]
        report.buckets = buckets
        report.steps.append(
            Step(stage, True, f"{len(buckets)} bucket(s)" + (f": {', '.join(buckets)}" if buckets else ""))
        )
        del role_credentials

        step, stage = "GetCallerIdentity", "switched back"
        back = source_sts.get_caller_identity()["Arn"]
        if back != caller:
            raise SmokeFailed("wrong-identity", f"switching back gave {back}, not {caller}")
        report.steps.append(Step(stage, True, back))
    except SmokeFailed as failure:
        _fail(report, stage, failure)
    except Exception as exc:
        direct = bool(mfa) and not session_first
        _fail(report, stage, classify(exc, step, request, caller, org, used_mfa, direct, profile_of(session)))
    return report


def profile_of(session: boto3.Session) -> str | None:
    """The profile a session's credentials come from (botocore's: ``--profile``, else ``AWS_PROFILE``, else
    ``default``), to name when they cannot be obtained."""
    return getattr(session, "profile_name", None)


def _session_detail(opened: MfaSession) -> str:
    """How the MFA session came about (worded so that no "token" is followed by a word redaction would hide)."""
    fresh = opened.credentials
    if fresh is None:
        return "the source credentials are an MFA session already"
    age = fresh.mfa_age()
    if opened.cached:
        return f"cached, MFA {age:.0f} s ago" if age is not None else "cached"
    return "new, with the MFA code (GetSessionToken)"


def _fail(report: SmokeReport, stage: str, failure: SmokeFailed) -> None:
    """The failed step under its reported name; its detail is the one-line cause (which names the AWS call)."""
    report.steps.append(Step(stage, False, failure.message))
    report.failure, report.failure_kind, report.exit_code = failure.message, failure.kind, failure.exit_code
    report.aws_message = failure.aws_message


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


def run_many(
    session: boto3.Session,
    requests: Sequence[SmokeRequest],
    *,
    token: TokenProvider | None = None,
    org: Organisation | None = None,
    endpoint_url: str | None = None,
    workers: int = 4,
    on_done: Callable[[SmokeReport], None] | None = None,
) -> list[SmokeReport]:
    """Check several switches concurrently (bounded pool); results keep the order of ``requests``."""

    def one(request: SmokeRequest) -> SmokeReport:
        report = run_smoke(session, request, token=token, org=org, endpoint_url=endpoint_url)
        if on_done is not None:
            on_done(report)
        return report

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(requests)))) as pool:
        return list(pool.map(one, requests))


def user_requests(
    org: Organisation, user: str, *, duration: int | None = None, now: datetime | None = None
) -> list[SmokeRequest]:
    """One request per (account, role) ``user`` may still switch into at ``now``, in file order (expired
    access is left out: IAM refuses it, as it should)."""
    live = org.user_roles(user, now=now or utc_now())
    return [replace(request_for(org, a, k, user), duration=duration) for a, k in live]


def check_user(
    session: boto3.Session,
    org: Organisation,
    user: str,
    *,
    token: TokenProvider | None,
    mfa_serial: str | None = None,
    duration: int | None = None,
    endpoint_url: str | None = None,
    workers: int = 4,
    on_done: Callable[[SmokeReport], None] | None = None,
    cache: CredentialCache | None = None,
    now: datetime | None = None,
) -> list[SmokeReport]:
    """Every switch ``user`` may still make at ``now`` (default: the current time), made with ``session``,
    which must be ``user``'s own (checked first: another person's credentials would spend their code on
    ``user``'s MFA device, or switch as themselves). With MFA, one MFA session (one code, or ``cache``'s session
    while it is younger than every role's maximum MFA age) serves all of them. Raises :class:`SmokeFailed` when
    the credentials are not ``user``'s (a usage error, exit 2: nothing was checked), when that session fails,
    or when MFA is needed and ``token`` is None."""
    requests = user_requests(org, user, duration=duration, now=now)
    caller = _check_caller(session, org, user, endpoint_url)
    if any(r.mfa_required for r in requests):
        if token is None:
            raise SmokeFailed(
                "usage", "these roles require MFA: pass --token-code (no terminal to prompt on)", EXIT_USAGE
            )
        serial = mfa_serial or org.hub.mfa_serial(user)
        ages = [r.mfa_max_age for r in requests if r.mfa_max_age is not None]
        try:
            session = open_mfa_session(
                session,
                serial=serial,
                token=token,
                cache=cache or CredentialCache(None),
                max_age=min(ages, default=None),
                endpoint_url=endpoint_url,
                client_config=RETRIES,
            ).session
        except Exception as exc:
            raise classify(
                exc, "GetSessionToken", requests[0], caller, org, True, profile=profile_of(session)
            ) from None
        requests = [replace(r, mfa_serial=None, source_has_mfa=True) for r in requests]  # the session carries MFA
    return run_many(session, requests, org=org, endpoint_url=endpoint_url, workers=workers, on_done=on_done)


def _check_caller(session: boto3.Session, org: Organisation, user: str, endpoint_url: str | None) -> str:
    """The source's ARN, when it is hub user ``user`` (any IAM path); otherwise :class:`SmokeFailed`, exit 2."""
    try:  # making the client loads the credentials (a profile's credential_process runs here)
        sts = session.client(
            "sts", region_name=session.region_name or "us-east-1", endpoint_url=endpoint_url, config=RETRIES
        )
        caller = str(sts.get_caller_identity()["Arn"])
    except Exception as exc:
        failed = classify(
            exc, "GetCallerIdentity", SmokeRequest(role_arn=""), "", org, False, profile=profile_of(session)
        )
        raise failed from None
    parts = caller.split(":")
    resource = parts[5] if len(parts) == 6 else ""
    if parts[4:5] == [org.hub.account_id] and resource.startswith("user/") and resource.rsplit("/", 1)[-1] == user:
        return caller
    hub_user = resource.startswith("user/") and parts[4:5] == [org.hub.account_id]
    whose = f"{resource.rsplit('/', 1)[-1]}'s" if hub_user else "not a hub user's"
    raise SmokeFailed(
        "wrong-user",
        f"--user {user}, but the credentials are {whose} ({caller}): use {user}'s profile (--profile) or keys",
        EXIT_USAGE,
    )


def worst(reports: Iterable[SmokeReport]) -> int:
    """Exit code of a batch: the worst single result (2 > 1 > 0)."""
    return max((r.exit_code for r in reports), default=EXIT_OK)
