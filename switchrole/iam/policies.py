"""Pure builders for every IAM policy document switchrole generates, and their sizes.

No CDK here: the stacks put these documents into templates verbatim (L1
resources), so what these functions measure is exactly what IAM receives, and
the quota checks run in milliseconds.

Hub grant policies scope ``sts:AssumeRole`` with a role-name resource pattern
(``arn:aws:iam::*:role/<path><name>``) narrowed by ``aws:ResourceAccount`` to
the granted account ids. That keeps the granted set exact (one statement per
role kind and end time, listing only the accounts granted that kind until
then) at ~15 characters per
account instead of ~48 for an explicit role ARN, so 1,000 accounts fit in three
managed policies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from switchrole.model.errors import Problem
from switchrole.model.expiry import End, iso
from switchrole.model.organisation import (
    MAX_GROUP_POLICIES,
    PARTITION,
    Organisation,
    RoleKind,
    TargetAccount,
    permission_set_grantee,
)

POLICY_VERSION = "2012-10-17"
MANAGED_POLICY_CHARS = 6144
# Grants are packed up to this, not to the quota itself: a policy never sits exactly at IAM's limit,
# so a different count on IAM's side (escaping, a future change) cannot turn a valid file into a failed deploy.
GRANT_POLICY_TARGET_CHARS = 6000
GROUP_INLINE_CHARS = 5120
ROLE_INLINE_CHARS = 10240
GROUP_MANAGED_POLICIES = MAX_GROUP_POLICIES
# Identity Center: managed policies (AWS-managed and customer-managed references together) on a permission set.
# Identity Center allows 20, but the role it creates takes IAM's 10 per role unless that quota is raised.
PERMISSION_SET_POLICIES = MAX_GROUP_POLICIES

PolicyDocument = dict[str, Any]
Statement = dict[str, Any]

_WHITESPACE = re.compile(r"\s")


class PolicyError(ValueError):
    """A policy cannot be generated as configured (too big for its IAM quota).

    The message names what, how big and the limit, so synth can fail with it.
    """


def policy_chars(document: PolicyDocument | Statement) -> int:
    """Characters IAM counts against its quotas: the JSON with all whitespace removed."""
    return len(_WHITESPACE.sub("", json.dumps(document, separators=(",", ":"))))


def document(statements: Sequence[Statement]) -> PolicyDocument:
    """A policy document of ``statements``, in the IAM policy language's current version."""
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def sid(*parts: str) -> str:
    """Statement ids allow only letters and digits."""
    return re.sub(r"[^A-Za-z0-9]", "", "".join(parts))


# --------------------------------------------------------------------------- conditions


def mfa_conditions(kind: RoleKind) -> dict[str, dict[str, str]]:
    """MFA on an Allow: ``Bool`` (never ``BoolIfExists``, which admits long-term keys) plus a maximum age.

    ``aws:MultiFactorAuthAge`` exists only for MFA-authenticated sessions, so the
    age test fails closed too.
    """
    if not kind.mfa_required:
        return {}
    return {
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
        "NumericLessThan": {"aws:MultiFactorAuthAge": str(kind.mfa_max_age_seconds)},
    }


# --------------------------------------------------------------------------- target side


def trust_policy(org: Organisation, account: TargetAccount, kind: RoleKind) -> PolicyDocument:
    """Trust policy of ``kind`` in ``account``: the hub account, under the kind's conditions.

    ``trust: strict`` adds ``aws:PrincipalArn`` listing exactly the hub users
    granted this role here, so a hub administrator with ``sts:AssumeRole`` on
    ``*`` cannot switch in without a grant; with nobody granted, it admits nobody.
    """
    sets = permission_set_statements(org, account, kind)
    if not kind.strict_trust:
        # a kind without MFA and with the hub deciding (trust: account) admits a permission set's role already
        return document(trust_document(org, kind, None)["Statement"] + (sets if kind.mfa_required else []))
    users = org.users_granted(kind.key, account.name)
    if not users and sets:
        return document(sets)
    ends: dict[End, list[str]] = {}
    for user in users:
        ends.setdefault(org.access_end(user, account.name, kind.key), []).append(user)
    if not users or set(ends) == {None}:
        return document(trust_document(org, kind, strict_principals(org, users))["Statement"] + sets)
    # users whose access ends (until:) are admitted only until then, on the trust side too: a hub Allow that
    # outlives their grant (sts:AssumeRole on * from elsewhere) must not reopen a strict role
    by_end = sorted(ends.items(), key=lambda item: float("-inf") if item[0] is None else item[0].timestamp())
    statements = [
        statement
        for until, admitted in by_end
        for statement in trust_document(org, kind, strict_principals(org, admitted), until=until)["Statement"]
    ]
    return document(statements + sets)


