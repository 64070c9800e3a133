"""switchrole's CDK bootstrap template for target accounts: only named deployers reach the deployment roles.

``cdk bootstrap --trust <hub>`` (what switchrole documented before) makes the deploy, lookup and publishing
roles of a target account trust the hub's *root* with no condition: any hub principal allowed ``sts:AssumeRole``
on ``*`` (a hub administrator, a tooling role, without MFA) reaches them, and the deploy role passes the
CloudFormation execution role, which can create any IAM role: administrator of the target, around every
``trust: strict``, MFA and ``until:`` the file says. The default template's same-account trust has the same
shape: any principal of the target allowed ``sts:AssumeRole`` on ``*`` (a switchrole ``Developer`` with
PowerUserAccess, say) may deploy through it.

This module writes the CDK CLI's own bootstrap template (from the pinned ``aws-cdk`` package, so versions and
outputs stay the CLI's) with three changes:

- the four roles the CLI assumes trust **only the named deployer roles of the account itself**
  (:data:`DEPLOYER_ROLES`: the scaffold's GitHub OIDC role and the ``OrganizationAccountAccessRole`` that
  AWS Organizations creates in a member account, which is already its administrator), by ``aws:PrincipalArn``;
  no other account is trusted, whatever ``--trust`` says, and an external id is always refused;
- the CloudFormation execution role gets no ``AdministratorAccess`` by default, but an inline policy that
  manages IAM roles under the file's role paths only, and never the bootstrap roles themselves;
- ``BootstrapVariant`` says it is switchrole's, so the CLI will not silently overwrite it with its default.

``switchrole audit`` acknowledges bootstrap roles only when their trust is this template's.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from switchrole.model.organisation import Organisation

QUALIFIER = "hnb659fds"
VARIANT = "switchrole: named deployers only"
# Role names, in the target account itself, that may deploy: what the scaffold's deploy/github-deploy-role.yaml
# creates, and what AWS Organizations creates in the accounts it creates (docs/onboarding.md, first access).
DEPLOYER_ROLES = ("switchrole-github-deploy", "OrganizationAccountAccessRole")
ASSUMED_ROLES = ("FilePublishingRole", "ImagePublishingRole", "LookupRole", "DeploymentActionRole")
EXECUTION_ROLE = "CloudFormationExecutionRole"
VERSION_PARAMETER = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${CdkBootstrapVersion}"
ROLE_ACTIONS = (  # what CloudFormation needs to create, update and delete switchrole's roles
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)


def cdk_template_path(cdk: Path) -> Path:
    """The bootstrap template shipped with the CDK CLI whose ``node_modules/.bin/cdk`` is ``cdk``."""
    package = cdk.resolve().parent.parent  # node_modules/aws-cdk/bin/cdk -> node_modules/aws-cdk
    return package / "lib" / "api" / "bootstrap" / "bootstrap-template.yaml"


def deployer_arns() -> list[dict[str, str]]:
    return [{"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{name}"} for name in DEPLOYER_ROLES]


def trust_document() -> dict[str, Any]:
    """The trust of every role the CDK CLI assumes: this account's named deployer roles, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NamedDeployersOnly",
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Effect": "Allow",
                "Principal": {"AWS": {"Ref": "AWS::AccountId"}},
                "Condition": {
                    "ArnEquals": {"aws:PrincipalArn": deployer_arns()},
                    "Null": {"sts:ExternalId": "true"},
                },
            }
        ],
    }


def role_paths(org: Organisation) -> list[str]:
    return sorted({kind.path for kind in org.role_kinds.values()})


