"""Every smoke error path with real botocore errors (botocore's Stubber), and no secret in any output."""

from __future__ import annotations

import datetime as dt
import http.server
import io
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from rich.console import Console

from switchrole.cli import smoke as smoke_cli
from switchrole.client.assume import AssumeRequest, assume_role
from switchrole.client.sessions import CredentialCache
from switchrole.client.switch import SmokeFailed, SmokeRequest, request_for, utc_iso
from switchrole.iam import policies
from switchrole.iam.evaluate import totp
from switchrole.live.smoke import SmokeReport, check_user, run_smoke
from switchrole.local.server import LocalAws
from switchrole.model.loading import loads
from switchrole.model.organisation import Organisation

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN" * 4
ROLE = "arn:aws:iam::222222222222:role/switchrole/ReadOnly"
USER = "arn:aws:iam::111111111111:user/alice"
EXPIRY = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


class SequencedSession:
    """Hands out real botocore clients with Stubber-queued responses: one plan entry per client, in creation order.

    run_smoke creates the source STS client first, then the role's STS and S3 clients.
    """

    region_name = "us-east-1"

    def __init__(self, plan: list[tuple[str, list[tuple[str, str, Any]]]]) -> None:
        self.plan = plan
        self.stubbers: list[Stubber] = []

    def client(self, service: str, **kwargs: Any) -> Any:
        expected_service, steps = self.plan.pop(0)
        assert service == expected_service
        client = boto3.client(
            service, region_name="us-east-1", aws_access_key_id="AKIATESTTESTTESTTEST", aws_secret_access_key="test"
        )
        stubber = Stubber(client)
        for kind, operation, response in steps:
            if kind == "ok":
                stubber.add_response(operation, response)
            else:
                code, message, status = json.loads(response)
                stubber.add_client_error(operation, code, message, status)
        stubber.activate()
        self.stubbers.append(stubber)
        return client


def identity(arn: str, account: str) -> dict[str, Any]:
    return {"Arn": arn, "Account": account, "UserId": "AIDA"}


def assumed() -> dict[str, Any]:
    return {
        "Credentials": {
            "AccessKeyId": "ASIAROLEKEYROLEKEY00",
            "SecretAccessKey": SECRET,
            "SessionToken": TOKEN,
            "Expiration": EXPIRY,
        },
        "AssumedRoleUser": {
            "AssumedRoleId": "AROA:alice",
            "Arn": "arn:aws:sts::222222222222:assumed-role/ReadOnly/alice",
        },
    }


def ok(op: str, response: dict[str, Any]) -> tuple[str, str, Any]:
    return ("ok", op, response)


def err(op: str, code: str, message: str = "", status: int = 400) -> tuple[str, str, Any]:
    return ("error", op, json.dumps([code, message, status]))


def full_plan(
    *,
    assume: tuple[str, str, Any] | None = None,
    after: tuple[str, str, Any] | None = None,
    buckets: tuple[str, str, Any] | None = None,
) -> list[tuple[str, list[tuple[str, str, Any]]]]:
    return [
        (
            "sts",
            [
                ok("get_caller_identity", identity(USER, "111111111111")),
                assume or ok("assume_role", assumed()),
                ok("get_caller_identity", identity(USER, "111111111111")),
            ],
        ),
        (
            "sts",
            [
                after
                or ok(
                    "get_caller_identity",
                    identity("arn:aws:sts::222222222222:assumed-role/ReadOnly/alice", "222222222222"),
                )
            ],
        ),
        (
            "s3",
            [buckets or ok("list_buckets", {"Buckets": [{"Name": "shop-data"}, {"Name": "shop-logs"}], "Owner": {}})],
        ),
    ]


REQUEST = SmokeRequest(role_arn=ROLE, label="shop-prod-ReadOnly", session_name="alice")


def test_a_successful_switch_reports_every_step() -> None:
    report = run_smoke(SequencedSession(full_plan()), REQUEST)  # type: ignore[arg-type]
    assert report.ok, report.failure
    assert [s.name for s in report.steps] == [
        "source identity",
        "assume role",
        "identity after switch",
        "list buckets",
        "switched back",
    ]
    assert report.buckets == ["shop-data", "shop-logs"]
    assert report.expiration == EXPIRY


