"""The one CloudFormation API call the CDK CLI makes that moto 5.2 lacks: UpdateTerminationProtection.

``cdk deploy`` calls it after every deployment (to apply the stack's
``terminationProtection`` setting); moto answers HTTP 500 "not implemented".
This records the flag on moto's stack model, where DescribeStacks reports it.
"""

from __future__ import annotations

from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult


def update_termination_protection(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def install() -> None:
    CloudFormationResponse.update_termination_protection = update_termination_protection  # type: ignore[attr-defined]
