"""What a file gives, for the access review: who may switch into which role under which conditions, each
role's permissions and conditions, renames between two files, and how one role changed (weaker, narrower or
neutral), in words. :mod:`.access_diff` compares two of these and writes the review.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from switchrole.model.expiry import End, iso
from switchrole.model.markdown import code
from switchrole.model.organisation import (
    CHAINED_SESSION_SECONDS,
    Organisation,
    RoleKind,
    TargetAccount,
    permission_set_grantee,
)

AccessKey = tuple[str, str, str]  # user, account name, role kind
RoleKey = tuple[str, str]  # account name, role kind

WEAKER, NARROWER, NEUTRAL = "weaker", "narrower", "neutral"


# --------------------------------------------------------------------------- what a switch is


@dataclass(frozen=True)
class Conditions:
    """What a reviewer weighs for one user's switch: the conditions under which it is allowed."""

    account_id: str
    role_arn: str
    mfa_required: bool
    mfa_max_age_seconds: int | None
    max_session_duration: int
    external_id_required: bool
    source_identity_required: bool
    strict_trust: bool
    until: str | None  # when IAM ends this user's switch (grant and user until:); None: it does not end
    permission_set: str | None = None  # a permission set's people (Identity Center)
    mfa_at_sign_in: bool = False  # the MFA is Identity Center's at sign-in, which IAM cannot check (the promise)

    @classmethod
    def of(cls, kind: RoleKind, account_id: str, until: End = None, *, permission_set: str | None = None) -> Conditions:
        chained = permission_set is not None  # a switch from an Identity Center session: at most an hour
        return cls(
            account_id=account_id,
            role_arn=kind.arn(account_id),
            mfa_required=kind.mfa_required,
            mfa_max_age_seconds=kind.mfa_max_age_seconds if kind.mfa_required and not chained else None,
            max_session_duration=min(kind.max_session_duration, CHAINED_SESSION_SECONDS)
            if chained
            else kind.max_session_duration,
            external_id_required=kind.external_id is not None,
            source_identity_required=kind.source_identity,
            strict_trust=kind.strict_trust,
            until=None if until is None else iso(until),
            permission_set=permission_set,
            mfa_at_sign_in=chained and kind.mfa_required,
        )


@dataclass(frozen=True)
class RoleState:
    """One deployed role: everything that decides who may switch into it and what the switch can do."""

    arn: str
    managed_policies: tuple[str, ...]
    inline_policies: tuple[tuple[str, tuple[str, ...]], ...]  # name -> canonical statements
    permissions_boundary: str | None
    mfa_required: bool
    mfa_max_age_seconds: int | None
    max_session_duration: int
    external_id: str | None
    source_identity: bool
    session_tags: tuple[str, ...]
    strict_trust: bool
    admits: tuple[str, ...] | None  # trust: strict: exactly these hub users and permission sets; None: the hub
    tags: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, org: Organisation, account: TargetAccount, kind: RoleKind) -> RoleState:
        return cls(
            arn=kind.arn(account.account_id),
            managed_policies=kind.managed_policy_arns,
            inline_policies=tuple(
                (name, tuple(_canonical(s) for s in _statements(doc))) for name, doc in kind.inline_policies.items()
            ),
            permissions_boundary=kind.boundary_arn(account.account_id),
            mfa_required=kind.mfa_required,
            mfa_max_age_seconds=kind.mfa_max_age_seconds if kind.mfa_required else None,
            max_session_duration=kind.max_session_duration,
            external_id=kind.external_id,
            source_identity=kind.source_identity,
            session_tags=kind.session_tags,
            strict_trust=kind.strict_trust,
            admits=(
                org.users_granted(kind.key, account.name)
                + tuple(permission_set_grantee(s) for s in org.permission_sets_granted(kind.key, account.name))
            )
            if kind.strict_trust
            else None,
            tags=tuple(sorted(kind.tags.items())),
        )


def _statements(document: Any) -> list[Any]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return statements if isinstance(statements, list) else [statements]


def _canonical(statement: Any) -> str:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"))