@pytest.mark.parametrize(
    ("plan", "kind", "words"),
    [
        (
            full_plan(
                assume=err("assume_role", "AccessDenied", "User: x is not authorized to perform: sts:AssumeRole", 403)
            ),
            "access-denied",
            "most likely",
        ),
        (
            full_plan(
                assume=err(
                    "assume_role",
                    "AccessDenied",
                    "MultiFactorAuthentication failed with invalid MFA one time pass code.",
                    403,
                )
            ),
            "mfa-invalid",
            "MFA code is invalid or expired",
        ),
        (
            full_plan(assume=err("assume_role", "NoSuchEntity", "The role cannot be found", 404)),
            "role-not-found",
            "does not exist",
        ),
        (
            full_plan(
                assume=err(
                    "assume_role", "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration"
                )
            ),
            "usage",
            "DurationSeconds",
        ),
        (
            full_plan(buckets=err("list_buckets", "AccessDenied", "Access Denied", 403)),
            "list-buckets-denied",
            "ListBuckets refused",
        ),
        (
            full_plan(
                after=ok(
                    "get_caller_identity",
                    identity("arn:aws:sts::999999999999:assumed-role/Other/alice", "999999999999"),
                )
            ),
            "wrong-identity",
            "not *",
        ),
    ],
    ids=["denied", "mfa-invalid", "role-not-found", "duration", "list-buckets-denied", "wrong-identity"],
)
def test_failures_are_one_clear_line(plan: Any, kind: str, words: str) -> None:
    report = run_smoke(SequencedSession(plan), REQUEST)  # type: ignore[arg-type]
    assert not report.ok
    assert report.failure_kind == kind
    assert words in (report.failure or "")
    assert "\n" not in (report.failure or "")
    assert report.exit_code == (2 if kind == "usage" else 1)


@pytest.mark.parametrize(
    ("code", "kind"),
    [("ExpiredToken", "expired-credentials"), ("InvalidClientTokenId", "invalid-credentials")],
)
def test_source_credential_problems(code: str, kind: str) -> None:
    plan = [("sts", [err("get_caller_identity", code, "The security token included in the request is expired", 403)])]
    report = run_smoke(SequencedSession(plan), REQUEST)  # type: ignore[arg-type]
    assert report.failure_kind == kind
    assert report.exit_code == 1