def permission_set_statements(org: Organisation, account: TargetAccount, kind: RoleKind) -> list[Statement]:
    """The trust's statements for the permission sets granted ``kind`` in ``account``: one per end time, each
    admitting exactly those sets' Identity Center roles in the hub (``ArnLike aws:PrincipalArn``)."""
    ends: dict[End, list[str]] = {}
    for name in org.permission_sets_granted(kind.key, account.name):
        ends.setdefault(org.access_end(permission_set_grantee(name), account.name, kind.key), []).append(name)
    by_end = sorted(ends.items(), key=lambda item: float("-inf") if item[0] is None else item[0].timestamp())
    patterns = {name: org.permission_set_role_patterns(name) for _, names in by_end for name in names}
    return [
        permission_set_statement(org, kind, [p for name in names for p in patterns[name]], until)
        for until, names in by_end
    ]


def permission_set_statement(
    org: Organisation, kind: RoleKind, patterns: list[str] | dict[str, Any], until: End = None
) -> Statement:
    """Admit the hub's Identity Center roles matching ``patterns`` (or a CloudFormation reference to them).

    No MFA condition: a session from Identity Center carries no IAM MFA keys, so a kind requiring MFA is granted
    to a permission set only with ``hub.identity_center.mfa_at_sign_in`` (checked with the file), and this
    statement relies on that promise. Everything else the kind requires holds as for a user.
    """
    conditions = caller_conditions(kind, federated=True)
    conditions["ArnLike"] = {"aws:PrincipalArn": patterns}
    conditions.update(expiry_condition(until))
    return {
        "Sid": "AssumeFromIdentityCenter" + _until_sid(until),
        "Effect": "Allow",
        "Principal": {"AWS": hub_root(org)},
        "Action": list(kind.assume_actions),
        "Condition": conditions,
    }


def strict_principals(org: Organisation, users: Sequence[str]) -> list[str]:
    """The hub user ARNs a ``trust: strict`` role admits (empty: the role admits nobody)."""
    return [org.hub.user_arn(u) for u in users]


def session_conditions(kind: RoleKind, *, federated: bool = False) -> dict[str, dict[str, Any]]:
    """What callers may set on the session, repeated on both sides of the switch: the source identity must be
    the caller's own user name; session tags only the configured keys (``ForAllValues``: no tags is fine), each
    only with the value of the caller's own principal tag of that key (a hub user's ``tags:`` in the file; a
    missing principal tag matches nothing, IfExists lets a switch without that tag through), and none of them
    transitive (a transitive tag would follow every later role chain)."""
    conditions: dict[str, dict[str, Any]] = {}
    if kind.source_identity:
        # an Identity Center session has no aws:username, nor a documented key to bind a source identity to: the
        # file refuses such a grant (references.py), so a federated statement never gets here
        assert not federated, kind.key
        conditions["StringEquals"] = {"sts:SourceIdentity": "${aws:username}"}
    if kind.session_tags:
        conditions["ForAllValues:StringEquals"] = {"aws:TagKeys": list(kind.session_tags)}
        conditions["StringEqualsIfExists"] = {
            f"aws:RequestTag/{key}": f"${{aws:PrincipalTag/{key}}}" for key in kind.session_tags
        }
        conditions["Null"] = {"sts:TransitiveTagKeys": "true"}
    return conditions


