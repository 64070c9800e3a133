"""Running an audit: the expected state from the file, getting into each account, reading them concurrently."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from switchrole.client.boto import session as boto3_session
from switchrole.infra.assembly_reader import ExpectedState, expected_state
from switchrole.live.audit.accounts import audit_account
from switchrole.live.audit.findings import (
    DEFAULT_MAX_KEY_AGE,
    WORKERS,
    AccountResult,
    AuditFailed,
    AuditReport,
    expired_findings,
)
from switchrole.live.audit.hub import audit_hub
from switchrole.model.organisation import Organisation, RoleKind, TargetAccount


def expected(org: Organisation) -> ExpectedState:
    """Synthesize the file (one stack per account, whatever the deployment mode: the roles and their documents
    are the same) into a temporary folder and read what a deploy leaves, intrinsics resolved."""
    from switchrole.infra.assembly import synth

    per_account = replace(org, deployment=replace(org.deployment, mode="stacks"))
    with tempfile.TemporaryDirectory(prefix="switchrole-audit-") as scratch:
        out = Path(scratch) / "cdk.out"
        synth(per_account, out, checks=False)
        return expected_state(out, org.hub.account_id, org.hub.region)


def assume_params(kind: RoleKind, account: TargetAccount, caller_arn: str) -> dict[str, Any]:
    """AssumeRole's parameters for the audit role, as `switchrole smoke` would pass them."""
    from switchrole.client.switch import assume_role_params, session_name_of

    session = session_name_of(caller_arn, fallback="switchrole-audit")  # CloudTrail shows who audited
    params = assume_role_params(kind.arn(account.account_id), session, None, kind.external_id)
    if kind.source_identity:
        params["SourceIdentity"] = caller_arn.rsplit("/", 1)[-1]
    return params


@dataclass(frozen=True)
class Auditor:
    """The hub session the audit reads with (an MFA session when one is needed) and how to reach AWS."""

    session: boto3.Session
    caller_arn: str
    endpoint_url: str | None = None
    region: str = "us-east-1"  # the hub's (connect sets it); IAM is global, STS answers in any region

    def client(self, service: str, session: boto3.Session | None = None) -> Any:
        from switchrole.client.switch import RETRIES

        source = session or self.session
        return source.client(
            service, region_name=source.region_name or self.region, endpoint_url=self.endpoint_url, config=RETRIES
        )


def connect(
    org: Organisation,
    source: boto3.Session,
    *,
    mfa_serial: str | None,
    token: Callable[[], str | None],
    cache: Any,
    endpoint_url: str | None = None,
) -> Auditor:
    """Who audits, and with what: the source credentials must be a hub principal. An MFA session is opened
    (one code, cached like `switchrole assume`'s) when ``mfa_serial`` is given, when the audit role kind needs
    MFA, or when the caller is a file user whose groups carry the hub's MFA policy (which denies IAM reads
    without MFA); the hub reads and every AssumeRole then come from that session."""
    from switchrole.client.sessions import mfa_session
    from switchrole.client.switch import RETRIES, SmokeRequest, classify

    step, caller = "GetCallerIdentity", ""
    try:
        sts = source.client(
            "sts", region_name=source.region_name or org.hub.region, endpoint_url=endpoint_url, config=RETRIES
        )
        caller = str(sts.get_caller_identity()["Arn"])
        if caller.split(":")[4] != org.hub.account_id:
            raise AuditFailed(f"the credentials are {caller}, not a principal of the hub account {org.hub.account_id}")
        kinds = {kind.key: kind for account in org.accounts if (kind := org.audit_kind_for(account)) is not None}
        with_mfa = [kind for kind in kinds.values() if kind.mfa_required]
        user = caller.rsplit("/", 1)[-1] if ":user/" in caller else None
        needs = (
            mfa_serial is not None
            or bool(with_mfa)
            or (user is not None and user in org.users and org.user_requires_mfa(user))
        )
        serial = mfa_serial or (org.hub.mfa_serial(user) if user else None)
        if not needs or serial is None:  # a role session (SSO, a pipeline) brings its own MFA, or needs none
            return Auditor(source, caller, endpoint_url, org.hub.region)
        step = "GetSessionToken"
        opened = mfa_session(
            source,
            serial=serial,
            token=token,
            cache=cache,
            max_age=min((kind.mfa_max_age_seconds for kind in with_mfa), default=None),
            endpoint_url=endpoint_url,
            client_config=RETRIES,
        )
    except AuditFailed:
        raise
    except Exception as exc:
        failure = classify(exc, step, SmokeRequest(role_arn="", mfa_required=True), caller, None, True)
        raise AuditFailed(failure.message, failure.exit_code) from None
    return Auditor(opened.session, caller, endpoint_url, org.hub.region)


def _failure(exc: Exception, step: str, role_arn: str = "") -> str:
    """One line for an account that could not be read (never an AWS answer's body)."""
    from switchrole.client.switch import SmokeFailed, SmokeRequest, classify

    try:
        failure = classify(exc, step, SmokeRequest(role_arn=role_arn or "-"), "", None, False)
    except Exception as other:  # classify re-raises what it does not know
        return f"{step}: {type(other).__name__}"
    return failure.message if isinstance(failure, SmokeFailed) else str(failure)


def run(
    org: Organisation,
    auditor: Auditor,
    state: ExpectedState,
    *,
    accounts: Sequence[TargetAccount] | None = None,
    max_key_age: int = DEFAULT_MAX_KEY_AGE,
    now: datetime | None = None,
    workers: int = WORKERS,
    on_done: Callable[[AccountResult], None] | None = None,
) -> AuditReport:
    """Audit the hub and ``accounts`` (default: every target account) concurrently, at most ``workers`` at once."""
    now = now or datetime.now(UTC)
    targets = list(org.accounts if accounts is None else accounts)
    sts = auditor.client("sts")

    def hub() -> AccountResult:
        result = AccountResult(org.hub.name, org.hub.account_id, hub=True)
        try:
            iam = auditor.client("iam")
            audit_hub(iam, org, state.hub, now=now, max_key_age=max_key_age, result=result, workers=workers)
        except Exception as exc:
            result.error, result.findings = _failure(exc, "hub IAM read"), []
        return result

    def target(account: TargetAccount) -> AccountResult:
        result = AccountResult(account.name, account.account_id)
        kind = org.audit_kind_for(account)
        if kind is None:
            result.error = (
                f"{account.name} has no role kind that can read IAM in {org.source} (audit: true, or one with "
                "SecurityAudit, IAMReadOnlyAccess or ReadOnlyAccess); it cannot be read"
            )
            return result
        step, role_arn = "AssumeRole", kind.arn(account.account_id)
        try:
            answer = sts.assume_role(**assume_params(kind, account, auditor.caller_arn))["Credentials"]
            session = boto3_session(
                answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"], region_name=account.region
            )
            del answer
            step = f"IAM read in {account.name}"
            roles = state.roles.get(account.account_id, {})
            audit_account(auditor.client("iam", session), org, account, roles, result)
        except Exception as exc:
            result.error, result.findings = _failure(exc, step, role_arn), []
        return result

    def done(result: AccountResult) -> AccountResult:
        if on_done is not None:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets) + 1))) as pool:
        hub_future = pool.submit(lambda: done(hub()))
        results = list(pool.map(lambda a: done(target(a)), targets))
        results.insert(0, hub_future.result())
    return AuditReport(results, max_key_age, auditor.caller_arn, expired_findings(org, now))