class ThrottlingSts(http.server.BaseHTTPRequestHandler):
    """An HTTP endpoint that always answers like a throttled STS (real botocore, real retries)."""

    requests = 0
    body = (
        b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"
    )

    def do_POST(self) -> None:
        type(self).requests += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def test_throttling_is_retried_with_standard_retries_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)  # no waiting in tests
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ThrottlingSts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = boto3.Session(aws_access_key_id="AKIATHROTTLED0000000", aws_secret_access_key="x")
        report = run_smoke(session, REQUEST, endpoint_url=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
    assert report.failure_kind == "throttled"
    assert ThrottlingSts.requests == 4  # standard mode, retries={"max_attempts": 3}: 1 call + 3 retries


def test_missing_credentials_are_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    report = run_smoke(boto3.Session(), REQUEST, endpoint_url="http://127.0.0.1:9")
    assert report.failure_kind == "no-credentials"
    assert report.exit_code == 2


def test_unreachable_endpoint() -> None:
    session = boto3.Session(aws_access_key_id="AKIAUNREACHABLE00000", aws_secret_access_key="x")
    report = run_smoke(session, REQUEST, endpoint_url="http://127.0.0.1:9")
    assert report.failure_kind == "unreachable"
    assert "cannot reach" in (report.failure or "")


def test_invalid_role_arn_is_a_usage_error() -> None:
    report = run_smoke(SequencedSession([("sts", [])]), SmokeRequest(role_arn="arn:aws:iam::1:role/x"))  # type: ignore[arg-type]
    assert report.exit_code == 2


def test_diagnosis_names_the_side_that_refused(example_org: Organisation) -> None:
    denied = err("assume_role", "AccessDenied", "not authorized", 403)
    admin = request_for(example_org, example_org.account("shop-prod"), example_org.role_kinds["Admin"], "bob")
    plan = full_plan(assume=denied)
    plan[0][1][0] = ok("get_caller_identity", identity("arn:aws:iam::111111111111:user/bob", "111111111111"))
    report = run_smoke(SequencedSession(plan), admin, org=example_org, token=lambda: "123456", session_first=False)  # type: ignore[arg-type]
    assert "hub grant: bob is not granted Admin in shop-prod" in (report.failure or "")  # IAM checks it first

    plan = full_plan(assume=denied)  # a hub administrator the file does not know: the strict trust refuses
    plan[0][1][0] = ok("get_caller_identity", identity("arn:aws:iam::111111111111:user/root-ops", "111111111111"))
    report = run_smoke(SequencedSession(plan), admin, org=example_org, token=lambda: "123456", session_first=False)  # type: ignore[arg-type]
    assert "trust: Admin in shop-prod has trust: strict and admits only alice; arn:aws:iam::111111111111:user/" in (
        report.failure or ""
    )

    developer = request_for(example_org, example_org.account("shop-dev"), example_org.role_kinds["Developer"], None)
    plan = full_plan(assume=denied)  # the same administrator, without the SourceIdentity the trust requires
    plan[0][1][0] = ok("get_caller_identity", identity("arn:aws:iam::111111111111:user/root-ops", "111111111111"))
    no_identity = replace(developer, source_identity=False)
    report = run_smoke(SequencedSession(plan), no_identity, org=example_org, token=lambda: "1", session_first=False)  # type: ignore[arg-type]
    assert "trust: the role requires SourceIdentity" in (report.failure or "")  # known missing, not "not a hub user"

    readonly = request_for(example_org, example_org.account("data-prod"), example_org.role_kinds["ReadOnly"], "bob")
    plan = full_plan(assume=denied)
    plan[0][1][0] = ok("get_caller_identity", identity("arn:aws:iam::111111111111:user/bob", "111111111111"))
    report = run_smoke(SequencedSession(plan), readonly, org=example_org, token=lambda: "123456", session_first=False)  # type: ignore[arg-type]
    assert "hub grant: bob is not granted ReadOnly in data-prod" in (report.failure or "")

    granted = request_for(example_org, example_org.account("shop-prod"), example_org.role_kinds["ReadOnly"], "bob")
    plan = full_plan(assume=denied)
    plan[0][1][0] = ok("get_caller_identity", identity("arn:aws:iam::111111111111:user/bob", "111111111111"))
    report = run_smoke(SequencedSession(plan), granted, org=example_org, token=lambda: "123456", session_first=False)  # type: ignore[arg-type]
    assert "switch from an MFA session instead" in (report.failure or "")  # granted, yet refused: the strict reading

    plan = full_plan(assume=denied)
    report = run_smoke(SequencedSession(plan), readonly)  # type: ignore[arg-type]
    assert "MFA: the role requires MFA" in (report.failure or "")


def test_all_checks_whose_credentials_they_are_first(example_org: Organisation) -> None:
    """A role session is nobody's hub user; a user at an IAM path is still the user (then MFA is asked for)."""

    def caller(arn: str) -> SequencedSession:
        return SequencedSession([("sts", [ok("get_caller_identity", identity(arn, "111111111111"))])])

    with pytest.raises(SmokeFailed) as refused:
        check_user(caller("arn:aws:sts::111111111111:assumed-role/Ops/alice"), example_org, "alice", token=None)  # type: ignore[arg-type]
    assert refused.value.exit_code == 2
    assert refused.value.message.startswith("--user alice, but the credentials are not a hub user's (arn:aws:sts::")
    with pytest.raises(SmokeFailed) as asked:
        check_user(caller("arn:aws:iam::111111111111:user/people/alice"), example_org, "alice", token=None)  # type: ignore[arg-type]
    assert "pass --token-code" in asked.value.message


def test_no_secret_in_any_output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The role's secret key and session token appear in no report, table, JSON or console output."""
    good = run_smoke(SequencedSession(full_plan()), REQUEST)  # type: ignore[arg-type]
    bad = run_smoke(SequencedSession(full_plan(buckets=err("list_buckets", "AccessDenied", "", 403))), REQUEST)  # type: ignore[arg-type]
    buffer = io.StringIO()
    console = Console(file=buffer, width=200)
    monkeypatch.setattr(smoke_cli, "out", console)
    monkeypatch.setattr(smoke_cli, "err", console)
    for report in (good, bad):
        smoke_cli._print_single(report, as_json=False)
        smoke_cli._print_single(report, as_json=True)
    console.print(smoke_cli.summary_table([good, bad], title="t"))
    rendered = (
        buffer.getvalue()
        + capsys.readouterr().out
        + json.dumps([good.to_dict(), bad.to_dict()])
        + repr(good)
        + repr(bad)
    )
    assert SECRET not in rendered
    assert TOKEN[:20] not in rendered
    assert "ASIAROLEKEYROLEKEY00" not in rendered


# --------------------------------------------------------------------------- on the local AWS: what a person sees

PAYMENTS = """\
hub: {account_id: "111111111111", name: identity}
roles:
  ReadOnly: {managed_policies: [ReadOnlyAccess]}
  PlatformAdministrator: {managed_policies: [AdministratorAccess], trust: strict}
accounts:
  - {name: payments-prod-eu, account_id: "222222222222", roles: [ReadOnly, PlatformAdministrator]}
  - {name: payments-prod-us, account_id: "333333333333", roles: [ReadOnly, PlatformAdministrator]}
groups:
  readers: {grants: [{role: ReadOnly, accounts: "*"}]}
  admins: {grants: [{role: PlatformAdministrator, accounts: "*"}]}
users:
  ana: {groups: [readers, admins]}
  hana: {groups: [readers]}
"""
NOT_DEPLOYED = ("payments-prod-us", "PlatformAdministrator")  # in the file, missing from the emulator
ISO_SECOND = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@dataclass
class Payments:
    aws: LocalAws
    org: Organisation
    keys: dict[str, tuple[str, str]]  # user -> (access key id, secret)
    seeds: dict[str, str]

    def session(self, user: str) -> boto3.Session:
        return boto3.Session(*self.keys[user], region_name="us-east-1")

    def code(self, user: str) -> str:
        return totp(self.seeds[user])


def _setup_session(aws: LocalAws, account: str) -> boto3.Session:
    """Credentials in ``account`` while authorization is off (moto takes the account from the role ARN)."""
    sts = boto3.client("sts", endpoint_url=aws.endpoint, region_name="us-east-1",
                       aws_access_key_id="AKIASETUP", aws_secret_access_key="x")  # fmt: skip
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup")["Credentials"]
    return boto3.Session(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], region_name="us-east-1")


