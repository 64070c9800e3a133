"""Console "Switch Role" links, shared by stack outputs and the ``links`` command."""

from __future__ import annotations

from urllib.parse import urlencode

from switchrole.config import RoleKind, TargetAccount

SWITCH_ROLE_URL = "https://signin.aws.amazon.com/switchrole"


def display_name(account: TargetAccount, kind: RoleKind) -> str:
    """The stable, readable name used for profiles and console entries: ``<account>-<role kind>``."""
    return f"{account.name}-{kind.key}"


MAX_DISPLAY_NAME = 64  # the console refuses longer display names (AWS Extend Switch Roles cuts them to 64)


def console_display_name(account: TargetAccount, kind: RoleKind) -> str:
    """:func:`display_name`, cut to what the console's Switch Role accepts."""
    return display_name(account, kind)[:MAX_DISPLAY_NAME]


def switch_role_url(account: TargetAccount, kind: RoleKind) -> str:
    name = console_display_name(account, kind)
    query = urlencode(
        {"account": account.account_id, "roleName": kind.console_role_name, "displayName": name}, safe="/"
    )
    return f"{SWITCH_ROLE_URL}?{query}"


def portable_switch_role_url(kind: RoleKind) -> str:
    """For ``Fn::Sub`` in a template shared by many accounts (StackSets): the account id comes from CloudFormation."""
    key = kind.key[: MAX_DISPLAY_NAME - 13]  # 12 digits and a hyphen before it
    query = urlencode({"roleName": kind.console_role_name, "displayName": f"ACCOUNT-{key}"}, safe="/")
    return f"{SWITCH_ROLE_URL}?account=${{AWS::AccountId}}&" + query.replace("ACCOUNT", "${AWS::AccountId}")
