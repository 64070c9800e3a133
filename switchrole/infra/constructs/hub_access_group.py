"""A hub IAM group and the managed policies that let its members switch into exactly the granted roles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct

from switchrole.infra import nag
from switchrole.model.organisation import HUB_PATH, Group, grant_policy_name


class HubAccessGroup(Construct):
    """``AWS::IAM::Group`` plus one ``AWS::IAM::ManagedPolicy`` per packed grant document.

    Policies attach through ``ManagedPolicy.Groups`` rather than
    ``Group.ManagedPolicyArns`` so each policy carries its own attachment and a
    repacked grant list only touches the policies that changed.

    A permission set's group has no IAM group: its policies are the customer-managed policies the permission
    set references by name and path (:func:`~switchrole.model.organisation.grant_policy_name`), which Identity
    Center attaches to the set's role in the hub. They keep the construct ids, names and descriptions of an IAM
    group's, so a group becoming a permission set (or back) updates its policies in place: a new logical id, or
    a new Description (create-only), would replace a named policy, which CloudFormation cannot deploy.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        group: Group,
        grant_policies: Sequence[Mapping[str, Any]],
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = (
            iam.CfnGroup(self, "Resource", group_name=group.name, path=HUB_PATH)
            if group.permission_set is None
            else None
        )
        self.grant_policies: list[iam.CfnManagedPolicy] = []
        for number, document in enumerate(grant_policies, start=1):
            policy = iam.CfnManagedPolicy(
                self,
                f"Grants{number}",
                managed_policy_name=grant_policy_name(group.name, number),
                path=HUB_PATH,
                # Never the count of policies, nor anything else that changes with the grants: a managed
                # policy's Description is create-only, and a replacement of a named policy cannot deploy.
                description=f"switchrole: roles group {group.name} may switch into (part {number})",
                policy_document=dict(document),
                groups=None if self.group is None else [self.group.ref],
            )
            for statement in document["Statement"]:
                nag.acknowledge(
                    policy,
                    "IAM5",
                    f"Resource::{statement['Resource']}",
                    "the account part of the role ARN is a wildcard, narrowed by the statement's "
                    "aws:ResourceAccount condition to exactly the granted accounts",
                )
            self.grant_policies.append(policy)

    def add_members(self, user_names: Sequence[str]) -> iam.CfnUserToGroupAddition | None:
        """The group's members as one ``AWS::IAM::UserToGroupAddition`` (not retained): a user leaving the
        file, or this group, is removed from it on the next deploy; a group without members has none."""
        if not user_names:
            return None
        assert self.group is not None, "a permission set's people are Identity Center's"
        return iam.CfnUserToGroupAddition(self, "Members", group_name=self.group.ref, users=list(user_names))

    @property
    def group_name(self) -> str:
        """The group's name as a CloudFormation reference (creates the dependency)."""
        assert self.group is not None, "a permission set has no IAM group"
        return self.group.ref