def caller_conditions(kind: RoleKind, *, federated: bool = False) -> dict[str, dict[str, Any]]:
    """What a trust statement requires of the caller's request besides MFA and who it is: the external id and
    :func:`session_conditions` (one ``StringEquals`` for both)."""
    conditions: dict[str, dict[str, Any]] = {}
    session = session_conditions(kind, federated=federated)
    string_equals: dict[str, Any] = {}
    if kind.external_id is not None:
        string_equals["sts:ExternalId"] = kind.external_id
    string_equals.update(session.pop("StringEquals", {}))
    if string_equals:
        conditions["StringEquals"] = string_equals
    conditions.update(session)
    return conditions


def trust_document(
    org: Organisation, kind: RoleKind, principals: list[str] | dict[str, Any] | None, *, until: End = None
) -> PolicyDocument:
    """The trust document; ``principals`` (strict trust only) is the ARN list, or a CloudFormation
    reference to it (a StackSets parameter, so one template serves accounts with different grantees).
    An empty list gives :func:`nobody_trust_document`; ``until`` admits them only before that time."""
    if principals == []:
        return nobody_trust_document(org, kind)
    conditions: dict[str, dict[str, Any]] = dict(mfa_conditions(kind))
    conditions.update(caller_conditions(kind))
    if principals is not None:
        conditions["ArnEquals"] = {"aws:PrincipalArn": principals}
    conditions.update(expiry_condition(until))
    statement: Statement = {
        "Sid": "AssumeFromHub" + _until_sid(until),
        "Effect": "Allow",
        "Principal": {"AWS": hub_root(org)},
        "Action": list(kind.assume_actions),
    }
    if conditions:
        statement["Condition"] = conditions
    return document([statement])


def nobody_trust_document(org: Organisation, kind: RoleKind) -> PolicyDocument:
    """``trust: strict`` with no user granted: a trust policy that admits nobody.

    It has no Allow statement, so no principal of any account can assume the
    role (a trust policy must allow the caller, whatever the caller's own
    policies say). The explicit Deny of every assume action to the hub account
    says so to a reader, and would still win over an Allow for hub principals
    added by hand (it names the hub, never ``*``). The role stays deployed, so
    granting it again later is an in-place update of this document.
    """
    return document(
        [
            {
                "Sid": "AdmitNobody",
                "Effect": "Deny",
                "Principal": {"AWS": hub_root(org)},
                "Action": list(kind.assume_actions),
            }
        ]
    )


def hub_root(org: Organisation) -> str:
    """The hub account's root principal ARN (the account, as trust policies name it)."""
    return f"arn:{PARTITION}:iam::{org.hub.account_id}:root"


def checked_trust_policy(org: Organisation, account: TargetAccount, kind: RoleKind) -> PolicyDocument:
    """The role's trust policy, refused (:class:`PolicyError`) over the trust policy quota."""
    return check_trust_size(org, kind, trust_policy(org, account, kind), account.name)


def check_trust_size(org: Organisation, kind: RoleKind, doc: PolicyDocument, where: str) -> PolicyDocument:
    """``doc`` unchanged when it fits the trust policy quota; :class:`PolicyError` naming ``where`` otherwise."""
    size, limit = policy_chars(doc), org.quotas.trust_policy_chars
    if size > limit:
        raise PolicyError(
            f"trust policy of {kind.key} in {where} is {size:,} characters; the limit is {limit:,} "
            "(raise quotas.trust_policy_chars after raising the IAM quota, or grant fewer users under trust: strict)"
        )
    return doc


# --------------------------------------------------------------------------- hub side


def expiry_condition(until: End) -> dict[str, dict[str, str]]:
    """A grant that ends: IAM allows it only while ``aws:CurrentTime`` is before ``until``, so nothing has to
    run at that moment to take the access away."""
    return {} if until is None else {"DateLessThan": {"aws:CurrentTime": iso(until)}}


