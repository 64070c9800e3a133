"""The stack deployed into each target account: one role per role kind the account lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from switchrole.iam.policies import PolicyDocument, checked_trust_policy
from switchrole.infra.constructs import CrossAccountRole
from switchrole.model.organisation import Organisation, RoleKind, TargetAccount


def add_roles(
    stack: cdk.Stack,
    org: Organisation,
    account: TargetAccount | None,
    role_keys: Sequence[str],
    trust: Callable[[RoleKind], PolicyDocument | cdk.IResolvable],
) -> dict[str, CrossAccountRole]:
    """A role per kind, with its ARN and (where the console can switch into it) its console link as outputs.

    The role's construct id (and so its logical id) is the IAM role *name*, not the kind's key:
    CloudFormation can only update a role in place while its logical id stays, and the role name
    is what must stay. Renaming a kind key while keeping ``name`` is then an update, not a
    create-before-delete that fails on the existing name.
    """
    roles = {}
    outputs = Construct(stack, GENERATED_SCOPE)  # role names can be any construct id; this one they cannot be
    for key in role_keys:
        kind = org.role_kinds[key]
        role = CrossAccountRole(
            stack, kind.name, account=account, kind=kind, trust_policy=trust(kind), hub_name=org.hub.name
        )
        roles[key] = role
        output(outputs, f"{key}RoleArn", role.arn, f"ARN of the {key} role")
        if kind.console_switchable:  # no console link for roles needing an external id or source identity
            output(outputs, f"{key}SwitchRoleUrl", role.switch_role_url, f"Console link to switch into {key}")
    return roles


# Construct ids of a stack's role constructs are IAM role names ([A-Za-z0-9+.@_-]); generated outputs,
# parameters and conditions live under a scope whose id no role name can take (it has a space), and their
# logical ids end in a suffix no kind key can produce for another kind, so they never collide.
GENERATED_SCOPE = "switchrole outputs"


def output(scope: Construct, logical_id: str, value: str, description: str) -> cdk.CfnOutput:
    result = cdk.CfnOutput(scope, logical_id, value=value, description=description)
    result.override_logical_id(logical_id)
    return result


class TargetAccountStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, org: Organisation, account: TargetAccount, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=account.stack_name,
            env=cdk.Environment(account=account.account_id, region=account.region),
            description=f"switchrole: roles in {account.name} that hub account {org.hub.name} may switch into",
            **kwargs,
        )
        self.roles = add_roles(
            self, org, account, account.role_keys, lambda kind: checked_trust_policy(org, account, kind)
        )
