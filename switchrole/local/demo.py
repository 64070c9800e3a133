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
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import boto3
from rich.console import Console
from rich.table import Table

from switchrole.client.switch import SmokeFailed, SmokeRequest, request_for
from switchrole.infra.assembly_reader import stacks
from switchrole.infra.bootstrap import bootstrap_role_arn
from switchrole.infra.bootstrap import render as bootstrap_template
from switchrole.live.smoke import SmokeReport, check_user, run_smoke
from switchrole.local.authz import IDENTITY_DENY, NO_IDENTITY_ALLOW, NO_SUCH_ROLE, NO_TRUST_ALLOW, STRICT, TRUST_DENY
from switchrole.local.evaluate import totp, totp_valid
from switchrole.local.kept import DIR_PREFIX, OFFLINE_CLI_ENV, TOKEN_FILE, Kept
from switchrole.local.server import LocalAws, admin_get, first_access_session
from switchrole.local.verify import differences
from switchrole.model.organisation import Organisation, RoleKind, TargetAccount, ended, utc_now
from switchrole.review.access_diff import diff as access_diff

PROJECT = Path(__file__).resolve().parents[2]
HUB_ADMIN = "switchrole-demo-hub-admin"  # AdministratorAccess in the hub, no grant: what trust: strict stops
NO_GRANT = "switchrole-demo-no-grant"  # used when the file has no user without a grant
SETUP_KEY = "AKIASWITCHROLESETUP0"  # unknown to moto: only used while authorization is off
# Why a refusal must happen, in the words of the emulator's AccessDenied messages (as AWS's): a row passes only
# when the switch was refused for the reason it demonstrates, not for any reason.
BY_HUB = NO_IDENTITY_ALLOW.format(action="sts:AssumeRole")  # no hub grant (or its conditions fail)
BY_MFA_POLICY = IDENTITY_DENY  # the hub's MFA policy: everything but MFA set-up is denied without MFA
BY_TRUST = NO_TRUST_ALLOW.format(action="sts:AssumeRole")  # the target role's trust policy
BY_USER_DENY = IDENTITY_DENY  # an expired user's own Deny of every switch
BY_TRUST_DENY = TRUST_DENY  # a strict role nobody is granted: its trust denies the hub outright
BY_NO_ROLE = NO_SUCH_ROLE  # a role the update deleted (the emulator says so; AWS answers a plain AccessDenied)
NOT_AS_EXPECTED = "✗ NOT AS EXPECTED"  # plain text, so a failed row shows in a CI log without colour


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
    session_first: bool = True  # False: the AWS CLI's mfa_serial form (AssumeRole with long-term keys + code)
    because: str | None = None  # a refusal must name this side (see BY_HUB, BY_MFA_POLICY, BY_TRUST)
    aged_by: int = 0  # switch from an MFA session made this many seconds older first

    @property
    def passed(self) -> bool:
        if self.report is None:
            return False
        if self.expect_ok:
            return self.report.ok
        return self.report.failure_kind == self.refusal and (self.because or "") in self.report.aws_message


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
    """The pinned CDK CLI: the current folder's (an organisation's own repository, set up with `npm ci`), else
    this checkout's (PROJECT; from an installed wheel that is site-packages, which has none)."""
    places = list(dict.fromkeys([Path.cwd(), PROJECT]))
    for place in places:
        binary = place / "node_modules" / ".bin" / "cdk"
        if binary.exists():
            return binary
    looked = " or ".join(str(p / "node_modules" / ".bin" / "cdk") for p in places)
    raise DemoFailed(f"the CDK CLI is not installed (no {looked}): run `npm ci` in the folder with package.json")