def effective_access(org: Organisation | None) -> dict[AccessKey, tuple[Conditions, tuple[str, ...]]]:
    """(user, account, role) -> (conditions, groups granting it); a permission set's people are the user
    "permission set <name>"."""
    result: dict[AccessKey, tuple[Conditions, tuple[str, ...]]] = {}
    if org is None:
        return result
    for access in org.grantee_access():
        key = (access.user, access.account.name, access.role.key)
        groups = result[key][1] if key in result else ()
        until = org.access_end(*key)  # through whichever group lasts longest
        conditions = Conditions.of(access.role, access.account.account_id, until, permission_set=access.permission_set)
        result[key] = (conditions, (*groups, access.group))
    return result


def role_states(org: Organisation | None) -> dict[RoleKey, RoleState]:
    if org is None:
        return {}
    return {
        (account.name, key): RoleState.of(org, account, org.role_kinds[key])
        for account in org.accounts
        for key in account.role_keys
    }


def account_renames(base: Organisation | None, head: Organisation) -> dict[str, str]:
    """Accounts whose name changed while their id stayed: old name -> new name."""
    if base is None:
        return {}
    new = {a.account_id: a.name for a in head.accounts}
    return {a.name: new[a.account_id] for a in base.accounts if a.account_id in new and new[a.account_id] != a.name}


def roles_moved_under_their_name(
    base: Organisation, head: Organisation, old_keys: Sequence[str], new_keys: Sequence[str]
) -> dict[str, str]:
    """Roles of one account whose IAM name stays while their path (or the name's case) changes: old key ->
    new key. IAM compares role names without case and cannot move a role to another path, and CloudFormation
    replaces a role by creating the new one first, which IAM refuses while the old one holds the name."""
    new_by_name = {head.role_kinds[k].name.lower(): head.role_kinds[k] for k in new_keys}
    moved = {}
    for old_key in old_keys:
        kind = base.role_kinds[old_key]
        new = new_by_name.get(kind.name.lower())
        if new is not None and (new.path, new.name) != (kind.path, kind.name):
            moved[old_key] = new.key
    return moved


def kind_renames(base: Organisation | None, head: Organisation) -> dict[str, str]:
    """Role kinds whose key changed while the IAM role (path and name) stayed: old key -> new key."""
    if base is None:
        return {}
    gone = {k: v for k, v in base.role_kinds.items() if k not in head.role_kinds}
    new = {(v.path, v.name): k for k, v in head.role_kinds.items() if k not in base.role_kinds}
    return {old: new[(kind.path, kind.name)] for old, kind in gone.items() if (kind.path, kind.name) in new}


# --------------------------------------------------------------------------- what changed in a role


@dataclass(frozen=True)
class Change:
    text: str
    effect: str  # WEAKER, NARROWER or NEUTRAL
    rank: int = 9  # among weaker changes, lower is more dangerous


def _policy_name(arn: str) -> str:
    return arn.removeprefix("arn:aws:iam::aws:policy/")


def in_hours(seconds: int) -> str:
    return f"{seconds / 3600:g} h"


def _summary(statement: str) -> str:
    """``Allow iam:* on *`` for a reviewer; conditions are only mentioned."""
    s = json.loads(statement)
    actions = s.get("Action", s.get("NotAction", []))
    resources = s.get("Resource", s.get("NotResource", []))

    def join(value: Any) -> str:  # free-form strings of the file: code spans (switchrole.model.markdown.code)
        return ", ".join(code(str(v)) for v in (value if isinstance(value, list) else [value]))

    text = f"{s.get('Effect', '?')} {'NOT ' if 'NotAction' in s else ''}{join(actions)} on {join(resources)}"
    return text + (" (with conditions)" if "Condition" in s else "")


