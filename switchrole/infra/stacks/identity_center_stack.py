"""The Identity Center administration account's stack (optional): the file's permission sets, referencing the
hub's grant policies, and their assignment in the hub.

Made only with ``hub.identity_center.instance_arn`` and ``account_id``. Each permission-set group becomes an
``AWS::SSO::PermissionSet`` named as the file says, whose customer-managed policy references are exactly the
group's grant policies in the hub (``switchrole-<group>-<n>`` at ``/switchrole/``), and, with the group's
``identity_store_group``, an ``AWS::SSO::Assignment`` of the set to that Identity Center group in the hub
account. It depends on the hub stack: the policies must exist before a set can reference them.

A set's name is create-only (a rename replaces it: new roles, new suffixes, a new assignment), and a set named
here must not already exist in the instance (CloudFormation would create a second one and fail on the name).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sso as sso
from constructs import Construct

from switchrole.iam.policies import checked_grant_policies
from switchrole.model.organisation import HUB_PATH, IDENTITY_CENTER_STACK_NAME, Organisation, grant_policy_name


class IdentityCenterStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, org: Organisation, **kwargs: Any) -> None:
        center = org.hub.identity_center
        assert center is not None and center.stack, "the permission sets stack needs instance_arn and account_id"
        assert center.instance_arn is not None
        super().__init__(
            scope,
            construct_id,
            stack_name=IDENTITY_CENTER_STACK_NAME,
            env=cdk.Environment(account=center.account_id, region=center.region),
            description=f"switchrole: the permission sets whose people may switch from hub account {org.hub.name}",
            **kwargs,
        )
        for group in org.permission_set_groups:
            assert group.permission_set is not None
            count = len(checked_grant_policies(org, group.name))
            # one scope per set: its logical ids carry a hash of the set's name ("a.b" and "ab" stay apart)
            scope = Construct(self, f"PermissionSet-{group.permission_set}")
            permission_set = sso.CfnPermissionSet(
                scope,
                "Resource",
                instance_arn=center.instance_arn,
                name=group.permission_set,
                description=f"switchrole: group {group.name}; its switches are the hub's switchrole policies",
                customer_managed_policy_references=[
                    sso.CfnPermissionSet.CustomerManagedPolicyReferenceProperty(
                        name=grant_policy_name(group.name, number), path=HUB_PATH
                    )
                    for number in range(1, count + 1)
                ],
            )
            if group.identity_store_group is not None:
                sso.CfnAssignment(
                    scope,
                    "Hub",
                    instance_arn=center.instance_arn,
                    permission_set_arn=permission_set.attr_permission_set_arn,
                    principal_type="GROUP",
                    principal_id=group.identity_store_group,
                    target_type="AWS_ACCOUNT",
                    target_id=org.hub.account_id,
                )