def _until_sid(until: End) -> str:
    return "" if until is None else "Until" + until.strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class GrantChunk:
    """Part of one role kind's grant: the accounts one statement lists, all ending at the same time."""

    kind: RoleKind
    account_ids: tuple[str, ...]
    part: int  # 1-based; >1 only when one kind's accounts (with one end) span several statements
    until: End = None
    federated: bool = False  # for a permission set's role: no IAM MFA keys to test (the trust relies on sign-in)

    def statement(self) -> Statement:
        """The Allow statement of this chunk: the kind's role in any account, limited to the chunk's accounts by
        ``aws:ResourceAccount``, with the kind's session, MFA (not for a permission set's role) and expiry
        conditions."""
        session = session_conditions(self.kind, federated=self.federated)
        equals = {"aws:ResourceAccount": list(self.account_ids), **session.pop("StringEquals", {})}
        conditions: dict[str, dict[str, Any]] = {"StringEquals": equals, **session}
        if not self.federated:
            conditions.update(mfa_conditions(self.kind))
        conditions.update(expiry_condition(self.until))
        return {
            "Sid": sid("Assume", self.kind.key, str(self.part) if self.part > 1 else "", _until_sid(self.until)),
            "Effect": "Allow",
            "Action": list(self.kind.assume_actions),
            "Resource": self.kind.any_account_arn,
            "Condition": conditions,
        }


def _by_end(org: Organisation, group: str, role: str, accounts: Sequence[TargetAccount]) -> list[tuple[End, list[str]]]:
    """``accounts``' ids grouped by when ``group``'s access to them ends: grants with different ends never share
    a statement (each statement has one ``DateLessThan``). Unending first, then by end; file order within."""
    buckets: dict[End, list[str]] = {}
    for account in accounts:
        buckets.setdefault(org.grant_end(group, role, account.name), []).append(account.account_id)
    return sorted(buckets.items(), key=lambda item: float("-inf") if item[0] is None else item[0].timestamp())


def _outlives(end: End, other: End) -> bool:
    return other is not None and (end is None or end > other)


def grant_policies(
    org: Organisation, group: str, *, max_chars: int = GRANT_POLICY_TARGET_CHARS
) -> list[PolicyDocument]:
    """The group's ``sts:AssumeRole`` grants, packed into as few managed policies as fit ``max_chars``.

    Statements follow role kinds in file order and accounts in file order, so
    adding an account at the end of the file appends to the last statement
    instead of reshuffling every policy. Grants that end (``until:``) get their own
    statements, one per end time, sized with their ``DateLessThan`` condition.
    """
    policies: list[list[Statement]] = [[]]
    used = policy_chars(document([]))
    federated = org.groups[group].permission_set is not None
    for role_key, accounts in org.group_access(group).items():
        kind = org.role_kinds[role_key]
        remaining: Sequence[TargetAccount] = accounts
        if org.org_wide(group, role_key):
            star_end = org.all_accounts_end(group, role_key)
            statement = organization_statement(org, kind, star_end, federated=federated)
            size = policy_chars(statement) + (1 if policies[-1] else 0)
            if used + size > max_chars and policies[-1]:
                policies.append([])
                used, size = policy_chars(document([])), policy_chars(statement)
            if used + size > max_chars:
                raise PolicyError(
                    f"the organisation-wide grant statement for {role_key} does not fit {max_chars:,} characters"
                )
            policies[-1].append(statement)
            used += size
            # listed accounts whose grant outlives the "*" grant still need their own statements
            remaining = [a for a in accounts if _outlives(org.grant_end(group, role_key, a.name), star_end)]
        for until, ids in _by_end(org, group, role_key, remaining):
            part = 1
            while ids:
                empty = GrantChunk(kind, (), part, until, federated).statement()
                base = policy_chars(empty) + (1 if policies[-1] else 0)  # the comma between statements
                per_id = len(json.dumps(ids[0])) + 1  # the id and its comma
                room = (max_chars - used - base + 1) // per_id
                if room < 1:
                    if not policies[-1]:
                        raise PolicyError(
                            f"a single grant statement for {role_key} does not fit {max_chars:,} characters"
                        )
                    policies.append([])
                    used = policy_chars(document([]))
                    continue
                chunk, ids = ids[:room], ids[room:]
                statement = GrantChunk(kind, tuple(chunk), part, until, federated).statement()
                policies[-1].append(statement)
                used += policy_chars(statement) + (1 if len(policies[-1]) > 1 else 0)
                part += 1
                if ids:
                    policies.append([])
                    used = policy_chars(document([]))
    docs = [document(p) for p in policies if p]
    for doc in docs:  # the arithmetic above is an optimisation; this is the guarantee
        assert policy_chars(doc) <= max_chars, (group, policy_chars(doc))
    return docs


