"""No failure path prints a credential: a fake local STS answers with credentials inside a broken reply.

The sentinels below are what the fake endpoint puts into its answers; none may appear in any output of
`smoke` (single, --json, --all) or `assume`, whatever goes wrong, and none of them may end in a traceback.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

SECRET = "SENTINELSECRETsentinelsecretSENTINEL/+0123"
TOKEN = "SENTINELTOKEN" * 12
KEY = "ASIASENTINELKEY00000"
CREDENTIALS = (
    f"<Credentials><AccessKeyId>{KEY}</AccessKeyId><SecretAccessKey>{SECRET}</SecretAccessKey>"
    f"<SessionToken>{TOKEN}</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>"
)
IDENTITY = (
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
    "<Arn>arn:aws:iam::111111111111:user/alice</Arn><UserId>AIDA</UserId><Account>111111111111</Account>"
    "</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
    "</GetCallerIdentityResponse>"
)


def reply(action: str, mode: str) -> tuple[int, str]:
    if action == "GetCallerIdentity":
        return 200, IDENTITY
    ns = 'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"'
    body = f"<{action}Response {ns}><{action}Result>{CREDENTIALS}"
    if mode == "truncated":  # valid credentials, then the reply breaks off
        return 200, body + "<AssumedRoleUser><Arn>arn:aws:sts::2"
    if mode == "not-xml":
        return 200, f"oops {CREDENTIALS} {{not xml"
    if mode == "error-with-body":  # an error whose message quotes the credentials
        return (
            400,
            f"<ErrorResponse {ns}><Error><Code>Weird</Code><Message>{CREDENTIALS}</Message></Error></ErrorResponse>",
        )
    raise AssertionError(mode)


@pytest.fixture(params=["truncated", "not-xml", "error-with-body", "closed"])
def fake_sts(request: pytest.FixtureRequest) -> Iterator[str]:
    mode = request.param

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
            if mode == "closed" and form.get("Action", [""])[0] != "GetCallerIdentity":
                self.close_connection = True  # no answer at all: the connection just closes
                return
            status, body = reply(form.get("Action", [""])[0], mode)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run(endpoint: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_"))}
    env |= {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIALONGTERMKEY00000",
        "AWS_SECRET_ACCESS_KEY": "long-term-secret",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "SWITCHROLE_CACHE_DIR": str(tmp_path / "cache"),
        "HOME": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "-m", "switchrole.cli", *args], env=env, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


ROLE = "arn:aws:iam::222222222222:role/switchrole/ReadOnly"
EXAMPLE = str(Path(__file__).resolve().parent.parent / "accounts.yaml")


@pytest.mark.parametrize(
    "args",
    [
        ["smoke", "--role-arn", ROLE, "--token-code", "123456", "--mfa-serial", "arn:aws:iam::111111111111:mfa/alice"],
        ["smoke", "--role-arn", ROLE, "--config", EXAMPLE, "--token-code", "123456", "--json"],
        ["smoke", "--all", "--config", EXAMPLE, "--user", "alice", "--token-code", "123456"],
        ["smoke", "--role-arn", ROLE, "--no-cache"],  # no MFA: straight to AssumeRole
        ["assume", "--role-arn", ROLE, "--session-name", "alice", "--mfa-serial", "arn:aws:iam::111111111111:mfa/alice",
         "--token-code", "123456"],
        ["assume", "--role-arn", ROLE, "--session-name", "alice"],
        ["session", "--mfa-serial", "arn:aws:iam::111111111111:mfa/alice", "--token-code", "123456"],
    ],
    ids=["smoke", "smoke-json", "smoke-all", "smoke-no-mfa", "assume", "assume-no-mfa", "session"],
)  # fmt: skip
def test_no_failure_prints_a_credential(fake_sts: str, tmp_path: Path, args: list[str]) -> None:
    result = run(fake_sts, tmp_path, *args)
    output = result.stdout + result.stderr
    assert result.returncode in (1, 2), output
    assert "Traceback" not in output
    for sentinel in (SECRET, TOKEN[:40], KEY, "SENTINEL"):
        assert sentinel not in output, output
    assert not list(tmp_path.rglob("*.json")) or all(
        SECRET not in p.read_text() for p in tmp_path.rglob("*.json")
    )  # nothing of a broken answer is cached either


def test_redaction_is_the_last_resort_on_every_line() -> None:
    from switchrole.redact import redact

    line = f'AccessKeyId={KEY} "SecretAccessKey": "{SECRET}" <SessionToken>{TOKEN}</SessionToken>'
    cleaned = redact(line)
    assert KEY not in cleaned and SECRET not in cleaned and TOKEN[:40] not in cleaned
    long_role = "arn:aws:sts::222222222222:assumed-role/SomeVeryLongRoleNameForTheSwitchRoleTests/alice"
    for harmless in ("arn:aws:iam::222222222222:role/switchrole/ReadOnly is fine", long_role):
        assert redact(harmless) == harmless


def test_a_failing_credential_process_profile_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[profile broken]\ncredential_process = /bin/echo not-json\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_"))}
    env |= {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "HOME": str(tmp_path)}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "switchrole.cli", "smoke", "--role-arn", ROLE, "--profile", "broken", "--no-cache"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "could not be obtained" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
