"""The two stack kinds: one hub stack, one stack per target account."""

from switchrole.infra.stacks.hub_stack import HubStack
from switchrole.infra.stacks.identity_center_stack import IdentityCenterStack
from switchrole.infra.stacks.stacksets_stack import StackSetsStack
from switchrole.infra.stacks.target_account_stack import TargetAccountStack

__all__ = ["HubStack", "IdentityCenterStack", "StackSetsStack", "TargetAccountStack"]
