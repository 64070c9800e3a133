"""No failure path prints a credential: a fake local STS answers with credentials inside a broken reply.

The sentinels below are what the fake endpoint puts into its answers; none may appear in any output of
`smoke` (single, --json, --all) or `assume`, whatever goes wrong, and none of them may end in a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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

    def answer(action: str) -> tuple[int, str] | None:
        if mode == "closed" and action != "GetCallerIdentity":
            return None  # no answer at all: the connection just closes
        return reply(action, mode)

    with sts_answering(answer) as url:
        yield url


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A local HTTP server with ``handler`` for the block, stopped at once after it; its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@contextlib.contextmanager
def sts_answering(answer: Callable[[str], tuple[int, str] | None]) -> Iterator[str]:
    """A local fake STS: ``answer(action)`` is the status and XML body of each reply (None: close the connection
    without any)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
            answered = answer(form.get("Action", [""])[0])
            if answered is None:
                self.close_connection = True
                return
            status, body = answered
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url


def run(endpoint: str, tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """A switchrole command against ``endpoint`` with a hub user's keys; ``extra``: more environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_"))} | extra
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


def at_once(calls: dict[str, Callable[[], subprocess.CompletedProcess[str]]]) -> dict[str, Any]:
    """Run each command's subprocess at the same time (each waits out a deadline): (result, seconds) by name."""

    def timed(call: Callable[[], subprocess.CompletedProcess[str]]) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        return call(), time.monotonic() - started

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {name: pool.submit(timed, call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


ROLE = "arn:aws:iam::222222222222:role/switchrole/ReadOnly"
EXAMPLE = str(Path(__file__).resolve().parents[2] / "accounts.yaml")


BROKEN_ANSWER_COMMANDS = {
    "smoke": ["smoke", "--role-arn", ROLE, "--token-code", "123456", "--mfa-serial",
              "arn:aws:iam::111111111111:mfa/alice"],
    "smoke-json": ["smoke", "--role-arn", ROLE, "--config", EXAMPLE, "--token-code", "123456", "--json"],
    "smoke-all": ["smoke", "--all", "--config", EXAMPLE, "--user", "alice", "--token-code", "123456"],
    "smoke-no-mfa": ["smoke", "--role-arn", ROLE, "--no-cache"],  # no MFA: straight to AssumeRole
    "assume": ["assume", "--role-arn", ROLE, "--session-name", "alice", "--mfa-serial",
               "arn:aws:iam::111111111111:mfa/alice", "--token-code", "123456"],
    "assume-no-mfa": ["assume", "--role-arn", ROLE, "--session-name", "alice"],
    "session": ["session", "--mfa-serial", "arn:aws:iam::111111111111:mfa/alice", "--token-code", "123456"],
}  # fmt: skip


@pytest.mark.slow
def test_no_failure_prints_a_credential(fake_sts: str, tmp_path: Path) -> None:
    """Each command against each broken answer (the fixture's modes), the commands at the same time."""
    folders = {command: tmp_path / command for command in BROKEN_ANSWER_COMMANDS}
    for folder in folders.values():
        folder.mkdir()
    results = at_once({
        command: functools.partial(run, fake_sts, folders[command], *args)
        for command, args in BROKEN_ANSWER_COMMANDS.items()
    })  # fmt: skip
    for command, (result, _) in results.items():
        output = result.stdout + result.stderr
        assert result.returncode in (1, 2), (command, output)
        assert "Traceback" not in output, (command, output)
        for sentinel in (SECRET, TOKEN[:40], KEY, "SENTINEL"):
            assert sentinel not in output, (command, output)
        cached = list(folders[command].rglob("*.json"))
        assert all(SECRET not in p.read_text() for p in cached), command  # nothing of a broken answer is cached


def test_redaction_is_the_last_resort_on_every_line() -> None:
    from switchrole.client.redact import redact

    line = f'AccessKeyId={KEY} "SecretAccessKey": "{SECRET}" <SessionToken>{TOKEN}</SessionToken>'
    cleaned = redact(line)
    assert KEY not in cleaned and SECRET not in cleaned and TOKEN[:40] not in cleaned
    long_role = "arn:aws:sts::222222222222:assumed-role/SomeVeryLongRoleNameForTheSwitchRoleTests/alice"
    for harmless in ("arn:aws:iam::222222222222:role/switchrole/ReadOnly is fine", long_role):
        assert redact(harmless) == harmless


AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documentation example: 40 characters


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("aws_secret_access_key = long-term-secret", "long-term-secret"),  # not base64-shaped: hidden by its key
        ("AWS_SESSION_TOKEN=short+token/value", "short+token/value"),
        ('{"SessionToken": "abc123"}', "abc123"),
        ("<SecurityToken>IQoJb3JpZ2luX2VjE</SecurityToken>", "IQoJb3JpZ2luX2VjE"),
        (f"the key is {AWS_EXAMPLE_SECRET}.", AWS_EXAMPLE_SECRET),  # a bare 40-character secret
        (f"token {TOKEN} here", TOKEN[:40]),  # a bare session token: one case only, but 156 characters long
        ("ids AKIAIOSFODNN7EXAMPLE and ASIASENTINELKEY00000", "EXAMPLE"),
    ],
)
def test_redaction_hides_every_credential_shape(text: str, hidden: str) -> None:
    from switchrole.client.redact import REDACTED, redact

    cleaned = redact(text)
    assert hidden not in cleaned and REDACTED in cleaned, cleaned


@pytest.mark.parametrize(
    "harmless",
    [
        "The security token included in the request is invalid.",
        "Token code accepted; Token expired; token: 6 digits",
        "GetSessionToken: the MFA code is invalid or expired; use a fresh code",
        "the SessionToken is missing, SessionToken expired",
        "MFA session: new, with the MFA code (GetSessionToken)",
        "arn:aws:iam::111111111111:policy/switchrole/SwitchRoleDevelopersAssumeRolePolicy",  # 42 letters, no digit
        "arn:aws:sts::222222222222:assumed-role/PlatformAdministrator/ana, expires 2026-11-29T15:04:05Z",
    ],
)
def test_redaction_leaves_ordinary_words_alone(harmless: str) -> None:
    from switchrole.client.redact import redact

    assert redact(harmless) == harmless


NS = 'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"'
SECRET_CODE = f"<ErrorResponse {NS}><Error><Code>{SECRET}</Code><Message>refused</Message></Error></ErrorResponse>"
COMMANDS = {
    "assume": ["assume", "--role-arn", ROLE, "--session-name", "alice"],
    "assume-mfa": ["assume", "--role-arn", ROLE, "--session-name", "alice", "--mfa-serial",
                   "arn:aws:iam::111111111111:mfa/alice", "--token-code", "123456"],
    "session": ["session", "--mfa-serial", "arn:aws:iam::111111111111:mfa/alice", "--token-code", "123456"],
    "smoke": ["smoke", "--role-arn", ROLE, "--no-cache"],
    "smoke-json": ["smoke", "--role-arn", ROLE, "--no-cache", "--json"],
    "smoke-all": ["smoke", "--all", "--config", EXAMPLE, "--user", "alice", "--token-code", "123456", "--no-cache"],
}  # fmt: skip


@pytest.mark.slow
def test_an_error_code_shaped_like_a_secret_is_not_printed(tmp_path: Path) -> None:
    """An error answer's <Code> is printed as the cause's last resort: it is redacted like the message."""
    folders = {command: tmp_path / command for command in COMMANDS}
    for folder in folders.values():
        folder.mkdir()
    with sts_answering(lambda action: (200, IDENTITY) if action == "GetCallerIdentity" else (400, SECRET_CODE)) as url:
        results = at_once(
            {command: functools.partial(run, url, folders[command], *args) for command, args in COMMANDS.items()}
        )
    for command, (result, _) in results.items():
        output = result.stdout + result.stderr
        assert result.returncode == 1, (command, output)
        assert "SENTINEL" not in output and "[redacted]" in output and "Traceback" not in output, (command, output)


@pytest.mark.slow
def test_a_caller_arn_shaped_like_a_secret_is_not_printed(tmp_path: Path) -> None:
    """smoke --all names the caller whose credentials are not --user's: redacted, like every line it prints."""
    identity = IDENTITY.replace("user/alice", f"user/{SECRET}")
    with sts_answering(lambda action: (200, identity)) as url:
        result = run(url, tmp_path, *COMMANDS["smoke-all"])
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "--user alice, but the credentials are" in result.stderr
    assert "SENTINEL" not in output and "[redacted]" in output


def test_every_line_smoke_and_assume_print_passes_the_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last resort is on the streams themselves: even a line printed without redact() is redacted, and a
    credential written in two pieces is still seen whole."""
    import io

    from switchrole.client.redact import redacted_output

    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    with redacted_output(stdout=True):
        print(f"caller {SECRET[:20]}", end="")
        print(f"{SECRET[20:]} refused")
        print(f"key {KEY}", file=sys.stderr)
        print("no newline at the end", file=sys.stderr, end="")
    with redacted_output(stdout=False):  # assume and session: stdout carries the credentials
        print(f'{{"SecretAccessKey": "{SECRET}"}}')
    assert out.getvalue() == f'caller [redacted] refused\n{{"SecretAccessKey": "{SECRET}"}}\n'
    assert err.getvalue() == "key [redacted]\nno newline at the end"


def test_a_folded_table_cell_is_redacted_whole() -> None:
    """The summary folds a long identity onto several lines; each cell is redacted before it is laid out."""
    import io

    from rich.console import Console

    from switchrole.cli.smoke import summary_table
    from switchrole.client.switch import SmokeRequest
    from switchrole.live.smoke import SmokeReport

    report = SmokeReport(SmokeRequest(ROLE), assumed_arn=f"arn:aws:sts::222222222222:assumed-role/{SECRET}/a")
    buffer = io.StringIO()
    Console(file=buffer, width=70).print(summary_table([report], title="t", width=200))
    assert "SENTINEL" not in buffer.getvalue() and "[redacted]" in buffer.getvalue()


@pytest.mark.slow
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


EXPIRED_ANSWER = (
    f'{{"Version": 1, "AccessKeyId": "{KEY}", "SecretAccessKey": "{SECRET}", "SessionToken": "{TOKEN}", '
    '"Expiration": "2001-01-01T00:00:00Z"}'
)
BROKEN_PROCESSES = {  # script body (None: the program does not exist), expected exit code, words of the cause
    "not-json": (f"echo '{SECRET} {{not json'", 2, "its credential_process printed no valid JSON"),
    "expired": (f"echo '{EXPIRED_ANSWER}'", 1, "its credentials have expired, and refreshing them"),
    "missing": (None, 2, "its credential_process could not be run (No such file or directory)"),
    "fails": (f"echo '{SECRET}' >&2; exit 3", 2, "its credential_process failed (its output is not shown)"),
}
PROFILE_COMMANDS = {
    "smoke": ["smoke", "--role-arn", ROLE, "--profile", "broken", "--no-cache"],
    "smoke-all": ["smoke", "--all", "--config", EXAMPLE, "--user", "alice", "--profile", "broken", "--no-cache",
                  "--token-code", "123456"],
    "assume": ["assume", "--role-arn", ROLE, "--session-name", "alice", "--hub-profile", "broken"],
    "session": ["session", "--mfa-serial", "arn:aws:iam::111111111111:mfa/alice", "--hub-profile", "broken",
                "--token-code", "123456"],
}  # fmt: skip


def with_credential_process(tmp_path: Path, script: str | None) -> dict[str, str]:
    """An AWS config whose profile ``broken`` runs ``script`` as its credential_process; the environment to use."""
    program = tmp_path / "credential-process"
    if script is not None:
        program.write_text(f"#!/bin/sh\n{script}\n")
        program.chmod(0o755)
    (tmp_path / "aws-config").write_text(f"[profile broken]\ncredential_process = {program}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_"))}
    return env | {
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HOME": str(tmp_path),
        "SWITCHROLE_CACHE_DIR": str(tmp_path / "cache"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("command", list(PROFILE_COMMANDS))
@pytest.mark.parametrize("process", list(BROKEN_PROCESSES))
def test_a_broken_credential_process_is_one_line_naming_the_profile(tmp_path: Path, process: str, command: str) -> None:
    """Not "unexpected error: JSONDecodeError / RuntimeError / FileNotFoundError": the cause, with the profile,
    and nothing the process printed (it may be a credential)."""
    script, code, words = BROKEN_PROCESSES[process]
    env = with_credential_process(tmp_path, script)
    result = subprocess.run(
        [sys.executable, "-m", "switchrole.cli", *PROFILE_COMMANDS[command]], env=env, capture_output=True, text=True,
        timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    (line,) = result.stderr.splitlines()
    assert "profile broken: " in line and words in line, line
    assert "unexpected error" not in output and "Traceback" not in output and "SENTINEL" not in output


# --------------------------------------------------------------------------- the overall deadline


@contextlib.contextmanager
def sts_dripping() -> Iterator[str]:
    """An endpoint that answers every request with a byte every half second: each read succeeds well within
    botocore's read timeout, so only an overall deadline ends the wait."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(400):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:  # the client is gone
                pass

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url


DEADLINE_COMMANDS = {
    "smoke": COMMANDS["smoke"],
    "smoke-all": COMMANDS["smoke-all"],
    "assume": COMMANDS["assume"],
    "session": COMMANDS["session"],
}


@pytest.mark.slow
def test_a_slow_drip_endpoint_ends_at_the_overall_deadline(tmp_path: Path) -> None:
    """Timeouts per read never fire against a byte every half second (smoke ran past 120 s): each command's
    deadline (SWITCHROLE_DEADLINE, 2 s here) ends it with one line and exit 1."""
    folders = {command: tmp_path / command for command in DEADLINE_COMMANDS}
    for folder in folders.values():
        folder.mkdir()
    with sts_dripping() as url:
        results = at_once({
            command: functools.partial(run, url, folders[command], *args, SWITCHROLE_DEADLINE="2")
            for command, args in DEADLINE_COMMANDS.items()
        })  # fmt: skip
    for command, (result, elapsed) in results.items():
        assert result.returncode == 1, (command, result.stdout + result.stderr)
        (line,) = result.stderr.splitlines()
        assert "no result within " in line and "(SWITCHROLE_DEADLINE" in line, (command, line)
        assert elapsed >= 2, (command, elapsed)  # it waited for the deadline; when it ended is the message's word
        assert result.stdout == "" or command.startswith("smoke")  # assume and session: no half credentials


@pytest.mark.slow
def test_a_credential_process_that_never_exits_is_stopped_at_the_deadline(tmp_path: Path) -> None:
    """botocore waits for a profile's credential_process for ever: the deadline names the profile, stops the
    process and its own helpers, and exits 1."""
    envs = {}
    for command in PROFILE_COMMANDS:
        folder = tmp_path / command
        folder.mkdir()
        script = f"sleep 60 &\necho $! > {folder / 'helper'}\necho $$ > {folder / 'pid'}\nwait"  # wrapper, helper
        envs[command] = with_credential_process(folder, script) | {"SWITCHROLE_DEADLINE": "2"}
    results = at_once({
        command: functools.partial(
            subprocess.run, [sys.executable, "-m", "switchrole.cli", *args], env=envs[command], capture_output=True,
            text=True, timeout=60, stdin=subprocess.DEVNULL,
        )
        for command, args in PROFILE_COMMANDS.items()
    })  # fmt: skip
    for command, (result, elapsed) in results.items():
        assert result.returncode == 1, (command, result.stdout + result.stderr)
        (line,) = result.stderr.splitlines()
        assert "profile broken: its credential_process did not finish within " in line, (command, line)
        assert "stopped it" in line and elapsed >= 2, (command, line, elapsed)
        with pytest.raises(ProcessLookupError):  # stopped, and reaped: not left sleeping
            os.kill(int((tmp_path / command / "pid").read_text()), 0)
        helper = Path(f"/proc/{(tmp_path / command / 'helper').read_text().strip()}/status")
        for _ in range(50):  # ended with its wrapper (and reaped by init, which may take a moment)
            if not helper.exists() or "\nState:\tZ" in helper.read_text():
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"{command}: the credential_process's own helper is still running: {helper}")


