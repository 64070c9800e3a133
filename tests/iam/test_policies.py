"""The pure policy builders: semantics of every generated document, and IAM quotas at scale."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from factories import build, generated, load_data
from iam_eval import granted, reachable, trust_admits

from switchrole.iam.hub_user_policies import mfa_self_management_policy, user_expiry_policy
from switchrole.iam.policies import (
    GRANT_POLICY_TARGET_CHARS,
    GROUP_MANAGED_POLICIES,
    MANAGED_POLICY_CHARS,
    PolicyError,
    checked_grant_policies,
    checked_trust_policy,
    grant_policies,
    policy_chars,
    policy_problems,
    trust_policy,
)
from switchrole.model.organisation import Organisation


def trust_of(org: Organisation, account: str, role: str) -> dict:
    return trust_policy(org, org.account(account), org.role_kinds[role])


def only_statement(doc: dict) -> dict:
    assert len(doc["Statement"]) == 1
    return doc["Statement"][0]


def test_policy_chars_ignores_whitespace() -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "a:b c", "Resource": "*"}]}
    assert policy_chars(doc) == len(json.dumps(doc, separators=(",", ":"))) - 1


class TestTrustPolicy:
    def test_trusts_the_hub_account_root_only(self, example_org: Organisation) -> None:
        statement = only_statement(trust_of(example_org, "shop-prod", "ReadOnly"))
        assert statement["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == ["sts:AssumeRole"]

    def test_mfa_is_required_with_bool_and_a_maximum_age(self, example_org: Organisation) -> None:
        conditions = only_statement(trust_of(example_org, "shop-prod", "ReadOnly"))["Condition"]
        assert conditions["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
        assert conditions["NumericLessThan"] == {"aws:MultiFactorAuthAge": "3600"}
        assert "BoolIfExists" not in conditions

    def test_role_kind_overrides_mfa_age(self, example_org: Organisation) -> None:
        conditions = only_statement(trust_of(example_org, "shop-prod", "Admin"))["Condition"]
        assert conditions["NumericLessThan"] == {"aws:MultiFactorAuthAge": "900"}

    def test_opting_out_of_mfa_drops_both_conditions(self, example_org: Organisation) -> None:
        conditions = only_statement(trust_of(example_org, "shop-prod", "Auditor"))["Condition"]
        assert "Bool" not in conditions and "NumericLessThan" not in conditions
        assert conditions["StringEquals"] == {"sts:ExternalId": "switchrole-audit-2026"}

    def test_source_identity_is_required_to_be_the_hub_user_name(self, example_org: Organisation) -> None:
        statement = only_statement(trust_of(example_org, "shop-dev", "Developer"))
        assert statement["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity"]
        assert statement["Condition"]["StringEquals"] == {"sts:SourceIdentity": "${aws:username}"}

    def test_strict_trust_lists_exactly_the_granted_hub_users(self) -> None:
        data = generated(
            2,
            roles={"Admin": {"managed_policies": ["AdministratorAccess"], "trust": "strict"}},
            grants={"a": [{"role": "Admin", "accounts": ["acct-0001"]}], "b": [{"role": "Admin", "accounts": "*"}]},
            users={"zed": {"groups": ["a"]}, "amy": {"groups": ["b"]}, "bob": {"groups": []}},
        )
        org = load_data(data)
        first = only_statement(trust_of(org, "acct-0001", "Admin"))["Condition"]["ArnEquals"]
        second = only_statement(trust_of(org, "acct-0002", "Admin"))["Condition"]["ArnEquals"]
        assert first == {
            "aws:PrincipalArn": ["arn:aws:iam::111111111111:user/amy", "arn:aws:iam::111111111111:user/zed"]
        }
        assert second == {"aws:PrincipalArn": ["arn:aws:iam::111111111111:user/amy"]}

    def test_strict_trust_admitting_nobody_is_valid_and_admits_nobody(self) -> None:
        data = generated(
            1,
            roles={"Admin": {"managed_policies": ["AdministratorAccess"], "trust": "strict"}},
            grants={"a": [{"role": "Admin", "accounts": "*"}]},
        )
        org = load_data(data)
        assert list(policy_problems(org)) == []
        trust = trust_of(org, "acct-0001", "Admin")
        assert [s["Effect"] for s in trust["Statement"]] == ["Deny"]
        assert not trust_admits(trust, "arn:aws:iam::111111111111:user/anyone", mfa_age=0)

    def test_trust_policy_over_quota_fails_and_quota_is_configurable(self) -> None:
        users = {f"engineer-with-a-long-name-{i:03d}": {"groups": ["admins"]} for i in range(50)}
        roles = {"Admin": {"managed_policies": ["AdministratorAccess"], "trust": "strict"}}
        grants = {"admins": [{"role": "Admin", "accounts": "*"}]}
        org = load_data(generated(1, roles=roles, grants=grants, users=users))
        with pytest.raises(
            PolicyError, match=r"trust policy of Admin in acct-0001 is [23],\d{3} characters; the limit is 2,048"
        ):
            checked_trust_policy(org, org.accounts[0], org.role_kinds["Admin"])
        raised = load_data(generated(1, roles=roles, grants=grants, users=users, quotas={"trust_policy_chars": 4096}))
        doc = checked_trust_policy(raised, raised.accounts[0], raised.role_kinds["Admin"])
        assert 2048 < policy_chars(doc) <= 4096


class TestGrantPolicies:
    def test_each_group_reaches_exactly_its_grants(self, example_org: Organisation) -> None:
        for group in example_org.groups:
            docs = grant_policies(example_org, group)
            assert reachable(example_org, docs) == granted(example_org, group), group

    def test_mfa_is_required_on_the_identity_side_too(self, example_org: Organisation) -> None:
        docs = grant_policies(example_org, "readers")
        assert reachable(example_org, docs, mfa_age=None) == set()
        assert reachable(example_org, docs, mfa_age=3599) == granted(example_org, "readers")
        assert reachable(example_org, docs, mfa_age=3600) == set()
        for statement in docs[0]["Statement"]:
            assert statement["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
            assert "BoolIfExists" not in statement["Condition"]

    def test_admin_grant_in_prod_does_not_reach_dev(self) -> None:
        org = load_data(generated(3, grants={"ops": [{"role": "Admin", "accounts": ["acct-0002"]}]}))
        assert reachable(org, grant_policies(org, "ops")) == {("acct-0002", "Admin")}

    def test_grant_statement_shape(self, example_org: Organisation) -> None:
        (doc,) = grant_policies(example_org, "shop-developers")
        developer, readonly = doc["Statement"]
        assert developer["Resource"] == "arn:aws:iam::*:role/switchrole/Developer"
        assert developer["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity"]
        assert developer["Condition"]["StringEquals"] == {
            "aws:ResourceAccount": ["333333333333"],
            "sts:SourceIdentity": "${aws:username}",  # on the hub side too, not only in the trust
        }
        assert readonly["Condition"]["StringEquals"] == {"aws:ResourceAccount": ["222222222222", "333333333333"]}

    @pytest.mark.slow
    @pytest.mark.parametrize("accounts", ["list", "*"])
    def test_one_role_kind_in_1000_accounts_fits_and_stays_exact(self, accounts: str) -> None:
        names = [f"acct-{i:04d}" for i in range(1, 1001)]
        grant = {"role": "ReadOnly", "accounts": names if accounts == "list" else "*"}
        org = load_data(generated(1000, grants={"readers": [grant]}, users={"uma": {"groups": ["readers"]}}))
        docs = checked_grant_policies(org, "readers")
        assert 2 <= len(docs) <= GROUP_MANAGED_POLICIES - 1
        assert all(policy_chars(d) <= MANAGED_POLICY_CHARS for d in docs)
        assert reachable(org, docs) == granted(org, "readers")
        assert len(granted(org, "readers")) == 1000

    @pytest.mark.slow
    def test_packing_fills_policies_close_to_the_limit(self) -> None:
        org = load_data(generated(1000, grants={"g": [{"role": "ReadOnly", "accounts": "*"}]}))
        docs = grant_policies(org, "g")
        assert all(GRANT_POLICY_TARGET_CHARS - 20 < policy_chars(d) <= GRANT_POLICY_TARGET_CHARS for d in docs[:-1])
        assert GRANT_POLICY_TARGET_CHARS < MANAGED_POLICY_CHARS

    @pytest.mark.slow
    def test_mixed_grants_in_1000_accounts_stay_exact(self) -> None:
        names = [f"acct-{i:04d}" for i in range(1, 1001)]
        grants = {"g": [{"role": "ReadOnly", "accounts": names[::2]}, {"role": "Admin", "accounts": names[1::3]}]}
        org = load_data(generated(1000, grants=grants))
        docs = checked_grant_policies(org, "g")
        assert reachable(org, docs) == granted(org, "g")

    @pytest.mark.slow
    def test_grants_that_cannot_fit_name_the_group_size_and_limit(self) -> None:
        org = load_data(
            generated(
                2500,
                grants={"everyone": [{"role": "ReadOnly", "accounts": "*"}, {"role": "Admin", "accounts": "*"}]},
            )
        )
        problems = list(policy_problems(org))
        assert [p.path for p in problems] == [("groups", "everyone", "grants")]
        message = problems[0].message
        assert "managed policies" in message and "6,144" in message and "at most 10" in message
        assert "characters" in message


class TestOrganisationWideGrants:
    """accounts: "*" with hub.organization_id: constant size, still exact over the configured accounts."""

    def org(self, n: int, *, org_id: str | None = "o-exampleorg1", lacking_every: int = 0) -> Organisation:
        data = generated(
            n,
            grants={
                "readers": [{"role": "ReadOnly", "accounts": "*"}],
                "ops": [{"role": "Admin", "accounts": ["acct-0002"]}],
            },
        )
        if org_id:
            data["hub"]["organization_id"] = org_id
        if lacking_every:
            for account in data["accounts"][::lacking_every]:
                account["roles"] = ["Admin"]
        return build(data)

    def test_5000_accounts_fit_one_small_policy(self) -> None:
        org = self.org(5000)
        docs = checked_grant_policies(org, "readers")
        assert len(docs) == 1 and policy_chars(docs[0]) < 500
        (statement,) = docs[0]["Statement"]
        assert statement["Condition"]["StringEquals"] == {"aws:ResourceOrgID": "o-exampleorg1"}
        assert reachable(org, docs, every_kind=True) == granted(org, "readers")

    def test_accounts_lacking_the_kind_are_excluded(self) -> None:
        org = self.org(5000, lacking_every=50)  # 100 configured accounts have no ReadOnly role
        docs = checked_grant_policies(org, "readers")
        excluded = docs[0]["Statement"][0]["Condition"]["StringNotEquals"]["aws:ResourceAccount"]
        assert len(excluded) == 1 + 100  # the hub, then the 100 lacking it
        assert reachable(org, docs, every_kind=True) == granted(org, "readers")
        assert len(granted(org, "readers")) == 4900

    def test_explicit_grants_stay_account_lists(self) -> None:
        org = self.org(10)
        (doc,) = grant_policies(org, "ops")
        assert doc["Statement"][0]["Condition"]["StringEquals"] == {"aws:ResourceAccount": ["200000000002"]}
        assert reachable(org, [doc], every_kind=True) == {("acct-0002", "Admin")}

    def test_other_organisations_are_not_reached(self) -> None:
        from iam_eval import statement_allows

        org = self.org(3)
        (statement,) = grant_policies(org, "readers")[0]["Statement"]
        arn = org.role_kinds["ReadOnly"].arn("999999999999")
        assert statement_allows(statement, arn, "999999999999", mfa_age=0, org_id="o-exampleorg1")
        assert not statement_allows(statement, arn, "999999999999", mfa_age=0, org_id="o-someoneelse")

    def test_the_hub_is_never_granted(self) -> None:
        """Issue 19: the organisation-wide statement had no hub exclusion, so a role of that name in the hub (an
        OU target on the root put one there) made every grantee of it a hub principal of that role."""
        from iam_eval import statement_allows

        for lacking_every in (0, 2):  # with and without accounts lacking the kind (the list the hub joins)
            org = self.org(4, lacking_every=lacking_every)
            (statement,) = grant_policies(org, "readers")[0]["Statement"]
            hub = org.hub.account_id
            arn = org.role_kinds["ReadOnly"].arn(hub)
            assert not statement_allows(statement, arn, hub, mfa_age=0, org_id="o-exampleorg1")
            excluded = statement["Condition"]["StringNotEquals"]["aws:ResourceAccount"]
            assert excluded[0] == hub and len(excluded) == 1 + (2 if lacking_every else 0)
            assert reachable(org, grant_policies(org, "readers"), every_kind=True) == granted(org, "readers")

    def test_without_an_organisation_id_5000_accounts_do_not_fit_and_say_why(self) -> None:
        problems = list(policy_problems(self.org(5000, org_id=None)))
        assert [p.path for p in problems] == [("groups", "readers", "grants")]
        assert "hub.organization_id" in problems[0].message


class TestMfaSelfManagementPolicy:
    def test_denies_everything_but_mfa_setup_without_mfa(self) -> None:
        doc = mfa_self_management_policy("111111111111")
        deny = [s for s in doc["Statement"] if s["Effect"] == "Deny"]
        assert len(deny) == 1
        assert deny[0]["Sid"] == "DenyAllExceptListedIfNoMFA"
        assert deny[0]["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
        assert "sts:AssumeRole" not in deny[0]["NotAction"]
        assert {"iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "sts:GetSessionToken"} <= set(deny[0]["NotAction"])

    def test_self_service_is_limited_to_the_callers_own_user(self) -> None:
        doc = mfa_self_management_policy("111111111111")
        for statement in doc["Statement"]:
            if statement["Effect"] == "Allow" and statement["Sid"] not in (
                "AllowViewAccountInfo",
                "AllowManageOwnVirtualMFADevice",
            ):
                assert statement["Resource"] == "arn:aws:iam::111111111111:user/${aws:username}"

    def test_no_allow_uses_bool_if_exists(self, example_org: Organisation) -> None:
        documents = [mfa_self_management_policy("111111111111")]
        documents += [d for g in example_org.groups for d in grant_policies(example_org, g)]
        documents += [trust_of(example_org, a.name, k) for a in example_org.accounts for k in a.role_keys]
        for doc in documents:
            for statement in doc["Statement"]:
                # enrolment is the one Allow meant for sessions without MFA (absent or false): BoolIfExists false
                if statement["Effect"] == "Allow" and statement.get("Sid") != "AllowOwnMFAEnrolmentWithoutMFA":
                    assert "BoolIfExists" not in json.dumps(statement)
                    assert statement.get("Principal") != "*" and statement.get("Principal") != {"AWS": "*"}


class TestExpiringGrants:
    """``until:`` on a grant: IAM's own DateLessThan on aws:CurrentTime ends it; nothing has to run then."""

    Q1, Q2 = "2027-03-31T00:00:00Z", "2027-06-30T00:00:00Z"
    BEFORE, BETWEEN, AFTER = (datetime(2027, m, 1, tzinfo=UTC) for m in (1, 5, 9))

    def test_an_ending_grant_gets_its_own_statement_with_the_date_condition(self) -> None:
        grants = {"g": [{"role": "ReadOnly", "accounts": ["acct-0001"]},
                        {"role": "ReadOnly", "accounts": ["acct-0002"], "until": self.Q1}]}  # fmt: skip
        org = load_data(generated(3, grants=grants))
        (doc,) = grant_policies(org, "g")
        forever, ending = doc["Statement"]
        assert forever["Sid"] == "AssumeReadOnly" and "DateLessThan" not in forever["Condition"]
        assert forever["Condition"]["StringEquals"] == {"aws:ResourceAccount": ["200000000001"]}
        assert ending["Sid"] == "AssumeReadOnlyUntil20270331T000000Z"
        assert ending["Condition"]["StringEquals"] == {"aws:ResourceAccount": ["200000000002"]}
        assert ending["Condition"]["DateLessThan"] == {"aws:CurrentTime": self.Q1}
        assert ending["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}  # MFA kept alongside
        assert reachable(org, [doc], now=self.BEFORE) == {("acct-0001", "ReadOnly"), ("acct-0002", "ReadOnly")}
        assert reachable(org, [doc], now=self.AFTER) == {("acct-0001", "ReadOnly")}
        at_the_second = datetime(2027, 3, 31, tzinfo=UTC)  # DateLessThan: at until, it has ended
        assert reachable(org, [doc], now=at_the_second) == {("acct-0001", "ReadOnly")}

    def test_different_ends_are_never_merged_and_equal_ends_are(self) -> None:
        grants = {"g": [{"role": "Admin", "accounts": ["acct-0001"], "until": self.Q2},
                        {"role": "Admin", "accounts": ["acct-0002"], "until": self.Q1},
                        {"role": "Admin", "accounts": ["acct-0003"], "until": self.Q2}]}  # fmt: skip
        org = load_data(generated(3, grants=grants))
        (doc,) = grant_policies(org, "g")
        ends = [
            (s["Condition"]["DateLessThan"]["aws:CurrentTime"], s["Condition"]["StringEquals"]["aws:ResourceAccount"])
            for s in doc["Statement"]
        ]
        assert ends == [(self.Q1, ["200000000002"]), (self.Q2, ["200000000001", "200000000003"])]
        assert len({s["Sid"] for s in doc["Statement"]}) == 2
        assert reachable(org, [doc], now=self.BETWEEN) == {("acct-0001", "Admin"), ("acct-0003", "Admin")}
        assert reachable(org, [doc], now=self.BETWEEN) == granted(org, "g", self.BETWEEN)

    def test_an_account_granted_twice_gets_the_later_end_only(self) -> None:
        """Statements are OR-ed: listing the account under the earlier end too would change nothing."""
        grants = {"g": [{"role": "ReadOnly", "accounts": "*", "until": self.Q1},
                        {"role": "ReadOnly", "accounts": ["acct-0002"]},
                        {"role": "ReadOnly", "accounts": ["acct-0003"], "until": self.Q2}]}  # fmt: skip
        org = load_data(generated(3, grants=grants))
        (doc,) = grant_policies(org, "g")
        accounts = {s["Sid"]: s["Condition"]["StringEquals"]["aws:ResourceAccount"] for s in doc["Statement"]}
        assert accounts == {
            "AssumeReadOnly": ["200000000002"],
            "AssumeReadOnlyUntil20270331T000000Z": ["200000000001"],
            "AssumeReadOnlyUntil20270630T000000Z": ["200000000003"],
        }
        for now in (self.BEFORE, self.BETWEEN, self.AFTER):
            assert reachable(org, [doc], now=now) == granted(org, "g", now), now

    def test_packing_counts_the_date_condition(self) -> None:
        """1,000 accounts under two ends: every policy stays within the target though each statement is longer
        by its DateLessThan, and the exact set is reachable at every moment."""
        names = [f"acct-{i:04d}" for i in range(1, 1001)]
        grants = {"g": [{"role": "ReadOnly", "accounts": names[:600], "until": self.Q1},
                        {"role": "ReadOnly", "accounts": names[600:], "until": self.Q2}]}  # fmt: skip
        org = load_data(generated(1000, grants=grants))
        docs = checked_grant_policies(org, "g")
        assert all(GRANT_POLICY_TARGET_CHARS - 40 < policy_chars(d) <= GRANT_POLICY_TARGET_CHARS for d in docs[:-1])
        statements = [s for d in docs for s in d["Statement"]]
        assert all("DateLessThan" in s["Condition"] for s in statements)
        assert len({s["Sid"] for d in docs for s in d["Statement"]}) == len(statements)  # Sids stay unique
        for now in (self.BEFORE, self.BETWEEN, self.AFTER):
            assert reachable(org, docs, now=now) == granted(org, "g", now), now
        assert len(granted(org, "g", self.BETWEEN)) == 400

    def test_organisation_wide_grant_with_an_end(self) -> None:
        data = generated(3, grants={"g": [{"role": "ReadOnly", "accounts": "*", "until": self.Q1},
                                          {"role": "ReadOnly", "accounts": ["acct-0002"]}]})  # fmt: skip
        data["hub"]["organization_id"] = "o-exampleorg1"
        org = build(data)
        (doc,) = grant_policies(org, "g")
        wide, listed = doc["Statement"]
        assert wide["Sid"] == "AssumeReadOnlyInOrganizationUntil20270331T000000Z"
        assert wide["Condition"]["DateLessThan"] == {"aws:CurrentTime": self.Q1}
        assert listed["Condition"]["StringEquals"] == {"aws:ResourceAccount": ["200000000002"]}  # outlives it
        assert "DateLessThan" not in listed["Condition"]
        assert reachable(org, [doc], now=self.AFTER, every_kind=True) == {("acct-0002", "ReadOnly")}

    def test_user_expiry_is_a_deny_of_every_switch_from_that_second(self) -> None:
        doc = user_expiry_policy(datetime(2027, 3, 31, tzinfo=UTC))
        assert doc == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "NoSwitchingFrom20270331T000000Z",
                    "Effect": "Deny",
                    "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
                    "Resource": "*",
                    "Condition": {"DateGreaterThanEquals": {"aws:CurrentTime": "2027-03-31T00:00:00Z"}},
                }
            ],
        }
