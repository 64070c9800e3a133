"""A hub IAM user: a login identity, never credentials; its group memberships live elsewhere."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from switchrole.iam.hub_user_policies import user_expiry_policy
from switchrole.model.expiry import End
from switchrole.model.organisation import HUB_PATH, MANAGED_BY_TAG


class HubUser(Construct):
    """``AWS::IAM::User`` kept when it leaves the file (``RETAIN``): CloudFormation cannot delete a user
    who still has a console password, access keys or an MFA device, and deleting a person's
    identity should be a deliberate step (``switchrole offboard`` prints it).

    Memberships are *not* this resource's ``Groups`` property: when a retained resource leaves a
    template CloudFormation makes no call on it, so the user would keep every group. They are
    :class:`~switchrole.infra.constructs.hub_access_group.HubAccessGroup` members instead, which
    CloudFormation updates and deletes. No password or access key is created here: templates must
    never carry secrets.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        user_name: str,
        until: End = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.resource = iam.CfnUser(
            self,
            "Resource",
            user_name=user_name,
            tags=[
                cdk.CfnTag(key=MANAGED_BY_TAG[0], value=MANAGED_BY_TAG[1]),
                *(cdk.CfnTag(key=k, value=v) for k, v in sorted((tags or {}).items())),  # principal tags
            ],
        )
        self.resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.expiry: iam.CfnManagedPolicy | None = None
        if until is not None:
            # Its own resource, attached to this user alone: adding, moving or removing ``until:`` never
            # touches the retained user, and the policy leaves with the user's entry. No cdk-nag
            # acknowledgment: IAM5 reports wildcards in Allow statements only, and this is a Deny.
            self.expiry = iam.CfnManagedPolicy(
                self,
                "Expiry",
                managed_policy_name=f"switchrole-{user_name}-until",
                path=HUB_PATH,
                # Never the date: a managed policy's Description is create-only, and a replacement of a named
                # policy cannot deploy. The date is in the document's condition, which updates in place.
                description=f"switchrole: when {user_name} may no longer switch role (accounts file until:)",
                policy_document=user_expiry_policy(until),
                users=[self.resource.ref],
            )

    @property
    def user_name(self) -> str:
        """The user's name as a CloudFormation reference (creates the dependency)."""
        return self.resource.ref
