"""Permission sets in the generated policies: the target trust admits exactly the granted sets' Identity Center
roles (and never through an MFA condition they cannot meet), and the hub policies the sets reference grant
exactly their rows of the matrix, read by the independent evaluator (switchrole.iam.evaluate)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from factories import ROOT

from switchrole.iam.evaluate import ALLOW, evaluate
from switchrole.iam.policies import checked_grant_policies, trust_policy
from switchrole.model.loading import loads
from switchrole.model.organisation import Organisation
from switchrole.review.matrix import records

EXAMPLE = ROOT / "examples" / "identity-center.yaml"
NOW = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)
SUFFIX = "0123456789abcdef"


@pytest.fixture(scope="module")
def org() -> Organisation:
    return loads(EXAMPLE.read_text(), "ic.yaml")


def statements(org: Organisation, account: str, role: str) -> list[dict[str, Any]]:
    return list(trust_policy(org, org.account(account), org.role_kinds[role])["Statement"])


def role_arn(org: Organisation, permission_set: str, suffix: str = SUFFIX) -> str:
    center = org.hub.identity_center
    assert center is not None
    return f"arn:aws:iam::{org.hub.account_id}:role{center.role_path}{center.role_name(permission_set, suffix)}"


def test_strict_trust_admits_the_granted_set_by_its_role_pattern_without_mfa(org: Organisation) -> None:
    users, sets = statements(org, "pay-prod", "Admin")
    assert users["Condition"]["ArnEquals"] == {"aws:PrincipalArn": ["arn:aws:iam::111111111111:user/alice"]}
    assert sets["Sid"] == "AssumeFromIdentityCenter"
    assert sets["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert sets["Condition"] == {"ArnLike": {"aws:PrincipalArn": org.permission_set_role_patterns("SRE")}}


def test_a_kind_without_mfa_under_account_trust_needs_no_set_statement(org: Organisation) -> None:
    [only] = statements(org, "pay-dev", "Deployer")
    assert "Condition" not in only  # the hub decides, as for every hub principal


def test_a_strict_role_granted_only_to_sets_admits_only_them() -> None:
    text = EXAMPLE.read_text().replace(
        '      - {role: Admin, accounts: "*"}\n', '      - {role: ReadOnly, accounts: "*"}\n'
    )
    org = loads(text, "ic.yaml")
    assert org.users_granted("Admin", "pay-prod") == ()
    [only] = statements(org, "pay-prod", "Admin")
    assert only["Sid"] == "AssumeFromIdentityCenter"
    assert [s["Sid"] for s in statements(org, "pay-dev", "Admin")] == ["AdmitNobody"]


def test_an_expired_set_grant_gets_its_own_dated_statement() -> None:
    text = EXAMPLE.read_text().replace(
        "      - {role: Admin, accounts: [pay-prod]}\n",
        "      - {role: Admin, accounts: [pay-prod], until: 2027-01-01T00:00:00Z}\n",
    )
    org = loads(text, "ic.yaml")
    sets = [s for s in statements(org, "pay-prod", "Admin") if s["Sid"].startswith("AssumeFromIdentityCenter")]
    assert [s["Sid"] for s in sets] == ["AssumeFromIdentityCenterUntil20270101T000000Z"]
    assert sets[0]["Condition"]["DateLessThan"] == {"aws:CurrentTime": "2027-01-01T00:00:00Z"}


def test_hub_policies_of_a_set_test_no_mfa(org: Organisation) -> None:
    for group in ("sre", "developers"):
        for document in checked_grant_policies(org, group):
            for statement in document["Statement"]:
                assert "Bool" not in statement["Condition"] and "NumericLessThan" not in statement["Condition"]


def test_the_evaluator_agrees_with_the_matrix_for_every_set_and_role(org: Organisation) -> None:
    """For each permission set's session, every role of every account: allowed by both the set's hub policies
    and the role's trust exactly when the matrix has a live row. A set outside the file with sts:AssumeRole on
    ``*`` reaches only roles whose trust leaves the decision to the hub (trust: account, no MFA)."""
    rows = records(org, now=NOW)
    live = {
        (r["permission_set"], r["account_name"], r["role"]) for r in rows if r["permission_set"] and not r["expired"]
    }
    sets = {g.permission_set: checked_grant_policies(org, g.name) for g in org.permission_set_groups}
    sets["Outsiders"] = [{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}]
    checked = 0
    for name, identity in sets.items():
        caller = role_arn(org, str(name))
        for account in org.accounts:
            for key in account.role_keys:
                kind = org.role_kinds[key]
                resource = kind.arn(account.account_id)
                context = {
                    "aws:PrincipalArn": caller,
                    "aws:PrincipalAccount": org.hub.account_id,
                    "aws:ResourceAccount": account.account_id,
                    "aws:MultiFactorAuthPresent": "false",  # an Identity Center session, whatever its sign-in
                    "aws:CurrentTime": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                mine = evaluate(identity, "sts:AssumeRole", resource, context)
                trust = [trust_policy(org, account, kind)]
                theirs = evaluate(trust, "sts:AssumeRole", None, context, f"arn:aws:sts::{org.hub.account_id}:x")
                allowed = mine == theirs == ALLOW
                if name == "Outsiders":  # AssumeRole on *: only where the trust leaves the decision to the hub
                    expected = not kind.strict_trust and not kind.mfa_required and kind.external_id is None
                else:
                    expected = (name, account.name, key) in live
                assert allowed == expected, (name, account.name, key, mine, theirs)
                checked += 1
    assert checked == 3 * 6 and len(live) == 5


@pytest.mark.parametrize("impostor", ["SRE_Ops", "XSRE", "SR"])
def test_a_set_whose_name_extends_another_is_not_admitted(org: Organisation, impostor: str) -> None:
    """``AWSReservedSSO_SRE_*`` would admit ``AWSReservedSSO_SRE_Ops_<suffix>``; the 16 ``?`` do not."""
    context = {"aws:PrincipalArn": role_arn(org, impostor), "aws:MultiFactorAuthPresent": "false"}
    trust = [trust_policy(org, org.account("pay-prod"), org.role_kinds["Admin"])]
    assert evaluate(trust, "sts:AssumeRole", None, context, "arn:aws:sts::111111111111:x") != ALLOW
    context["aws:PrincipalArn"] = role_arn(org, "SRE")
    assert evaluate(trust, "sts:AssumeRole", None, context, "arn:aws:sts::111111111111:x") == ALLOW
