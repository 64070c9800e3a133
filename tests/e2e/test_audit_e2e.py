"""``switchrole audit`` against a real deployment on the embedded local AWS (real CDK CLI, real moto server).

One small organisation is deployed once for the module with the demo's machinery (no smoke checks). The
auditor is the demo's hub administrator (AdministratorAccess in the hub, no switchrole grant): it opens an MFA
session, as the strict MFA reading requires, and switches into each account's ``Auditor`` role (SecurityAudit,
``audit: true``). A clean deploy must audit clean; then four changes are made out of band with boto3, as an
administrator would by hand, and the audit must find each of them and nothing else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.client
import pytest
from rich.console import Console
from terminal import SWITCHROLE, in_terminal
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.local.demo import Demo
from switchrole.local.demo_checks import HUB_ADMIN
from switchrole.model.loading import loads

pytestmark = pytest.mark.e2e

HUB = "111111111111"
SMALL = """\
hub: {account_id: "111111111111", name: identity}
roles:
  ReadOnly: {managed_policies: [ReadOnlyAccess]}
  Admin: {managed_policies: [AdministratorAccess], trust: strict, mfa: {max_age_seconds: 900}}
  Auditor: {managed_policies: [SecurityAudit], audit: true}
accounts:
  - {name: app-prod, account_id: "222222222222", roles: [ReadOnly, Admin, Auditor]}
  - {name: app-dev, account_id: "333333333333", roles: [ReadOnly, Auditor]}
groups:
  readers: {grants: [{role: ReadOnly, accounts: "*"}]}
  admins: {grants: [{role: Admin, accounts: [app-prod]}]}
users:
  ana: {groups: [readers, admins]}
  bo: {groups: [readers], until: 2099-12-31T00:00:00Z}
  ned: {groups: []}
"""
# One more account in the file that was never deployed: its audit role does not exist.
UNDEPLOYED = SMALL.replace(
    '  - {name: app-dev, account_id: "333333333333", roles: [ReadOnly, Auditor]}\n',
    '  - {name: app-dev, account_id: "333333333333", roles: [ReadOnly, Auditor]}\n'
    '  - {name: app-new, account_id: "444444444444", roles: [Auditor]}\n',
)
BACKDOOR_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole"}],
}
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
# The only calls an audit may make: IAM reads, and STS to get in.
STS_CALLS = {"GetCallerIdentity", "GetSessionToken", "AssumeRole"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    workdir = tmp_path_factory.mktemp("audit")
    demo = Demo(loads(SMALL, "small.yaml"), console=Console(file=open(os.devnull, "w")), workdir=workdir)  # noqa: SIM115
    try:
        demo.deploy()
        (workdir / "small.yaml").write_text(SMALL)
        (workdir / "undeployed.yaml").write_text(UNDEPLOYED)
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    """Every AWS API operation made in this process while the test runs (service, operation)."""
    seen: set[tuple[str, str]] = set()
    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation: str, params: Any) -> Any:
        seen.add((self.meta.service_model.service_name, operation))
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    return seen


def audit(demo: Demo, config: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    """``switchrole audit --format json`` as the hub administrator; (exit code, report, stderr)."""
    credentials = demo.identities[HUB_ADMIN].session.get_credentials().get_frozen_credentials()
    env = {
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_SESSION_TOKEN": "",
        "SWITCHROLE_CACHE_DIR": str(demo.workdir / "cache"),
    }
    args = ["audit", "--config", str(demo.workdir / config), "--endpoint-url", demo.aws.endpoint, "--format", "json"]
    args += ["--mfa-serial", f"arn:aws:iam::{HUB}:mfa/{HUB_ADMIN}", "--token-code", demo.identities[HUB_ADMIN].token()]
    result = CliRunner().invoke(app, [*args, *extra], env=env)
    assert result.stdout, (result.stderr, result.exception)
    return result.exit_code, json.loads(result.stdout), result.stderr


def read_only(calls: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The calls that are not reads."""
    return sorted(
        (service, op)
        for service, op in calls
        if not ((service == "iam" and op.startswith(("Get", "List"))) or (service == "sts" and op in STS_CALLS))
    )


