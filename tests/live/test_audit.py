"""``switchrole audit`` without AWS: documents compared by meaning, trust admission, the audit role kind, the
expected state read from the example's templates, the report's order and exit codes, and usage errors.
(The live reads are proven against a deployment in tests/e2e/test_audit_e2e.py.)"""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import EXAMPLE, variant
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.iam.compare import admitted, difference, same
from switchrole.infra.assembly_reader import UnresolvedIntrinsic, expected_state, resolve
from switchrole.live import audit
from switchrole.live.audit import AccountResult, AuditReport, Finding
from switchrole.model.errors import ConfigError
from switchrole.model.loading import loads
from switchrole.model.organisation import Organisation
from switchrole.review.summary import warnings

HUB = "111111111111"
HUB_ARN = f"arn:aws:iam::{HUB}:"
runner = CliRunner()

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AssumeFromHub",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
            "Action": ["sts:AssumeRole"],
            "Condition": {
                "Bool": {"aws:MultiFactorAuthPresent": "true"},
                "NumericLessThan": {"aws:MultiFactorAuthAge": 900},
            },
        },
        {"Effect": "Deny", "Principal": "*", "Action": ["sts:TagSession", "sts:SetSourceIdentity"]},
    ],
}


# --------------------------------------------------------------------------- documents


def test_documents_are_equal_whatever_the_order_and_the_string_or_list_shape() -> None:
    echoed = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["sts:setsourceidentity", "sts:TagSession"]},
            {
                "Effect": "Allow",
                "Principal": {"AWS": HUB},  # IAM writes an account id as its root ARN; the meaning is the same
                "Action": "sts:AssumeRole",
                "Condition": {
                    "NumericLessThan": {"aws:multifactorauthage": "900"},
                    "Bool": {"aws:MultiFactorAuthPresent": True},
                },
            },
        ],
    }
    assert same(TRUST, echoed)
    assert difference(TRUST, echoed) == ""


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.__setitem__("Effect", "Deny"),
        lambda s: s.__setitem__("Action", ["sts:AssumeRole", "sts:TagSession"]),
        lambda s: s.__setitem__("Principal", {"AWS": "*"}),
        lambda s: s["Condition"].pop("Bool"),
        lambda s: s["Condition"]["NumericLessThan"].__setitem__("aws:MultiFactorAuthAge", "3600"),
    ],
)
def test_any_change_of_meaning_is_a_difference(change: object) -> None:
    changed = json.loads(json.dumps(TRUST))
    change(changed["Statement"][0])  # type: ignore[operator]
    assert not same(TRUST, changed)
    assert difference(TRUST, changed).startswith("+ ")


