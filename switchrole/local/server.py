"""Run and control a moto server that serves as several AWS accounts on 127.0.0.1.

``python -m switchrole.local.server --port N`` is the server process: it
installs switchrole's CloudFormation models and authorization model into moto,
then serves. :class:`LocalAws` starts that process on a free port, waits until
it answers, and always stops it (no process is left behind).
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from switchrole.local.kept import TOKEN_HEADER

HOST = "127.0.0.1"
TOKEN_ENV = "SWITCHROLE_ADMIN_TOKEN"  # how the server learns its run's admin token


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class LocalAws:
    """A moto server subprocess; use as a context manager."""

    def __init__(
        self,
        *,
        port: int | None = None,
        log_file: Path | None = None,
        mfa_reading: str = "strict",
        tmpdir: Path | None = None,
        token_file: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.admin_token = secrets.token_urlsafe(32)  # every /moto-api call carries it (see Guard)
        self.token_file = token_file  # where `switchrole local credentials` finds it (0600, in a 0700 folder)
        self.log_file = log_file
        self.tmpdir = tmpdir  # the server's TMPDIR (default: the caller's)
        self.mfa_reading = mfa_reading
        self.authorizing = False  # moto starts with authorization off
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """For boto3, the AWS CLI and the CDK CLI (whose path-style TemplateURL cfn_api reads correctly)."""
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> LocalAws:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # AWS-managed policy ARNs exist
        # never MOTO_ACCOUNT_ID: it pins every request to one account
        if self.tmpdir is not None:
            env["TMPDIR"] = str(self.tmpdir)
        env[TOKEN_ENV] = self.admin_token  # the environment, not argv: other users can read argv
        if self.token_file is not None:
            descriptor = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(self.admin_token + "\n")
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "switchrole.local.server",
                "--port",
                str(self.port),
                "--mfa-reading",
                self.mfa_reading,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the local AWS server exited with code {self.process.returncode}")
            try:
                probe = urllib.request.Request(f"{self.endpoint}/moto-api/", headers={TOKEN_HEADER: self.admin_token})
                with urllib.request.urlopen(probe, timeout=1):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the local AWS server did not answer on {self.endpoint} within {timeout:.0f} s")

    def enforce_authorization(self) -> None:
        """From now on every request is signed by known credentials and authorized by IAM policies."""
        self._post("reset-auth", "0")
        self.authorizing = True

    @contextmanager
    def authorization_off(self) -> Iterator[None]:
        """The emulator's own set-up and read-back, like an operator's console: no request is authorized
        (then authorization is as it was)."""
        was = self.authorizing
        self._post("reset-auth", "inf")
        self.authorizing = False
        try:
            yield
        finally:
            if was:
                self.enforce_authorization()

    def set_organization(self, organization_id: str, accounts: list[str]) -> None:
        """These accounts are members of AWS Organizations organization ``organization_id`` (admin_api)."""
        self._post("switchrole/organization", json.dumps({"id": organization_id, "accounts": accounts}))

    def set_mfa_reading(self, reading: str) -> None:
        """Play the strict or the lenient reading of IAM's MFA keys from now on (documentation: the local AWS)."""
        self._post("switchrole/mfa-reading", reading)
        self.mfa_reading = reading

    def age_mfa_sessions(self, account_id: str, user: str, seconds: int) -> None:
        """Make ``user``'s MFA sessions ``seconds`` older (see switchrole.local.admin_api)."""
        query = urllib.parse.urlencode({"account": account_id, "user": user})
        self._post(f"switchrole/age-sessions?{query}", str(seconds))

    def age_access_keys(self, account_id: str, user: str, seconds: int) -> None:
        """Backdate ``user``'s access keys (creation and last use) by ``seconds`` (see switchrole.local.admin_api)."""
        query = urllib.parse.urlencode({"account": account_id, "user": user})
        self._post(f"switchrole/age-access-keys?{query}", str(seconds))

    def _post(self, path: str, body: str) -> None:
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/{path}",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "text/plain", TOKEN_HEADER: self.admin_token},
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()


