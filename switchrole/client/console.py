"""Console "Switch Role" links, shared by stack outputs and the ``links`` command."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from switchrole.model.display_names import fit_display_name, portable_display_key
from switchrole.model.organisation import RoleKind, TargetAccount

SWITCH_ROLE_URL = "https://signin.aws.amazon.com/switchrole"


def display_name(account: TargetAccount, kind: RoleKind) -> str:
    """The stable, readable name used for profiles and console entries: ``<account>-<role kind>``."""
    return f"{account.name}-{kind.key}"


def console_display_name(account: TargetAccount, kind: RoleKind) -> str:
    """:func:`display_name`, fitted to what the console's Switch Role accepts (:func:`fit_display_name`)."""
    return fit_display_name(account.name, kind.key)


def switch_role_url(account: TargetAccount, kind: RoleKind) -> str:
    """The AWS console's switch-role link for ``kind`` in ``account``, with its display name."""
    name = console_display_name(account, kind)
    query = urlencode(
        {"account": account.account_id, "roleName": kind.console_role_name, "displayName": name}, safe="/"
    )
    return f"{SWITCH_ROLE_URL}?{query}"


def portable_switch_role_url(kind: RoleKind) -> str:
    """For ``Fn::Sub`` in a template shared by many accounts (StackSets): the account id comes from CloudFormation."""
    role = urlencode({"roleName": kind.console_role_name}, safe="/")
    name = "${AWS::AccountId}-" + quote(portable_display_key(kind.key))  # no placeholder a key could contain
    return f"{SWITCH_ROLE_URL}?account=${{AWS::AccountId}}&{role}&displayName={name}"
