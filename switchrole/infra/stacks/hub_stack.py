"""The hub (identity) account's stack: groups with their grants, the MFA policy, users, and the policies
Identity Center permission sets reference."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from switchrole.iam.policies import checked_grant_policies
from switchrole.infra.constructs import HubAccessGroup, HubUser, MfaEnforcementPolicy
from switchrole.model.organisation import HUB_PATH, HUB_STACK_NAME, Organisation


class HubStack(cdk.Stack):
    """Termination protection is on: deleting this stack would lock every user out of every account."""

    def __init__(self, scope: Construct, construct_id: str, *, org: Organisation, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=HUB_STACK_NAME,
            env=cdk.Environment(account=org.hub.account_id, region=org.hub.region),
            description=f"switchrole: hub account {org.hub.name}: groups, users and who may switch where",
            termination_protection=True,
            **kwargs,
        )
        self.groups: dict[str, HubAccessGroup] = {}
        for name, group in org.groups.items():
            self.groups[name] = HubAccessGroup(
                self, f"Group-{name}", group=group, grant_policies=checked_grant_policies(org, name)
            )
        mfa_groups = [self.groups[name].group_name for name in org.groups if org.group_requires_mfa(name)]
        self.mfa_policy = (
            MfaEnforcementPolicy(self, "RequireMfa", hub_account_id=org.hub.account_id, group_names=mfa_groups)
            if mfa_groups
            else None
        )
        self.users = {
            name: HubUser(self, f"User-{name}", user_name=name, until=user.until, tags=user.tags)
            for name, user in org.users.items()
        }
        for name, access_group in self.groups.items():
            if access_group.group is not None:
                access_group.add_members([self.users[u].user_name for u in org.members(name)])
        for number, group in enumerate(org.permission_set_groups, start=1):
            policies = self.groups[group.name].grant_policies
            cdk.CfnOutput(
                self,
                f"PermissionSet{number}",
                description=f"The customer-managed policies permission set {group.permission_set} references",
                value=",".join(f"{HUB_PATH}{p.managed_policy_name}" for p in policies),
            )
