"""End to end on the embedded local AWS: the real CDK CLI deploys, then deploys a change; real STS calls switch.

One small organisation is deployed once for the module (bootstrap + deploy ~10 s), checked, then a changed
file (a user offboarded, another user's group removed, a running grant cut short, an end added to a strict
grant) is deployed onto it as a CloudFormation update and checked again. It also holds access that expires (an
expired grant, a live temporary grant, an expired user), which the demo checks both times. Everything below
runs under the strict reading of IAM's MFA keys.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from rich.console import Console
from terminal import AWS, SWITCHROLE, in_terminal

from switchrole.client.switch import request_for
from switchrole.iam.evaluate import totp
from switchrole.live.smoke import run_smoke
from switchrole.local.authz import IDENTITY_DENY, NO_IDENTITY_ALLOW, NO_TRUST_ALLOW
from switchrole.local.demo import Demo
from switchrole.local.demo_checks import HUB_ADMIN, Check, Identity, cdk_binary
from switchrole.local.server import admin_get
from switchrole.model.loading import loads
from switchrole.review.access_diff import diff as access_diff

pytestmark = pytest.mark.e2e

SMALL = """\
hub: {account_id: "111111111111", name: identity, region: eu-west-1}
roles:
  ReadOnly: {managed_policies: [ReadOnlyAccess]}
  Admin: {managed_policies: [AdministratorAccess], trust: strict, mfa: {max_age_seconds: 900}}
  Developer: {managed_policies: [PowerUserAccess], source_identity: true}
accounts:
  - {name: app-prod, account_id: "222222222222", roles: [ReadOnly, Admin]}
  - {name: app-dev, account_id: "333333333333", region: eu-central-1, roles: [ReadOnly, Developer]}
groups:
  readers: {grants: [{role: ReadOnly, accounts: "*"}]}
  admins: {grants: [{role: Admin, accounts: [app-prod]}]}
  devs: {grants: [{role: Developer, accounts: [app-dev]}]}
  oncall:
    grants:
      - {role: Developer, accounts: [app-dev], until: 2020-01-01T00:00:00Z}   # over: IAM refuses it
      - {role: Admin, accounts: [app-prod], until: 2020-01-01T00:00:00Z}      # over, on the strict trust too
      - {role: ReadOnly, accounts: [app-prod], until: 2099-12-31T00:00:00Z}   # still running
users:
  ana: {groups: [readers, admins, devs]}
  bo: {groups: [readers]}
  cy: {groups: [readers, devs]}
  ned: {groups: []}
  ivy: {groups: [oncall]}
  kim: {groups: [readers], until: 2020-01-01T00:00:00Z}   # every switch of kim's has ended
