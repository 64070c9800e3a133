"""The smoke check: prove a switch works by doing it, with credentials that are never printed.

Steps (each reported): who am I (``sts:GetCallerIdentity``), the MFA session
(``sts:GetSessionToken`` with the code, or the cached session: see
:mod:`switchrole.client.sessions`), ``sts:AssumeRole`` from it, who am I now (must be
``assumed-role/<role>/<session>`` in the role's account), ``s3:ListBuckets``
with the new credentials, and who am I again with the source credentials (the
switch back). Role credentials are kept in local variables only; the MFA
session goes to the 0600 cache unless the caller passes none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import boto3

from switchrole.client.sessions import CredentialCache, MfaSession
from switchrole.client.sessions import mfa_session as open_mfa_session
from switchrole.client.switch import (
    RETRIES,
    SmokeFailed,
    SmokeRequest,
    TokenProvider,
    assume_role_params,
    classify,
    parse_role_arn,
    permission_set_of,
    profile_of,
    request_for,
    request_for_permission_set,
    session_name_of,
    utc_iso,
)
from switchrole.model.exits import EXIT_OK, EXIT_USAGE
from switchrole.model.expiry import utc_now
from switchrole.model.organisation import Organisation


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


def permission_set_requests(
    org: Organisation, permission_set: str, person: str, *, now: datetime | None = None
) -> list[SmokeRequest]:
    """One request per (account, role) ``permission_set``'s people may still switch into at ``now``, in file
    order, each as ``person`` (the session name)."""
    live = org.permission_set_roles(permission_set, now=now or utc_now())
    return [request_for_permission_set(org, a, k, permission_set, person) for a, k in live]


def check_permission_set(
    session: boto3.Session,
    org: Organisation,
    permission_set: str,
    *,
    endpoint_url: str | None = None,
    workers: int = 4,
    on_done: Callable[[SmokeReport], None] | None = None,
    now: datetime | None = None,
) -> list[SmokeReport]:
    """Every switch ``permission_set``'s people may still make at ``now``, made with ``session``, which must be
    a session of that set's Identity Center role in the hub (checked first); the person's name in it becomes
    each switch's session name. No MFA code: Identity Center asked for it at sign-in."""
    caller = _caller(session, org, endpoint_url)
    parts = caller.split(":")
    if parts[4:5] != [org.hub.account_id] or permission_set_of(org, caller) != permission_set:
        raise SmokeFailed(
            "wrong-user",
            f"--permission-set {permission_set}, but the credentials are not a session of its Identity Center role "
            f"in the hub ({caller}): sign in with `aws sso login` and use the set's hub profile (--profile)",
            EXIT_USAGE,
        )
    requests = permission_set_requests(org, permission_set, caller.rsplit("/", 1)[-1], now=now)
    return run_many(session, requests, org=org, endpoint_url=endpoint_url, workers=workers, on_done=on_done)


def _caller(session: boto3.Session, org: Organisation, endpoint_url: str | None) -> str:
    """The source's ARN, or :class:`SmokeFailed` when the credentials cannot say."""
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
    return caller


def _check_caller(session: boto3.Session, org: Organisation, user: str, endpoint_url: str | None) -> str:
    """The source's ARN, when it is hub user ``user`` (any IAM path); otherwise :class:`SmokeFailed`, exit 2."""
    caller = _caller(session, org, endpoint_url)
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
