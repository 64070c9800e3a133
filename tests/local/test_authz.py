"""The local emulator's IAM model, and through it the generated policies evaluated like requests."""

from __future__ import annotations

import base64

import pytest

from switchrole.iam.evaluate import (
    ALLOW,
    DENY,
    NEUTRAL,
    Undecidable,
    UnknownOperator,
    condition_holds,
    evaluate,
    like,
    principal_matches,
    substitute,
    totp,
    totp_valid,
)
from switchrole.iam.hub_user_policies import mfa_self_management_policy, user_expiry_policy
from switchrole.iam.policies import grant_policies, trust_policy
from switchrole.model.organisation import Organisation

ALICE = "arn:aws:iam::111111111111:user/alice"


def user_context(*, mfa: bool | None, account: str = "222222222222", user: str = "alice") -> dict[str, str]:
    context = {
        "aws:username": user,
        "aws:PrincipalArn": f"arn:aws:iam::111111111111:user/{user}",
        "aws:ResourceAccount": account,
    }
    if mfa:
        context |= {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "0"}
    return context


class TestConditions:
    def test_bool_requires_the_key(self) -> None:
        assert not condition_holds("Bool", "aws:MultiFactorAuthPresent", "true", {})
        assert condition_holds("Bool", "aws:MultiFactorAuthPresent", "true", {"aws:MultiFactorAuthPresent": "true"})

    def test_bool_if_exists_matches_a_missing_key(self) -> None:
        assert condition_holds("BoolIfExists", "aws:MultiFactorAuthPresent", "false", {})
        assert condition_holds(
            "BoolIfExists", "aws:MultiFactorAuthPresent", "false", {"aws:MultiFactorAuthPresent": "false"}
        )
        assert not condition_holds(
            "BoolIfExists", "aws:MultiFactorAuthPresent", "false", {"aws:MultiFactorAuthPresent": "true"}
        )

    def test_numeric_and_string_lists(self) -> None:
        assert condition_holds("NumericLessThan", "aws:MultiFactorAuthAge", "900", {"aws:MultiFactorAuthAge": "899"})
        assert not condition_holds(
            "NumericLessThan", "aws:MultiFactorAuthAge", "900", {"aws:MultiFactorAuthAge": "900"}
        )
        assert condition_holds("StringEquals", "aws:ResourceAccount", ["1", "2"], {"aws:ResourceAccount": "2"})
        assert not condition_holds("StringEquals", "aws:ResourceAccount", ["1", "2"], {"aws:ResourceAccount": "3"})

    def test_negated_operators_hold_for_missing_keys(self) -> None:
        assert condition_holds("StringNotEquals", "aws:ResourceAccount", "1", {})
        assert not condition_holds("StringNotEquals", "aws:ResourceAccount", "1", {"aws:ResourceAccount": "1"})

    def test_policy_variables(self) -> None:
        context = {"aws:username": "bob", "sts:SourceIdentity": "bob"}
        assert substitute("user/${aws:username}", context) == "user/bob"
        assert substitute("user/${aws:username}", {}) is None
        assert condition_holds("StringEquals", "sts:SourceIdentity", "${aws:username}", context)
        assert not condition_holds(
            "StringEquals", "sts:SourceIdentity", "${aws:username}", {**context, "sts:SourceIdentity": "eve"}
        )

    def test_null_tests_whether_the_key_is_absent(self) -> None:
        assert condition_holds("Null", "sts:ExternalId", "true", {})
        assert not condition_holds("Null", "sts:ExternalId", "true", {"sts:ExternalId": "x"})
        assert condition_holds("Null", "sts:ExternalId", "false", {"sts:ExternalId": "x"})

    def test_an_unknown_operator_is_reported_not_guessed(self) -> None:
        for context in ({"aws:SourceIp": "10.0.0.1"}, {}):
            with pytest.raises(UnknownOperator):
                condition_holds("IpAddressLike", "aws:SourceIp", "10.0.0.0/8", context)

    def test_account_root_principal_names_every_principal_of_that_account(self) -> None:
        assert principal_matches({"AWS": "arn:aws:iam::111111111111:root"}, ALICE)
        assert principal_matches({"AWS": ["999999999999", "111111111111"]}, ALICE)
        assert not principal_matches({"AWS": "arn:aws:iam::999999999999:root"}, ALICE)
        assert not principal_matches({"Service": "ec2.amazonaws.com"}, ALICE)