def execution_policy(org: Organisation) -> dict[str, Any]:
    """IAM roles under the file's role paths, and nothing of the bootstrap itself."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SwitchroleRoles",
                "Effect": "Allow",
                "Action": list(ROLE_ACTIONS),
                "Resource": [
                    {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{path}*"}
                    for path in role_paths(org)
                ],
            },
            {
                "Sid": "NeverTheBootstrapRoles",
                "Effect": "Deny",
                "Action": "iam:*",
                "Resource": [
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-${Qualifier}-*"},
                    *[
                        {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{n}"}
                        for n in DEPLOYER_ROLES
                    ],
                ],
            },
            {
                "Sid": "ReadBootstrapVersion",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                "Resource": {"Fn::Sub": VERSION_PARAMETER},
            },
        ],
    }


def template(org: Organisation, cdk_template: dict[str, Any]) -> dict[str, Any]:
    """The CDK CLI's bootstrap template (parsed), made switchrole's (see the module docstring)."""
    result = copy.deepcopy(cdk_template)
    resources = result["Resources"]
    for name in ASSUMED_ROLES:
        resources[name]["Properties"]["AssumeRolePolicyDocument"] = trust_document()
    execution = resources[EXECUTION_ROLE]["Properties"]
    execution["ManagedPolicyArns"] = {
        "Fn::If": [
            "HasCloudFormationExecutionPolicies",
            {"Ref": "CloudFormationExecutionPolicies"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    execution["Policies"] = [{"PolicyName": "switchrole-deploy", "PolicyDocument": execution_policy(org)}]
    for unused in ("HasTrustedAccounts", "HasTrustedAccountsForLookup", "ShouldDenyExternalId"):
        result["Conditions"].pop(unused, None)  # their statements are gone: no other account is trusted
    result["Parameters"]["BootstrapVariant"]["Default"] = VARIANT
    result["Description"] = (
        "switchrole: CDK bootstrap for a target account; only this account's named deployer roles "
        f"({', '.join(DEPLOYER_ROLES)}) may deploy"
    )
    return result


def render(org: Organisation, cdk: Path) -> str:
    """The template as the file ``switchrole bootstrap-template`` writes (JSON, which the CDK CLI reads as YAML)."""
    import yaml  # PyYAML: the CDK template is plain YAML, its intrinsics in their long form

    source = cdk_template_path(cdk)
    parsed = yaml.safe_load(source.read_text())
    return json.dumps(template(org, parsed), indent=1) + "\n"


ROLE_KINDS = {  # logical id in the CDK's template -> the kind in the role's name (cdk-<q>-<kind>-role-<acct>-<region>)
    "FilePublishingRole": "file-publishing",
    "ImagePublishingRole": "image-publishing",
    "LookupRole": "lookup",
    "DeploymentActionRole": "deploy",
}


def allowed_actions(document: dict[str, Any]) -> list[str]:
    """The actions an identity policy's Allow statements name (as written: wildcards stay wildcards)."""
    actions: set[str] = set()
    statements = document.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            action = statement.get("Action", [])
            actions |= {action} if isinstance(action, str) else set(action)
    return sorted(actions)


def _name(value: Any) -> str:
    text = value.get("Fn::Sub", "") if isinstance(value, dict) else str(value)
    return text.replace("${Qualifier}", QUALIFIER).split("-${AWS::AccountId}")[0].split("/")[-1]


def policies_of(cdk_template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the bootstrap gives each role the CLI assumes: its managed policies (names) and its inline policies
    (name, without the account and region suffix -> the actions they allow). ``switchrole audit`` compares the
    live roles with this (:data:`switchrole.iam.bootstrap_policies.BOOTSTRAP_POLICIES`, written from it)."""
    resources = cdk_template["Resources"]
    result: dict[str, dict[str, Any]] = {}
    for logical_id, kind in ROLE_KINDS.items():
        properties = resources[logical_id]["Properties"]
        inline = {p["PolicyName"]: allowed_actions(p["PolicyDocument"]) for p in properties.get("Policies", [])}
        for resource in resources.values():
            attached = resource.get("Properties", {})
            if resource["Type"] == "AWS::IAM::Policy" and {"Ref": logical_id} in attached.get("Roles", []):
                inline[_name(attached["PolicyName"])] = allowed_actions(attached["PolicyDocument"])
        managed = sorted(_name(arn) for arn in properties.get("ManagedPolicyArns", []))
        result[kind] = {"managed": managed, "inline": dict(sorted(inline.items()))}
    return result


def bootstrap_role_arn(account_id: str, region: str, kind: str = "deploy") -> str:
    """A bootstrap role's ARN: ``kind`` is deploy, lookup, file-publishing or image-publishing."""
    return f"arn:aws:iam::{account_id}:role/cdk-{QUALIFIER}-{kind}-role-{account_id}-{region}"


def bootstrap_command(account_id: str, region: str, template_file: str) -> list[str]:
    """The one way switchrole bootstraps a target account (docs/onboarding.md, ``onboard``, the demo)."""
    return ["npx", "cdk", "bootstrap", f"aws://{account_id}/{region}", "--template", template_file]