@pytest.mark.slow
@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "inf"])
def test_a_deadline_that_is_not_a_number_of_seconds_is_a_usage_error(tmp_path: Path, value: str) -> None:
    for command in ("smoke", "assume"):
        result = run("http://127.0.0.1:9", tmp_path, *COMMANDS[command], SWITCHROLE_DEADLINE=value)
        assert result.returncode == 2 and result.stderr.startswith("SWITCHROLE_DEADLINE: "), result.stderr


def test_the_time_to_type_the_mfa_code_does_not_count() -> None:
    from switchrole.client.deadline import Deadline

    deadline = Deadline(0.5, "smoke")  # not started: its clock only
    with deadline.paused():
        time.sleep(0.7)
    assert deadline.remaining() > 0.3


@pytest.mark.slow
@pytest.mark.parametrize("as_json", [False, True])
def test_an_unreachable_endpoint_is_the_cause_not_an_mfa_hint(tmp_path: Path, as_json: bool) -> None:
    """With --config, smoke looks up the caller's MFA device first: a connection failure there is the cause
    (exit 1), not "the caller is not a hub IAM user ...: pass --mfa-serial" (exit 2)."""
    args = ["smoke", "--role-arn", ROLE, "--config", EXAMPLE, "--no-cache"] + (["--json"] if as_json else [])
    result = run("http://127.0.0.1:9", tmp_path, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "--mfa-serial" not in result.stdout + result.stderr
    if as_json:
        report = json.loads(result.stdout)
        assert report["failure_kind"] == "unreachable" and report["steps"][-1]["name"] == "source identity"
    else:
        assert result.stderr == "FAILED: cannot reach the AWS endpoint (http://127.0.0.1:9/)\n"


def test_role_arns_from_the_accounts_file_are_shown_whole() -> None:
    """A role path and name of 40 characters mixing cases and digits looks like a secret key to the shape
    rules: an ARN the accounts file names is left whole, a secret beside it is still redacted."""
    from switchrole.client.redact import never_redact, redact

    arn = "arn:aws:iam::222222222222:role/teams/platform/DatabaseAdministrator2"
    assert "[redacted]" in redact(arn)  # the shape rule alone
    never_redact(arn)
    assert redact(f"switched into {arn}; key {SECRET}") == f"switched into {arn}; key [redacted]"


def test_an_ascii_terminal_does_not_bypass_the_redaction(tmp_path: Path) -> None:
    """click writes to a stream's binary buffer when its encoding is ASCII: the redacting stream has none, so
    usage errors and failure lines are redacted there too."""
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    result = subprocess.run(
        [sys.executable, "-m", "switchrole.cli", "assume", "--role-arn", f"arn:aws:iam::2:role/{SECRET}",
         "--session-name", "alice"], env=env, capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output = (result.stdout + result.stderr).decode("ascii", "replace")
    assert result.returncode == 2, output
    assert "SENTINEL" not in output and "[redacted]" in output


def test_nested_redaction_wraps_each_stream_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The console entry and the command both ask for the redaction: one wrapper per stream, not two."""
    import io

    from switchrole.client.redact import RedactingStream, redacted_output

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with redacted_output(stdout=False):
        outer = sys.stderr
        with redacted_output(stdout=False):
            assert sys.stderr is outer and isinstance(outer, RedactingStream)
            print(f"key {KEY}", file=sys.stderr)
        assert sys.stderr is outer