"""
# The change: bo leaves, cy leaves the devs group; ivy's running ReadOnly grant is cut short (its end moves into
# the past) and the admins' strict Admin grant gains an end (its trust statement moves under a DateLessThan).
THEN = (
    SMALL.replace("  bo: {groups: [readers]}\n", "")
    .replace("cy: {groups: [readers, devs]}", "cy: {groups: [readers]}")
    .replace("{role: ReadOnly, accounts: [app-prod], until: 2099-12-31T00:00:00Z}   # still running",
             "{role: ReadOnly, accounts: [app-prod], until: 2021-01-01T00:00:00Z}   # cut short by the change")
    .replace("admins: {grants: [{role: Admin, accounts: [app-prod]}]}",
             "admins: {grants: [{role: Admin, accounts: [app-prod], until: 2099-12-31T00:00:00Z}]}")
)  # fmt: skip
EXE = [sys.executable, "-m", "switchrole.cli"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Demo, list[Check], list[Check]]]:
    workdir = tmp_path_factory.mktemp("demo")
    demo = Demo(loads(SMALL, "small.yaml"), console=Console(file=open(os.devnull, "w")), workdir=workdir)  # noqa: SIM115
    try:
        checks = demo.run()
        then = demo.apply(loads(THEN, "then.yaml"))
        yield demo, checks, then
    finally:
        demo.stop()
    process = demo.aws.process
    assert process is not None and process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing of the server's process group is left


def by_why(checks: list[Check], why: str) -> list[Check]:
    return [c for c in checks if c.why == why]


def test_every_check_behaves_as_expected_before_and_after_the_change(
    demo: tuple[Demo, list[Check], list[Check]],
) -> None:
    _, checks, then = demo
    for round_ in (checks, then):
        failed = [(c.who, c.request.label, c.why, c.report and c.report.failure) for c in round_ if not c.passed]
        assert failed == []


def test_granted_user_switches_into_each_granted_role(demo: tuple[Demo, list[Check], list[Check]]) -> None:
    _, checks, _ = demo
    granted = [c for c in checks if c.who == "ana" and c.why == "granted"]
    assert sorted(c.request.label for c in granted) == [
        "app-dev-Developer",
        "app-dev-ReadOnly",
        "app-prod-Admin",
        "app-prod-ReadOnly",
    ]
    for check in granted:
        assert check.report is not None and check.report.ok
        assert check.report.assumed_arn is not None
        assert check.report.assumed_arn.startswith(f"arn:aws:sts::{check.request.account_id}:assumed-role/")
        assert len(check.report.buckets) >= 2  # the demo's buckets in that account (plus CDK's staging bucket)


def test_user_without_a_grant_is_refused(demo: tuple[Demo, list[Check], list[Check]]) -> None:
    _, checks, _ = demo
    (refusal,) = by_why(checks, "no grant")
    assert refusal.who == "ned"
    assert refusal.report is not None and refusal.report.failure_kind == "access-denied"
    assert "hub grant: ned is not granted" in (refusal.report.failure or "")


def test_mfa_and_strict_trust_refusals(demo: tuple[Demo, list[Check], list[Check]]) -> None:
    _, checks, _ = demo
    kinds = {c.why: c.report.failure_kind for c in checks if c.report is not None and not c.expect_ok}
    assert kinds["no MFA code"] == "access-denied"
    assert kinds["wrong MFA code"] == "mfa-invalid"
    assert kinds["hub admin vs trust: strict"] == "access-denied"
    assert kinds["mfa_serial form: caller's policies see no MFA"] == "access-denied"


def test_expired_access_is_refused_by_the_hub_and_live_temporary_access_switches(
    demo: tuple[Demo, list[Check], list[Check]],
) -> None:
    """No job ran at any moment: the hub's DateLessThan on the grant and the user's own Deny decide, as IAM does
    on aws:CurrentTime. Checked after the first deployment and again after the update."""
    _, checks, then = demo
    for round_ in (checks, then):
        grant, admin, *cut_short = sorted(by_why(round_, "grant expired"), key=lambda c: c.request.label)
        assert (grant.who, grant.request.label, grant.passed) == ("ivy", "app-dev-Developer", True)
        assert (admin.who, admin.request.label, admin.passed) == ("ivy", "app-prod-Admin", True)
        assert grant.report is not None and grant.report.failure_kind == "access-denied"
        assert NO_IDENTITY_ALLOW.format(action="sts:AssumeRole") in grant.report.aws_message
        assert "ends the grant of ivy at 2020-01-01T00:00:00Z (until:)" in (grant.report.failure or "")
        live = [(c.request.label, c.passed) for c in by_why(round_, "granted") if c.who == "ivy"]
        if round_ is checks:
            assert cut_short == []
            assert live == [("app-prod-ReadOnly", True)]  # the temporary grant that still runs: switched
        else:  # the update moved its end into the past: the redeployed hub policy refuses it
            assert live == []
            assert [(c.who, c.request.label, c.passed) for c in cut_short] == [("ivy", "app-prod-ReadOnly", True)]
            assert cut_short[0].report is not None
            assert NO_IDENTITY_ALLOW.format(action="sts:AssumeRole") in cut_short[0].report.aws_message
        users = by_why(round_, "user expired")
        assert sorted((c.who, c.request.label) for c in users) == [
            ("kim", "app-dev-ReadOnly"),
            ("kim", "app-prod-ReadOnly"),
        ]
        for check in users:
            assert check.passed and check.report is not None
            assert IDENTITY_DENY in check.report.aws_message  # an explicit deny: the user's, not a missing grant
        assert not [c for c in by_why(round_, "granted") if c.who == "kim"]


def test_an_end_added_by_the_update_moves_the_strict_trust_and_the_review_reports_both(
    demo: tuple[Demo, list[Check], list[Check]],
) -> None:
    """The update gave the admins' strict Admin grant an end: the deployed trust now admits ana under a
    DateLessThan (and she still switches: the round's checks), and `switchrole diff` lists that end and the
    ReadOnly grant cut short."""
    running, _, then = demo
    assert [(c.who, c.passed) for c in by_why(then, "granted") if c.request.label == "app-prod-Admin"] == [
        ("ana", True)
    ]
    with running.aws.authorization_off():
        iam = running.setup_session("222222222222").client("iam", endpoint_url=running.aws.endpoint)
        trust = iam.get_role(RoleName="Admin")["Role"]["AssumeRolePolicyDocument"]
    ends = {
        s["Condition"]["DateLessThan"]["aws:CurrentTime"]: s["Condition"]["ArnEquals"]["aws:PrincipalArn"]
        for s in trust["Statement"]
        if s["Effect"] == "Allow"
    }
    assert ends == {  # no statement without an end is left: every admission of this role now ends
        "2099-12-31T00:00:00Z": ["arn:aws:iam::111111111111:user/ana"],
        "2020-01-01T00:00:00Z": ["arn:aws:iam::111111111111:user/ivy"],
    }
    review = access_diff(loads(SMALL, "small.yaml"), loads(THEN, "then.yaml"), base_label="a", head_label="b")
    text = review.to_markdown()
    assert review.access_changed
    assert "2099-12-31T00:00:00Z" in text and "2021-01-01T00:00:00Z" in text, text


@contextmanager
def out_of_band(running: Demo, user: str, policy: str, *, attach: bool) -> Iterator[None]:
    """``policy`` attached to (or detached from) a hub user by hand, authorization off, for the block only: the
    module's emulator is shared, so it is put back whatever happens."""
    with running.aws.authorization_off():  # the setup credentials work only while authorization is off
        iam = running.setup_session("111111111111").client("iam", endpoint_url=running.aws.endpoint)
        change, undo = (iam.attach_user_policy, iam.detach_user_policy)[:: 1 if attach else -1]
        change(UserName=user, PolicyArn=policy)
    try:
        yield
    finally:
        with running.aws.authorization_off():
            undo(UserName=user, PolicyArn=policy)


def test_the_expired_users_own_deny_is_what_refuses_them(demo: tuple[Demo, list[Check], list[Check]]) -> None:
    """kim keeps her group's unending grant: only her until: Deny refuses her. Detached (authorization off, put
    back afterwards: the module's emulator is shared), the same switch succeeds."""
    running, _, _ = demo
    org = running.org
    request = request_for(org, org.account("app-prod"), org.role_kinds["ReadOnly"], "kim")
    kim = running.identities["kim"]
    policy = "arn:aws:iam::111111111111:policy/switchrole/switchrole-kim-until"
    with running.aws.authorization_off():
        iam = running.setup_session("111111111111").client("iam", endpoint_url=running.aws.endpoint)
        attached = iam.list_attached_user_policies(UserName="kim")["AttachedPolicies"]
        assert [p["PolicyArn"] for p in attached] == [policy]
        assert iam.list_attached_user_policies(UserName="ivy")["AttachedPolicies"] == []  # kim's alone
    with out_of_band(running, "kim", policy, attach=False):
        report = run_smoke(kim.session, request, token=kim.token, org=org, endpoint_url=running.aws.endpoint)
    assert report.ok, report.failure
    refused = run_smoke(kim.session, request, token=kim.token, org=org, endpoint_url=running.aws.endpoint)
    assert refused.failure_kind == "access-denied" and IDENTITY_DENY in refused.aws_message


def test_an_expired_strict_grant_is_refused_by_the_trust_too(demo: tuple[Demo, list[Check], list[Check]]) -> None:
    """ivy's Admin grant in app-prod has ended. Given a hub Allow that outlives it (AdministratorAccess attached
    out of band, authorization off, detached afterwards: the emulator is shared), the strict trust's own
    DateLessThan still refuses her."""
    running, _, _ = demo
    org = running.org
    request = request_for(org, org.account("app-prod"), org.role_kinds["Admin"], "ivy")
    ivy = running.identities["ivy"]
    with out_of_band(running, "ivy", "arn:aws:iam::aws:policy/AdministratorAccess", attach=True):
        report = run_smoke(ivy.session, request, token=ivy.token, org=org, endpoint_url=running.aws.endpoint)
    assert report.failure_kind == "access-denied", report.failure
    assert NO_TRUST_ALLOW.format(action="sts:AssumeRole") in report.aws_message


def test_removed_access_is_refused_after_the_update(
    demo: tuple[Demo, list[Check], list[Check]], tmp_path: Path
) -> None:
    """Offboarding bo and taking cy out of devs, deployed as an update: each access they lost is refused. bo's
    IAM user is retained, and the commands `switchrole offboard` prints then delete it."""
    running, _, then = demo
    removed = {(c.who, c.request.label) for c in by_why(then, "access removed")}
    assert removed == {("bo", "app-prod-ReadOnly"), ("bo", "app-dev-ReadOnly"), ("cy", "app-dev-Developer")}
    assert all(c.passed for c in by_why(then, "access removed"))
    assert {(c.who, c.request.label) for c in by_why(then, "granted") if c.who == "cy"} == {
        ("cy", "app-prod-ReadOnly"),
        ("cy", "app-dev-ReadOnly"),
    }
    with running.aws.authorization_off():
        hub = running.setup_session("111111111111")
        iam = hub.client("iam", endpoint_url=running.aws.endpoint)
        assert iam.get_user(UserName="bo")["User"]["UserName"] == "bo"  # retained, as documented ...
        assert iam.list_groups_for_user(UserName="bo")["Groups"] == []  # ... with no membership left
        cfn = hub.client("cloudformation", endpoint_url=running.aws.endpoint)
        assert cfn.describe_stacks(StackName="SwitchRole-Hub")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    _run_the_offboarding_follow_up(running, "bo", tmp_path)


def _run_the_offboarding_follow_up(running: Demo, user: str, tmp_path: Path) -> None:
    """Every `aws iam` line `switchrole offboard` prints, run as printed (key ids filled in) with the AWS CLI,
    deletes the retained user: the follow-up is complete and each command is a real one."""
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    printed = subprocess.run([*EXE, "offboard", "--user", user, "--config", str(config)],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    commands = [line.split("#")[0].strip() for line in printed.splitlines() if line.startswith("  aws iam ")]
    with running.aws.authorization_off():  # the setup credentials work only while authorization is off
        creds = running.setup_session("111111111111").get_credentials().get_frozen_credentials()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=str(tmp_path), AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                   AWS_ENDPOINT_URL=running.aws.endpoint, AWS_DEFAULT_REGION="eu-west-1",
                   AWS_ACCESS_KEY_ID=creds.access_key, AWS_SECRET_ACCESS_KEY=creds.secret_key)  # fmt: skip
        listed = aws(env, "iam", "list-access-keys", "--user-name", user)
        keys = [k["AccessKeyId"] for k in json.loads(listed.stdout)["AccessKeyMetadata"]]
        assert keys, listed.stderr  # the demo gave the user keys and an MFA device: the follow-up has work to do
        early = aws(env, "iam", "delete-user", "--user-name", user)
        assert "DeleteConflict" in early.stderr and "access keys, MFA devices" in early.stderr  # as IAM refuses
        for command in commands:
            for key in keys if "<each key id>" in command else [""]:
                words = command.replace("<each key id>", key).split()[1:]
                result = aws(env, *words)
                if words[1] == "delete-login-profile" and "NoSuchEntity" in result.stderr:
                    continue  # printed "if they had a console password": the demo's users have none
                assert result.returncode == 0, (command, result.stderr)
        gone = aws(env, "iam", "get-user", "--user-name", user)
    assert gone.returncode != 0 and "NoSuchEntity" in gone.stderr


def test_cdk_diff_on_the_kept_emulator_shows_no_change(
    demo: tuple[Demo, list[Check], list[Check]], tmp_path: Path
) -> None:
    """What the README tells a user of a kept emulator: each account's deployer (the hub administrator for the
    hub, each target account's own first-access role for its stack), the env file's endpoint, `cdk diff`; the
    hub administrator cannot even diff a target account (its bootstrap admits no principal of the hub)."""
    running, _, _ = demo
    config = tmp_path / "small.yaml"
    config.write_text(THEN)

    def cdk_diff(who: list[str], *stacks: str) -> subprocess.CompletedProcess[str]:
        key = subprocess.run(
            [*EXE, "local", "credentials", *who, "--endpoint", running.aws.endpoint, "--config", str(config)],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "SWITCHROLE_LOCAL_DIR": str(running.workdir)},  # where its admin token is
        )  # fmt: skip
        assert key.returncode == 0, key.stderr
        exports = {
            name: value.strip("'")
            for name, value in (
                line.removeprefix("export ").split("=", 1) for line in key.stdout.splitlines() if "=" in line
            )
        }
        session = boto3.Session(
            exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"], exports.get("AWS_SESSION_TOKEN")
        )
        return subprocess.run(
            [str(cdk_binary()), "diff", *stacks, "--app", str(running.assembly), "--no-notices", "--fail"],
            env=running.cli_env(session), capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    for who, stack in (
        (["--deployer"], "SwitchRole-Hub"),
        (["--account", "222222222222"], "SwitchRole-app-prod"),
        (["--account", "333333333333"], "SwitchRole-app-dev"),
    ):
        diff = cdk_diff(who, stack)
        assert diff.returncode == 0, diff.stdout[-2000:] + diff.stderr[-2000:]
        assert "There were no differences" in diff.stdout + diff.stderr
        assert "NodeVersionSupportWarning" not in diff.stdout + diff.stderr  # silenced under Node 20 (cli_env)
    refused = cdk_diff(["--deployer"], "SwitchRole-app-prod")
    assert refused.returncode != 0
    assert "cdk-hnb659fds-deploy-role-222222222222" in refused.stderr and "no resource-based policy" in refused.stderr


def _aws_env(running: Demo, tmp_path: Path, profiles: str, *, keys: bool = True) -> dict[str, str]:
    """A user's shell without switchrole's virtualenv on PATH: scratch AWS config, ana's emulator keys as the hub
    profile in a scratch credentials file (test scaffolding only), HOME in the test's directory."""
    ana = running.identities["ana"].session.get_credentials().get_frozen_credentials()
    (tmp_path / "aws-config").write_text(profiles)
    (tmp_path / "aws-credentials").write_text(
        f"[hub]\naws_access_key_id = {ana.access_key}\naws_secret_access_key = {ana.secret_key}\n" if keys else ""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_", "XDG_"))}
    env.update(
        HOME=str(tmp_path),
        PATH="/usr/local/bin:/usr/bin:/bin",
        AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
        AWS_ENDPOINT_URL=running.aws.endpoint,
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


def generated_profiles(tmp_path: Path) -> str:
    """`switchrole profiles` for ana, her hub profile named `hub`, from the changed file."""
    config = tmp_path / "small.yaml"
    config.write_text(THEN)
    command = [*EXE, "profiles", "--user", "ana", "--hub-profile", "hub", "--config", str(config)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def aws(
    env: dict[str, str], *args: str, code: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    extra = {"SWITCHROLE_TOKEN_CODE": code} if code else {}
    return subprocess.run(
        [AWS, *args, "--output", "json"], env={**env, **extra}, input=stdin, capture_output=True, text=True,
        timeout=60, stdin=None if stdin is not None else subprocess.DEVNULL,
    )  # fmt: skip


def test_generated_profiles_work_under_the_strict_reading(
    demo: tuple[Demo, list[Check], list[Check]], tmp_path: Path
) -> None:
    """The generated profiles, used as ~/.aws/config by the real AWS CLI from a shell without the venv: one code
    opens the MFA session, the next profile works with stdin closed and no code, `aws s3 ls` works, and the
    old `mfa_serial` form of the same switch is refused (so this test can fail)."""
    running, _, _ = demo
    assert running.aws.mfa_reading == "strict"
    ana = running.identities["ana"]
    profiles = generated_profiles(tmp_path)
    env = _aws_env(running, tmp_path, profiles)

    admin = aws(env, "sts", "get-caller-identity", "--profile", "app-prod-Admin", code=totp(ana.seed))
    assert admin.returncode == 0, admin.stderr
    assert json.loads(admin.stdout)["Arn"] == "arn:aws:sts::222222222222:assumed-role/Admin/ana"
    readonly = aws(env, "sts", "get-caller-identity", "--profile", "app-dev-ReadOnly")  # no code, stdin closed
    assert readonly.returncode == 0, readonly.stderr
    assert json.loads(readonly.stdout)["Arn"] == "arn:aws:sts::333333333333:assumed-role/ReadOnly/ana"
    developer = aws(env, "sts", "get-caller-identity", "--profile", "app-dev-Developer")  # SourceIdentity, cached
    assert json.loads(developer.stdout)["Arn"] == "arn:aws:sts::333333333333:assumed-role/Developer/ana"
    listing = aws(env, "s3", "ls", "--profile", "app-prod-ReadOnly")
    assert listing.returncode == 0, listing.stderr
    assert "app-prod-222222222222-app-data" in listing.stdout
    hub = aws(env, "iam", "list-mfa-devices", "--user-name", "ana", "--profile", "hub-mfa")  # the hub MFA session
    assert hub.returncode == 0 and "mfa/ana" in hub.stdout, hub.stderr

    secret = ana.session.get_credentials().get_frozen_credentials().secret_key
    cache = tmp_path / ".cache" / "switchrole"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    cached = list(cache.iterdir())
    assert cached and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in cached)
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.parent != cache and path.name != "aws-credentials":
            text = path.read_text(errors="replace")
            assert "SessionToken" not in text and secret not in text, path
    assert not (tmp_path / ".aws" / "cli" / "cache").exists()  # the AWS CLI cached nothing itself

    old_form = (
        "[profile old-app-prod-ReadOnly]\nrole_arn = arn:aws:iam::222222222222:role/switchrole/ReadOnly\n"
        "source_profile = hub\nmfa_serial = arn:aws:iam::111111111111:mfa/ana\n"
    )
    (tmp_path / "aws-config").write_text(profiles + old_form)
    refused = aws(env, "sts", "get-caller-identity", "--profile", "old-app-prod-ReadOnly", stdin=totp(ana.seed) + "\n")
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr
    assert IDENTITY_DENY in refused.stderr  # the hub's MFA policy: the caller's side saw no MFA, the trust did
    running.aws.set_mfa_reading("lenient")
    try:
        lenient = aws(
            env, "sts", "get-caller-identity", "--profile", "old-app-prod-ReadOnly", stdin=totp(ana.seed) + "\n"
        )
        assert lenient.returncode == 0, lenient.stderr  # the same profile works only under the lenient reading
    finally:
        running.aws.set_mfa_reading("strict")


def test_aws_vault_style_session_in_the_environment(
    demo: tuple[Demo, list[Check], list[Check]], tmp_path: Path
) -> None:
    """aws-vault does GetSessionToken itself and exports the session: `switchrole assume` takes it from the
    environment (no credentials file at all) and switches from it."""
    running, _, _ = demo
    ana = running.identities["ana"]
    sts = ana.session.client("sts", endpoint_url=running.aws.endpoint)
    session = sts.get_session_token(SerialNumber="arn:aws:iam::111111111111:mfa/ana", TokenCode=totp(ana.seed))
    env = _aws_env(running, tmp_path, generated_profiles(tmp_path), keys=False)
    credentials = session["Credentials"]
    env |= {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
    developer = aws(env, "sts", "get-caller-identity", "--profile", "app-dev-Developer")
    assert developer.returncode == 0, developer.stderr
    assert json.loads(developer.stdout)["Arn"] == "arn:aws:sts::333333333333:assumed-role/Developer/ana"


def test_aws_vault_as_the_hub_profiles_credential_process(
    demo: tuple[Demo, list[Check], list[Check]], tmp_path: Path
) -> None:
    """aws-vault's documented credential_process form (`aws-vault exec HUB --json`, aws-vault holding the keys
    and asking for the MFA code) as the hub profile: a stand-in prints the MFA session aws-vault would, and the
    generated profiles switch from it with no code of switchrole's. A hub profile holding nothing is one line
    that names the profile and both aws-vault forms."""
    running, _, _ = demo
    ana = running.identities["ana"]
    sts = ana.session.client("sts", endpoint_url=running.aws.endpoint)
    session = sts.get_session_token(SerialNumber="arn:aws:iam::111111111111:mfa/ana", TokenCode=ana.token())
    answer = {"Version": 1, **{k: v for k, v in session["Credentials"].items() if k != "Expiration"},
              "Expiration": session["Credentials"]["Expiration"].isoformat()}  # fmt: skip
    (tmp_path / "vault-answer.json").write_text(json.dumps(answer))
    stand_in = (
        f'{sys.executable} -c "import sys; sys.stdout.write(open(sys.argv[1]).read())" {tmp_path}/vault-answer.json'
    )
    config = tmp_path / "small.yaml"
    config.write_text(THEN)
    command = [*EXE, "profiles", "--user", "ana", "--hub-profile", "identity-vault", "--config", str(config)]
    profiles = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    env = _aws_env(running, tmp_path, f"[profile identity-vault]\ncredential_process = {stand_in}\n\n{profiles}",
                   keys=False)  # fmt: skip
    developer = aws(env, "sts", "get-caller-identity", "--profile", "app-dev-Developer")
    assert developer.returncode == 0, developer.stderr
    assert json.loads(developer.stdout)["Arn"] == "arn:aws:sts::333333333333:assumed-role/Developer/ana"

    (tmp_path / "aws-config").write_text(f"[profile identity-vault]\nregion = eu-west-1\n\n{profiles}")
    refused = aws(env, "sts", "get-caller-identity", "--profile", "app-dev-Developer")
    assert refused.returncode != 0
    assert "no source credentials: profile identity-vault holds none" in refused.stderr
    assert "aws-vault exec HUB --json" in refused.stderr


ANA_PROMPT = "MFA code for arn:aws:iam::111111111111:mfa/ana: "
# Loaded by every Python process of a test's AWS CLI run (PYTHONPATH): each switchrole process logs its command
# and whether it imported botocore, without changing the command the profile runs.
OBSERVER = """
import atexit, os, sys
def _log():
    if os.path.basename(sys.argv[0]) == "switchrole":
        with open(os.environ["IMPORTS_LOG"], "a") as log:
            log.write(sys.argv[1] + " " + ("botocore" if "botocore" in sys.modules else "-") + "\\n")
atexit.register(_log)
"""


def test_the_mfa_prompt_appears_on_the_terminal_for_the_generated_profiles(
    demo: tuple[Demo, list[Check], list[Check]], tmp_path: Path
) -> None:
    """The real AWS CLI in a pseudo-terminal with the generated profiles, each first use in a fresh home: the
    hub session profile (`switchrole session`) and a role profile (`switchrole assume`) ask for the code on the
    terminal, echo off; the next profile asks nothing, and its second use is answered by the fast path (no
    boto3 imported); with no terminal at all the AWS CLI shows switchrole's one line on how to give a code."""
    running, _, _ = demo
    ana = running.identities["ana"]
    profiles = generated_profiles(tmp_path)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(OBSERVER)  # what each switchrole process imported
    imports = tmp_path / "imports.log"
    first_uses = [("hub-mfa", ["iam", "list-mfa-devices", "--user-name", "ana"], "mfa/ana"),
                  ("app-prod-Admin", ["sts", "get-caller-identity"], "assumed-role/Admin/ana")]  # fmt: skip
    for profile, args, expected in first_uses:
        home = tmp_path / profile
        home.mkdir()
        env = _aws_env(running, home, profiles) | {"PYTHONPATH": str(tmp_path / "site"), "IMPORTS_LOG": str(imports)}
        code = ana.token()
        status, shown = in_terminal([AWS, *args, "--profile", profile, "--output", "json"], env,
                                    answers=[(ANA_PROMPT, code)])  # fmt: skip
        assert status == 0 and expected in shown, shown
        assert code not in shown  # echo was off
        for _ in range(2):
            status, shown = in_terminal([AWS, "sts", "get-caller-identity", "--profile", "app-dev-ReadOnly"], env)
            assert status == 0 and "assumed-role/ReadOnly/ana" in shown and "MFA code" not in shown, shown

    # per home: the first command's process, the next profile's first use (both the full path), then its
    # second use, answered from the cache without boto3
    assert imports.read_text().splitlines() == [
        "session botocore", "assume botocore", "assume -",
        "assume botocore", "assume botocore", "assume -",
    ]  # fmt: skip

    home = tmp_path / "no-terminal"
    home.mkdir()
    no_terminal = subprocess.run(
        [AWS, "sts", "get-caller-identity", "--profile", "app-prod-ReadOnly"], env=_aws_env(running, home, profiles),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    assert no_terminal.returncode != 0
    assert "no MFA session is cached: there is no terminal to type an MFA code on" in no_terminal.stderr


def _ana_at_her_terminal(running: Demo, tmp_path: Path) -> tuple[Identity, dict[str, str], Path]:
    """ana, her shell (her emulator keys in AWS_*, no profiles) and the deployed file, to run `switchrole smoke`."""
    ana = running.identities["ana"]
    keys = ana.session.get_credentials().get_frozen_credentials()
    env = _aws_env(running, tmp_path, "", keys=False)
    env |= {"AWS_ACCESS_KEY_ID": keys.access_key, "AWS_SECRET_ACCESS_KEY": keys.secret_key}
    config = tmp_path / "small.yaml"
    config.write_text(THEN)
    return ana, env, config


def test_smoke_asks_on_the_terminal_and_keeps_stdout_for_its_report(
    demo: tuple[Demo, list[Check], list[Check]], tmp_path: Path
) -> None:
    ana, env, config = _ana_at_her_terminal(demo[0], tmp_path)
    report = tmp_path / "report.json"
    code = ana.token()
    status, shown = in_terminal(
        [SWITCHROLE, "smoke", "--role-arn", "arn:aws:iam::222222222222:role/switchrole/Admin", "--config", str(config),
         "--json"], env, answers=[(ANA_PROMPT, code)], stdout_to=report,
    )  # fmt: skip
    assert status == 0, shown
    assert json.loads(report.read_text())["assumed_arn"] == "arn:aws:sts::222222222222:assumed-role/Admin/ana"
    assert code not in shown and code not in report.read_text()


def test_smoke_all_draws_nothing_over_its_prompt_while_the_code_is_typed(
    demo: tuple[Demo, list[Check], list[Check]], tmp_path: Path
) -> None:
    """Found by a stranger's run in a terminal: `smoke --all`'s progress bar, redrawn ten times a second on the
    prompt's line, erased "MFA code for ...:" while the person typed with echo off. Between the prompt and the
    answer the terminal must be sent nothing; the bar and the report follow."""
    import pexpect

    ana, env, config = _ana_at_her_terminal(demo[0], tmp_path)
    child = pexpect.spawn(
        SWITCHROLE, ["smoke", "--all", "--config", str(config), "--user", "ana", "--no-cache"],
        env=env, encoding="utf-8", timeout=120, dimensions=(24, 120),
    )  # fmt: skip
    child.expect_exact(ANA_PROMPT)
    assert child.waitnoecho(timeout=60)
    child.expect(pexpect.TIMEOUT, timeout=1.5)  # the person reads the prompt and types
    assert child.before == ""
    child.sendline(ana.token())
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "4 switches: 4 passed, 0 failed" in (child.before or ""), child.before


def test_a_hub_administrator_the_file_does_not_name_reaches_no_role_in_any_target_account(
    demo: tuple[Demo, list[Check], list[Check]],
) -> None:
    """Issue 19: AdministratorAccess in the hub, no MFA, named nowhere in the file: refused at every role of
    every target account, the CDK bootstrap roles included (under `cdk bootstrap --trust <hub>` it became
    administrator of a target through the deploy role). With its MFA device it still reaches no bootstrap role."""
    running, _, _ = demo
    admin = running.identities[HUB_ADMIN]
    hub = running.org.hub
    key = admin_get(running.aws.endpoint, "access-key", hub.account_id, HUB_ADMIN, running.aws.admin_token)
    session = boto3.Session(key["AccessKeyId"], key["SecretAccessKey"], region_name=hub.region)  # keys rotate
    sts = session.client("sts", endpoint_url=running.aws.endpoint)
    mfa = sts.get_session_token(SerialNumber=running.org.hub.mfa_serial(HUB_ADMIN), TokenCode=admin.token())
    with_mfa = boto3.Session(
        mfa["Credentials"]["AccessKeyId"], mfa["Credentials"]["SecretAccessKey"], mfa["Credentials"]["SessionToken"]
    ).client("sts", endpoint_url=running.aws.endpoint, region_name=running.org.hub.region)
    tried = []
    for account in running.org.accounts:
        with running.aws.authorization_off():
            iam = running.setup_session(account.account_id).client("iam", endpoint_url=running.aws.endpoint)
            roles = [r["Arn"] for r in iam.list_roles()["Roles"]]
        assert any(":role/cdk-hnb659fds-deploy-role-" in arn for arn in roles)
        for arn in roles:
            callers = [sts, with_mfa] if ":role/cdk-" in arn else [sts]
            for caller in callers:
                with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
                    caller.assume_role(RoleArn=arn, RoleSessionName="hub-admin")
                tried.append(arn)
    assert len(tried) >= 2 * (4 + 2) + 4  # every bootstrap role (twice) and every switchrole role, two accounts


def test_verify_sees_what_an_update_left_behind(demo: tuple[Demo, list[Check], list[Check]]) -> None:
    """The demo's read-back fails on state the templates do not have: a membership the file removed, a
    switchrole role the template dropped. (Put back afterwards: the module's emulator is shared.)"""
    from switchrole.local.verify import differences
    from switchrole.model.organisation import MANAGED_BY_TAG

    running, _, _ = demo
    with running.aws.authorization_off():
        hub = running.setup_session("111111111111").client("iam", endpoint_url=running.aws.endpoint)
        prod = running.setup_session("222222222222").client("iam", endpoint_url=running.aws.endpoint)
        group = next(g["GroupName"] for g in hub.list_groups()["Groups"] if "devs" in g["GroupName"])
        hub.add_user_to_group(GroupName=group, UserName="cy")
        prod.create_role(RoleName="Leftover", AssumeRolePolicyDocument="{}",
                         Tags=[{"Key": MANAGED_BY_TAG[0], "Value": MANAGED_BY_TAG[1]}])  # fmt: skip
        try:
            problems = differences(running.assembly, running.setup_session, running.aws.endpoint)
        finally:
            hub.remove_user_from_group(GroupName=group, UserName="cy")
            prod.delete_role(RoleName="Leftover")
        assert differences(running.assembly, running.setup_session, running.aws.endpoint) == []
    assert any(f"group {group} has members" in p and "cy" in p for p in problems), problems
    assert any("user cy is in groups" in p for p in problems), problems
    assert any("role Leftover is still there" in p for p in problems), problems


def test_assume_diagnoses_a_refused_switch_as_the_switch(
    demo: tuple[Demo, list[Check], list[Check]], tmp_path: Path
) -> None:
    """`switchrole assume` with an MFA session: the session opens, the switch itself is refused, and the line
    says so (AssumeRole's diagnosis, not the MFA session's step)."""
    running, _, _ = demo
    ned = running.identities["ned"]
    env = _aws_env(running, tmp_path, "", keys=False)
    keys = ned.session.get_credentials().get_frozen_credentials()
    env |= {"AWS_ACCESS_KEY_ID": keys.access_key, "AWS_SECRET_ACCESS_KEY": keys.secret_key,
            "SWITCHROLE_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    result = subprocess.run(
        [*EXE, "assume", "--role-arn", "arn:aws:iam::222222222222:role/switchrole/ReadOnly", "--session-name",
         "ned", "--mfa-serial", "arn:aws:iam::111111111111:mfa/ned", "--token-code", ned.token()],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert "AssumeRole refused" in result.stderr and "GetSessionToken" not in result.stderr, result.stderr


def test_smoke_cli_against_the_local_aws_with_standard_settings(
    demo: tuple[Demo, list[Check], list[Check]], tmp_path: Path
) -> None:
    """`switchrole smoke` needs no special flag: AWS_ENDPOINT_URL and the usual credential variables."""
    running, _, _ = demo
    ana = running.identities["ana"]
    credentials = ana.session.get_credentials().get_frozen_credentials()
    config = tmp_path / "small.yaml"
    config.write_text(THEN)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_", "XDG_"))}
    env.update(
        HOME=str(tmp_path),
        AWS_ENDPOINT_URL=running.aws.endpoint,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_ACCESS_KEY_ID=credentials.access_key,
        AWS_SECRET_ACCESS_KEY=credentials.secret_key,
    )
    single = subprocess.run(
        [*EXE, "smoke", "--role-arn", "arn:aws:iam::222222222222:role/switchrole/Admin", "--config", str(config),
         "--token-code", totp(ana.seed), "--json", "--no-cache"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert single.returncode == 0, single.stdout + single.stderr
    report = json.loads(single.stdout)
    assert report["assumed_arn"] == "arn:aws:sts::222222222222:assumed-role/Admin/ana"
    assert [s["name"] for s in report["steps"]][:3] == ["source identity", "MFA session", "assume role"]
    assert not (tmp_path / ".cache").exists()  # --no-cache: nothing written
    every = subprocess.run(
        [*EXE, "smoke", "--all", "--config", str(config), "--user", "ana", "--token-code", totp(ana.seed)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert every.returncode == 0, every.stdout + every.stderr
    assert every.stdout.count("ok") >= 4
    again = subprocess.run(  # the MFA session --all cached serves the next check: no code needed
        [*EXE, "smoke", "--role-arn", "arn:aws:iam::333333333333:role/switchrole/ReadOnly", "--config", str(config)],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    wrong_user = subprocess.run(
        [*EXE, "smoke", "--role-arn", "arn:aws:iam::333333333333:role/switchrole/Admin", "--config", str(config),
         "--token-code", totp(ana.seed)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert wrong_user.returncode == 1
    assert "FAILED" in wrong_user.stderr and "Traceback" not in wrong_user.stderr
    for run in (single, every, again, wrong_user):
        assert credentials.secret_key not in run.stdout + run.stderr


def test_demo_cli_options(tmp_path: Path) -> None:
    """`switchrole local demo --help` is cheap; the full CLI run is `make demo` in the README."""
    result = subprocess.run([*EXE, "local", "demo", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert all(option in result.stdout for option in ("--keep", "--then", "--mfa-reading"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("hub: {}\n")
    refused = subprocess.run([*EXE, "local", "demo", "--then", str(bad)], capture_output=True, text=True)
    assert refused.returncode == 2 and "bad.yaml" in refused.stderr and "Traceback" not in refused.stderr
    reading = subprocess.run([*EXE, "local", "demo", "--mfa-reading", "loose"], capture_output=True, text=True)
    assert reading.returncode == 2 and "Invalid value for '--mfa-reading'" in reading.stderr  # a parser choice