def _added_removed(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[list[str], list[str]]:
    return [x for x in new if x not in old], [x for x in old if x not in new]


def permission_changes(old: RoleState, new: RoleState) -> Iterator[Change]:
    """Managed policies, inline statements, boundary and session tags: what the role's sessions may do."""
    added, removed = _added_removed(old.managed_policies, new.managed_policies)
    yield from (Change(f"+ {_policy_name(arn)}", WEAKER, 0) for arn in added)
    yield from (Change(f"- {_policy_name(arn)}", NARROWER) for arn in removed)
    before, after = dict(old.inline_policies), dict(new.inline_policies)
    for name in after.keys() | before.keys():
        added, removed = _added_removed(before.get(name, ()), after.get(name, ()))
        where = f"inline policy {name}" + (
            " (new)" if name not in before else " (removed)" if name not in after else ""
        )
        for statement in added:
            deny = json.loads(statement).get("Effect") == "Deny"
            yield Change(f"{where}: + {_summary(statement)}", NARROWER if deny else WEAKER, 0)
        for statement in removed:
            deny = json.loads(statement).get("Effect") == "Deny"
            yield Change(f"{where}: - {_summary(statement)}", WEAKER if deny else NARROWER, 0)
    if old.permissions_boundary != new.permissions_boundary:
        if new.permissions_boundary is None:
            yield Change(f"permissions boundary removed (was {_policy_name(str(old.permissions_boundary))})", WEAKER, 0)
        elif old.permissions_boundary is None:
            yield Change(f"permissions boundary added: {_policy_name(new.permissions_boundary)}", NARROWER)
        else:
            yield Change(
                f"permissions boundary {_policy_name(old.permissions_boundary)} -> "
                f"{_policy_name(new.permissions_boundary)} (may widen what the role can do)",
                WEAKER,
                0,
            )
    added, removed = _added_removed(old.session_tags, new.session_tags)
    if added:  # callers choose these principal tags themselves
        yield Change(f"session tags callers may set: + {', '.join(added)} (sts:TagSession)", WEAKER, 4)
    if removed:
        yield Change(f"session tags callers may set: - {', '.join(removed)}", NARROWER)
    if old.tags != new.tags:  # principal tags of every session: attribute-based policies may grant more
        yield Change("role tags changed (principal tags of every session: may widen access through ABAC)", WEAKER, 4)


def condition_changes(old: RoleState, new: RoleState) -> Iterator[Change]:
    """MFA, session length, external id, source identity and trust mode: who may switch, and for how long."""
    if old.mfa_required != new.mfa_required:
        if new.mfa_required:
            yield Change("MFA now required", NARROWER)
        else:
            yield Change("MFA no longer required", WEAKER, 1)
    elif old.mfa_max_age_seconds and new.mfa_max_age_seconds and old.mfa_max_age_seconds != new.mfa_max_age_seconds:
        longer = new.mfa_max_age_seconds > old.mfa_max_age_seconds
        text = f"MFA max age {old.mfa_max_age_seconds} s -> {new.mfa_max_age_seconds} s"
        yield Change(text, WEAKER if longer else NARROWER, 5)
    if old.max_session_duration != new.max_session_duration:
        longer = new.max_session_duration > old.max_session_duration
        text = f"session {in_hours(old.max_session_duration)} -> {in_hours(new.max_session_duration)}"
        yield Change(text, WEAKER if longer else NARROWER, 5)
    if old.external_id != new.external_id:
        if new.external_id is None:
            yield Change("external id no longer required", WEAKER, 3)
        elif old.external_id is None:
            yield Change("external id now required", NARROWER)
        else:
            yield Change("external id changed (callers need the new one)", NEUTRAL)
    if old.source_identity != new.source_identity:
        if new.source_identity:
            yield Change("source identity now required", NARROWER)
        else:
            yield Change("source identity no longer required (CloudTrail no longer names the hub user)", WEAKER, 3)
    if old.strict_trust != new.strict_trust:
        if new.strict_trust:
            yield Change("trust: strict added (only granted users, not any hub principal)", NARROWER)
        else:
            yield Change(
                "trust: strict removed: any hub principal allowed sts:AssumeRole on it may now switch in", WEAKER, 2
            )
    elif old.admits == () and new.admits:  # a grant, not a return: the file cannot say it ever admitted anyone
        yield Change(f"now admits {', '.join(new.admits)} (trust: strict; it admitted nobody)", WEAKER, 6)
