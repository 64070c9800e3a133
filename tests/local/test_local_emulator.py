"""The local AWS through its real server: stack updates as CloudFormation makes them, and the model of IAM's MFA
keys under both readings. Each test pins one rule that switchrole.local adds to moto; one server for the module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from switchrole.iam.evaluate import totp
from switchrole.local.server import LocalAws

HUB, TARGET = "111111111111", "222222222222"
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws() as server:
        yield server


def client(aws: LocalAws, service: str, account: str = HUB, **credentials: Any) -> Any:
    """A client in ``account`` while authorization is off (moto picks the account from an assumed role's key)."""
    if not credentials:
        sts = boto3.client("sts", endpoint_url=aws.endpoint, region_name="us-east-1",
                           aws_access_key_id="AKIASETUP", aws_secret_access_key="x")  # fmt: skip
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="test")["Credentials"]
        credentials = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                       "aws_session_token": c["SessionToken"]}  # fmt: skip
    return boto3.client(service, endpoint_url=aws.endpoint, region_name="us-east-1", **credentials)


def trust(**condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
                                 "Action": "sts:AssumeRole"}  # fmt: skip
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def template(version: int) -> dict[str, Any]:
    """v1: a group with a managed policy, a retained user in it, a role. v2: the user leaves the template, the
    role's trust, session length and policies change, the policy document changes."""
    resources: dict[str, Any] = {
        "Group": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "lifecycle", "Path": "/switchrole/"}},
        "Policy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "ManagedPolicyName": "lifecycle-grants",
                "Path": "/switchrole/",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{TARGET}:role/{version}"}
                ]},
                "Groups": [{"Ref": "Group"}],
            },
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": "Lifecycle",
                "AssumeRolePolicyDocument": trust() if version == 1 else trust(**MFA),
                "MaxSessionDuration": 3600 * version,
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess" if version == 1
                                      else "arn:aws:iam::aws:policy/AdministratorAccess"],
            },
        },
    }  # fmt: skip
    if version == 1:
        resources["Leaver"] = {
            "Type": "AWS::IAM::User",
            "Properties": {"UserName": "leaver"},
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        }
        resources["Members"] = {
            "Type": "AWS::IAM::UserToGroupAddition",
            "Properties": {"GroupName": {"Ref": "Group"}, "Users": [{"Ref": "Leaver"}]},
        }
    return {"Parameters": {"Version": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/lifecycle/version"}},
            "Resources": resources}  # fmt: skip


def change_set(cfn: Any, name: str, body: dict[str, Any], kind: str = "UPDATE", **extra: Any) -> str:
    """What `cdk deploy` does: delete a leftover change set, create, wait, execute, wait."""
    cfn.delete_change_set(StackName=name, ChangeSetName="cdk-deploy-change-set")  # succeeds when there is none
    with pytest.raises(ClientError) as gone:
        cfn.describe_change_set(StackName=name, ChangeSetName="cdk-deploy-change-set")
    assert gone.value.response["Error"]["Code"] == "ChangeSetNotFound"  # what the CDK CLI waits for
    cfn.create_change_set(StackName=name, ChangeSetName="cdk-deploy-change-set", ChangeSetType=kind,
                          TemplateBody=json.dumps(body), **extra)  # fmt: skip
    cfn.execute_change_set(StackName=name, ChangeSetName="cdk-deploy-change-set")
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


@pytest.fixture(scope="module")
def updated(aws: LocalAws) -> dict[str, Any]:
    ssm = client(aws, "ssm")
    ssm.put_parameter(Name="/lifecycle/version", Value="21", Type="String")
    cfn = client(aws, "cloudformation")
    assert change_set(cfn, "lifecycle", template(1), "CREATE") == "CREATE_COMPLETE"
    iam = client(aws, "iam")
    before = {"groups": [g["GroupName"] for g in iam.list_groups_for_user(UserName="leaver")["Groups"]]}
    previous = [{"ParameterKey": "Version", "UsePreviousValue": True}]  # as `cdk deploy` passes BootstrapVersion
    status = change_set(cfn, "lifecycle", template(2), Parameters=previous)
    return {"before": before, "status": status, "iam": iam, "cfn": cfn}


def test_an_update_applies_as_cloudformation_does(updated: dict[str, Any]) -> None:
    assert updated["status"] == "UPDATE_COMPLETE"
    iam = updated["iam"]
    role = iam.get_role(RoleName="Lifecycle")["Role"]
    assert (
        role["AssumeRolePolicyDocument"] == template(2)["Resources"]["Role"]["Properties"]["AssumeRolePolicyDocument"]
    )
    assert role["MaxSessionDuration"] == 7200
    attached = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName="Lifecycle")["AttachedPolicies"]]
    assert attached == ["AdministratorAccess"]
    arn = f"arn:aws:iam::{HUB}:policy/switchrole/lifecycle-grants"
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
    assert document["Statement"][0]["Resource"] == f"arn:aws:iam::{TARGET}:role/2"


