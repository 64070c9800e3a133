"""The demo's rows for people who sign in through IAM Identity Center (``groups.<group>.permission_set``).

One person per permission set signs in through the emulator's stand-in
(:mod:`switchrole.local.identity_center`) and switches into every role the file grants the set; the refusals
show what the trust statements and hub policies of permission sets hold against: a set switching into a role
granted only to others, a permission set with AdministratorAccess in the hub against ``trust: strict`` and
against a role requiring MFA (the trust admits only the granted sets' roles, and an Identity Center session
carries no IAM MFA), and an expired grant.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from switchrole.client.switch import request_for_permission_set
from switchrole.local.demo_checks import BY_HUB, BY_TRUST, Check, Identity
from switchrole.local.identity_center import ADMIN_PERMISSION_SET, ADMINISTRATOR, provision, sign_in_permission_set
from switchrole.model.organisation import Organisation, RoleKind, TargetAccount, permission_set_grantee

ADMIN_GRANTEE = permission_set_grantee(ADMIN_PERMISSION_SET)


def without_permission_sets_stack(org: Organisation) -> Organisation:
    """``org`` without SwitchRole-IdentityCenter: on the emulator, the stand-in plays Identity Center (moto has
    no AWS::SSO resources), so the permission sets are not deployed there, their roles are provisioned."""
    center = org.hub.identity_center
    if center is None or not center.stack:
        return org
    center = replace(center, instance_arn=None, account_id=None)
    return replace(org, hub=replace(org.hub, identity_center=center))


def person(permission_set: str) -> str:
    """The name the demo's person signed in to ``permission_set`` has (their Identity Center user name)."""
    return f"{permission_set.lower()}.member@example.com"


def identities(org: Organisation, iam: Any, endpoint: str, token: str) -> dict[str, Identity]:
    """Provision the hub's permission set roles (the file's sets, and an administrators' set outside it) and sign
    one person in to each; grantee name -> identity. Authorization must be off (the IAM calls are Identity
    Center's own)."""
    roles = provision(iam, org, extra=((ADMIN_PERMISSION_SET, ADMINISTRATOR),))
    return {
        permission_set_grantee(name): Identity(
            permission_set_grantee(name), sign_in_permission_set(endpoint, org, name, person(name), token), None
        )
        for name in roles
    }


def _live(org: Organisation, permission_set: str, now: datetime) -> Iterator[tuple[TargetAccount, RoleKind, bool]]:
    """(account, role, still allowed at ``now``) for every switch the file grants ``permission_set``, in file
    order (as `switchrole smoke` checks them)."""
    live = {(a.name, k.key) for a, k in org.permission_set_roles(permission_set, now=now)}
    for account, kind in org.permission_set_roles(permission_set):
        yield account, kind, (account.name, kind.key) in live


def checks(org: Organisation, now: datetime) -> list[Check]:
    """Every switch a permission set may make now, then the refusals (none without ``hub.identity_center``:
    the stand-in then provisions nothing)."""
    if org.hub.identity_center is None:
        return []
    rows = []
    for group in org.permission_set_groups:
        name = str(group.permission_set)
        for account, kind, live in _live(org, name, now):
            request = request_for_permission_set(org, account, kind, name, person(name))
            grantee = permission_set_grantee(name)
            if live:
                rows.append(Check(grantee, request, True, "granted"))
            else:
                rows.append(Check(grantee, request, False, "grant expired", because=BY_HUB))
    return rows + refusals(org, now)


def refusals(org: Organisation, now: datetime) -> list[Check]:
    """A set refused a role granted only to others, and the administrators' set against the trust."""
    rows = []
    granted = {
        str(g.permission_set): {(a.name, k.key) for a, k, live in _live(org, str(g.permission_set), now) if live}
        for g in org.permission_set_groups
    }
    other = next(
        (
            (name, account, org.role_kinds[key])
            for name, mine in granted.items()
            for account in org.accounts
            for key in account.role_keys
            if (account.name, key) not in mine
            and (org.users_granted(key, account.name) or org.permission_sets_granted(key, account.name))
        ),
        None,
    )
    if other is not None:
        name, account, kind = other
        request = request_for_permission_set(org, account, kind, name, person(name))
        why = f"{kind.key} not granted to {name}"
        rows.append(Check(permission_set_grantee(name), request, False, why, because=BY_HUB))
    admitted = [
        (account, org.role_kinds[key])
        for account in org.accounts
        for key in account.role_keys
        if org.users_granted(key, account.name) or org.permission_sets_granted(key, account.name)
    ]
    strict = next(((a, k) for a, k in admitted if k.strict_trust), None)
    mfa = next(((a, k) for a, k in admitted if k.mfa_required and not k.strict_trust), None)
    for found, why in ((strict, "set with admin vs trust: strict"), (mfa, "set with admin vs MFA in the trust")):
        if found is not None:
            account, kind = found
            request = request_for_permission_set(org, account, kind, ADMIN_PERMISSION_SET, person(ADMIN_PERMISSION_SET))
            rows.append(Check(ADMIN_GRANTEE, request, False, why, because=BY_TRUST))
    return rows