@pytest.fixture(scope="module")
def payments() -> Iterator[Payments]:
    """PAYMENTS as the stacks would deploy it, built from the same policy builders (no CDK: ~1 s): target roles
    with their trust policies and managed policies, hub groups with their grant policies, users with access
    keys and virtual MFA devices; then authorization on (switchrole's model: trust, MFA, evaluation order)."""
    org = loads(PAYMENTS, "payments.yaml")
    with LocalAws() as aws:
        for account in org.accounts:
            setup = _setup_session(aws, account.account_id)
            iam = setup.client("iam", endpoint_url=aws.endpoint)
            for key in account.role_keys:
                kind = org.role_kinds[key]
                if (account.name, key) == NOT_DEPLOYED:
                    continue
                trust = json.dumps(policies.trust_policy(org, account, kind))
                iam.create_role(RoleName=kind.name, Path=kind.path, AssumeRolePolicyDocument=trust)
                for arn in kind.managed_policy_arns:
                    iam.attach_role_policy(RoleName=kind.name, PolicyArn=arn)
            setup.client("s3", endpoint_url=aws.endpoint).create_bucket(Bucket=f"{account.name}-data")
        iam = _setup_session(aws, org.hub.account_id).client("iam", endpoint_url=aws.endpoint)
        for group in org.groups:
            iam.create_group(GroupName=group)
            for n, grant in enumerate(policies.checked_grant_policies(org, group)):
                iam.put_group_policy(GroupName=group, PolicyName=f"grant-{n}", PolicyDocument=json.dumps(grant))
        keys, seeds = {}, {}
        for user in org.users:
            iam.create_user(UserName=user)
            for group in org.users[user].groups:
                iam.add_user_to_group(GroupName=group, UserName=user)
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
            device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
            seed = device["Base32StringSeed"]
            seeds[user] = seed.decode() if isinstance(seed, bytes) else seed
            now = time.time()
            iam.enable_mfa_device(UserName=user, SerialNumber=device["SerialNumber"],
                                  AuthenticationCode1=totp(seeds[user], now - 30),
                                  AuthenticationCode2=totp(seeds[user], now))  # fmt: skip
        aws.enforce_authorization()
        yield Payments(aws, org, keys, seeds)


@dataclass
class Streams:
    code: int
    stdout: str
    stderr: str