def admin_get(endpoint: str, what: str, account_id: str, user: str, token: str | None = None) -> dict[str, str]:
    """Call one of switchrole's emulator-only endpoints about ``user`` of ``account_id`` (see :func:`admin_query`)."""
    return admin_query(endpoint, what, {"account": account_id, "user": user}, token)


def admin_query(endpoint: str, what: str, params: dict[str, str], token: str | None = None) -> dict[str, str]:
    """Call one of switchrole's emulator-only endpoints with the admin token (default: the kept emulator's, see
    switchrole.local.kept.admin_token); raises LookupError with the server's reason."""
    from switchrole.local.kept import admin_token

    query = urllib.parse.urlencode(params)
    request = urllib.request.Request(
        f"{endpoint}/moto-api/switchrole/{what}?{query}", headers={TOKEN_HEADER: token or admin_token()}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        raise LookupError(json.loads(exc.read() or b"{}").get("Error", str(exc))) from None


class Guard:
    """WSGI middleware in front of moto: moto's own ``/moto-api`` (reset, authorization off) and switchrole's
    admin endpoints (keys and MFA codes for anyone) answer only a caller holding this run's token, addressed as
    127.0.0.1 or localhost (a DNS-rebinding page sends another Host), and with no CORS headers (moto reflects
    any Origin, which would let a web page in a local browser read the answers)."""

    def __init__(self, app: Any, token: str, port: int) -> None:
        self.app, self.token = app, token
        self.hosts = {f"{HOST}:{port}", f"localhost:{port}"}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            return self.app(environ, start_response)
        given = str(environ.get("HTTP_" + TOKEN_HEADER.upper().replace("-", "_"), ""))
        if environ.get("HTTP_HOST") not in self.hosts or not hmac.compare_digest(given, self.token):
            start_response("403 Forbidden", [("Content-Type", "application/json")])
            return [b'{"Error": "the emulator admin API needs this run\'s token (source the demo\'s env file)"}']

        def without_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, exc_info)

        return self.app(environ, without_cors)


def first_access_session(endpoint: str, account_id: str, region: str, token: str | None = None) -> Any:
    """A boto3 session of ``account_id``'s OrganizationAccountAccessRole, assumed through STS from the emulated
    management account (see switchrole.local.admin_api.first_access): what bootstraps and first deploys an
    account in AWS, and what the demo deploys each target account's stack with."""
    from switchrole.client.boto import session as boto3_session

    answer = admin_get(endpoint, "first-access", account_id, "", token)
    management = boto3_session(answer["AccessKeyId"], answer["SecretAccessKey"], region_name=region)
    sts = management.client("sts", endpoint_url=endpoint)
    c = sts.assume_role(RoleArn=answer["RoleArn"], RoleSessionName="first-access")["Credentials"]
    return boto3_session(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], region_name=region)


def serve(argv: list[str] | None = None) -> None:
    from switchrole.local.authz import MFA_READINGS, STRICT

    parser = argparse.ArgumentParser(description="moto server with switchrole's CloudFormation and IAM models")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mfa-reading", choices=MFA_READINGS, default=STRICT)
    args = parser.parse_args(argv)
    from switchrole.local import admin_api, authz, cfn_api, cfn_models, cfn_update, iam_api

    authz.set_mfa_reading(args.mfa_reading)
    cfn_models.install()
    cfn_update.install()
    cfn_api.install()
    iam_api.install()
    authz.install()
    admin_api.install()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    token = os.environ.pop(TOKEN_ENV, "")
    if len(token) < 32:
        raise SystemExit(f"switchrole.local.server: {TOKEN_ENV} must hold the run's admin token")
    os.environ["MOTO_PORT"] = str(args.port)  # as moto's own server main() does
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(HOST, args.port, Guard(app, token, args.port), threaded=True)


if __name__ == "__main__":
    serve()
