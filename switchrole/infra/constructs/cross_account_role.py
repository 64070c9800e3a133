"""A role in a target account that hub users switch into."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from switchrole.client.console import portable_switch_role_url, switch_role_url
from switchrole.infra import nag
from switchrole.model.organisation import RoleKind, TargetAccount


class CrossAccountRole(Construct):
    """One role kind in one account, with the trust policy exactly as built by :mod:`switchrole.iam.policies`.

    It is an L1 ``AWS::IAM::Role`` on purpose: the trust document is emitted
    verbatim, so the size switchrole checked is the size IAM receives.
    With ``account=None`` the role is account-agnostic (``${AWS::AccountId}``),
    for a StackSets template that many accounts share (its trust may then be a
    ``Fn::If`` token).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        account: TargetAccount | None,
        kind: RoleKind,
        trust_policy: Mapping[str, Any] | cdk.IResolvable,
        hub_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.kind = kind
        self.resource = iam.CfnRole(
            self,
            "Resource",
            role_name=kind.name,
            path=kind.path,
            description=kind.description or f"switchrole {kind.key}: assumed from the hub account {hub_name}",
            assume_role_policy_document=dict(trust_policy) if isinstance(trust_policy, Mapping) else trust_policy,
            max_session_duration=kind.max_session_duration,
            managed_policy_arns=list(kind.managed_policy_arns) or None,
            permissions_boundary=kind.boundary_arn(account.account_id if account else "${AWS::AccountId}"),
            policies=[
                iam.CfnRole.PolicyProperty(policy_name=name, policy_document=dict(doc))
                for name, doc in kind.inline_policies.items()
            ]
            or None,
            tags=[cdk.CfnTag(key=k, value=v) for k, v in kind.role_tags.items()],
        )
        if account is None:
            boundary = self.resource.permissions_boundary
            if boundary and "${AWS::AccountId}" in boundary:
                self.resource.permissions_boundary = cdk.Fn.sub(boundary)
            self.arn: str = self.resource.attr_arn
            self.switch_role_url = cdk.Fn.sub(portable_switch_role_url(kind))
        else:
            self.arn = kind.arn(account.account_id)
            self.switch_role_url = switch_role_url(account, kind)
        for arn in kind.managed_policy_arns:
            if ":iam::aws:policy/" in arn:
                nag.acknowledge(
                    self,
                    "IAM4",
                    f"Policy::{arn}",
                    f"roles.{kind.key}.managed_policies chooses this AWS-managed job-function policy on purpose; "
                    "the role is only reachable from the hub under the trust policy's conditions",
                )
        for finding, reason in kind.nag_acknowledgments.items():
            rule, _, rest = finding.removeprefix(f"{nag.PACK}-").partition("[")
            nag.acknowledge(self, rule, rest.removesuffix("]") or None, f"roles.{kind.key}: {reason}")
