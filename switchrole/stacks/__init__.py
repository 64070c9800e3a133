"""The two stack kinds: one hub stack, one stack per target account."""

from switchrole.stacks.hub_stack import HubStack
from switchrole.stacks.target_account_stack import TargetAccountStack

__all__ = ["HubStack", "TargetAccountStack"]