def test_a_statement_added_is_shown_as_added() -> None:
    wider = json.loads(json.dumps(TRUST))
    wider["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    assert difference(TRUST, wider) == '+ {"Action":["sts:assumerole"],"Effect":"Allow","Principal":{"AWS":["*"]}}'


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Principal": {"AWS": f"arn:aws:iam::{HUB}:root"}, "Action": "sts:AssumeRole"}, [f"arn:aws:iam::{HUB}:root"]),
        ({"Principal": {"AWS": HUB}, "Action": "sts:*"}, [f"arn:aws:iam::{HUB}:root"]),
        ({"Principal": {"AWS": [f"{HUB_ARN}user/mallory"]}, "Action": "*"}, [f"{HUB_ARN}user/mallory"]),
        ({"Principal": "*", "Action": "sts:Assume*"}, ["*"]),
        ({"Principal": {"AWS": f"arn:aws:iam::{HUB}:role/ci"}, "NotAction": "s3:*"}, [f"arn:aws:iam::{HUB}:role/ci"]),
        ({"NotPrincipal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"},
         ["everyone but arn:aws:iam::999999999999:root (NotPrincipal)"]),
        ({"Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}, []),
        ({"Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}, []),
        ({"Principal": {"AWS": HUB}, "Action": "sts:TagSession"}, []),
        ({"Principal": {"AWS": HUB}, "NotAction": "sts:AssumeRole"}, []),
    ],
)  # fmt: skip
def test_which_trusts_admit_the_hub(statement: dict[str, object], expected: list[str]) -> None:
    assert admitted({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}, HUB) == expected


def test_a_deny_admits_nobody_and_an_empty_statement_is_skipped() -> None:
    deny = {"Effect": "Deny", "Principal": {"AWS": HUB}, "Action": "sts:AssumeRole"}
    assert admitted({"Statement": [deny, None]}, HUB) == []
    assert same({"Version": "1", "Statement": [deny, None]}, {"Version": "1", "Statement": deny})


# --------------------------------------------------------------------------- the audit role kind


def test_the_example_audits_through_its_marked_kind() -> None:
    org = loads(EXAMPLE.read_text())
    kind = org.audit_role_kind
    assert kind is not None and (kind.key, kind.audit) == ("Auditor", True)


def test_without_a_mark_a_kind_with_an_iam_read_policy_is_the_default() -> None:
    text = variant(lambda d: d["roles"]["Auditor"].pop("audit"))
    kind = loads(text).audit_role_kind
    assert kind is not None and kind.key == "Auditor"  # SecurityAudit comes before ReadOnlyAccess
    text = variant(
        lambda d: [d["roles"]["Auditor"].pop("audit"), d["roles"]["Auditor"].__setitem__("managed_policies", [])]
    )
    kind = loads(text).audit_role_kind
    assert kind is not None and kind.key == "ReadOnly"


def test_each_account_is_read_through_its_own_kind() -> None:
    """Auditor (marked) in one account only, ReadOnly everywhere: the other accounts are read through ReadOnly,
    an account with neither cannot be read, and validate's warnings say which is which."""

    def change(data: dict[str, object]) -> None:
        accounts = data["accounts"]
        assert isinstance(accounts, list)
        for account in accounts[1:]:
            account["roles"] = [r for r in account["roles"] if r != "Auditor"]
        accounts.append({"name": "sandbox", "account_id": "777777777777", "roles": ["Admin"]})

    org = loads(variant(change))
    by_account = {a.name: kind.key if (kind := org.audit_kind_for(a)) else None for a in org.accounts}
    assert by_account == {
        "shop-prod": "Auditor", "shop-dev": "ReadOnly", "data-prod": "ReadOnly", "data-dev": "ReadOnly",
        "sandbox": None,
    }  # fmt: skip
    found = [w for w in warnings(org) if "(audit: true)" in w]
    assert found == [
        "roles.Auditor (audit: true): not in sandbox; `switchrole audit` cannot read them",
        "roles.Auditor (audit: true): not in shop-dev (ReadOnly), data-prod (ReadOnly), data-dev (ReadOnly); "
        "`switchrole audit` reads them through those",
    ]


def test_only_one_kind_can_be_the_audit_role() -> None:
    text = variant(lambda d: d["roles"]["Admin"].__setitem__("audit", True))
    with pytest.raises(ConfigError) as caught:
        loads(text, "accounts.yaml")
    (line,) = caught.value.lines
    assert "roles.Auditor.audit: only one role kind can be the audit role; roles.Admin already is" in line
    assert line.startswith("accounts.yaml:")


def test_validate_warns_when_the_audit_role_is_not_everywhere_or_cannot_read_iam() -> None:
    def change(d: dict[str, object]) -> None:
        d["accounts"][0]["roles"] = ["ReadOnly", "Admin"]  # type: ignore[index]
        d["roles"]["Auditor"]["managed_policies"] = ["job-function/ViewOnlyAccess"]  # type: ignore[index]

    found = [w for w in warnings(loads(variant(change))) if "audit" in w]
    assert found == [
        "roles.Auditor (audit: true): not in shop-prod (ReadOnly); `switchrole audit` reads them through those",
        "roles.Auditor (audit: true): needs iam:Get* and iam:List* (e.g. managed_policies: [SecurityAudit])",
    ]
    assert not [w for w in warnings(loads(EXAMPLE.read_text())) if "audit" in w]


# --------------------------------------------------------------------------- expected state


def test_intrinsics_resolve_as_cloudformation_would() -> None:
    template = {
        "Resources": {
            "G": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "readers"}},
            "P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"ManagedPolicyName": "p", "Path": "/switchrole/"}},
        }
    }
    value = {
        "group": {"Ref": "G"},
        "policy": {"Ref": "P"},
        "boundary": {"Fn::Sub": ["arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${N}-${!literal}", {"N": "b"}]},
        "joined": {"Fn::Join": ["/", [{"Ref": "AWS::Region"}, "x"]]},
    }
    assert resolve(value, template, "2" * 12, "eu-west-1") == {
        "group": "readers",
        "policy": "arn:aws:iam::222222222222:policy/switchrole/p",
        "boundary": "arn:aws:iam::222222222222:policy/b-${literal}",
        "joined": "eu-west-1/x",
    }
    with pytest.raises(UnresolvedIntrinsic):
        resolve({"Fn::If": ["C", 1, 2]}, template, "2" * 12, "eu-west-1")
    with pytest.raises(UnresolvedIntrinsic):
        resolve({"Ref": "Nope"}, template, "2" * 12, "eu-west-1")


def test_the_expected_state_of_the_example(example_assembly_dir: Path, example_org: Organisation) -> None:
    state = expected_state(example_assembly_dir, HUB, "us-east-1")
    assert state.hub.users == frozenset(example_org.users)
    assert state.hub.members["readers"] == {"alice", "carol"}
    assert state.hub.groups["readers"] == "/switchrole/"
    assert state.hub.policies["switchrole-require-mfa"].groups == {
        "platform-admins", "shop-developers", "data-developers", "readers",
    }  # fmt: skip
    shop_prod = state.roles["222222222222"]
    assert sorted(shop_prod) == ["Admin", "Auditor", "ReadOnly"]
    admin = shop_prod["Admin"]
    assert (admin.path, admin.max_session_duration) == ("/switchrole/", 3600)
    assert admin.managed_policy_arns == {"arn:aws:iam::aws:policy/AdministratorAccess"}
    assert admitted(admin.trust, HUB) == [f"arn:aws:iam::{HUB}:root"]
    assert state.roles["333333333333"]["Developer"].boundary == "arn:aws:iam::aws:policy/PowerUserAccess"


# --------------------------------------------------------------------------- the report


def finding(kind: str, account: str = "identity", subject: str = "x") -> Finding:
    return Finding(kind, account, HUB if account == "identity" else "2" * 12, subject, "detail", ("aws iam x",))


def test_findings_are_listed_most_dangerous_first_then_by_account() -> None:
    hub = AccountResult("identity", HUB, hub=True, findings=[finding("missing"), finding("stale-access-key")])
    target = AccountResult(
        "shop", "2" * 12, findings=[finding("document-differs", "shop"), finding("shadow-trust", "shop")]
    )
    report = AuditReport([hub, target], 90)
    assert [f.kind for f in report.findings] == ["shadow-trust", "document-differs", "stale-access-key", "missing"]
    assert report.exit_code == 3
    assert list(audit.KINDS)[:3] == ["shadow-trust", "reachable", "extra-membership"]


def test_exit_codes_clean_drift_and_unreadable() -> None:
    assert AuditReport([AccountResult("identity", HUB, hub=True)], 90).exit_code == 0
    unreadable = AccountResult("shop", "2" * 12, error="AssumeRole refused")
    drift = AccountResult("identity", HUB, hub=True, findings=[finding("extra-policy")])
    report = AuditReport([drift, unreadable], 90)
    assert report.exit_code == 1  # incomplete: the findings it has are still listed
    assert [f["kind"] for f in report.to_dict()["findings"]] == ["extra-policy"]


def test_expired_entries_still_in_the_file_are_findings() -> None:
    org = loads(EXAMPLE.read_text())
    assert audit.expired_findings(org, datetime(2027, 1, 1, tzinfo=UTC)) == []  # the example's ends are later
    found = audit.expired_findings(org, datetime(2099, 7, 1, tzinfo=UTC))  # after the auditors' grant and bob
    assert sorted((f.kind, f.subject) for f in found) == [
        ("expired-entry", "groups.auditors.grants[0].until"),
        ("expired-entry", "users.bob.until"),
    ]
    bob = next(f for f in found if f.subject == "users.bob.until")
    assert "expired at 2099-06-30T00:00:00Z" in bob.detail
    assert bob.fix[0].startswith("switchrole offboard --user bob")


def test_fix_commands_quote_documents_and_names_for_the_shell(example_org: Organisation) -> None:
    from switchrole.infra.assembly_reader import ExpectedRole

    role = ExpectedRole("Odd name", "/switchrole/", TRUST, frozenset({"arn:aws:iam::aws:policy/ReadOnlyAccess"}),
                        {"Inline": {"Version": "2012-10-17", "Statement": []}}, None, 3600)  # fmt: skip
    create, attach, put = audit.create_role_commands(role)
    words = shlex.split(create)
    assert words[:5] == ["aws", "iam", "create-role", "--role-name", "Odd name"]
    assert json.loads(words[words.index("--assume-role-policy-document") + 1]) == TRUST
    assert shlex.split(attach)[-1] == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert shlex.split(put)[3:6] == ["--role-name", "Odd name", "--policy-name"]
    assert audit.delete_role_commands("r", ["b", "a"], ["i"], ["p"]) == [
        "aws iam detach-role-policy --role-name r --policy-arn a",
        "aws iam detach-role-policy --role-name r --policy-arn b",
        "aws iam delete-role-policy --role-name r --policy-name i",
        "aws iam remove-role-from-instance-profile --instance-profile-name p --role-name r",
        "aws iam delete-role --role-name r",
    ]


def test_markdown_report_carries_each_fix_in_a_code_block() -> None:
    from switchrole.cli.audit import to_markdown

    org = loads(EXAMPLE.read_text())
    report = AuditReport([AccountResult("identity", HUB, hub=True, findings=[finding("extra-membership")])], 90)
    text = to_markdown(report, org)
    assert "## 1. membership the file does not have: x" in text
    assert "```bash\naws iam x\n```" in text


# --------------------------------------------------------------------------- usage


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--accounts", "shop-prod,nope"], "--accounts: no account 'nope' in"),
        (["--max-key-age", "-1"], "--max-key-age: -1 is not a number of days"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["audit", "--config", str(EXAMPLE), *args])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_format_is_a_parser_choice() -> None:
    result = runner.invoke(app, ["audit", "--config", str(EXAMPLE), "--format", "xml"])
    assert result.exit_code == 2 and "Invalid value for '--format'" in result.stderr


def test_a_file_with_no_kind_to_audit_through_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "a.yaml"
    config.write_text(
        'hub: {account_id: "111111111111", name: identity}\n'
        "roles: {Admin: {managed_policies: [AdministratorAccess]}}\n"
        'accounts: [{name: solo, account_id: "222222222222", roles: [Admin]}]\n'
        "users: {ann: {groups: []}}\n"  # a hub stack needs a resource
    )
    result = runner.invoke(app, ["audit", "--config", str(config)])
    assert result.exit_code == 2
    assert "no role kind to read target accounts through: mark one `audit: true`" in result.stderr


def test_an_unreachable_endpoint_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
        "AWS_SECRET_ACCESS_KEY": "secret-example",
        "SWITCHROLE_CACHE_DIR": str(tmp_path),
    }
    result = runner.invoke(app, ["audit", "--config", str(EXAMPLE), "--endpoint-url", "http://127.0.0.1:9"], env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("switchrole audit: cannot reach the AWS endpoint")
    assert "AKIA" not in result.stderr + result.stdout


def test_table_and_summary_lines(capsys: pytest.CaptureFixture[str]) -> None:
    from switchrole.cli.audit import render

    org = loads(EXAMPLE.read_text(), "accounts.yaml")
    clean = AuditReport([AccountResult("identity", HUB, hub=True), AccountResult("shop", "2" * 12)], 90)
    render(clean, "table", org)
    assert (
        capsys.readouterr().out
        == "clean: the hub and 1 target account(s) match accounts.yaml (access keys: at most 90 days)\n"
    )
    hub = AccountResult("identity", HUB, hub=True, findings=[finding("shadow-trust")], acknowledged=["role cdk-x"])
    render(AuditReport([hub, AccountResult("shop", "2" * 12, error="AssumeRole refused")], 90), "table", org)
    out = capsys.readouterr().out
    assert "role outside switchrole trusts the hub" in out and "aws iam x" in out
    assert (
        "1 finding(s) in the hub and 0 target account(s), most dangerous first; 1 account(s) could not be read: shop"
        in out
    )
    assert out.endswith(
        "not findings: 1 CDK bootstrap role(s) as switchrole's bootstrap makes them (only their account's own "
        "deployer roles may use them; docs/onboarding.md)\n"
    )


def test_only_real_cdk_bootstrap_roles_are_recognised() -> None:
    """A role that borrows a bootstrap role's name but is not one (another qualifier, account or region) is not
    a bootstrap role: it is audited like any other role."""
    org = loads(EXAMPLE.read_text())
    account = org.account("shop-prod")
    name = f"cdk-hnb659fds-deploy-role-{account.account_id}-{account.region}"
    assert audit.bootstrap_role_kind(name, account) == "deploy"
    assert audit.bootstrap_role_kind(name.replace("deploy", "lookup"), account) == "lookup"
    assert audit.bootstrap_role_kind(name.replace("hnb659fds", "evil1234"), account) is None
    assert audit.bootstrap_role_kind(name.replace(account.account_id, "999999999999"), account) is None
    assert audit.bootstrap_role_kind(name.replace(account.region, "eu-west-3"), account) is None