def test_a_clean_deploy_audits_clean_with_read_only_calls(demo: Demo, calls: set[tuple[str, str]]) -> None:
    code, report, stderr = audit(demo, "small.yaml")
    assert (code, report["findings"]) == (0, []), stderr
    assert report["clean"] is True
    assert [(a["account"], a["read"]) for a in report["accounts"]] == [
        ("identity", True),
        ("app-prod", True),
        ("app-dev", True),
    ]
    # switchrole's bootstrap roles (only their own account's deployer roles) are recognised, not findings
    acknowledged = [a for account in report["accounts"] for a in account["acknowledged"]]
    assert len(acknowledged) == 8 and all(a.startswith("role cdk-hnb659fds-") for a in acknowledged), acknowledged
    assert ("iam", "ListRoles") in calls and ("sts", "AssumeRole") in calls and ("iam", "GetGroup") in calls
    assert read_only(calls) == []


def test_out_of_band_changes_are_each_found_and_nothing_else(demo: Demo, calls: set[tuple[str, str]]) -> None:
    with demo.aws.authorization_off():
        hub = demo.setup_session(HUB).client("iam", endpoint_url=demo.aws.endpoint)
        hub.add_user_to_group(GroupName="admins", UserName="ned")  # a membership the file does not have
        hub.attach_group_policy(GroupName="readers", PolicyArn=ADMIN_POLICY)  # an extra policy
        dev = demo.setup_session("333333333333").client("iam", endpoint_url=demo.aws.endpoint)
        dev.create_role(RoleName="backdoor", AssumeRolePolicyDocument=json.dumps(BACKDOOR_TRUST))
        dev.attach_role_policy(RoleName="backdoor", PolicyArn=ADMIN_POLICY)
        # bo's key, created minutes ago, is made 400 days old in the emulator's IAM backend (admin API)
        demo.aws.age_access_keys(HUB, "bo", 400 * 86400)
    calls.clear()  # only the audit's own calls from here
    code, report, stderr = audit(demo, "small.yaml")
    assert code == 3, stderr
    found = [(f["kind"], f["account"], f["subject"]) for f in report["findings"]]
    assert found == [  # most dangerous first
        ("shadow-trust", "app-dev", "role /backdoor"),
        ("extra-membership", "identity", "ned in group admins"),
        ("extra-policy", "identity", "group readers"),
        ("stale-access-key", "identity", "user bo"),
    ]
    fixes = [f["fix"] for f in report["findings"]]
    assert fixes[0] == [
        f"aws iam detach-role-policy --role-name backdoor --policy-arn {ADMIN_POLICY}",
        "aws iam delete-role --role-name backdoor",
    ]
    assert fixes[1] == ["aws iam remove-user-from-group --group-name admins --user-name ned"]
    assert fixes[2] == [f"aws iam detach-group-policy --group-name readers --policy-arn {ADMIN_POLICY}"]
    assert fixes[3][0].startswith("aws iam update-access-key --user-name bo --access-key-id AKIA")
    assert "created 400 days ago" in report["findings"][3]["detail"]
    assert read_only(calls) == []


def test_an_account_that_cannot_be_read_is_reported_and_the_rest_still_audited(demo: Demo) -> None:
    code, report, stderr = audit(demo, "undeployed.yaml", "--accounts", "app-dev,app-new")
    assert code == 1
    accounts = {a["account"]: a for a in report["accounts"]}
    assert sorted(accounts) == ["app-dev", "app-new", "identity"]  # --accounts: the hub and those two only
    assert accounts["app-new"]["read"] is False
    assert "AssumeRole refused" in accounts["app-new"]["error"] and "app-new" in stderr
    assert accounts["app-dev"]["read"] is True


def test_the_emulator_admin_api_backdates_only_the_named_users_keys(demo: Demo) -> None:
    with demo.aws.authorization_off():
        hub = demo.setup_session(HUB).client("iam", endpoint_url=demo.aws.endpoint)
        before = {u: hub.list_access_keys(UserName=u)["AccessKeyMetadata"][0]["CreateDate"] for u in ("ana", "ned")}
        demo.aws.age_access_keys(HUB, "ned", 86400)
        after = {u: hub.list_access_keys(UserName=u)["AccessKeyMetadata"][0]["CreateDate"] for u in ("ana", "ned")}
    assert after["ana"] == before["ana"]
    assert (before["ned"] - after["ned"]).total_seconds() == pytest.approx(86400, abs=1)


