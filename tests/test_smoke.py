"""Every smoke error path with real botocore errors (botocore's Stubber), and no secret in any output."""

from __future__ import annotations

import datetime as dt
import http.server
import io
import json
import threading
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from rich.console import Console

from switchrole import smoke_cli
from switchrole.config import Organisation
from switchrole.smoke import SmokeRequest, request_for, run_smoke

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
    assert "trust: Admin in shop-prod has trust: strict and admits only alice" in (report.failure or "")

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