class Interruption:
    """Ctrl-C (SIGINT) or SIGTERM while the demo runs: the first raises KeyboardInterrupt, every later one is
    ignored, so the cleanup the first started is not stopped half-way (a terminal sends a second Ctrl-C to the
    whole process group). Ignored by this handler rather than by SIG_IGN, which would have Python report a
    signal already on its way as ignored "due to race condition"."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self.previous: dict[int, signal._HANDLER] = {}

    def handle(self, signum: int, frame: object) -> None:
        if self.signum is None:
            self.signum = signum
            raise KeyboardInterrupt

    def __enter__(self) -> Interruption:
        self.previous = {signum: signal.signal(signum, self.handle) for signum in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            if handler is not None:  # None: not installed from Python, cannot be put back
                signal.signal(signum, handler)


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
        sts = boto3.client(
            "sts",
            endpoint_url=self.aws.endpoint,
            region_name=self.org.hub.region,
            aws_access_key_id=SETUP_KEY,
            aws_secret_access_key="setup",
        )
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/switchrole-demo-setup", RoleSessionName="setup"
        )
        c = creds["Credentials"]
        return boto3.Session(
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
        """Synthesize ``org`` into the demo's assembly in a child process (the same switchrole.infra.assembly.synth
        as `switchrole synth`). jsii's kernel, the node process that importing aws_cdk starts, then lives in the
        child: in the demo's TMPDIR and its own session like every CDK CLI run, ended with the child by stop(),
        and never under a Ctrl-C that leaves its folders behind or jsii's exit hook printing a traceback."""
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", "switchrole.local.synth_child", str(self.assembly)],  # -P: not the cwd
            cwd=self.workdir,
            env={**os.environ, "TMPDIR": str(self.tmp)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.children.append(process)
        output, _ = process.communicate(pickle.dumps(org))
        if process.returncode != 0:
            tail = "\n".join(output.decode(errors="replace").strip().splitlines()[-15:])
            raise DemoFailed(f"synthesis failed (exit {process.returncode}):\n{tail}")

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
        if joined:
            with self.aws.authorization_off():
                self.identities |= self.create_identities(joined)
        checks = self.checks(new) + self.removed(old, new)
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
            session = boto3.Session(key["AccessKeyId"], key["SecretAccessKey"], region_name=self.org.hub.region)
            identities[user] = Identity(user, session, seed)
        return identities

    def create_buckets(self, accounts: list[TargetAccount] | None = None) -> None:
        for account in self.org.accounts if accounts is None else accounts:
            s3 = self.setup_session(account.account_id).client("s3", endpoint_url=self.aws.endpoint)
            where = {} if account.region == "us-east-1" else {"LocationConstraint": account.region}
            for suffix in ("app-data", "logs"):
                bucket = f"{account.name}-{account.account_id}-{suffix}"
                s3.create_bucket(Bucket=bucket, **({"CreateBucketConfiguration": where} if where else {}))

    def checks(self, org: Organisation) -> list[Check]:
        """Every switch IAM still allows now (temporary grants included), then the refusals."""
        now = self.now = utc_now()
        checks: list[Check] = []
        for user in org.users:
            for account, kind in org.user_roles(user, now=now):
                request = request_for(org, account, kind, user)
                token = self.identities[user].token if request.mfa_required else None
                checks.append(Check(user, request, True, "granted", token))
        return checks + self.refusals(org, now) + self.expired(org, now)

    def expired(self, org: Organisation, now: datetime) -> list[Check]:
        """Every switch the file grants that has expired: refused by the hub alone, with no job run. An
        expired grant no longer allows (its DateLessThan fails); an expired user meets their explicit Deny."""
        checks = []
        for user, account, kind in self.granted(org):
            end = org.access_end(user, account.name, kind.key)
            if end is None or not ended(end, now):
                continue
            request = request_for(org, account, kind, user)
            token = self.identities[user].token if request.mfa_required else None
            user_end = org.users[user].until
            if user_end is not None and ended(user_end, now):
                checks.append(Check(user, request, False, "user expired", token, because=BY_USER_DENY))
            else:
                checks.append(Check(user, request, False, "grant expired", token, because=BY_HUB))
        return checks

    @staticmethod
    def granted(org: Organisation) -> list[tuple[str, TargetAccount, RoleKind]]:
        return [(user, account, kind) for user in org.users for account, kind in org.user_roles(user)]

    def removed(self, old: Organisation, new: Organisation) -> list[Check]:
        """For every access the review of ``old`` -> ``new`` lists as lost, the switch that must now be refused:
        by the hub (no grant any more), or by the role's own trust where it is strict and now admits nobody (an
        explicit Deny wins over everything). Renamed kinds and accounts are not losses, as in the review."""
        nobody = {(a.name, k.key) for a, k in new.strict_roles_admitting_nobody()}
        accounts = {a.name for a in new.accounts}
        deployed = {(a.name, k) for a in new.accounts for k in a.role_keys}
        checks = []
        for row in access_diff(old, new, base_label=old.source, head_label=new.source).lost:
            user, account_name, key = row["user"], row["account"], row["role"]
            org = new if key in new.role_kinds and account_name in accounts else old
            request = request_for(org, org.account(account_name), org.role_kinds[key], user)
            token = self.identities[user].token if request.mfa_required else None
            if account_name in accounts and (account_name, key) not in deployed:
                because = BY_NO_ROLE  # the role left the account, so the update deleted it
            else:
                because = BY_TRUST_DENY if (account_name, key) in nobody else BY_HUB
            checks.append(Check(user, request, False, "access removed", token, because=because))
        return checks

    def refusals(self, org: Organisation, now: datetime) -> list[Check]:
        """The switches that must fail, picked from the file so they hold for any organisation (from the access
        still live at ``now``: an expired user is refused by their own Deny, whatever the check is about)."""
        identities, refusals = self.identities, []
        first = org.accounts[0]
        some_kind = org.role_kinds[first.role_keys[0]]

        def roles(user: str) -> list[tuple[TargetAccount, RoleKind]]:
            return org.user_roles(user, now=now)

        current = [u for u in org.users if not ended(org.users[u].until, now)]
        ungranted = next((u for u in current if not org.user_roles(u)), NO_GRANT)
        request = replace(request_for(org, first, some_kind, None), mfa_serial=org.hub.mfa_serial(ungranted))
        refusals.append(Check(ungranted, request, False, "no grant", identities[ungranted].token, because=BY_HUB))
        mfa_user = next((u for u in current if any(k.mfa_required for _, k in roles(u))), None)
        if mfa_user is not None:
            account, kind = next((a, k) for a, k in roles(mfa_user) if k.mfa_required)
            request = request_for(org, account, kind, mfa_user)
            token = identities[mfa_user].token
            refusals.append(
                Check(mfa_user, replace(request, mfa_serial=None), False, "no MFA code", because=BY_MFA_POLICY)
            )
            refusals.append(
                Check(
                    mfa_user, request, False, "wrong MFA code", identities[mfa_user].wrong_token, refusal="mfa-invalid"
                )
            )
            strict = self.aws.mfa_reading == STRICT
            why = "mfa_serial form: " + ("caller's policies see no MFA" if strict else "lenient reading")
            refusals.append(
                Check(mfa_user, request, not strict, why, token, session_first=False, because=BY_MFA_POLICY)
            )
            account, kind = min(
                ((a, k) for a, k in roles(mfa_user) if k.mfa_required),
                key=lambda ak: ak[1].mfa_max_age_seconds,
            )
            age = kind.mfa_max_age_seconds + 60
            request = replace(request_for(org, account, kind, mfa_user), mfa_required=None)
            why = f"MFA {age} s old, {kind.key} allows {kind.mfa_max_age_seconds} s"
            refusals.append(Check(mfa_user, request, False, why, token, because=BY_HUB, aged_by=age))
        nobody = org.strict_roles_admitting_nobody()
        admits_nobody = {(a.name, k.key) for a, k in nobody}
        other = self.granted_elsewhere(org, now)
        if other is not None:
            user, account, key = other
            kind = org.role_kinds[key]
            request = request_for(org, account, kind, user)
            # a strict role there that admits nobody refuses by its own trust's Deny (which wins) before the hub
            because = BY_TRUST_DENY if (account.name, key) in admits_nobody else BY_HUB
            why = f"{key} granted in other accounts only"
            refusals.append(Check(user, request, False, why, identities[user].token, because=because))
        refusals += self.trust_conditions(org, now)
        strict_role = next(
            (
                (a, org.role_kinds[k])
                for a in org.accounts
                for k in a.role_keys
                if org.role_kinds[k].strict_trust and (a.name, k) not in admits_nobody
            ),
            None,
        )
        admin = identities[HUB_ADMIN]
        shown: set[str] = set()
        for account, kind in nobody:  # one row per kind: its trust denies the hub, the hub admin included
            if kind.key not in shown:
                shown.add(kind.key)
                request = replace(request_for(org, account, kind, None), mfa_serial=org.hub.mfa_serial(HUB_ADMIN))
                refusals.append(Check(HUB_ADMIN, request, False, "admits nobody", admin.token, because=BY_TRUST_DENY))
        deploy_role = bootstrap_role_arn(first.account_id, first.region)
        request = SmokeRequest(
            deploy_role, f"{first.name}-cdk-deploy", HUB_ADMIN, mfa_serial=org.hub.mfa_serial(HUB_ADMIN)
        )
        refusals.append(Check(HUB_ADMIN, request, False, "hub admin vs CDK deploy role", admin.token, because=BY_TRUST))
        if strict_role is not None:
            account, kind = strict_role
            request = replace(request_for(org, account, kind, None), mfa_serial=org.hub.mfa_serial(HUB_ADMIN))
            refusals.append(
                Check(HUB_ADMIN, request, False, "hub admin vs trust: strict", admin.token, because=BY_TRUST)
            )
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

    def trust_conditions(self, org: Organisation, now: datetime) -> list[Check]:
        """Switches without the external id or the source identity a role requires: the trust refuses them
        (the hub grant refuses a missing source identity first; the hub administrator shows the trust does too)."""
        checks = []
        external = next(((u, a, k) for u in org.users for a, k in org.user_roles(u, now=now) if k.external_id), None)
        if external is not None:
            user, account, kind = external
            request = replace(request_for(org, account, kind, user), external_id=None)
            token = self.identities[user].token if request.mfa_required else None
            checks.append(Check(user, request, False, "no external id", token, because=BY_TRUST))
        source = next(((u, a, k) for u in org.users for a, k in org.user_roles(u, now=now) if k.source_identity), None)
        if source is not None:
            user, account, kind = source
            request = replace(request_for(org, account, kind, user), source_identity=False)
            token = self.identities[user].token if request.mfa_required else None
            checks.append(Check(user, request, False, "no source identity", token, because=BY_HUB))
            admin = replace(request_for(org, account, kind, None), source_identity=False)
            admin = replace(admin, mfa_serial=org.hub.mfa_serial(HUB_ADMIN))
            why = "hub admin, no source identity"
            checks.append(Check(HUB_ADMIN, admin, False, why, self.identities[HUB_ADMIN].token, because=BY_TRUST))
        return checks

    @staticmethod
    def granted_elsewhere(org: Organisation, now: datetime) -> tuple[str, TargetAccount, str] | None:
        """A user granted a role kind in some accounts, and an account that has it but was not granted (or
        whose grant has expired: the hub refuses both alike)."""
        for user in org.users:
            granted = {(a.name, k.key) for a, k in org.user_roles(user, now=now)}
            for _, key in granted:
                for account in org.accounts:
                    if key in account.role_keys and (account.name, key) not in granted:
                        return user, account, key
        return None

    def run_checks(self, checks: list[Check], org: Organisation) -> None:
        """Granted switches exactly as `switchrole smoke --all` does them (one MFA session per user);
        the others one by one. Concurrently, each with the credentials of the user it is about."""
        identities = self.identities
        granted: dict[str, list[Check]] = {}
        for check in checks:
            if check.expect_ok and check.why == "granted":
                granted.setdefault(check.who, []).append(check)

        def user(name: str) -> None:
            try:
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
            for check, report in zip(granted[name], reports, strict=True):
                check.report = report

        def one(check: Check) -> None:
            source, request = identities[check.who].session, check.request
            if check.aged_by:  # an MFA session, then made older on the server than the role allows
                sts = source.client("sts", endpoint_url=self.aws.endpoint)
                assert check.token is not None and request.mfa_serial is not None
                c = sts.get_session_token(SerialNumber=request.mfa_serial, TokenCode=check.token())["Credentials"]
                self.aws.age_mfa_sessions(org.hub.account_id, check.who, check.aged_by)
                source = boto3.Session(
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


def table(checks: list[Check], title: str = "switchrole local demo: switches on the embedded local AWS") -> Table:
    result = Table(title=title)
    for column in ("who", "role", "expected", "result", "proof"):
        result.add_column(column, overflow="fold")
    for c in checks:
        report = c.report
        assert report is not None
        outcome = ("switched" if report.ok else "refused") + ("" if c.passed else f" {NOT_AS_EXPECTED}")
        colour = "green" if c.passed else "red"
        if report.ok and report.assumed_arn:
            account, identity = report.assumed_arn.split(":")[4], report.assumed_arn.split(":")[5]
            proof = f"{identity} in {account}; lists {len(report.buckets)} buckets"
        else:
            proof = report.failure or ""
        result.add_row(
            c.who,
            c.request.label,
            expected(c),
            f"[{colour}]{outcome}[/{colour}]",
            proof,
        )
    return result


def expected(check: Check) -> str:
    return ("switch" if check.expect_ok else "refuse") + f" ({check.why})"


def summary(checks: list[Check]) -> str:
    """One line; it names every row that was not as expected (colour alone is lost in a CI log)."""
    passed = sum(c.passed for c in checks)
    switched = sum(1 for c in checks if c.passed and c.expect_ok)
    refused = sum(1 for c in checks if c.passed and not c.expect_ok)
    line = f"{passed}/{len(checks)} checks as expected: {switched} switches succeeded, {refused} refusals held"
    failed = [f"{c.who} {c.request.label} {expected(c)}" for c in checks if not c.passed]
    return line + (f"; {NOT_AS_EXPECTED}: " + "; ".join(failed) if failed else "")


def records(checks: list[Check]) -> list[dict[str, Any]]:
    """The table's rows as data (``--format json``)."""
    rows = []
    for c in checks:
        report = c.report
        rows.append(
            {
                "who": c.who,
                "role": c.request.label,
                "role_arn": c.request.role_arn,
                "expected": "switch" if c.expect_ok else "refuse",
                "why": c.why,
                "result": "missing" if report is None else "switched" if report.ok else "refused",
                "as_expected": c.passed,
                "assumed_arn": report.assumed_arn if report is not None and report.ok else None,
                "failure": None if report is None else report.failure,
            }
        )
    return rows


def run_demo(
    org: Organisation,
    *,
    then: Sequence[Organisation] = (),
    keep: bool = False,
    mfa_reading: str = STRICT,
    console: Console | None = None,
    config_path: Path | None = None,
    then_path: Path | None = None,
    json_out: TextIO | None = None,
) -> int:
    """Run the demo (and, with ``then``, each change onto it in turn); 0 when every check behaved as expected, 130
    when interrupted (Ctrl-C or SIGTERM: everything it started is ended, its folder removed, one line printed).
    With ``json_out``, every round's table is written there as JSON at the end (``--format json``)."""
    console = console or Console(width=None if Console().is_terminal else 160)
    workdir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
    demo = Demo(org, console=console, workdir=workdir, mfa_reading=mfa_reading)
    started = time.monotonic()

    def work() -> int:
        rounds: list[tuple[str, list[Check]]] = []
        rounds.append((f"switchrole local demo: {org.source} on the embedded local AWS", demo.run()))
        console.print(table(rounds[-1][1], rounds[-1][0]))
        console.print(summary(rounds[-1][1]), markup=False, highlight=False)
        for changed in then:
            checks = demo.apply(changed)
            rounds.append((f"after deploying {changed.source} onto it (a CloudFormation update)", checks))
            console.print(table(checks, rounds[-1][0]))
            console.print(summary(checks), markup=False, highlight=False)
        everything = [c for _, checks in rounds for c in checks]
        console.print(f"[dim]total {time.monotonic() - started:.1f} s[/dim]")
        if json_out is not None:
            document = {
                "as_expected": all(c.passed for c in everything),
                "rounds": [{"title": t, "summary": summary(cs), "checks": records(cs)} for t, cs in rounds],
            }
            json_out.write(json.dumps(document, indent=2) + "\n")
        if keep:
            kept = keep_running(demo, config=then_path or config_path)
            for line in kept_instructions(kept, demo.org):
                console.print(line, markup=False, highlight=False, soft_wrap=True)
        return 0 if all(c.passed for c in everything) else 1

    def finish(code: int | None, error: BaseException | None) -> int:
        """End what must end and say how it went; run again from the start if the first signal lands in it
        (every step can be repeated), then as an interruption."""
        # Ctrl-C or SIGTERM (or a child's pipe closed by a signal meant for it alone)
        interrupted = interruption.signum is not None or isinstance(error, (KeyboardInterrupt, BrokenPipeError))
        failed = isinstance(error, DemoFailed) and not interrupted
        kept = keep and code is not None and not interrupted
        if not kept:
            demo.stop()
        if not kept and not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        if interrupted:
            console.print("interrupted: the local AWS and every CDK CLI run were stopped, the work folder removed")
            return 130
        if failed:
            console.print(f"[red]demo failed:[/red] {error}", markup=True)
            console.print(f"[dim]the local AWS was stopped; its log and the CDK output are kept in {workdir}[/dim]")
            console.print(f"[dim](remove it when done: rm -rf {workdir})[/dim]")
            return 1
        if error is not None:
            raise error
        assert code is not None
        return code

    with Interruption() as interruption:
        code: int | None = None
        error: BaseException | None = None
        try:
            code = work()
        except BaseException as exc:  # finish() re-raises what is neither a failure nor an interruption
            error = exc
        try:
            return finish(code, error)
        except KeyboardInterrupt:  # the first signal, after the work: now the second (and last) time
            return finish(code, error)


def keep_running(demo: Demo, *, config: Path | None) -> Kept:
    """Record the running emulator in its work folder (see switchrole.local.kept)."""
    assert demo.aws.process is not None
    kept = Kept(
        folder=str(demo.workdir),
        endpoint=demo.aws.endpoint,
        pid=demo.aws.process.pid,
        config=str(config.resolve()) if config is not None else "",
        region=demo.org.hub.region,
    )
    kept.write()
    return kept


def kept_instructions(kept: Kept, org: Organisation) -> list[str]:
    """The exact lines the README promises, with this run's real paths and a real user of the file."""
    user = next(iter(org.users), "USER")
    return [
        f"local AWS kept running at {kept.endpoint} (pid {kept.pid}), files in {kept.folder}",
        f"  source {kept.env_file}",
        f'  eval "$(switchrole local credentials --user {user})"   # a key for {user}, in this shell only',
        f"  switchrole local mfa-code --user {user}                # {user}'s current MFA code",
        '  eval "$(switchrole local credentials --deployer)"      # the hub administrator: deploys the hub stack',
        '  eval "$(switchrole local credentials --account ID)"    # an account\'s own deployer, for its stack',
        "  switchrole local stop                                # stop it and remove its files",
    ]
