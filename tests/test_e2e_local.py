"""End to end on the embedded local AWS: the real CDK CLI deploys, real STS calls switch, refusals hold.

One small organisation, deployed once for the module (bootstrap + deploy take ~10 s here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from switchrole.config import Organisation, loads
from switchrole.local.authz import totp
from switchrole.local.demo import Check, Demo

pytestmark = pytest.mark.e2e

SMALL = """\
hub: {account_id: "111111111111", name: identity}
roles:
  ReadOnly: {managed_policies: [ReadOnlyAccess]}
  Admin: {managed_policies: [AdministratorAccess], trust: strict, mfa: {max_age_seconds: 900}}
  Developer: {managed_policies: [PowerUserAccess], source_identity: true}
accounts:
  - {name: app-prod, account_id: "222222222222", roles: [ReadOnly, Admin]}
  - {name: app-dev, account_id: "333333333333", roles: [ReadOnly, Developer]}
groups:
  readers: {grants: [{role: ReadOnly, accounts: "*"}]}
  admins: {grants: [{role: Admin, accounts: [app-prod]}]}
  devs: {grants: [{role: Developer, accounts: [app-dev]}]}
users:
  ana: {groups: [readers, admins, devs]}
  ned: {groups: []}
"""


@pytest.fixture(scope="module")
def small_org() -> Organisation:
    return loads(SMALL, "small.yaml")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, small_org: Organisation) -> Iterator[tuple[Demo, list[Check]]]:
    workdir = tmp_path_factory.mktemp("demo")
    demo = Demo(small_org, console=Console(file=open(os.devnull, "w")), workdir=workdir)  # noqa: SIM115
    try:
        checks = demo.run()
        yield demo, checks
    finally:
        demo.aws.stop()
    process = demo.aws.process
    assert process is not None and process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)  # nothing of the server's process group is left


def by_why(checks: list[Check], why: str) -> list[Check]:
    return [c for c in checks if c.why == why]


def test_every_check_behaves_as_expected(demo: tuple[Demo, list[Check]]) -> None:
    _, checks = demo
    failed = [(c.who, c.request.label, c.why, c.report and c.report.failure) for c in checks if not c.passed]
    assert failed == []


def test_granted_user_switches_into_each_granted_role(demo: tuple[Demo, list[Check]]) -> None:
    _, checks = demo
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


def test_user_without_a_grant_is_refused(demo: tuple[Demo, list[Check]]) -> None:
    _, checks = demo
    (refusal,) = by_why(checks, "no grant")
    assert refusal.who == "ned"
    assert refusal.report is not None and refusal.report.failure_kind == "access-denied"
    assert "hub grant: ned is not granted" in (refusal.report.failure or "")


def test_mfa_and_strict_trust_refusals(demo: tuple[Demo, list[Check]]) -> None:
    _, checks = demo
    kinds = {c.why: c.report.failure_kind for c in checks if c.report is not None and not c.expect_ok}
    assert kinds["no MFA code"] == "access-denied"
    assert kinds["wrong MFA code"] == "mfa-invalid"
    assert kinds["hub admin vs trust: strict"] == "access-denied"


def test_smoke_cli_against_the_local_aws_with_standard_settings(demo: tuple[Demo, list[Check]], tmp_path: Path) -> None:
    """`switchrole smoke` needs no special flag: AWS_ENDPOINT_URL and the usual credential variables."""
    running, _ = demo
    ana = running.identities["ana"]
    credentials = ana.session.get_credentials().get_frozen_credentials()
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(tmp_path),
        AWS_ENDPOINT_URL=running.aws.endpoint,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_ACCESS_KEY_ID=credentials.access_key,
        AWS_SECRET_ACCESS_KEY=credentials.secret_key,
    )
    exe = [sys.executable, "-m", "switchrole.cli"]
    single = subprocess.run(
        [*exe, "smoke", "--role-arn", "arn:aws:iam::222222222222:role/switchrole/Admin", "--config", str(config),
         "--token-code", totp(ana.seed), "--json"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert single.returncode == 0, single.stdout + single.stderr
    report = json.loads(single.stdout)
    assert report["assumed_arn"] == "arn:aws:sts::222222222222:assumed-role/Admin/ana"
    every = subprocess.run(
        [*exe, "smoke", "--all", "--config", str(config), "--user", "ana", "--token-code", totp(ana.seed)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert every.returncode == 0, every.stdout + every.stderr
    assert every.stdout.count("ok") >= 4
    wrong_user = subprocess.run(
        [*exe, "smoke", "--role-arn", "arn:aws:iam::333333333333:role/switchrole/Admin", "--config", str(config),
         "--token-code", totp(ana.seed)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert wrong_user.returncode == 1
    assert "FAILED" in wrong_user.stderr and "Traceback" not in wrong_user.stderr
    for run in (single, every, wrong_user):
        assert credentials.secret_key not in run.stdout + run.stderr
    assert not list(tmp_path.glob("**/cache/**"))  # nothing cached to disk by the smoke check


def test_demo_cli_leaves_no_process_behind(tmp_path: Path) -> None:
    """`switchrole local demo --help` is cheap; the full CLI run is covered by `make demo` in the README."""
    result = subprocess.run(
        [sys.executable, "-m", "switchrole.cli", "local", "demo", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--keep" in result.stdout


def test_generated_profiles_work_with_the_real_aws_cli(demo: tuple[Demo, list[Check]], tmp_path: Path) -> None:
    """`switchrole profiles` output used as ~/.aws/config by the AWS CLI: role_arn/mfa_serial profiles and,
    for a role that needs SourceIdentity, the credential_process profile running `switchrole assume`."""
    running, _ = demo
    ana = running.identities["ana"]
    credentials = ana.session.get_credentials().get_frozen_credentials()
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    aws_config = tmp_path / "aws-config"
    profiles = subprocess.run(
        [sys.executable, "-m", "switchrole.cli", "profiles", "--user", "ana", "--hub-profile", "hub",
         "--config", str(config)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    aws_config.write_text(profiles.stdout)
    # test scaffolding only: the emulator's key for ana, as her hub profile, in the test's own temp dir
    (tmp_path / "aws-credentials").write_text(
        f"[hub]\naws_access_key_id = {credentials.access_key}\naws_secret_access_key = {credentials.secret_key}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(tmp_path),
        PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
        AWS_CONFIG_FILE=str(aws_config),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
        AWS_ENDPOINT_URL=running.aws.endpoint,
        AWS_DEFAULT_REGION="us-east-1",
    )
    aws = str(Path(sys.executable).parent / "aws")

    def who(profile: str, **extra: str) -> str:
        result = subprocess.run(
            [aws, "sts", "get-caller-identity", "--profile", profile, "--output", "json"],
            input=totp(ana.seed) + "\n", env={**env, **extra}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return str(json.loads(result.stdout)["Arn"])

    assert who("app-prod-ReadOnly") == "arn:aws:sts::222222222222:assumed-role/ReadOnly/ana"
    assert who("app-prod-Admin") == "arn:aws:sts::222222222222:assumed-role/Admin/ana"
    assert who("app-dev-Developer", SWITCHROLE_TOKEN_CODE=totp(ana.seed)) == (
        "arn:aws:sts::333333333333:assumed-role/Developer/ana"
    )