def smoke_as(
    payments: Payments,
    who: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    *,
    role_arn: str | None = None,
    user: str | None = None,
    as_json: bool = False,
    width: int = 80,
) -> Streams:
    """`switchrole smoke` as the CLI runs it (standard AWS settings: endpoint and keys from the environment),
    with ``who``'s keys and MFA code, on a terminal ``width`` columns wide; both streams captured."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", payments.aws.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", payments.keys[who][0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", payments.keys[who][1])
    stdout, stderr = io.StringIO(), io.StringIO()
    monkeypatch.setattr(smoke_cli, "out", Console(file=stdout, width=width, highlight=False))
    monkeypatch.setattr(smoke_cli, "err", Console(file=stderr, width=width, highlight=False, soft_wrap=True))
    options = smoke_cli.Options(
        role_arn=role_arn, all_roles=user is not None, user=user, org=payments.org, profile=None, mfa_serial=None,
        token_code=payments.code(who), session_name=None, duration=None, external_id=None, source_identity=None,
        as_json=as_json, workers=4, cache=False,
    )  # fmt: skip
    return Streams(smoke_cli.run(options), stdout.getvalue(), stderr.getvalue())


def role(payments: Payments, account: str, key: str) -> str:
    return payments.org.role_kinds[key].arn(payments.org.account(account).account_id)


def test_no_hub_grant_for_a_strict_role_is_diagnosed_as_the_hub_grant(payments: Payments) -> None:
    """IAM checks the caller's own policies before the trust: hana has no grant, so the grant is the cause (the
    strict trust, which admits only ana, would refuse her too, but it is not what to fix)."""
    org = payments.org
    request = request_for(org, org.account("payments-prod-eu"), org.role_kinds["PlatformAdministrator"], "hana")
    report = run_smoke(
        payments.session("hana"),
        request,
        token=lambda: payments.code("hana"),
        org=org,
        endpoint_url=payments.aws.endpoint,
    )
    assert report.failure_kind == "access-denied"
    assert "no identity-based policy allows" in report.aws_message  # AWS says so too: the hub side refused
    assert report.failure == (
        "AssumeRole refused; most likely hub grant: hana is not granted PlatformAdministrator in payments-prod-eu "
        "by payments.yaml (switchrole matrix --user hana)"
    )


def test_all_with_another_users_credentials_says_so_before_spending_a_code(
    payments: Payments, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """`--all --user ana` with hana's keys: a usage error (exit 2, nothing checked), not "MFA code is invalid"."""
    result = smoke_as(payments, "hana", monkeypatch, tmp_path, user="ana")
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "--user ana, but the credentials are hana's (arn:aws:iam::111111111111:user/hana): "
        "use ana's profile (--profile) or keys\n"
    )
    mine = smoke_as(payments, "hana", monkeypatch, tmp_path, user="hana")  # her own: her switches run
    assert mine.code == 0, mine.stderr
    assert "2 switches: 2 passed, 0 failed" in mine.stdout