def test_a_retained_user_leaving_the_template_is_kept_and_loses_its_membership(updated: dict[str, Any]) -> None:
    """The membership resource is deleted (the user leaves the group); the retained user gets no API call."""
    assert updated["before"]["groups"] == ["lifecycle"]
    iam = updated["iam"]
    assert iam.get_user(UserName="leaver")["User"]["UserName"] == "leaver"
    assert iam.list_groups_for_user(UserName="leaver")["Groups"] == []


def test_a_second_role_with_a_taken_name_fails_the_update_like_aws(aws: LocalAws, updated: dict[str, Any]) -> None:
    """A new logical id for the same RoleName (what renaming a kind key did) is create-before-delete: it fails."""
    body = template(2)
    body["Resources"]["Renamed"] = body["Resources"].pop("Role")
    status = change_set(
        updated["cfn"], "lifecycle", body, Parameters=[{"ParameterKey": "Version", "UsePreviousValue": True}]
    )
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    events = updated["cfn"].describe_stack_events(StackName="lifecycle")["StackEvents"]
    assert any("already exists" in (e.get("ResourceStatusReason") or "") for e in events)


def test_a_template_url_on_an_ip_address_is_read_path_style(aws: LocalAws) -> None:
    s3 = client(aws, "s3")
    s3.create_bucket(Bucket="templates")
    s3.put_object(Bucket="templates", Key="t.json", Body=json.dumps(
        {"Resources": {"G": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "by-url"}}}}))  # fmt: skip
    cfn = client(aws, "cloudformation")
    cfn.create_stack(StackName="by-url", TemplateURL=f"{aws.endpoint}/templates/t.json")
    assert client(aws, "iam").get_group(GroupName="by-url")["Group"]["GroupName"] == "by-url"


# --------------------------------------------------------------------------- IAM's MFA keys, both readings


@pytest.fixture(scope="module")
def people(aws: LocalAws, updated: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """In the hub: `granted` may assume Target only with MFA (Bool), `open` may assume it with no MFA condition.
    In the target: `Target` trusts the hub with MFA in its trust policy. Then authorization goes on."""
    iam, target_iam = client(aws, "iam"), client(aws, "iam", TARGET)
    target_iam.create_role(
        RoleName="Target", MaxSessionDuration=14400, AssumeRolePolicyDocument=json.dumps(trust(**MFA))
    )
    found: dict[str, Any] = {}
    for user, condition in (("granted", MFA), ("open", None)):
        iam.create_user(UserName=user)
        statement: dict[str, Any] = {"Effect": "Allow", "Action": ["sts:AssumeRole", "iam:ListMFADevices"],
                                     "Resource": "*"}  # fmt: skip
        if condition:
            statement["Condition"] = condition
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [statement]}))  # fmt: skip
        key = iam.create_access_key(UserName=user)["AccessKey"]
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
        seed = device["Base32StringSeed"]
        seed = seed.decode() if isinstance(seed, bytes) else seed
        now = time.time()
        codes = {"AuthenticationCode1": totp(seed, now - 30), "AuthenticationCode2": totp(seed, now)}
        iam.enable_mfa_device(UserName=user, SerialNumber=device["SerialNumber"], **codes)
        found[user] = {"key": key, "seed": seed, "serial": device["SerialNumber"]}
    aws.enforce_authorization()
    yield found
    aws.set_mfa_reading("strict")


