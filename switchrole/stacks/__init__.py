"""The two stack kinds: one hub stack, one stack per target account."""

from switchrole.stacks.hub_stack import HubStack
from switchrole.stacks.stacksets_stack import StackSetsStack
from switchrole.stacks.target_account_stack import TargetAccountStack

__all__ = ["HubStack", "StackSetsStack", "TargetAccountStack"]
