"""The synthesized templates of the example organisation (synthesized once per session)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from switchrole.iam.hub_user_policies import mfa_self_management_policy
from switchrole.iam.policies import grant_policies
from switchrole.model.organisation import Organisation


def roles(template: Template) -> dict[str, Any]:
    return {r["Properties"]["RoleName"]: r["Properties"] for r in template.find_resources("AWS::IAM::Role").values()}


@pytest.fixture(scope="module")
def shop_prod(templates: dict[str, Template]) -> Template:
    return templates["SwitchRole-shop-prod"]


@pytest.fixture(scope="module")
def shop_dev(templates: dict[str, Template]) -> Template:
    return templates["SwitchRole-shop-dev"]


@pytest.fixture(scope="module")
def hub(templates: dict[str, Template]) -> Template:
    return templates["SwitchRole-Hub"]


def test_one_stack_per_target_account_plus_the_hub(templates: dict[str, Template]) -> None:
    assert sorted(templates) == sorted(
        ["SwitchRole-Hub", "SwitchRole-shop-prod", "SwitchRole-shop-dev", "SwitchRole-data-prod", "SwitchRole-data-dev"]
    )


class TestTargetAccountStack:
    def test_creates_exactly_the_listed_role_kinds(self, shop_prod: Template, shop_dev: Template) -> None:
        assert sorted(roles(shop_prod)) == ["Admin", "Auditor", "ReadOnly"]
        assert sorted(roles(shop_dev)) == ["Admin", "Auditor", "Developer", "ReadOnly"]

    def test_trust_principal_is_the_hub_account(self, shop_prod: Template) -> None:
        shop_prod.has_resource_properties(
            "AWS::IAM::Role",
            {
                "RoleName": "ReadOnly",
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                                "Action": ["sts:AssumeRole"],
                            }
                        )
                    ]
                },
            },
        )

    def test_mfa_conditions(self, shop_prod: Template) -> None:
        readonly = roles(shop_prod)["ReadOnly"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
        admin = roles(shop_prod)["Admin"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
        assert readonly["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
        assert readonly["NumericLessThan"] == {"aws:MultiFactorAuthAge": "3600"}
        assert admin["NumericLessThan"] == {"aws:MultiFactorAuthAge": "900"}
        for role in roles(shop_prod).values():
            assert "BoolIfExists" not in str(role["AssumeRolePolicyDocument"])

    def test_external_id_without_mfa(self, shop_prod: Template) -> None:
        auditor = roles(shop_prod)["Auditor"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
        assert auditor == {"StringEquals": {"sts:ExternalId": "switchrole-audit-2026"}}

    def test_strict_trust_names_the_granted_users(self, shop_prod: Template) -> None:
        admin = roles(shop_prod)["Admin"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
        assert admin["ArnEquals"] == {"aws:PrincipalArn": ["arn:aws:iam::111111111111:user/alice"]}

    def test_source_identity(self, shop_dev: Template) -> None:
        statement = roles(shop_dev)["Developer"]["AssumeRolePolicyDocument"]["Statement"][0]
        assert statement["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity"]
        assert statement["Condition"]["StringEquals"] == {"sts:SourceIdentity": "${aws:username}"}

    def test_session_duration_path_policies_and_boundary(self, shop_dev: Template) -> None:
        by_name = roles(shop_dev)
        assert by_name["ReadOnly"]["MaxSessionDuration"] == 14400
        assert by_name["Admin"]["MaxSessionDuration"] == 3600
        assert by_name["Developer"]["MaxSessionDuration"] == 28800
        assert {r["Path"] for r in by_name.values()} == {"/switchrole/"}
        assert by_name["Admin"]["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
        assert by_name["Developer"]["PermissionsBoundary"] == "arn:aws:iam::aws:policy/PowerUserAccess"
        assert "PermissionsBoundary" not in by_name["ReadOnly"]

    def test_managed_by_tag(self, shop_dev: Template) -> None:
        for role in roles(shop_dev).values():
            assert {"Key": "switchrole:managed-by", "Value": "switchrole"} in role["Tags"]

    def test_outputs_role_arn_and_console_link(self, shop_prod: Template) -> None:
        outputs = shop_prod.find_outputs("*")
        assert outputs["ReadOnlyRoleArn"]["Value"] == "arn:aws:iam::222222222222:role/switchrole/ReadOnly"
        assert outputs["ReadOnlySwitchRoleUrl"]["Value"] == (
            "https://signin.aws.amazon.com/switchrole?account=222222222222"
            "&roleName=switchrole/ReadOnly&displayName=shop-prod-ReadOnly"
        )
        assert "AuditorRoleArn" in outputs
        assert "AuditorSwitchRoleUrl" not in outputs  # the console cannot pass an external id

    def test_no_console_link_for_source_identity_roles(self, shop_dev: Template) -> None:
        outputs = shop_dev.find_outputs("*")
        assert "DeveloperRoleArn" in outputs
        assert "DeveloperSwitchRoleUrl" not in outputs  # the console cannot set a source identity

    def test_no_wildcard_principal_anywhere(self, templates: dict[str, Template]) -> None:
        for name, template in templates.items():
            text = str(template.to_json())
            assert "'Principal': '*'" not in text and "'AWS': '*'" not in text, name


class TestHubStack:
    def test_termination_protection_and_env(self, example_assembly_dir: Any) -> None:
        import json

        manifest = json.loads((example_assembly_dir / "manifest.json").read_text())
        hub = manifest["artifacts"]["SwitchRole-Hub"]
        assert hub["properties"]["terminationProtection"] is True
        assert hub["environment"] == "aws://111111111111/us-east-1"
        assert manifest["artifacts"]["SwitchRole-shop-prod"]["environment"] == "aws://222222222222/us-east-1"

    def test_one_group_per_entry(self, hub: Template, example_org: Organisation) -> None:
        groups = hub.find_resources("AWS::IAM::Group")
        assert sorted(g["Properties"]["GroupName"] for g in groups.values()) == sorted(example_org.groups)

    def test_grant_policies_are_exactly_the_builders_documents(self, hub: Template, example_org: Organisation) -> None:
        policies = hub.find_resources("AWS::IAM::ManagedPolicy")
        by_name = {p["Properties"]["ManagedPolicyName"]: p["Properties"] for p in policies.values()}
        for group in example_org.groups:
            docs = grant_policies(example_org, group)
            for number, doc in enumerate(docs, start=1):
                assert by_name[f"switchrole-{group}-{number}"]["PolicyDocument"] == doc

    def test_grant_policy_resources(self, hub: Template) -> None:
        hub.has_resource_properties(
            "AWS::IAM::ManagedPolicy",
            {
                "ManagedPolicyName": "switchrole-platform-admins-1",
                "Groups": [{"Ref": Match.string_like_regexp("Groupplatformadmins")}],
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Sid": "AssumeAdmin",
                            "Effect": "Allow",
                            "Action": ["sts:AssumeRole"],
                            "Resource": "arn:aws:iam::*:role/switchrole/Admin",
                            "Condition": {
                                "StringEquals": {
                                    "aws:ResourceAccount": [
                                        "222222222222",
                                        "333333333333",
                                        "555555555555",
                                        "666666666666",
                                    ]
                                },
                                "Bool": {"aws:MultiFactorAuthPresent": "true"},
                                "NumericLessThan": {"aws:MultiFactorAuthAge": "900"},
                            },
                        }
                    ],
                    "Version": "2012-10-17",
                },
            },
        )

    def test_mfa_policy_attached_to_every_group_requiring_mfa(self, hub: Template) -> None:
        policies = hub.find_resources(
            "AWS::IAM::ManagedPolicy", {"Properties": {"ManagedPolicyName": "switchrole-require-mfa"}}
        )
        (policy,) = policies.values()
        assert policy["Properties"]["PolicyDocument"] == mfa_self_management_policy("111111111111")
        groups = hub.find_resources("AWS::IAM::Group")
        attached = {groups[ref["Ref"]]["Properties"]["GroupName"] for ref in policy["Properties"]["Groups"]}
        assert attached == {"platform-admins", "shop-developers", "data-developers", "readers"}  # not auditors

    def test_users_memberships_and_retention(self, hub: Template) -> None:
        users = {lid: u["Properties"]["UserName"] for lid, u in hub.find_resources("AWS::IAM::User").items()}
        groups = {lid: g["Properties"]["GroupName"] for lid, g in hub.find_resources("AWS::IAM::Group").items()}
        memberships: dict[str, list[str]] = {name: [] for name in users.values()}
        for addition in hub.find_resources("AWS::IAM::UserToGroupAddition").values():
            for user in addition["Properties"]["Users"]:
                memberships[users[user["Ref"]]].append(groups[addition["Properties"]["GroupName"]["Ref"]])
        assert {u: sorted(g) for u, g in memberships.items()} == {
            "alice": ["platform-admins", "readers"],
            "bob": ["shop-developers"],
            "carol": ["data-developers", "readers"],
            "dave": ["auditors"],
            "erin": [],
        }
        for user in hub.find_resources("AWS::IAM::User").values():
            assert user["DeletionPolicy"] == "Retain"
            assert user["UpdateReplacePolicy"] == "Retain"
            assert "Groups" not in user["Properties"]  # a retained resource must not carry membership

    def test_user_until_is_a_deny_attached_to_that_user_alone(self, hub: Template) -> None:
        users = {lid: u["Properties"]["UserName"] for lid, u in hub.find_resources("AWS::IAM::User").items()}
        expiring = {
            p["Properties"]["ManagedPolicyName"]: p["Properties"]
            for p in hub.find_resources("AWS::IAM::ManagedPolicy").values()
            if "Users" in p["Properties"]
        }
        assert list(expiring) == ["switchrole-bob-until"]  # only bob has until: in the example
        policy = expiring["switchrole-bob-until"]
        assert [users[ref["Ref"]] for ref in policy["Users"]] == ["bob"] and "Groups" not in policy
        assert policy["Path"] == "/switchrole/"
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny" and statement["Resource"] == "*"
        assert statement["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
        assert statement["Condition"] == {"DateGreaterThanEquals": {"aws:CurrentTime": "2099-06-30T00:00:00Z"}}

    def test_grant_until_is_a_date_condition_in_the_hub(self, hub: Template) -> None:
        policies = hub.find_resources(
            "AWS::IAM::ManagedPolicy", {"Properties": {"ManagedPolicyName": "switchrole-auditors-1"}}
        )
        ((_, policy),) = policies.items()
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Sid"] == "AssumeAuditorUntil20981231T000000Z"
        assert statement["Condition"]["DateLessThan"] == {"aws:CurrentTime": "2098-12-31T00:00:00Z"}

    def test_no_credentials_in_the_hub(self, hub: Template) -> None:
        hub.resource_count_is("AWS::IAM::AccessKey", 0)
        for user in hub.find_resources("AWS::IAM::User").values():
            assert "LoginProfile" not in user["Properties"]
