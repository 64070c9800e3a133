"""``switchrole local demo``: the whole product on an embedded local AWS, no AWS account needed.

1. synthesize the accounts file (cdk-nag included) and start a moto server on 127.0.0.1;
2. bootstrap the hub and every target account (targets trusting the hub) and deploy every
   stack with the real CDK CLI, in an isolated HOME / CDK_HOME / AWS config;
3. read the emulator's IAM state back and compare it with the templates;
4. give every hub user an access key and a virtual MFA device, put buckets in
   every account, and switch authorization on;
5. smoke-check every granted switch of every user, and the refusals that must
   happen (no grant, no MFA, a wrong MFA code, a hub administrator against
   strict trust, a grant for another account, an expired grant or user, and the AWS CLI's
   ``mfa_serial`` form under the strict reading of IAM's MFA keys); print the table;
6. with ``--then B``: deploy ``B`` onto the same emulator with ``cdk deploy`` as the
   hub administrator (a CloudFormation update, authorization on), compare the
   emulator with ``B``'s templates, and run ``B``'s checks plus, for every access
   the first file granted and ``B`` removes, a switch that must now be refused.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console

from switchrole.client.boto import session as boto3_session
from switchrole.client.switch import SmokeFailed
from switchrole.iam.evaluate import totp
from switchrole.infra.assembly_reader import stacks
from switchrole.infra.bootstrap import render as bootstrap_template
from switchrole.live.smoke import SmokeReport, check_permission_set, check_user, run_smoke
from switchrole.local import demo_identity_center
from switchrole.local.authz import STRICT
from switchrole.local.demo_checks import (
    HUB_ADMIN,
    NO_GRANT,
    SETUP_KEY,
    Check,
    DemoFailed,
    Identity,
    cdk_binary,
)
from switchrole.local.demo_expectations import Expectations
from switchrole.local.demo_identity_center import without_permission_sets_stack
from switchrole.local.kept import OFFLINE_CLI_ENV, TOKEN_FILE
from switchrole.local.server import LocalAws, admin_get, first_access_session
from switchrole.local.synth_child import DONE
from switchrole.local.verify import differences
from switchrole.model.expiry import utc_now
from switchrole.model.organisation import Organisation, TargetAccount


class Demo:
    def __init__(self, org: Organisation, *, console: Console, workdir: Path, mfa_reading: str = STRICT) -> None:
        self.org, self.console, self.workdir = org, console, workdir
        self.tmp = workdir / "tmp"  # TMPDIR of everything the demo starts: nothing is left in the user's
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.aws = LocalAws(
            log_file=workdir / "moto.log", mfa_reading=mfa_reading, tmpdir=self.tmp, token_file=workdir / TOKEN_FILE
        )
        self.assembly = workdir / "cdk.out"
        self.template_file = workdir / "bootstrap-template.json"  # switchrole's, for target accounts
        self.timings: dict[str, float] = {}
        self.identities: dict[str, Identity] = {}
        self.children: list[subprocess.Popen[Any]] = []  # synthesis and CDK CLI runs, each in its own session
        self.synthesizer: subprocess.Popen[bytes] | None = None  # the synthesis child, while rounds may follow
        self.now = utc_now()  # the moment the checks judge expiry at (set by checks())

    # --- plumbing
    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        with self.console.status(f"{name} ..."):
            yield
        self.timings[name] = time.monotonic() - start
        self.console.print(f"[green]✓[/green] {name} [dim]({self.timings[name]:.1f} s)[/dim]")

    def setup_session(self, account_id: str) -> boto3.Session:
        """Credentials in ``account_id`` while authorization is off (moto picks the account by key)."""
        setup = boto3_session(SETUP_KEY, "setup", region_name=self.org.hub.region)
        sts = setup.client("sts", endpoint_url=self.aws.endpoint)
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/switchrole-demo-setup", RoleSessionName="setup"
        )
        c = creds["Credentials"]
        return boto3_session(
            c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], region_name=self.region_of(account_id)
        )

    def region_of(self, account_id: str) -> str:
        """Where an account's stack lives: its own region when the file gives one (else the hub's)."""
        return next((a.region for a in self.org.accounts if a.account_id == account_id), self.org.hub.region)

    def cli_env(self, session: boto3.Session) -> dict[str, str]:
        """An isolated environment for the CDK CLI: nothing read from or written to the user's AWS config."""
        home = self.workdir / "home"
        (home / ".aws").mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
        creds = session.get_credentials().get_frozen_credentials()
        env.update(
            HOME=str(home),
            CDK_HOME=str(home / ".cdk"),
            TMPDIR=str(self.tmp),  # where `cdk bootstrap` writes its template (left there if it is ended)
            **OFFLINE_CLI_ENV,
            AWS_CONFIG_FILE=str(home / ".aws" / "config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
            AWS_REGION=self.org.hub.region,
            AWS_DEFAULT_REGION=self.org.hub.region,
            AWS_ENDPOINT_URL=self.aws.endpoint,
            AWS_ACCESS_KEY_ID=creds.access_key,
            AWS_SECRET_ACCESS_KEY=creds.secret_key,
            AWS_SESSION_TOKEN=creds.token or "",
        )
        return env

    def cdk(self, session: boto3.Session, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [str(cdk_binary()), *args, "--app", str(self.assembly), "--no-notices"],
            cwd=self.workdir,  # not the checkout: from an installed wheel there is none
            env=self.cli_env(session),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its node processes are ended with it, by stop(), whatever interrupts us
        )
        self.children.append(process)
        return process

    def synth(self, org: Organisation) -> None:
        """Synthesize ``org`` into the demo's assembly in the synthesis child (the same switchrole.infra.assembly.synth
        as `switchrole synth`; see switchrole.local.synth_child), started by the first round and kept for the
        next. jsii's kernel, the node process that importing aws_cdk starts, then lives in the child: in the
        demo's TMPDIR and its own session like every CDK CLI run, ended with the child by stop(), and never under
        a Ctrl-C that leaves its folders behind or jsii's exit hook printing a traceback."""
        org = without_permission_sets_stack(org)
        child = self.synthesizer
        if child is None or child.poll() is not None:
            with open(self.workdir / "synth.log", "ab") as log:  # the child's stderr (jsii's too), kept with the demo
                child = subprocess.Popen(
                    [sys.executable, "-P", "-m", "switchrole.local.synth_child", str(self.assembly)],  # -P: no cwd
                    cwd=self.workdir,
                    env={**os.environ, "TMPDIR": str(self.tmp)},
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    start_new_session=True,
                )
            self.children.append(child)
            self.synthesizer = child
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(pickle.dumps(org))
            child.stdin.flush()
            answer = child.stdout.readline()
        except BrokenPipeError:  # it ended before reading the request
            answer = b""
        if answer != DONE:
            code = child.wait()
            lines = (self.workdir / "synth.log").read_text(errors="replace").strip().splitlines()
            tail = "\n".join(lines[-15:])
            raise DemoFailed(f"synthesis failed (exit {code}):\n{tail}")

    def end_synthesis(self) -> None:
        """Let the synthesis child end on its own (its stdin closed: no more rounds), jsii's kernel with it."""
        child, self.synthesizer = self.synthesizer, None
        if child is not None and child.poll() is None:
            assert child.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                child.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):  # else stop() ends it with the other children
                child.wait(timeout=30)

    def stop(self) -> None:
        """End every child (synthesis, CDK CLI runs: their whole process groups) and the local AWS."""
        for process in self.children:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.children:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.aws.stop()

    def bootstrap_args(self, account_id: str) -> list[str]:
        """As docs/onboarding.md says: a target account with switchrole's bootstrap template (only its own named
        deployer roles may deploy: no hub principal), the hub with the CDK's default."""
        args = [f"aws://{account_id}/{self.region_of(account_id)}"]
        if account_id != self.org.hub.account_id:
            args += ["--template", str(self.template_file)]
        return args

    def bootstrap(self, accounts: list[str]) -> None:
        """`cdk bootstrap` each account in its region, all at once (while authorization is off). The template is
        written once, for the file being deployed, before any CDK CLI run reads it."""
        self.template_file.write_text(bootstrap_template(self.org, cdk_binary()))
        self.wait(
            [
                (f"cdk bootstrap {a}", self.cdk(self.setup_session(a), "bootstrap", *self.bootstrap_args(a)))
                for a in accounts
            ]
        )

    @staticmethod
    def wait(processes: list[tuple[str, subprocess.Popen[str]]]) -> None:
        for what, process in processes:
            output, _ = process.communicate()
            if process.returncode != 0:
                tail = "\n".join(output.strip().splitlines()[-15:])
                raise DemoFailed(f"{what} failed (exit {process.returncode}):\n{tail}")

    def verify(self) -> None:
        with self.aws.authorization_off():
            problems = differences(self.assembly, self.setup_session, self.aws.endpoint)
        if problems:
            raise DemoFailed("the emulator differs from the templates:\n" + "\n".join(problems))

    # --- the flow
    def run(self) -> list[Check]:
        """Deploy the organisation onto a fresh emulator and check every switch."""
        self.deploy()
        checks = self.checks(self.org)
        with self.phase(f"ran {len(checks)} smoke checks"):
            self.run_checks(checks, self.org)
        return checks

    def deploy(self) -> None:
        """Synthesize, start the emulator, bootstrap, deploy, read the state back, then give every hub user a
        key and an MFA device and switch authorization on: the running estate, before any check."""
        accounts = [self.org.hub.account_id, *(a.account_id for a in self.org.accounts)]
        with self.phase(f"synthesized {len(accounts)} stacks (cdk-nag clean)"):
            self.synth(self.org)
        with self.phase(f"started the local AWS on {self.aws.endpoint} ({self.aws.mfa_reading} MFA reading)"):
            self.aws.start()
        with self.phase(f"bootstrapped {len(accounts)} accounts with `cdk bootstrap`"):
            self.bootstrap(accounts)
        with self.phase("deployed every stack with `cdk deploy --all`"):
            deploy = self.cdk(
                self.setup_session(self.org.hub.account_id),
                "deploy", "--all", "--require-approval", "never", "--concurrency", "4",
            )  # fmt: skip
            self.wait([("cdk deploy --all", deploy)])
        with self.phase("emulator state matches the templates (roles, trust, groups, members, policies)"):
            self.verify()
        self.join_organization(self.org)
        with self.phase("created access keys, MFA devices and buckets; authorization on"):
            self.identities = self.create_identities([*self.org.users, HUB_ADMIN, NO_GRANT])
            self.sign_in_permission_sets(self.org)
            self.create_buckets()
            self.aws.enforce_authorization()

    def apply(self, new: Organisation) -> list[Check]:
        """Deploy ``new`` onto the running emulator as a CloudFormation update, each account by its own deployer
        with authorization on (the kept emulator's documented path), then check it, removed access included."""
        old, self.org = self.org, new  # regions and identities of the new file from here on
        self.join_organization(new)
        with self.phase("synthesized the changed file"):
            self.synth(new)
        before = {(a.account_id, a.region) for a in old.accounts}
        added = [a for a in new.accounts if (a.account_id, a.region) not in before]
        if added:  # as docs/onboarding.md says: a new account (or region) is bootstrapped before the deploy
            phase = f"bootstrapped {len(added)} added account(s) with `cdk bootstrap`"
            with self.phase(phase), self.aws.authorization_off():
                self.bootstrap([a.account_id for a in added])
                known = {a.account_id for a in old.accounts}
                self.create_buckets([a for a in added if a.account_id not in known])
        with self.phase("deployed the change with `cdk deploy`: each account by its own deployer (an update)"):
            self.deploy_update()
        with self.phase("emulator state matches the new templates (nothing removed is left behind)"):
            self.verify()
        joined = [u for u in new.users if u not in self.identities]
        with self.aws.authorization_off():
            if joined:
                self.identities |= self.create_identities(joined)
            self.sign_in_permission_sets(new)  # Identity Center provisions the sets' changed references
        checks = self.checks(new) + self.expectations.removed(old, new)
        with self.phase(f"ran {len(checks)} smoke checks"):
            self.run_checks(checks, new)
        return checks

    def join_organization(self, org: Organisation) -> None:
        """With hub.organization_id, the hub and every account of the file are members of that organization (as
        they are on AWS: organisation-wide grants name it); accounts that leave the file stay members."""
        if org.hub.organization_id:
            self.aws.set_organization(
                org.hub.organization_id, [org.hub.account_id, *(a.account_id for a in org.accounts)]
            )

    def deploy_update(self) -> None:
        """Each account's stacks by a deployer its bootstrap names, with authorization on: the hub's by the hub
        administrator, each target account's by its OrganizationAccountAccessRole (first access from the
        management account; the scaffold's CI uses its GitHub OIDC role the same way). No hub principal can
        use a target account's deployment roles (the demo's "hub admin vs CDK deploy role" row)."""
        by_account: dict[str, list[str]] = {}
        for name, artifact in stacks(self.assembly):
            by_account.setdefault(artifact["environment"].split("/")[2], []).append(name)
        runs = []
        for account_id, names in sorted(by_account.items()):
            if account_id == self.org.hub.account_id:
                session = self.identities[HUB_ADMIN].session
            else:
                region = self.region_of(account_id)
                session = first_access_session(self.aws.endpoint, account_id, region, self.aws.admin_token)
            deploy = ("deploy", *names, "--require-approval", "never", "--concurrency", "4")
            runs.append((f"cdk deploy {' '.join(names)} (update)", self.cdk(session, *deploy)))
        self.wait(runs)

    def create_identities(self, users: list[str]) -> dict[str, Identity]:
        iam = self.setup_session(self.org.hub.account_id).client("iam", endpoint_url=self.aws.endpoint)
        identities = {}
        for user in users:
            if user in (HUB_ADMIN, NO_GRANT):
                iam.create_user(UserName=user)
            if user == HUB_ADMIN:
                iam.attach_user_policy(UserName=HUB_ADMIN, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
            key = admin_get(self.aws.endpoint, "access-key", self.org.hub.account_id, user, self.aws.admin_token)
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
            session = boto3_session(key["AccessKeyId"], key["SecretAccessKey"], region_name=self.org.hub.region)
            identities[user] = Identity(user, session, seed)
        return identities

    def sign_in_permission_sets(self, org: Organisation) -> None:
        """With ``hub.identity_center``: the hub's permission set roles, as Identity Center provisions them, and a
        person signed in to each (authorization off: these are Identity Center's own IAM calls)."""
        if org.hub.identity_center is None:
            return
        iam = self.setup_session(org.hub.account_id).client("iam", endpoint_url=self.aws.endpoint)
        self.identities |= demo_identity_center.identities(org, iam, self.aws.endpoint, self.aws.admin_token)

    def create_buckets(self, accounts: list[TargetAccount] | None = None) -> None:
        for account in self.org.accounts if accounts is None else accounts:
            s3 = self.setup_session(account.account_id).client("s3", endpoint_url=self.aws.endpoint)
            where = {} if account.region == "us-east-1" else {"LocationConstraint": account.region}
            for suffix in ("app-data", "logs"):
                bucket = f"{account.name}-{account.account_id}-{suffix}"
                s3.create_bucket(Bucket=bucket, **({"CreateBucketConfiguration": where} if where else {}))

    @property
    def expectations(self) -> Expectations:
        """The rows a file's checks expect, for the identities made so far under this emulator's MFA reading."""
        return Expectations(self.identities, self.aws.mfa_reading)

    def checks(self, org: Organisation) -> list[Check]:
        """Every switch IAM still allows now (temporary grants included), then the refusals."""
        self.now = utc_now()
        return self.expectations.checks(org, self.now)

    def run_checks(self, checks: list[Check], org: Organisation) -> None:
        """Granted switches exactly as `switchrole smoke --all` does them (one MFA session per user);
        the others one by one. Concurrently, each with the credentials of the user it is about."""
        identities = self.identities
        granted: dict[str, list[Check]] = {}
        sets = {g.grantee: str(g.permission_set) for g in org.permission_set_groups}
        for check in checks:
            if check.expect_ok and check.why == "granted" and (check.who in org.users or check.who in sets):
                granted.setdefault(check.who, []).append(check)

        def user(name: str) -> None:
            try:
                if name in sets:  # as `switchrole smoke --all --permission-set` does it
                    reports = check_permission_set(
                        identities[name].session, org, sets[name], endpoint_url=self.aws.endpoint, now=self.now
                    )
                else:
                    reports = check_user(
                        identities[name].session,
                        org,
                        name,
                        token=identities[name].token,
                        endpoint_url=self.aws.endpoint,
                        now=self.now,  # the same live access the checks were built from
                    )
            except SmokeFailed as failure:
                reports = [
                    SmokeReport(c.request, failure=failure.message, failure_kind=failure.kind, exit_code=1)
                    for c in granted[name]
                ]
            by_role = {report.request.role_arn: report for report in reports}  # each its own switch's report
            assert sorted(by_role) == sorted(c.request.role_arn for c in granted[name]), name
            for check in granted[name]:
                check.report = by_role[check.request.role_arn]

        def one(check: Check) -> None:
            source, request = identities[check.who].session, check.request
            if check.aged_by:  # an MFA session, then made older on the server than the role allows
                sts = source.client("sts", endpoint_url=self.aws.endpoint)
                assert check.token is not None and request.mfa_serial is not None
                c = sts.get_session_token(SerialNumber=request.mfa_serial, TokenCode=check.token())["Credentials"]
                self.aws.age_mfa_sessions(org.hub.account_id, check.who, check.aged_by)
                source = boto3_session(
                    c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], region_name=self.org.hub.region
                )
                request = replace(request, mfa_serial=None, source_has_mfa=True)  # diagnosed as an aged session
            check.report = run_smoke(
                source,
                request,
                token=check.token,
                org=org,
                endpoint_url=self.aws.endpoint,
                session_first=check.session_first,
            )

        singles = [c for c in checks if not any(c is g for gs in granted.values() for g in gs)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(user, granted))
            list(pool.map(one, singles))