def test_the_summary_fits_80_columns_without_cutting_account_or_role(
    payments: Payments, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Rows tell apart at 80 columns; a count closes the table; each failure's cause is one line on stderr,
    named by account and role, and diagnosed for a switch made from --all's shared MFA session."""
    result = smoke_as(payments, "ana", monkeypatch, tmp_path, user="ana")
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout
    rows = [line.split("│")[1:3] for line in lines if line.startswith("│")]
    assert [(a.strip(), r.strip()) for a, r in rows] == [
        ("payments-prod-eu", "ReadOnly"),
        ("payments-prod-eu", "PlatformAdministrator"),
        ("payments-prod-us", "ReadOnly"),
        ("payments-prod-us", "PlatformAdministrator"),
    ]
    assert len(re.findall(ISO_SECOND, result.stdout)) == 3  # the expiry of each switch that passed
    assert lines[-1] == "4 switches: 3 passed, 1 failed"
    assert "refused" not in result.stdout
    assert result.stderr.splitlines() == [
        "FAILED payments-prod-us PlatformAdministrator: AssumeRole refused; most likely MFA age or deployment: "
        "payments.yaml grants this, so the MFA session is older than the role's maximum MFA age, or "
        "SwitchRole-Hub or SwitchRole-payments-prod-us is not deployed from this version of the file"
    ]
    wide = smoke_as(payments, "ana", monkeypatch, tmp_path, user="ana", width=160)
    assert "identity after switch" in wide.stdout and "buckets" in wide.stdout  # dropped only when narrow
    assert "arn:aws:sts::222222222222:assumed-role/PlatformAdministrator/ana" in wide.stdout


def test_a_failed_single_check_prints_its_cause_once_on_stderr(
    payments: Payments, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The steps that passed on stdout; the cause once, one line, on stderr, with the AWS call named once."""
    arn = role(payments, "payments-prod-eu", "PlatformAdministrator")
    result = smoke_as(payments, "hana", monkeypatch, tmp_path, role_arn=arn)
    assert result.code == 1
    assert result.stdout.splitlines() == [
        "✓ source identity: arn:aws:iam::111111111111:user/hana",
        "✓ MFA session: new, with the MFA code (GetSessionToken)",
    ]
    assert result.stderr.splitlines() == [
        "FAILED: AssumeRole refused; most likely hub grant: hana is not granted PlatformAdministrator in "
        "payments-prod-eu by payments.yaml (switchrole matrix --user hana)"
    ]
    as_json = smoke_as(payments, "hana", monkeypatch, tmp_path, role_arn=arn, as_json=True)
    report = json.loads(as_json.stdout)
    assert as_json.stderr == ""
    assert report["steps"][-1] == {"name": "assume role", "ok": False, "detail": report["failure"]}
    assert sorted(report) == sorted(SmokeReport(SmokeRequest(arn)).to_dict())  # the shape --json always had


def test_expiry_is_shown_to_the_second_in_utc(
    payments: Payments, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    arn = role(payments, "payments-prod-eu", "ReadOnly")
    report = json.loads(smoke_as(payments, "hana", monkeypatch, tmp_path, role_arn=arn, as_json=True).stdout)
    assert re.fullmatch(ISO_SECOND, report["expiration"])
    (assumed,) = [s for s in report["steps"] if s["name"] == "assume role"]
    assert re.fullmatch(rf"session hana, expires {ISO_SECOND}", assumed["detail"])
    assert "[redacted]" not in json.dumps(report)  # no step's own wording looks like a credential
    text = smoke_as(payments, "hana", monkeypatch, tmp_path, role_arn=arn)
    assert re.search(rf"^✓ assume role: session hana, expires {ISO_SECOND}$", text.stdout, re.MULTILINE)
    assert utc_iso(dt.datetime(2026, 11, 29, 16, 4, 5, 987654, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == (
        "2026-11-29T15:04:05Z"
    )


def test_credential_process_expiration_stays_iso_8601(payments: Payments) -> None:
    """`switchrole assume` prints the AWS CLI's format, untouched: an ISO 8601 time with its offset."""
    request = AssumeRequest(
        role(payments, "payments-prod-eu", "ReadOnly"), "ana", mfa_serial=payments.org.hub.mfa_serial("ana")
    )
    credentials = assume_role(
        payments.session("ana"), request, token=lambda: payments.code("ana"), cache=CredentialCache(None),
        endpoint_url=payments.aws.endpoint,
    )  # fmt: skip
    answer = json.loads(credentials.credential_process())
    expiration = dt.datetime.fromisoformat(answer["Expiration"])
    assert answer["Version"] == 1 and expiration.utcoffset() is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", answer["Expiration"])


def test_the_table_folds_long_names_instead_of_cutting_them() -> None:
    """Names longer than 80 columns allow still show in full (folded within their cells), never with "…"."""
    accounts = ["payments-production-europe-west-1", "payments-production-europe-west-2"]
    reports = [
        SmokeReport(
            SmokeRequest(
                f"arn:aws:iam::{n}{n}:role/PlatformAdministratorBreakGlass",
                account_name=a,
                role_key="PlatformAdministratorBreakGlass",
            ),
            expiration=EXPIRY,
        )
        for n, a in zip(("222222", "333333"), accounts, strict=True)
    ]
    buffer = io.StringIO()
    Console(file=buffer, width=80).print(smoke_cli.summary_table(reports, title="t", width=80))
    text = buffer.getvalue()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    cells = [line.split("│")[1:3] for line in text.splitlines() if line.startswith("│")]
    assert "".join(a.strip() for a, _ in cells) == "".join(accounts)
    assert "".join(r.strip() for _, r in cells) == "PlatformAdministratorBreakGlass" * 2