def sts_as(aws: LocalAws, person: dict[str, Any]) -> Any:
    return client(aws, "sts", aws_access_key_id=person["key"]["AccessKeyId"],
                  aws_secret_access_key=person["key"]["SecretAccessKey"])  # fmt: skip


ROLE = f"arn:aws:iam::{TARGET}:role/Target"


def assume(sts: Any, person: dict[str, Any] | None = None, **extra: Any) -> str:
    mfa = {"SerialNumber": person["serial"], "TokenCode": totp(person["seed"])} if person else {}
    try:
        sts.assume_role(RoleArn=ROLE, RoleSessionName="test", **mfa, **extra)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "ok"


def session_sts(aws: LocalAws, person: dict[str, Any], *, mfa: bool = True) -> Any:
    extra = {"SerialNumber": person["serial"], "TokenCode": totp(person["seed"])} if mfa else {}
    c = sts_as(aws, person).get_session_token(**extra)["Credentials"]
    return client(aws, "sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                  aws_session_token=c["SessionToken"])  # fmt: skip


def test_strict_an_assume_roles_mfa_code_does_not_count_for_the_callers_policies(
    aws: LocalAws, people: dict[str, Any]
) -> None:
    aws.set_mfa_reading("strict")
    assert assume(sts_as(aws, people["granted"]), people["granted"]) == "AccessDenied"


def test_strict_the_trust_policy_sees_the_code(aws: LocalAws, people: dict[str, Any]) -> None:
    aws.set_mfa_reading("strict")
    assert assume(sts_as(aws, people["open"]), people["open"]) == "ok"  # the trust requires MFA: satisfied
    assert assume(sts_as(aws, people["open"])) == "AccessDenied"  # no code: the trust refuses


def test_an_mfa_session_carries_mfa_for_both_sides_under_either_reading(aws: LocalAws, people: dict[str, Any]) -> None:
    for reading in ("strict", "lenient"):
        aws.set_mfa_reading(reading)
        assert assume(session_sts(aws, people["granted"])) == "ok", reading
        assert assume(session_sts(aws, people["granted"], mfa=False)) == "AccessDenied", reading


def test_lenient_is_the_favourable_reading(aws: LocalAws, people: dict[str, Any]) -> None:
    aws.set_mfa_reading("lenient")
    assert assume(sts_as(aws, people["granted"]), people["granted"]) == "ok"


def test_session_durations_as_sts_checks_them(aws: LocalAws, people: dict[str, Any]) -> None:
    """At most the role's maximum; and from temporary credentials at most one hour (the stricter reading of
    AWS's documentation for AssumeRole from GetSessionToken credentials)."""
    aws.set_mfa_reading("strict")
    assert assume(sts_as(aws, people["open"]), people["open"], DurationSeconds=14400) == "ok"
    assert assume(sts_as(aws, people["open"]), people["open"], DurationSeconds=21600) == "ValidationError"
    assert assume(session_sts(aws, people["granted"]), DurationSeconds=7200) == "ValidationError"
    assert assume(session_sts(aws, people["granted"]), DurationSeconds=3600) == "ok"


def test_what_a_session_may_call(aws: LocalAws, people: dict[str, Any]) -> None:
    """GetSessionToken credentials: no IAM call without MFA, no STS call but AssumeRole and GetCallerIdentity."""
    person = people["granted"]
    keys = {
        "aws_access_key_id": person["key"]["AccessKeyId"],
        "aws_secret_access_key": person["key"]["SecretAccessKey"],
    }
    for mfa, allowed in ((True, True), (False, False)):
        extra = {"SerialNumber": person["serial"], "TokenCode": totp(person["seed"])} if mfa else {}
        c = client(aws, "sts", **keys).get_session_token(**extra)["Credentials"]
        session = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                   "aws_session_token": c["SessionToken"]}  # fmt: skip
        iam = client(aws, "iam", **session)
        if allowed:
            assert iam.list_mfa_devices(UserName="granted")["MFADevices"]
        else:
            with pytest.raises(ClientError):
                iam.list_mfa_devices(UserName="granted")
        with pytest.raises(ClientError):
            client(aws, "sts", **session).get_session_token()


