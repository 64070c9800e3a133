"""A hub IAM user: a login identity with group memberships, never credentials."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from switchrole.constructs.cross_account_role import MANAGED_BY_TAG


class HubUser(Construct):
    """``AWS::IAM::User`` kept on stack deletion (``RETAIN``): removing a user from the file
    must not silently delete a person's MFA devices and keys; an administrator does that on purpose.

    No password or access key is created here: templates must never carry secrets.
    """

    def __init__(self, scope: Construct, construct_id: str, *, user_name: str, group_names: Sequence[str]) -> None:
        super().__init__(scope, construct_id)
        self.resource = iam.CfnUser(
            self,
            "Resource",
            user_name=user_name,
            groups=list(group_names) or None,
            tags=[cdk.CfnTag(key=MANAGED_BY_TAG[0], value=MANAGED_BY_TAG[1])],
        )
        self.resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