def test_every_other_kind_of_drift_is_found_with_its_fix(demo: Demo) -> None:
    """Beyond the four above: a console password without MFA, a tagged user the file does not have, a lost
    membership, an inline user policy, changed documents and settings, an extra role policy, a deleted role."""
    with demo.aws.authorization_off():
        hub = demo.setup_session(HUB).client("iam", endpoint_url=demo.aws.endpoint)
        hub.create_login_profile(UserName="ned", Password="Correct-horse-battery-1")
        for device in hub.list_mfa_devices(UserName="ned")["MFADevices"]:
            hub.deactivate_mfa_device(UserName="ned", SerialNumber=device["SerialNumber"])
        hub.create_user(UserName="ghost", Tags=[{"Key": "switchrole:managed-by", "Value": "switchrole"}])
        hub.remove_user_from_group(GroupName="readers", UserName="bo")
        bo_ends = f"arn:aws:iam::{HUB}:policy/switchrole/switchrole-bo-until"
        hub.detach_user_policy(UserName="bo", PolicyArn=bo_ends)  # the Deny that ends bo's switching
        hub.put_user_policy(UserName="ana", PolicyName="extra", PolicyDocument=json.dumps(BACKDOOR_TRUST | {
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))  # fmt: skip
        readers = f"arn:aws:iam::{HUB}:policy/switchrole/switchrole-readers-1"
        wider = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
        }
        hub.create_policy_version(PolicyArn=readers, PolicyDocument=json.dumps(wider), SetAsDefault=True)
        prod = demo.setup_session("222222222222").client("iam", endpoint_url=demo.aws.endpoint)
        prod.update_assume_role_policy(RoleName="ReadOnly", PolicyDocument=json.dumps(BACKDOOR_TRUST))
        prod.update_role(RoleName="ReadOnly", MaxSessionDuration=7200)
        prod.put_role_policy(RoleName="Admin", PolicyName="more", PolicyDocument=json.dumps(wider))
        dev = demo.setup_session("333333333333").client("iam", endpoint_url=demo.aws.endpoint)
        dev.detach_role_policy(RoleName="ReadOnly", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        dev.delete_role(RoleName="ReadOnly")
    code, report, stderr = audit(demo, "small.yaml")
    assert code == 3, stderr
    found = {(f["kind"], f["account"], f["subject"]): f for f in report["findings"]}
    expected = [
        ("document-differs", "identity", "policy switchrole-readers-1"),
        ("document-differs", "identity", "user bo"),
        ("document-differs", "app-prod", "role /switchrole/ReadOnly"),
        ("extra-policy", "identity", "user ana"),
        ("extra-policy", "app-prod", "role /switchrole/Admin"),
        ("not-in-file", "identity", "user ghost"),
        ("console-without-mfa", "identity", "user ned"),
        ("missing", "identity", "bo in group readers"),
        ("missing", "app-dev", "role ReadOnly"),
    ]
    assert [k for k in found if k in expected] == expected  # in this order: most dangerous first
    details = [f["detail"] for f in report["findings"] if f["subject"] == "role /switchrole/ReadOnly"]
    assert any(d.startswith("trust policy differs from the file: + ") for d in details)
    assert "maximum session 7200 s, not 3600 s" in details
    assert found[("document-differs", "identity", "user bo")]["fix"] == [
        f"aws iam attach-user-policy --user-name bo --policy-arn {bo_ends}"
    ]
    assert found[("console-without-mfa", "identity", "user ned")]["fix"] == [
        "aws iam delete-login-profile --user-name ned"
    ]
    assert found[("missing", "identity", "bo in group readers")]["fix"] == [
        "aws iam add-user-to-group --group-name readers --user-name bo"
    ]
    assert found[("not-in-file", "identity", "user ghost")]["fix"] == ["aws iam delete-user --user-name ghost"]
    create = found[("missing", "app-dev", "role ReadOnly")]["fix"]
    assert create[0].startswith("aws iam create-role --role-name ReadOnly --path /switchrole/ ")
    assert (
        create[1]
        == "aws iam attach-role-policy --role-name ReadOnly --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess"
    )


def test_planted_doors_around_the_file_are_each_found(demo: Demo) -> None:
    """Issue 19: a role trusting the CDK deploy role, one trusting switchrole's own Admin role (same-account
    trust naming a role ARN needs no identity Allow), one trusting the account root (reachable by Admin, which
    may call sts:AssumeRole), a chain through the first, an inflated lookup role, and a bootstrap role that
    trusts the hub's root (`cdk bootstrap --trust`, the old documented bootstrap): exit 3, each named."""
    prod_id, dev_id = "222222222222", "333333333333"
    deploy = f"arn:aws:iam::{prod_id}:role/cdk-hnb659fds-deploy-role-{prod_id}-us-east-1"

    def trusting(principal: str) -> str:
        statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    with demo.aws.authorization_off():
        prod = demo.setup_session(prod_id).client("iam", endpoint_url=demo.aws.endpoint)
        for name, principal in (
            ("via-deploy", deploy),
            ("via-admin", f"arn:aws:iam::{prod_id}:role/switchrole/Admin"),
            ("via-root", f"arn:aws:iam::{prod_id}:root"),
            ("chained", f"arn:aws:iam::{prod_id}:role/via-deploy"),
        ):
            prod.create_role(RoleName=name, AssumeRolePolicyDocument=trusting(principal))
            prod.attach_role_policy(RoleName=name, PolicyArn=ADMIN_POLICY)
        dev = demo.setup_session(dev_id).client("iam", endpoint_url=demo.aws.endpoint)
        dev.attach_role_policy(RoleName=f"cdk-hnb659fds-lookup-role-{dev_id}-us-east-1", PolicyArn=ADMIN_POLICY)
        dev.update_assume_role_policy(
            RoleName=f"cdk-hnb659fds-deploy-role-{dev_id}-us-east-1",
            PolicyDocument=trusting(f"arn:aws:iam::{HUB}:root"),
        )
    code, report, stderr = audit(demo, "small.yaml")
    assert code == 3, stderr
    found = {(f["kind"], f["account"], f["subject"]): f["detail"] for f in report["findings"]}
    for name in ("via-deploy", "via-admin", "via-root", "chained"):
        assert ("reachable", "app-prod", f"role /{name}") in found, sorted(found)
    assert "cdk-hnb659fds-deploy-role" in found[("reachable", "app-prod", "role /via-deploy")]
    assert "role/via-deploy" in found[("reachable", "app-prod", "role /chained")]
    assert "switchrole's role Admin" in found[("reachable", "app-prod", "role /via-root")]
    lookup = f"role cdk-hnb659fds-lookup-role-{dev_id}-us-east-1"
    assert "managed policy AdministratorAccess" in found[("extra-policy", "app-dev", lookup)]
    deploy_dev = f"role cdk-hnb659fds-deploy-role-{dev_id}-us-east-1"
    assert "`cdk bootstrap --trust`" in found[("shadow-trust", "app-dev", deploy_dev)]


def test_the_audit_asks_for_the_mfa_code_on_the_terminal(demo: Demo, tmp_path: Path) -> None:
    """The real binary in a pseudo-terminal with no code given: the prompt is on the terminal (echo off), the
    code opens the session every account is read with, and stdout holds the JSON report alone."""
    credentials = demo.identities[HUB_ADMIN].session.get_credentials().get_frozen_credentials()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "SWITCHROLE_"))}
    env |= {"AWS_ACCESS_KEY_ID": credentials.access_key, "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
            "SWITCHROLE_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}  # fmt: skip
    serial = f"arn:aws:iam::{HUB}:mfa/{HUB_ADMIN}"
    report = tmp_path / "audit.json"
    code = demo.identities[HUB_ADMIN].token()
    status, shown = in_terminal(
        [SWITCHROLE, "audit", "--config", str(demo.workdir / "small.yaml"), "--endpoint-url", demo.aws.endpoint,
         "--format", "json", "--mfa-serial", serial], env, answers=[(f"MFA code for {serial}: ", code)],
        stdout_to=report,
    )  # fmt: skip
    audited = json.loads(report.read_text())  # the report alone on stdout
    assert status == (0 if audited["clean"] else 3), shown[-400:]  # earlier tests may have left findings
    assert [a["read"] for a in audited["accounts"]] == [True, True, True]  # the code opened the session
    assert code not in shown