def test_assuming_a_role_that_does_not_exist_is_access_denied(aws: LocalAws, people: dict[str, Any]) -> None:
    sts = session_sts(aws, people["granted"])
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=f"arn:aws:iam::{TARGET}:role/Nobody", RoleSessionName="test")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_strict_a_code_on_assume_role_does_not_give_temporary_credentials_mfa(
    aws: LocalAws, people: dict[str, Any]
) -> None:
    """A session opened without MFA stays without MFA for the caller's policies, whatever the request carries."""
    aws.set_mfa_reading("strict")
    assert assume(session_sts(aws, people["granted"], mfa=False), people["granted"]) == "AccessDenied"


def test_a_role_at_another_path_is_not_the_role(aws: LocalAws, people: dict[str, Any]) -> None:
    sts = session_sts(aws, people["granted"])
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=f"arn:aws:iam::{TARGET}:role/somewhere/Target", RoleSessionName="test")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_every_refusal_says_which_side_refused(aws: LocalAws, people: dict[str, Any]) -> None:
    """The demo checks refusals by these words (AWS's own phrasing for identity-based policies)."""
    aws.set_mfa_reading("strict")
    reasons = {}
    for name, sts in (
        ("hub", session_sts(aws, people["granted"], mfa=False)),  # the grant needs MFA
        ("trust", sts_as(aws, people["open"])),  # the trust needs MFA; the caller's policy does not
    ):
        with pytest.raises(ClientError) as denied:
            sts.assume_role(RoleArn=ROLE, RoleSessionName="test")
        reasons[name] = denied.value.response["Error"]["Message"]
    assert reasons["hub"].endswith("because no identity-based policy allows the sts:AssumeRole action")
    assert reasons["trust"].endswith("because no resource-based policy allows the sts:AssumeRole action")


def test_same_account_needs_an_identity_allow_unless_the_trust_names_the_caller(aws: LocalAws) -> None:
    """In one account, a trust naming the account root delegates to identity policies (the caller has none);
    a trust naming the caller's own ARN is enough on its own."""
    with aws.authorization_off():
        iam = client(aws, "iam", TARGET)
        iam.create_user(UserName="local")
        key = iam.create_access_key(UserName="local")["AccessKey"]
        account = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                   "Principal": {"AWS": f"arn:aws:iam::{TARGET}:root"}}]}  # fmt: skip
        exact = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"AWS": f"arn:aws:iam::{TARGET}:user/local"}}]}  # fmt: skip
        iam.create_role(RoleName="ByAccount", AssumeRolePolicyDocument=json.dumps(account))
        iam.create_role(RoleName="ByName", AssumeRolePolicyDocument=json.dumps(exact))
    sts = client(aws, "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=f"arn:aws:iam::{TARGET}:role/ByAccount", RoleSessionName="test")
    assert sts.assume_role(RoleArn=f"arn:aws:iam::{TARGET}:role/ByName", RoleSessionName="test")["Credentials"]
