"""The hub's "manage your own credentials; nothing else without MFA" policy."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from constructs import Construct

from switchrole.iam.hub_user_policies import mfa_self_management_policy
from switchrole.infra import nag
from switchrole.model.organisation import HUB_PATH

POLICY_NAME = "switchrole-require-mfa"


class MfaEnforcementPolicy(Construct):
    """AWS's documented self-service MFA policy, attached to every group whose grants require MFA.

    Without it an MFA condition on the switch is weaker than it looks: a user
    could manage other people's MFA devices, or use long-term keys everywhere else.
    """

    def __init__(self, scope: Construct, construct_id: str, *, hub_account_id: str, group_names: Sequence[str]) -> None:
        super().__init__(scope, construct_id)
        self.document = mfa_self_management_policy(hub_account_id)
        self.resource = iam.CfnManagedPolicy(
            self,
            "Resource",
            managed_policy_name=POLICY_NAME,
            path=HUB_PATH,
            description="switchrole: self-service credentials and MFA; deny everything else without MFA",
            policy_document=self.document,
            groups=list(group_names),
        )
        for statement in self.document["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            resource = statement["Resource"]
            if "*" in resource:
                nag.acknowledge(
                    self.resource,
                    "IAM5",
                    f"Resource::{resource}",
                    "AWS's self-service MFA policy: listing MFA devices needs '*', and "
                    "a new virtual MFA device's name is not known in advance",
                )
