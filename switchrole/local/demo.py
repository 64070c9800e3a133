"""``switchrole local demo``: the whole product on an embedded local AWS, no AWS account needed.

1. synthesize the accounts file (cdk-nag included) and start a moto server on 127.0.0.1;
2. bootstrap the hub and every target account and deploy every stack with the
   real CDK CLI, in an isolated HOME / CDK_HOME / AWS config;
3. read the emulator's IAM state back and compare it with the templates;
4. give every hub user an access key and a virtual MFA device, put buckets in
   every account, and switch authorization on;
5. smoke-check every granted switch of every user, and the refusals that must
   happen (no grant, no MFA, a wrong MFA code, a hub administrator against
   strict trust, a grant for another account); print the table; stop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import boto3
from rich.console import Console
from rich.table import Table

from switchrole.assembly import synth
from switchrole.config import Organisation, TargetAccount
from switchrole.local.authz import totp, totp_valid
from switchrole.local.server import LocalAws
from switchrole.local.verify import differences
from switchrole.smoke import SmokeFailed, SmokeReport, SmokeRequest, check_user, request_for, run_smoke

PROJECT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
HUB_ADMIN = "switchrole-demo-hub-admin"  # AdministratorAccess in the hub, no grant: what trust: strict stops
NO_GRANT = "switchrole-demo-no-grant"  # used when the file has no user without a grant
SETUP_KEY = "AKIASWITCHROLESETUP0"
EXECUTION_POLICY = "arn:aws:iam::aws:policy/IAMFullAccess"  # CloudFormation creates only IAM resources here  # unknown to moto: only used while authorization is off


@dataclass
class Check:
    """One row of the demo's table: a switch that must succeed, or must be refused."""

    who: str
    request: SmokeRequest
    expect_ok: bool
    why: str  # what the row demonstrates
    token: Callable[[], str] | None = None
    refusal: str = "access-denied"  # the failure kind a refusal must show (not any error)
    report: SmokeReport | None = None

    @property
    def passed(self) -> bool:
        if self.report is None:
            return False
        if self.expect_ok:
            return self.report.ok
        return self.report.failure_kind == self.refusal


@dataclass
class Identity:
    user: str
    session: boto3.Session
    seed: str  # virtual MFA seed: the emulator's device secret, never printed

    def token(self) -> str:
        return totp(self.seed)

    def wrong_token(self) -> str:
        return next(f"{n:06d}" for n in range(1_000_000) if not totp_valid(self.seed, f"{n:06d}"))


class DemoFailed(Exception):
    pass


def cdk_binary() -> Path:
    binary = PROJECT / "node_modules" / ".bin" / "cdk"
    if not binary.exists():
        raise DemoFailed(f"the CDK CLI is not installed in {PROJECT}: run `make setup` (npm ci) first")
    return binary


