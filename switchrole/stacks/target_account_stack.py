"""The stack deployed into each target account: one role per role kind the account lists."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from switchrole.config import Organisation, TargetAccount
from switchrole.constructs import CrossAccountRole
from switchrole.policies import checked_trust_policy


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
        self.roles: dict[str, CrossAccountRole] = {}
        for key in account.role_keys:
            kind = org.role_kinds[key]
            role = CrossAccountRole(
                self,
                key,
                account=account,
                kind=kind,
                trust_policy=checked_trust_policy(org, account, kind),
                hub_name=org.hub.name,
            )
            self.roles[key] = role
            cdk.CfnOutput(self, f"{key}RoleArn", value=role.arn, description=f"ARN of the {key} role")
            if kind.console_switchable:  # no console link for roles needing an external id or source identity
                cdk.CfnOutput(
                    self,
                    f"{key}SwitchRoleUrl",
                    value=role.switch_role_url,
                    description=f"Console link to switch into {key}",
                )