def test_totp_matches_the_rfc_6238_test_vector() -> None:
    seed = base64.b32encode(b"12345678901234567890").decode()
    assert totp(seed, at=59) == "287082"  # RFC 6238 appendix B, SHA-1, last 6 of 94287082
    assert totp(seed, at=1111111109) == "081804"
    assert totp_valid(seed, "287082", at=59 + 30)  # one step of clock drift is accepted
    assert not totp_valid(seed, "287082", at=59 + 120)


class TestGeneratedPoliciesAsRequests:
    """Hub policies of the example, evaluated for sts:AssumeRole requests."""

    def hub_documents(self, org: Organisation, *groups: str) -> list[dict]:
        docs = [d for g in groups for d in grant_policies(org, g)]
        return [*docs, mfa_self_management_policy(org.hub.account_id)]

    def test_no_mfa_means_no_switch(self, example_org: Organisation) -> None:
        docs = self.hub_documents(example_org, "readers")
        arn = example_org.role_kinds["ReadOnly"].arn("222222222222")
        assert evaluate(docs, "sts:AssumeRole", arn, user_context(mfa=None)) == DENY
        assert evaluate(docs, "sts:AssumeRole", arn, user_context(mfa=True)) == ALLOW

    def test_grant_does_not_reach_an_ungranted_account(self, example_org: Organisation) -> None:
        docs = self.hub_documents(example_org, "shop-developers")
        developer = example_org.role_kinds["Developer"]
        granted = developer.arn("333333333333")
        other = developer.arn("666666666666")
        alice = {"sts:SourceIdentity": "alice"}  # Developer requires the caller's own name as source identity
        in_shop_dev = user_context(mfa=True, account="333333333333") | alice
        assert evaluate(docs, "sts:AssumeRole", granted, in_shop_dev) == ALLOW
        assert (
            evaluate(docs, "sts:AssumeRole", other, user_context(mfa=True, account="666666666666") | alice) == NEUTRAL
        )

    def test_the_hub_side_checks_the_source_identity_too(self, example_org: Organisation) -> None:
        """Not only the trust: a hub grant for a source-identity role allows only the caller's own name."""
        docs = self.hub_documents(example_org, "shop-developers")
        granted = example_org.role_kinds["Developer"].arn("333333333333")
        context = user_context(mfa=True, account="333333333333")
        assert evaluate(docs, "sts:SetSourceIdentity", granted, context | {"sts:SourceIdentity": "alice"}) == ALLOW
        assert evaluate(docs, "sts:SetSourceIdentity", granted, context | {"sts:SourceIdentity": "bob"}) == NEUTRAL
        assert evaluate(docs, "sts:AssumeRole", granted, context) == NEUTRAL

    def test_self_service_without_mfa_is_limited_to_mfa_setup(self, example_org: Organisation) -> None:
        docs = [mfa_self_management_policy("111111111111")]
        own = "arn:aws:iam::111111111111:user/alice"
        assert evaluate(docs, "iam:EnableMFADevice", own, user_context(mfa=None)) == ALLOW
        assert evaluate(docs, "iam:CreateAccessKey", own, user_context(mfa=None)) == DENY
        assert evaluate(docs, "iam:CreateAccessKey", own, user_context(mfa=True)) == ALLOW
        other = "arn:aws:iam::111111111111:user/bob"
        assert evaluate(docs, "iam:CreateAccessKey", other, user_context(mfa=True)) == NEUTRAL

    def test_credential_changes_need_a_fresh_mfa_code_and_enrolment_needs_none(self) -> None:
        """Issue 19: the cached 12-hour MFA session could swap the user's MFA device and mint access keys. Now
        creating or re-activating credentials and enabling, resyncing or deactivating an MFA device need MFA
        under 900 s; a session without MFA (long-term keys, console sign-in without MFA) can still enrol."""
        from switchrole.client.sessions import SESSION_SECONDS

        docs = [mfa_self_management_policy("111111111111")]
        own = "arn:aws:iam::111111111111:user/alice"
        fresh = user_context(mfa=True)
        stale = fresh | {"aws:MultiFactorAuthAge": "900"}
        keys = user_context(mfa=None)  # long-term access keys: no MFA key at all
        console = keys | {"aws:MultiFactorAuthPresent": "false"}  # a console sign-in before the first device
        minting = ("iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:UploadSigningCertificate",
                   "iam:UploadSSHPublicKey", "iam:CreateServiceSpecificCredential", "iam:DeactivateMFADevice",
                   "iam:EnableMFADevice", "iam:ResyncMFADevice")  # fmt: skip
        for action in minting:
            assert evaluate(docs, action, own, fresh) == ALLOW, action
            assert evaluate(docs, action, own, stale) != ALLOW, action
        for action in ("iam:EnableMFADevice", "iam:ResyncMFADevice", "iam:CreateVirtualMFADevice"):
            resource = "arn:aws:iam::111111111111:mfa/alice" if "Virtual" in action else own
            assert evaluate(docs, action, resource, keys) == ALLOW, action
            assert evaluate(docs, action, resource, console) == ALLOW, action
        for action in ("iam:CreateAccessKey", "iam:DeactivateMFADevice"):
            assert evaluate(docs, action, own, keys) == DENY, action
        for action in ("iam:ListAccessKeys", "iam:DeleteAccessKey", "iam:ListMFADevices"):  # stale is fine
            assert evaluate(docs, action, own, stale) == ALLOW, action
        assert SESSION_SECONDS <= 3600  # the cached MFA session: an hour at most, not GetSessionToken's 12 h

    def test_a_user_creates_only_the_virtual_mfa_device_named_after_them(self) -> None:
        """Issue 19: CreateVirtualMFADevice on mfa/* let any hub user create mfa/<another user> first and block
        that user's documented enrolment. Only mfa/<own name> now, with or without MFA (enrolment)."""
        docs = [mfa_self_management_policy("111111111111")]
        for mfa in (None, True):
            context = user_context(mfa=mfa)
            own, other = "arn:aws:iam::111111111111:mfa/alice", "arn:aws:iam::111111111111:mfa/bob"
            assert evaluate(docs, "iam:CreateVirtualMFADevice", own, context) == ALLOW
            assert evaluate(docs, "iam:CreateVirtualMFADevice", other, context) != ALLOW

    @pytest.mark.parametrize(
        ("user", "expected"),
        [("alice", ALLOW), ("bob", NEUTRAL)],
    )
    def test_strict_trust_admits_only_granted_users(self, example_org: Organisation, user: str, expected: str) -> None:
        trust = trust_policy(example_org, example_org.account("shop-prod"), example_org.role_kinds["Admin"])
        context = user_context(mfa=True, user=user)
        assert evaluate([trust], "sts:AssumeRole", None, context, context["aws:PrincipalArn"]) == expected

    def test_an_ending_grant_allows_until_its_end_then_nothing(self) -> None:
        from datetime import UTC, datetime

        from factories import generated, load_data

        grants = {"g": [{"role": "ReadOnly", "accounts": ["acct-0001"], "until": "2027-03-31T00:00:00Z"}]}
        org = load_data(generated(1, grants=grants))
        docs = grant_policies(org, "g")
        arn = org.role_kinds["ReadOnly"].arn("200000000001")
        context = user_context(mfa=True, account="200000000001")
        assert evaluate(docs, "sts:AssumeRole", arn, context | {"aws:CurrentTime": "2027-03-30T23:59:59Z"}) == ALLOW
        assert evaluate(docs, "sts:AssumeRole", arn, context | {"aws:CurrentTime": "2027-03-31T00:00:00Z"}) == NEUTRAL
        deny = user_expiry_policy(datetime(2027, 3, 31, tzinfo=UTC))  # a user's until: over any Allow
        everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        for action in ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"):
            before = context | {"aws:CurrentTime": "2027-03-30T23:59:59Z"}
            assert evaluate([everything, deny], action, arn, before) == ALLOW
            assert (
                evaluate([everything, deny], action, arn, context | {"aws:CurrentTime": "2027-03-31T00:00:00Z"}) == DENY
            )
        later = context | {"aws:CurrentTime": "2030-01-01T00:00:00Z"}
        assert evaluate([everything, deny], "sts:GetSessionToken", "*", later) == ALLOW  # only switching ends

    def test_trust_mfa_age_limit(self, example_org: Organisation) -> None:
        trust = trust_policy(example_org, example_org.account("shop-prod"), example_org.role_kinds["Admin"])
        old = user_context(mfa=True) | {"aws:MultiFactorAuthAge": "1200"}
        assert evaluate([trust], "sts:AssumeRole", None, old, ALICE) == NEUTRAL