def organization_statement(
    org: Organisation, kind: RoleKind, until: End = None, *, federated: bool = False
) -> Statement:
    """``accounts: "*"`` with ``hub.organization_id``: the role in every account of the organisation,
    minus the hub and the configured accounts that lack this role kind. Constant size however many accounts
    have it, and accounts that StackSets adds to an OU later are covered without a hub change.

    The hub is never a target: ``StringNotEquals aws:ResourceAccount`` always lists it, so a role of this name
    in the hub (put there by hand, or by an OU target that once included it) is never granted."""
    assert org.hub.organization_id is not None
    session = session_conditions(kind, federated=federated)
    equals = {"aws:ResourceOrgID": org.hub.organization_id, **session.pop("StringEquals", {})}
    conditions: dict[str, dict[str, Any]] = {"StringEquals": equals, **session}
    lacking = [a.account_id for a in org.accounts if kind.key not in a.role_keys]
    conditions["StringNotEquals"] = {"aws:ResourceAccount": [org.hub.account_id, *lacking]}
    if not federated:
        conditions.update(mfa_conditions(kind))
    conditions.update(expiry_condition(until))
    return {
        "Sid": sid("Assume", kind.key, "InOrganization", _until_sid(until)),
        "Effect": "Allow",
        "Action": list(kind.assume_actions),
        "Resource": kind.any_account_arn,
        "Condition": conditions,
    }


def checked_grant_policies(org: Organisation, group: str) -> list[PolicyDocument]:
    """:func:`grant_policies`, failing when the group would need more managed policies than IAM allows."""
    docs = grant_policies(org, group)
    federated = org.groups[group].permission_set is not None
    limit = PERMISSION_SET_POLICIES if federated else GROUP_MANAGED_POLICIES
    slots = limit - (1 if org.group_requires_mfa(group) else 0)
    if len(docs) > slots:
        total = sum(policy_chars(d) for d in docs)
        raise PolicyError(
            f"grants need {len(docs)} managed policies ({total:,} characters, packed up to "
            f"{GRANT_POLICY_TARGET_CHARS:,} of IAM's {MANAGED_POLICY_CHARS:,} each) "
            + (
                f"but a permission set references at most {limit} managed policies"
                if federated
                else f"but a group takes at most {limit} managed policies"
            )
            + (" including the MFA policy" if slots < limit else "")
            + '; split the group or grant with accounts: "*" and hub.organization_id'
        )
    return docs


# --------------------------------------------------------------------------- the whole organisation


def policy_problems(org: Organisation) -> Iterator[Problem]:
    """Every quota the generated IAM would break, located at the config field to change."""
    account_index = {a.name: i for i, a in enumerate(org.accounts)}
    for account in org.accounts:
        for key in account.role_keys:
            kind = org.role_kinds[key]
            try:
                checked_trust_policy(org, account, kind)
            except PolicyError as exc:
                yield Problem(
                    ("accounts", account_index[account.name], "roles", account.role_keys.index(key)), str(exc)
                )
    for key, kind in org.role_kinds.items():
        inline = sum(policy_chars(dict(doc)) for doc in kind.inline_policies.values())
        if inline > ROLE_INLINE_CHARS:
            yield Problem(
                ("roles", key, "inline_policies"),
                f"inline policies total {inline:,} characters; a role allows {ROLE_INLINE_CHARS:,}",
            )
    for group in org.groups:
        try:
            checked_grant_policies(org, group)
        except PolicyError as exc:
            yield Problem(("groups", group, "grants"), str(exc))
    for i, target in enumerate(org.deployment.ou_targets):
        for key in target.role_keys:
            kind = org.role_kinds[key]
            if kind.strict_trust:
                try:
                    principals = strict_principals(org, org.users_granted_everywhere(key))
                    check_trust_size(org, kind, trust_document(org, kind, principals), f"OU {target.ou}")
                except PolicyError as exc:
                    yield Problem(("deployment", "ou_targets", i, "roles"), str(exc))
