"""Compare what the emulator holds after deploy with what the synthesized templates say.

A deploy that "succeeds" proves little if the emulator silently dropped a
resource or a property (moto did exactly that for groups, memberships and role
policies), or, after an update, left behind what the new templates no longer
have (a membership, a role, a policy). Every IAM fact switchrole relies on is
read back through the IAM API and compared with the templates, both ways; any
difference fails the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from switchrole.infra.assembly_reader import members, names, of_type, stacks, templates
from switchrole.model.organisation import HUB_PATH, MANAGED_BY_TAG

SessionFor = Callable[[str], boto3.Session]


def differences(assembly: Path, session_for: SessionFor, endpoint_url: str) -> list[str]:
    """Every way the emulator's IAM and CloudFormation state differs from the templates (empty: identical)."""
    problems: list[str] = []
    protected = {name: bool(a["properties"].get("terminationProtection")) for name, a in stacks(assembly)}
    for stack, account, template in templates(assembly):
        session = session_for(account)
        iam = session.client("iam", endpoint_url=endpoint_url)
        cfn = session.client("cloudformation", endpoint_url=endpoint_url)
        where = f"{stack} ({account})"
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        if described["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            problems.append(f"{where}: stack status {described['StackStatus']}")
        if protected.get(stack) and not described.get("EnableTerminationProtection"):
            problems.append(f"{where}: termination protection is off")
        roles = of_type(template, "AWS::IAM::Role")
        problems += _check_roles(where, iam, roles)
        problems += _check_no_extra_roles(where, iam, roles)
        groups = of_type(template, "AWS::IAM::Group")
        policies = of_type(template, "AWS::IAM::ManagedPolicy")
        membership = members(template, groups)
        problems += _check_groups(where, iam, groups, membership)
        problems += _check_policies(where, iam, account, groups, policies, of_type(template, "AWS::IAM::User"))
        problems += _check_users(where, iam, membership, of_type(template, "AWS::IAM::User"))
        if groups or policies:  # the hub: nothing of switchrole's beyond the template
            problems += _check_no_extra_hub_entities(where, iam, groups, policies)
    return problems


def _check_roles(where: str, iam: Any, roles: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for props in roles.values():
        name = props["RoleName"]
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            problems.append(f"{where}: role {name} is missing")
            continue
        if role["Path"] != props.get("Path", "/"):
            problems.append(f"{where}: role {name} has path {role['Path']}, not {props.get('Path')}")
        if role["AssumeRolePolicyDocument"] != props["AssumeRolePolicyDocument"]:
            problems.append(f"{where}: role {name} has a different trust policy")
        if role.get("MaxSessionDuration") != props.get("MaxSessionDuration", 3600):
            problems.append(f"{where}: role {name} MaxSessionDuration {role.get('MaxSessionDuration')}")
        boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        if boundary != props.get("PermissionsBoundary"):
            problems.append(f"{where}: role {name} permissions boundary {boundary}")
        attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
        if attached != set(props.get("ManagedPolicyArns", [])):
            problems.append(f"{where}: role {name} has managed policies {sorted(attached)}")
    return problems


def _check_no_extra_roles(where: str, iam: Any, roles: dict[str, dict[str, Any]]) -> list[str]:
    """Roles switchrole created (its tag) that the template no longer has: left behind by an update."""
    expected = {props["RoleName"] for props in roles.values()}
    problems = []
    for role in iam.list_roles()["Roles"]:
        tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}
        if MANAGED_BY_TAG[0] in tags and role["RoleName"] not in expected:
            problems.append(f"{where}: role {role['RoleName']} is still there; the template no longer has it")
    return problems


def _check_groups(where: str, iam: Any, groups: dict[str, dict[str, Any]], members: dict[str, set[str]]) -> list[str]:
    problems = []
    for props in groups.values():
        try:
            answer = iam.get_group(GroupName=props["GroupName"])
        except iam.exceptions.NoSuchEntityException:
            problems.append(f"{where}: group {props['GroupName']} is missing")
            continue
        if answer["Group"]["Path"] != props.get("Path", "/"):
            problems.append(f"{where}: group {props['GroupName']} has path {answer['Group']['Path']}")
        actual = {u["UserName"] for u in answer["Users"]}
        expected = members.get(props["GroupName"], set())
        if actual != expected:
            problems.append(f"{where}: group {props['GroupName']} has members {sorted(actual)}, not {sorted(expected)}")
    return problems


def _check_no_extra_hub_entities(
    where: str, iam: Any, groups: dict[str, dict[str, Any]], policies: dict[str, dict[str, Any]]
) -> list[str]:
    """Groups and managed policies under switchrole's hub path that the template no longer has."""
    problems = []
    expected_groups = {props["GroupName"] for props in groups.values()}
    for group in iam.list_groups(PathPrefix=HUB_PATH)["Groups"]:
        if group["GroupName"] not in expected_groups:
            problems.append(f"{where}: group {group['GroupName']} is still there; the template no longer has it")
    expected_policies = {props["ManagedPolicyName"] for props in policies.values()}
    for policy in iam.list_policies(Scope="Local", PathPrefix=HUB_PATH)["Policies"]:
        if policy["PolicyName"] not in expected_policies:
            problems.append(f"{where}: policy {policy['PolicyName']} is still there; the template no longer has it")
    return problems


def _check_policies(
    where: str,
    iam: Any,
    account: str,
    groups: dict[str, dict[str, Any]],
    policies: dict[str, dict[str, Any]],
    users: dict[str, dict[str, Any]],
) -> list[str]:
    problems = []
    for props in policies.values():
        arn = f"arn:aws:iam::{account}:policy{props.get('Path', '/')}{props['ManagedPolicyName']}"
        try:
            policy = iam.get_policy(PolicyArn=arn)["Policy"]
        except iam.exceptions.NoSuchEntityException:
            problems.append(f"{where}: managed policy {arn} is missing")
            continue
        version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        if version["Document"] != props["PolicyDocument"]:
            problems.append(f"{where}: managed policy {props['ManagedPolicyName']} has a different document")
        for group in names(props.get("Groups", []), groups, "GroupName"):
            attached = {p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]}
            if arn not in attached:
                problems.append(f"{where}: {props['ManagedPolicyName']} is not attached to group {group}")
        for user in names(props.get("Users", []), users, "UserName"):  # a user's until: Deny
            attached = {p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]}
            if arn not in attached:
                problems.append(f"{where}: {props['ManagedPolicyName']} is not attached to user {user}")
    return problems


def _check_users(where: str, iam: Any, members: dict[str, set[str]], users: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for props in users.values():
        name = props["UserName"]
        try:
            actual = {g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]}
        except iam.exceptions.NoSuchEntityException:
            problems.append(f"{where}: user {name} is missing")
            continue
        expected = {group for group, users in members.items() if name in users}
        if actual != expected:
            problems.append(f"{where}: user {name} is in groups {sorted(actual)}, not {sorted(expected)}")
    return problems