class TestIamSemantics:
    """What IAM does and an earlier model did not (each was a hole in the demo's proof)."""

    def test_condition_keys_are_case_insensitive(self) -> None:
        context = {"aws:MultiFactorAuthPresent": "true", "aws:username": "alice"}
        assert condition_holds("Bool", "AWS:MultiFactorAuthPresent", "true", context)
        assert substitute("user/${AWS:UserName}", context) == "user/alice"

    def test_brackets_are_literal_in_iam_wildcards(self) -> None:
        assert not like("arn:aws:iam::1:role/[ab]", "arn:aws:iam::1:role/a")
        assert like("arn:aws:iam::1:role/[ab]", "arn:aws:iam::1:role/[ab]")
        assert like("arn:aws:iam::*:role/sw?/Read*", "arn:aws:iam::2:role/sw1/ReadOnly")

    def test_an_unknown_operator_fails_closed_on_both_effects(self) -> None:
        condition = {"BinaryEquals": {"aws:SomeKey": "QUJD"}}
        allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": condition}
        deny = {**allow, "Effect": "Deny"}
        assert evaluate([{"Statement": [allow]}], "s3:ListBucket", "*", {}) == NEUTRAL
        assert evaluate([{"Statement": [allow, deny]}], "s3:ListBucket", "*", {}) == DENY

    def test_dates_addresses_and_multivalued_keys(self) -> None:
        now = {"aws:CurrentTime": "2026-11-29T12:00:00Z", "aws:SourceIp": "127.0.0.1", "aws:TagKeys": ["team", "cost"]}
        assert condition_holds("DateLessThan", "aws:CurrentTime", "2027-01-01T00:00:00Z", now)
        assert not condition_holds("DateGreaterThan", "aws:CurrentTime", "2027-01-01T00:00:00Z", now)
        assert condition_holds("IpAddress", "aws:SourceIp", "127.0.0.0/8", now)
        assert condition_holds("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", now)
        assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["team", "cost", "env"], now)
        assert not condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["team"], now)
        assert condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["team"], now)
        assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["team"], {})  # no tags: vacuously

    @pytest.mark.parametrize(
        ("operator", "before", "at", "after"),
        [
            ("DateLessThan", True, False, False),
            ("DateLessThanEquals", True, True, False),
            ("DateGreaterThan", False, False, True),
            ("DateGreaterThanEquals", False, True, True),
            ("DateEquals", False, True, False),
            ("DateNotEquals", True, False, True),
        ],
    )
    def test_the_date_family_on_current_time(self, operator: str, before: bool, at: bool, after: bool) -> None:
        """Each operator a second before, at and a second after the instant; offsets and epoch seconds compare
        as the same instant, as IAM's date conditions do."""
        until = "2027-03-31T00:00:00Z"
        for now, expected in (("2027-03-30T23:59:59Z", before), (until, at), ("2027-03-31T00:00:01Z", after)):
            assert condition_holds(operator, "aws:CurrentTime", until, {"aws:CurrentTime": now}) is expected, now
        assert (
            condition_holds(operator, "aws:CurrentTime", "2027-03-31T02:00:00+02:00", {"aws:CurrentTime": until}) is at
        )
        assert condition_holds(operator, "aws:EpochTime", "1806451200", {"aws:EpochTime": "1806451200"}) is at

    def test_date_conditions_on_a_missing_key_or_a_malformed_date(self) -> None:
        assert not condition_holds("DateLessThan", "aws:CurrentTime", "2027-03-31T00:00:00Z", {})
        assert condition_holds("DateLessThanIfExists", "aws:CurrentTime", "2027-03-31T00:00:00Z", {})
        assert condition_holds("DateNotEquals", "aws:CurrentTime", "2027-03-31T00:00:00Z", {})  # negated: holds
        malformed = {"aws:CurrentTime": "yesterday"}
        with pytest.raises(Undecidable):
            condition_holds("DateLessThan", "aws:CurrentTime", "2027-03-31T00:00:00Z", malformed)

    @pytest.mark.parametrize(
        ("operator", "key", "expected", "context"),
        [
            ("DateGreaterThan", "aws:CurrentTime", "not-a-date", {"aws:CurrentTime": "2027-01-01T00:00:00Z"}),
            ("NumericLessThan", "aws:MultiFactorAuthAge", "soon", {"aws:MultiFactorAuthAge": "10"}),
            ("NotIpAddress", "aws:SourceIp", "10.0.0.300/8", {"aws:SourceIp": "127.0.0.1"}),
            ("Bool", "aws:SecureTransport", "false", {}),  # AWS always sets it; the emulator speaks HTTP
            ("NumericLessThanIfExists", "aws:TokenIssueTime", "1", {}),
            ("Null", "aws:PrincipalOrgID", "true", {}),
            ("Bool", "aws:PrincipalIsAWSService", "false", {}),
            ("StringEquals", "aws:PrincipalTag/switchrole:managed-by", "switchrole", {}),
            ("StringEquals", "iam:ResourceTag/team", "platform", {}),
        ],
        ids=[
            "malformed date",
            "malformed number",
            "malformed network",
            "SecureTransport",
            "TokenIssueTime",
            "org",
            "PrincipalIsAWSService",
            "PrincipalTag",
            "ResourceTag",
        ],
    )
    def test_what_the_model_cannot_decide_fails_closed(
        self, operator: str, key: str, expected: str, context: dict[str, str]
    ) -> None:
        """Defect: these read as "no match", which left a Deny open that AWS would apply."""
        statement = {"Action": "s3:*", "Resource": "*", "Condition": {operator: {key: expected}}}
        deny, allow = {**statement, "Effect": "Deny"}, {**statement, "Effect": "Allow"}
        assert evaluate([{"Statement": [deny]}], "s3:ListBuckets", "*", context) == DENY
        assert evaluate([{"Statement": [allow]}], "s3:ListBuckets", "*", context) == NEUTRAL

    def test_for_any_value_is_false_on_a_missing_key_whatever_the_operator(self) -> None:
        """Defect: ForAnyValue:StringNotEquals held for a missing key, as a plain negated operator does."""
        assert not condition_holds("ForAnyValue:StringNotEquals", "aws:TagKeys", ["team"], {})
        assert not condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["team"], {})
        assert condition_holds("ForAllValues:StringNotEquals", "aws:TagKeys", ["team"], {})
        assert condition_holds("StringNotEquals", "aws:TagKeys", ["team"], {})

    def test_date_operators_it_does_not_know_still_fail_closed(self) -> None:
        for operator in ("DateBefore", "DateLessThanOrEquals", "ForEveryValue:DateLessThan"):
            with pytest.raises(UnknownOperator):
                condition_holds(operator, "aws:CurrentTime", "2027-03-31T00:00:00Z", {"aws:CurrentTime": "x"})
        condition = {"DateBefore": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}
        allow = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*", "Condition": condition}
        assert (
            evaluate([{"Statement": [allow]}], "sts:AssumeRole", "*", {"aws:CurrentTime": "2027-01-01T00:00:00Z"})
            == NEUTRAL
        )
        deny = {**allow, "Effect": "Deny"}
        assert evaluate([{"Statement": [deny]}], "sts:AssumeRole", "*", {}) == DENY

    def test_a_trust_naming_the_caller_exactly_is_told_apart_from_the_account(self) -> None:
        root = {"AWS": "arn:aws:iam::111111111111:root"}
        assert principal_matches(root, ALICE) and not principal_matches(root, ALICE, exactly=True)
        assert principal_matches({"AWS": [ALICE]}, ALICE, exactly=True)
        assert not principal_matches("*", ALICE, exactly=True)
