"""One-line summaries and non-fatal warnings for ``switchrole validate``."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from switchrole.iam.policies import GROUP_MANAGED_POLICIES, MANAGED_POLICY_CHARS, grant_policies, policy_chars
from switchrole.model.errors import format_path
from switchrole.model.expiry import EXPIRING_SOON, expired_entries, expiring_entries, iso, utc_now
from switchrole.model.organisation import AUDIT_POLICIES, Organisation


def summarize(org: Organisation) -> str:
    roles = sum(len(a.role_keys) for a in org.accounts)
    per_group = [grant_policies(org, group) for group in org.groups]
    largest = max((policy_chars(doc) for docs in per_group for doc in docs), default=0)
    most = max((len(docs) for docs in per_group), default=0)
    return (
        f"{len(org.accounts)} target accounts, {len(org.role_kinds)} role kinds, {roles} roles, "
        f"{len(org.groups)} groups, {len(org.users)} users"
        + (f", {len(org.permission_set_groups)} permission sets" if org.permission_set_groups else "")
        + f"; largest hub policy {largest:,}/{MANAGED_POLICY_CHARS:,} "
        f"characters, at most {most}/{GROUP_MANAGED_POLICIES} grant policies per group"
    )


def warnings(org: Organisation, now: datetime.datetime | None = None) -> Iterator[str]:
    """Things that deploy fine but are probably not what the author meant (``now``: the time expiry is judged at)."""
    now = now or utc_now()
    for path, until in expired_entries(org, now):
        if path[0] == "groups":
            what, remedy = "this grant", "remove the grant"
        else:
            what, remedy = f"every switch of {path[1]}", f"remove the user (switchrole offboard --user {path[1]})"
        yield f"{format_path(path)}: expired at {iso(until)}; IAM already refuses {what} (it still deploys): {remedy}"
    for path, until in expiring_entries(org, now):
        days = (until - now) / datetime.timedelta(days=1)
        yield (
            f"{format_path(path)}: expires at {iso(until)}, in {days:.1f} days "
            f"(within {EXPIRING_SOON.days}); IAM ends it then"
        )
    granted = {role for g in org.groups for role in org.group_access(g)}
    for key in org.role_kinds:
        if key not in granted:
            yield f"roles.{key}: no group is granted this role kind (it has no owner)"
        elif not any(
            org.users_granted(key, a.name) or org.permission_sets_granted(key, a.name)
            for a in org.accounts
            if key in a.role_keys
        ):
            yield f"roles.{key}: no user is in a group granted this role kind"
    nobody = org.strict_roles_admitting_nobody()
    if nobody:
        where = ", ".join(f"{kind.key} in {account.name}" for account, kind in nobody)
        yield f"trust: strict roles that no user or permission set is granted admit nobody: {where}"
    used = {r for a in org.accounts for r in a.role_keys}
    for key in org.role_kinds:
        if key not in used:
            yield f"roles.{key}: no account lists this role kind; nothing is created for it"
    for name, group in org.groups.items():
        if not org.members(name) and group.permission_set is None:
            yield f"groups.{name}: has no members"
        if not org.group_access(name):
            yield f"groups.{name}: grants nothing"
    yield from _audit_warnings(org)
    yield from _stacksets_trust_warnings(org)
    yield from _root_ou_warnings(org)


def _root_ou_warnings(org: Organisation) -> Iterator[str]:
    """An OU target on the organisation root (``r-...``): the hub is excluded, but nothing else is."""
    if not org.deployment.stacksets:
        return
    for i, target in enumerate(org.deployment.ou_targets):
        if target.ou.startswith("r-"):
            excluded = "the hub" + (" and the deployment account" if org.deployment.account_id else "")
            yield (
                f"{format_path(('deployment', 'ou_targets', i, 'ou'))}: {target.ou} is the organisation root: "
                f"{excluded} are excluded, but every other account of the organisation, including every account "
                f"created later, gets {', '.join(target.role_keys)}"
            )


def _stacksets_trust_warnings(org: Organisation) -> Iterator[str]:
    """In StackSets mode one template serves every account: a strict trust's users are a parameter (ARNs only),
    so it cannot carry each user's end time as the per-account stacks do (the hub grant still ends on time)."""
    if not org.deployment.stacksets:
        return
    for key, kind in org.role_kinds.items():
        if not kind.strict_trust:
            continue
        ending = sorted(
            {
                user
                for account in org.accounts
                if key in account.role_keys
                for user in org.users_granted(key, account.name)
                if org.access_end(user, account.name, key) is not None
            }
        )
        if ending:
            yield (
                f"roles.{key}: trust: strict in StackSets mode lists users in a parameter without their until: "
                f"times; the hub grant ends on time, but the trust keeps admitting {', '.join(ending)} until they "
                "leave the file"
            )


def _audit_warnings(org: Organisation) -> Iterator[str]:
    """A role kind marked ``audit: true`` that ``switchrole audit`` could not use everywhere."""

    kind = org.audit_role_kind
    if kind is None or not kind.audit:
        return
    read_through = {a.name: org.audit_kind_for(a) for a in org.accounts if kind.key not in a.role_keys}
    unread = [name for name, other in read_through.items() if other is None]
    if unread:
        yield f"roles.{kind.key} (audit: true): not in {', '.join(unread)}; `switchrole audit` cannot read them"
    others = [f"{name} ({other.key})" for name, other in read_through.items() if other is not None]
    if others:
        yield f"roles.{kind.key} (audit: true): not in {', '.join(others)}; `switchrole audit` reads them through those"
    if not set(AUDIT_POLICIES) & set(kind.managed_policy_arns) and not kind.inline_policies:
        yield f"roles.{kind.key} (audit: true): needs iam:Get* and iam:List* (e.g. managed_policies: [SecurityAudit])"