class Demo:
    def __init__(self, org: Organisation, *, console: Console, workdir: Path) -> None:
        self.org, self.console, self.workdir = org, console, workdir
        self.aws = LocalAws(log_file=workdir / "moto.log")
        self.assembly = workdir / "cdk.out"
        self.timings: dict[str, float] = {}
        self.identities: dict[str, Identity] = {}

    # --- plumbing
    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        with self.console.status(f"{name} ..."):
            yield
        self.timings[name] = time.monotonic() - start
        self.console.print(f"[green]✓[/green] {name} [dim]({self.timings[name]:.1f} s)[/dim]")

    def setup_session(self, account_id: str) -> boto3.Session:
        """Credentials in ``account_id`` while authorization is still off (moto picks the account by key)."""
        sts = boto3.client(
            "sts",
            endpoint_url=self.aws.endpoint,
            region_name=REGION,
            aws_access_key_id=SETUP_KEY,
            aws_secret_access_key="setup",
        )
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/switchrole-demo-setup", RoleSessionName="setup"
        )
        c = creds["Credentials"]
        return boto3.Session(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], region_name=REGION)

    def cli_env(self, account_id: str) -> dict[str, str]:
        """An isolated environment for the CDK CLI: nothing read from or written to the user's AWS config."""
        home = self.workdir / "home"
        (home / ".aws").mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
        creds = self.setup_session(account_id).get_credentials().get_frozen_credentials()
        env.update(
            HOME=str(home),
            CDK_HOME=str(home / ".cdk"),
            CDK_DISABLE_VERSION_CHECK="1",
            CDK_DISABLE_CLI_TELEMETRY="true",
            AWS_CONFIG_FILE=str(home / ".aws" / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
            AWS_ENDPOINT_URL=self.aws.cdk_endpoint,
            AWS_ACCESS_KEY_ID=creds.access_key,
            AWS_SECRET_ACCESS_KEY=creds.secret_key,
            AWS_SESSION_TOKEN=creds.token or "",
        )
        return env

    def cdk(self, account_id: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(cdk_binary()), *args, "--app", str(self.assembly), "--no-notices"],
            cwd=PROJECT,
            env=self.cli_env(account_id),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def bootstrap_args(self, account_id: str) -> list[str]:
        """As docs/onboarding.md says: target accounts trust the hub, whose administrator deploys into them."""
        args = [f"aws://{account_id}/{REGION}"]
        if account_id != self.org.hub.account_id:
            args += ["--trust", self.org.hub.account_id, "--cloudformation-execution-policies", EXECUTION_POLICY]
        return args

    @staticmethod
    def wait(processes: list[tuple[str, subprocess.Popen[str]]]) -> None:
        for what, process in processes:
            output, _ = process.communicate()
            if process.returncode != 0:
                tail = "\n".join(output.strip().splitlines()[-15:])
                raise DemoFailed(f"{what} failed (exit {process.returncode}):\n{tail}")

    # --- the flow
    def run(self) -> list[Check]:
        accounts = [self.org.hub.account_id, *(a.account_id for a in self.org.accounts)]
        with self.phase(f"synthesized {len(accounts)} stacks (cdk-nag clean)"):
            synth(self.org, self.assembly)
        with self.phase(f"started the local AWS on {self.aws.endpoint}"):
            self.aws.start()
        with self.phase(f"bootstrapped {len(accounts)} accounts with `cdk bootstrap`"):
            self.wait([(f"cdk bootstrap {a}", self.cdk(a, "bootstrap", *self.bootstrap_args(a))) for a in accounts])
        with self.phase("deployed every stack with `cdk deploy --all`"):
            deploy = self.cdk(
                self.org.hub.account_id, "deploy", "--all", "--require-approval", "never", "--concurrency", "4"
            )
            self.wait([("cdk deploy --all", deploy)])
        with self.phase("emulator state matches the templates (roles, trust, groups, members, policies)"):
            problems = differences(self.assembly, self.setup_session, self.aws.endpoint)
            if problems:
                raise DemoFailed("the emulator differs from the templates:\n" + "\n".join(problems))
        with self.phase("created access keys, MFA devices and buckets; authorization on"):
            identities = self.identities = self.create_identities()
            self.create_buckets()
            self.aws.enforce_authorization()
        checks = self.checks(identities)
        with self.phase(f"ran {len(checks)} smoke checks"):
            self.run_checks(checks, identities)
        return checks

    def create_identities(self) -> dict[str, Identity]:
        iam = self.setup_session(self.org.hub.account_id).client("iam", endpoint_url=self.aws.endpoint)
        iam.create_user(UserName=HUB_ADMIN)
        iam.attach_user_policy(UserName=HUB_ADMIN, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        identities = {}
        iam.create_user(UserName=NO_GRANT)
        for user in [*self.org.users, HUB_ADMIN, NO_GRANT]:
            key = iam.create_access_key(UserName=user)["AccessKey"]
            device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
            seed = (
                device["Base32StringSeed"].decode()
                if isinstance(device["Base32StringSeed"], bytes)
                else device["Base32StringSeed"]
            )
            now = time.time()
            iam.enable_mfa_device(
                UserName=user,
                SerialNumber=device["SerialNumber"],
                AuthenticationCode1=totp(seed, now - 30),
                AuthenticationCode2=totp(seed, now),
            )
            session = boto3.Session(key["AccessKeyId"], key["SecretAccessKey"], region_name=REGION)
            identities[user] = Identity(user, session, seed)
        return identities

    def create_buckets(self) -> None:
        for account in self.org.accounts:
            s3 = self.setup_session(account.account_id).client("s3", endpoint_url=self.aws.endpoint)
            for suffix in ("app-data", "logs"):
                s3.create_bucket(Bucket=f"{account.name}-{account.account_id}-{suffix}")

    def checks(self, identities: dict[str, Identity]) -> list[Check]:
        org = self.org
        checks: list[Check] = []
        for user in org.users:
            for account, kind in org.user_roles(user):
                request = request_for(org, account, kind, user)
                checks.append(
                    Check(user, request, True, "granted", identities[user].token if kind.mfa_required else None)
                )
        checks += self.refusals(identities)
        return checks

    def refusals(self, identities: dict[str, Identity]) -> list[Check]:
        """The switches that must fail, picked from the file so they hold for any organisation."""
        org, refusals = self.org, []
        first = org.accounts[0]
        some_kind = org.role_kinds[first.role_keys[0]]
        ungranted = next((u for u in org.users if not org.user_roles(u)), NO_GRANT)
        request = replace(request_for(org, first, some_kind, None), mfa_serial=org.hub.mfa_serial(ungranted))
        refusals.append(Check(ungranted, request, False, "no grant", identities[ungranted].token))
        mfa_user = next((u for u in org.users if any(k.mfa_required for _, k in org.user_roles(u))), None)
        if mfa_user is not None:
            account, kind = next((a, k) for a, k in org.user_roles(mfa_user) if k.mfa_required)
            request = request_for(org, account, kind, mfa_user)
            refusals.append(Check(mfa_user, replace(request, mfa_serial=None), False, "no MFA code"))
            refusals.append(
                Check(
                    mfa_user, request, False, "wrong MFA code", identities[mfa_user].wrong_token, refusal="mfa-invalid"
                )
            )
        other = self.granted_elsewhere()
        if other is not None:
            user, account, key = other
            kind = org.role_kinds[key]
            request = request_for(org, account, kind, user)
            refusals.append(
                Check(user, request, False, f"{key} granted in other accounts only", identities[user].token)
            )
        strict = next(
            ((a, org.role_kinds[k]) for a in org.accounts for k in a.role_keys if org.role_kinds[k].strict_trust), None
        )
        admin = identities[HUB_ADMIN]
        if strict is not None:
            account, kind = strict
            request = replace(request_for(org, account, kind, None), mfa_serial=org.hub.mfa_serial(HUB_ADMIN))
            refusals.append(Check(HUB_ADMIN, request, False, "hub admin vs trust: strict", admin.token))
        loose = next(
            (
                (a, org.role_kinds[k])
                for a in org.accounts
                for k in a.role_keys
                if not org.role_kinds[k].strict_trust and org.role_kinds[k].external_id is None
            ),
            None,
        )
        if loose is not None:
            account, kind = loose
            request = replace(request_for(org, account, kind, None), mfa_serial=org.hub.mfa_serial(HUB_ADMIN))
            refusals.append(Check(HUB_ADMIN, request, True, "hub admin, trust delegated to hub", admin.token))
        return refusals

    def granted_elsewhere(self) -> tuple[str, TargetAccount, str] | None:
        """A user granted a role kind in some accounts, and an account that has it but was not granted."""
        for user in self.org.users:
            granted = {(a.name, k.key) for a, k in self.org.user_roles(user)}
            for _, key in granted:
                for account in self.org.accounts:
                    if key in account.role_keys and (account.name, key) not in granted:
                        return user, account, key
        return None

    def run_checks(self, checks: list[Check], identities: dict[str, Identity]) -> None:
        """Granted switches exactly as `switchrole smoke --all` does them (one MFA session per user);
        refusals one by one. Concurrently, each with the credentials of the user it is about."""
        granted: dict[str, list[Check]] = {}
        for check in checks:
            if check.expect_ok and check.who in self.org.users:
                granted.setdefault(check.who, []).append(check)

        def user(name: str) -> None:
            try:
                reports = check_user(
                    identities[name].session,
                    self.org,
                    name,
                    token=identities[name].token,
                    endpoint_url=self.aws.endpoint,
                )
            except SmokeFailed as failure:
                reports = [
                    SmokeReport(c.request, failure=failure.message, failure_kind=failure.kind, exit_code=1)
                    for c in granted[name]
                ]
            for check, report in zip(granted[name], reports, strict=True):
                check.report = report

        def one(check: Check) -> None:
            session = identities[check.who].session
            check.report = run_smoke(
                session, check.request, token=check.token, org=self.org, endpoint_url=self.aws.endpoint
            )

        singles = [c for c in checks if not any(c is g for gs in granted.values() for g in gs)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(user, granted))
            list(pool.map(one, singles))


def table(checks: list[Check]) -> Table:
    result = Table(title="switchrole local demo: switches on the embedded local AWS")
    for column in ("who", "role", "expected", "result", "proof"):
        result.add_column(column, overflow="fold")
    for c in checks:
        report = c.report
        assert report is not None
        outcome = "switched" if report.ok else "refused"
        colour = "green" if c.passed else "red"
        if report.ok and report.assumed_arn:
            account, identity = report.assumed_arn.split(":")[4], report.assumed_arn.split(":")[5]
            proof = f"{identity} in {account}; lists {len(report.buckets)} buckets"
        else:
            proof = report.failure or ""
        result.add_row(
            c.who,
            c.request.label,
            ("switch" if c.expect_ok else "refuse") + f" ({c.why})",
            f"[{colour}]{outcome}[/{colour}]",
            proof,
        )
    return result


def run_demo(org: Organisation, *, keep: bool = False, console: Console | None = None) -> int:
    """Run the demo; 0 when every check behaved as expected, 1 otherwise."""
    console = console or Console(width=None if Console().is_terminal else 160)
    workdir = Path(tempfile.mkdtemp(prefix="switchrole-demo-"))
    demo = Demo(org, console=console, workdir=workdir)
    started = time.monotonic()
    try:
        checks = demo.run()
    except DemoFailed as exc:
        console.print(f"[red]demo failed:[/red] {exc}", markup=True)
        demo.aws.stop()
        return 1
    except BaseException:
        demo.aws.stop()
        raise
    console.print(table(checks))
    passed = sum(c.passed for c in checks)
    switched = sum(1 for c in checks if c.passed and c.expect_ok)
    refused = sum(1 for c in checks if c.passed and not c.expect_ok)
    console.print(
        f"{passed}/{len(checks)} checks as expected: {switched} switches succeeded, {refused} refusals held "
        f"[dim](total {time.monotonic() - started:.1f} s)[/dim]"
    )
    if keep:
        env_file = write_env_file(demo)
        console.print(
            f"local AWS kept running at {demo.aws.endpoint} (pid {demo.aws.process.pid if demo.aws.process else '?'})"
        )
        console.print(f"  source {env_file}   # endpoint and region; then see `switchrole local credentials --help`")
    else:
        demo.aws.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if passed == len(checks) else 1


def write_env_file(demo: Demo) -> Path:
    """Endpoint and region only: credentials never go to disk (mint them with `switchrole local credentials`)."""
    path = demo.workdir / "local-aws.env"
    path.write_text(
        f"export AWS_ENDPOINT_URL={demo.aws.endpoint}\n"
        f"export AWS_REGION={REGION}\nexport AWS_DEFAULT_REGION={REGION}\n"
        f"export SWITCHROLE_LOCAL_PID={demo.aws.process.pid if demo.aws.process else ''}\n"
    )
    return path
