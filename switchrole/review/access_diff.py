"""Access review for pull requests: who gains, loses or changes which access between two accounts files.

A YAML diff shows edited lines and a CloudFormation diff shows resources; the
reviewer's question is "who can now switch into what, and what can they do
there?". This compares, between two organisations, everything that decides
that: who is granted which role where (per user), and for every deployed role
its permissions (managed and inline policies, permissions boundary, session
tags) and the conditions of the switch (MFA and its age, session length,
external id, source identity, trust mode, the role's name). The report lists
the most dangerous changes first: destructive ones, then widened permissions
and weaker conditions, then access gained, access lost, narrowed or neutral
changes, and finally what was added.
"""

from __future__ import annotations

import datetime
import json
import subprocess
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchrole.model.errors import ConfigError
from switchrole.model.loading import MAX_FILE_BYTES, loads
from switchrole.model.markdown import code, escape
from switchrole.model.organisation import End, Organisation, RoleKind, TargetAccount, iso, utc_now

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

    @classmethod
    def of(cls, kind: RoleKind, account_id: str, until: End = None) -> Conditions:
        return cls(
            account_id=account_id,
            role_arn=kind.arn(account_id),
            mfa_required=kind.mfa_required,
            mfa_max_age_seconds=kind.mfa_max_age_seconds if kind.mfa_required else None,
            max_session_duration=kind.max_session_duration,
            external_id_required=kind.external_id is not None,
            source_identity_required=kind.source_identity,
            strict_trust=kind.strict_trust,
            until=None if until is None else iso(until),
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
    admits: tuple[str, ...] | None  # trust: strict: exactly these hub users; None: delegated to the hub
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
            admits=org.users_granted(kind.key, account.name) if kind.strict_trust else None,
            tags=tuple(sorted(kind.tags.items())),
        )


def _statements(document: Any) -> list[Any]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return statements if isinstance(statements, list) else [statements]


def _canonical(statement: Any) -> str:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"))


def effective_access(org: Organisation | None) -> dict[AccessKey, tuple[Conditions, tuple[str, ...]]]:
    """(user, account, role) -> (conditions, groups granting it)."""
    result: dict[AccessKey, tuple[Conditions, tuple[str, ...]]] = {}
    if org is None:
        return result
    for access in org.access():
        key = (access.user, access.account.name, access.role.key)
        groups = result[key][1] if key in result else ()
        until = org.access_end(*key)  # through whichever group lasts longest
        result[key] = (Conditions.of(access.role, access.account.account_id, until), (*groups, access.group))
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


def _roles_moved_under_their_name(
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


def _hours(seconds: int) -> str:
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
        text = f"session {_hours(old.max_session_duration)} -> {_hours(new.max_session_duration)}"
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


# --------------------------------------------------------------------------- the review


@dataclass
class AccessDiff:
    base_label: str
    head_label: str
    destructive: list[str] = field(default_factory=list)
    weaker: list[dict[str, Any]] = field(default_factory=list)  # role or end (until:) changes that widen or weaken
    gained: list[dict[str, Any]] = field(default_factory=list)
    lost: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # role or end changes that narrow, or neither
    structure: list[str] = field(default_factory=list)  # accounts, role kinds, groups, users added; renames
    ranked: list[tuple[int, dict[str, Any]]] = field(default_factory=list, repr=False)  # weaker + changed, ranked

    @property
    def access_changed(self) -> bool:
        return bool(self.destructive or self.weaker or self.gained or self.lost or self.changed or self.structure)

    def to_json(self) -> str:
        return json.dumps(
            {
                "base": self.base_label,
                "head": self.head_label,
                "access_changed": self.access_changed,
                "destructive": self.destructive,
                "weaker": self.weaker,
                "gained": self.gained,
                "lost": self.lost,
                "changed": self.changed,
                "structure": self.structure,
            },
            indent=2,
        )

    def counts(self) -> str:
        """How many rows the review holds, per section: the first and the last line of the Markdown, so that a
        rendering that lost its end (or anything in between) does not pass for the whole review."""
        sections = (
            (len(self.destructive), "destructive"),
            (len(self.weaker), "wider or weaker"),
            (len(self.gained), "access gained"),
            (len(self.lost), "access lost"),
            (len(self.changed), "narrower or other role changes"),
            (len(self.structure), "accounts, role kinds, groups and users"),
        )
        total = sum(n for n, _ in sections)
        return f"{total} changes listed: " + ", ".join(f"{n} {what}" for n, what in sections)

    def to_markdown(self, max_chars: int | None = None, *, everything: str | None = None) -> str:
        """The review for a pull request. Every string from the file is escaped or in a code span
        (:mod:`switchrole.model.markdown`), so no value can hide, reorder or fake a line of it. Longer than
        ``max_chars`` (default :data:`~switchrole.review.fit.REVIEW_LIMIT`, under GitHub's comment limit; 0: no
        limit), it is grouped, then cut, never silently (:mod:`switchrole.review.fit`); ``everything`` says how
        to see the whole of it then."""
        from switchrole.review import fit as review_fit

        limit = review_fit.REVIEW_LIMIT if max_chars is None else max_chars
        rows = len(self.gained) + len(self.lost)  # a table row is longer than 40 characters
        if limit <= 0 or rows * 40 <= limit:  # else the whole review cannot fit: not written (13 MB once)
            full = self._full_markdown()
            if limit <= 0 or len(full) <= limit:
                return full
        how = everything or f"{code('switchrole diff --max-chars 0')} with the same --base (or --format json)"
        return review_fit.fit(self, limit, hours=_hours, until=_until_cell, everything=how)

    def _full_markdown(self) -> str:
        """Every row of the review, one per user, account and role."""
        out = [f"## switchrole access review: {code(self.base_label)} -> {code(self.head_label)}", ""]
        if not self.access_changed:
            return "\n".join([*out, "No change in effective access.", ""])
        out += [self.counts() + " (the review ends with this line again)", ""]
        if self.destructive:
            out += ["### :warning: Destructive changes", "", *[f"- {escape(line)}" for line in self.destructive], ""]
        if self.weaker:
            out += ["### :warning: Wider permissions and weaker conditions", ""]
            out += [f"- {_role_change_line(c)}" for c in self.weaker]
            out.append("")
        for title, rows in (("Access gained", self.gained), ("Access lost", self.lost)):
            if rows:
                out += [
                    f"### {title} ({len(rows)})",
                    "",
                    "| user | account | role | via | MFA | session | until |",
                    "|---|---|---|---|---|---|---|",
                ]
                out += [
                    f"| {_cell(r['user'])} | {_cell(r['account'])} ({r['account_id']}) | {_cell(r['role'])} | "
                    f"{_cell(', '.join(r['groups']))} | {'yes' if r['mfa_required'] else '**no**'} | "
                    f"{_hours(r['max_session_duration'])} | {_until_cell(r)} |"
                    for r in rows
                ]
                out.append("")
        if self.changed:
            out += ["### Narrower permissions and other role changes", ""]
            out += [f"- {_role_change_line(c)}" for c in self.changed]
            out.append("")
        if self.structure:
            out += ["### Accounts, role kinds, groups and users", "", *[f"- {escape(line)}" for line in self.structure]]
            out.append("")
        out += [self.counts(), ""]
        return "\n".join(out)


def _cell(text: str) -> str:
    return escape(text, table=True)


def _until_cell(row: dict[str, Any]) -> str:
    if row["until"] is None:
        return "-"
    return f"**expired** {row['until']} (IAM refuses it)" if row["expired"] else row["until"]


def _role_change_line(change: dict[str, Any]) -> str:
    accounts = change["accounts"]
    where = accounts[0] if len(accounts) == 1 else f"{len(accounts)} accounts ({', '.join(accounts)})"
    holders = f"; held by {', '.join(change['holders'])}" if change["holders"] else "; granted to nobody"
    return f"**{escape(change['role'])}**: {escape(change['change'])} in {escape(where)}{escape(holders)}"


def _row(key: AccessKey, conditions: Conditions, groups: tuple[str, ...], *, now: str) -> dict[str, Any]:
    """One access row; ``expired``: its end is already past, so IAM refuses the switch whatever the row says."""
    user, account, role = key
    expired = conditions.until is not None and conditions.until <= now
    return {
        "user": user,
        "account": account,
        "role": role,
        "groups": list(groups),
        **conditions.__dict__,
        "expired": expired,
    }


def diff(
    base: Organisation | None,
    head: Organisation,
    *,
    base_label: str,
    head_label: str,
    now: datetime.datetime | None = None,
) -> AccessDiff:
    """The review of ``head`` against ``base`` (None: the file is new), at ``now`` (what has already expired is
    marked so). Accounts are matched by id and role kinds by IAM role name, so renames are reported as such, with
    every other change still seen."""
    result = AccessDiff(base_label, head_label)
    at = iso(now or utc_now())
    renames, moved = kind_renames(base, head), account_renames(base, head)
    old = {(u, moved.get(a, a), renames.get(r, r)): v for (u, a, r), v in effective_access(base).items()}
    new = effective_access(head)
    for key in sorted(new.keys() - old.keys()):
        result.gained.append(_row(key, *new[key], now=at))
    for key in sorted(old.keys() - new.keys()):
        result.lost.append(_row(key, *old[key], now=at))
    _role_changes(base, head, renames, moved, new, result)
    _expiry_changes(old, new, result, at)
    _structure(base, head, renames, moved, result)
    _settings(base, head, result)
    return result


def _role_changes(
    base: Organisation | None,
    head: Organisation,
    renames: dict[str, str],
    moved: dict[str, str],
    access: dict[AccessKey, Any],
    result: AccessDiff,
) -> None:
    """Every change to a role that exists before and after, grouped by role kind and change across accounts."""
    before = {(moved.get(a, a), renames.get(k, k)): v for (a, k), v in role_states(base).items()}
    after = role_states(head)
    grouped: dict[tuple[str, Change], list[str]] = defaultdict(list)
    nobody: dict[str, list[str]] = defaultdict(list)
    for (account, key), new_state in after.items():
        old_state = before.get((account, key))
        if old_state is None:
            continue
        if old_state.admits and new_state.admits == ():
            nobody[key].append(account)
        for change in [*permission_changes(old_state, new_state), *condition_changes(old_state, new_state)]:
            grouped[(key, change)].append(account)
    result.destructive += [
        f"{key} admits nobody now in {', '.join(accounts)} (trust: strict, no user is granted it any more)"
        for key, accounts in nobody.items()
    ]
    holders: dict[RoleKey, set[str]] = defaultdict(set)
    for user, account, key in access:
        holders[(account, key)].add(user)
    rows = []
    for (key, change), accounts in grouped.items():
        users = sorted({u for a in accounts for u in holders[(a, key)]})
        rows.append((change.rank, _role_change(key, accounts, change, users)))
    _add_role_changes(result, rows)


def expiry_change(user: str, old: str | None, new: str | None, now: str | None = None) -> Change | None:
    """How the end of one user's switch moved. An end removed or moved later widens access (IAM would have
    refused it from then on); one added or moved earlier narrows it, and one that is already past at ``now``
    ends the access with the deploy. ISO times (UTC, one format) compare as times."""
    if old == new:
        return None
    if new is None:
        return Change(f"{user}'s access no longer ends (was until {old})", WEAKER, 2)
    if now is not None and new <= now and (old is None or old > now):
        was = f"was until {old}" if old is not None else "did not end"
        return Change(
            f"{user}'s access ends now: until {new} is past ({was}); IAM refuses it from the deploy", NARROWER
        )
    if old is None:
        return Change(f"{user}'s access now ends at {new} (until:)", NARROWER)
    if new > old:
        return Change(f"{user}'s access extended: until {old} -> {new}", WEAKER, 5)
    return Change(f"{user}'s access shortened: until {old} -> {new}", NARROWER)


def _expiry_changes(
    old: dict[AccessKey, tuple[Conditions, tuple[str, ...]]],
    new: dict[AccessKey, tuple[Conditions, tuple[str, ...]]],
    result: AccessDiff,
    now: str,
) -> None:
    """Access held before and after whose end (``until:`` of a grant or of the user) moved, added or went: one
    line per user and change, however many roles it moves (a user's own ``until:`` moves every role of theirs)."""
    grouped: dict[tuple[str, Change], list[tuple[str, str]]] = defaultdict(list)
    for key in sorted(old.keys() & new.keys()):
        user, account, role = key
        change = expiry_change(user, old[key][0].until, new[key][0].until, now)
        if change is not None:
            grouped[(user, change)].append((role, account))
    rows = []
    for (user, change), pairs in grouped.items():
        roles = sorted({role for role, _ in pairs})
        accounts = sorted({account for _, account in pairs})
        if len(roles) > 1:
            change = Change(f"{change.text} ({len(pairs)} roles)", change.effect, change.rank)
        rows.append((change.rank, _role_change(", ".join(roles), accounts, change, [user])))
    _add_role_changes(result, rows)


def _role_change(role: str, where: list[str], change: Change, holders: list[str]) -> dict[str, Any]:
    return {
        "role": role,
        "accounts": where,
        "change": change.text,
        "weaker": change.effect == WEAKER,
        "holders": holders,
    }


def _add_role_changes(result: AccessDiff, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """Add ranked rows; the lists stay sorted across every call, most dangerous first."""
    result.ranked += rows
    ranked = sorted(result.ranked, key=lambda r: (r[0], r[1]["role"], r[1]["change"]))
    result.weaker = [row for _, row in ranked if row["weaker"]]
    result.changed = [row for _, row in ranked if not row["weaker"]]


def _structure(
    base: Organisation | None, head: Organisation, renames: dict[str, str], moved: dict[str, str], result: AccessDiff
) -> None:
    old_accounts = {a.account_id: a for a in base.accounts} if base else {}
    new_accounts = {a.account_id: a for a in head.accounts}
    new_names = {a.name: a for a in head.accounts}
    for account_id, account in old_accounts.items():
        if account_id in new_accounts:
            continue
        if account.name in new_names:
            result.destructive.append(
                f"account {account.name} changes id {account_id} -> {new_names[account.name].account_id}"
            )
            continue
        assert base is not None
        line = (
            f"account {account.name} ({account_id}) leaves the file: `cdk deploy` does not delete stack "
            f"SwitchRole-{account.name}; its roles stay until `npx cdk destroy SwitchRole-{account.name}`"
        )
        org_wide = sorted({f"{k} (group {g})" for g in base.groups for k in account.role_keys if base.org_wide(g, k)})
        if org_wide:  # the organisation statement excludes only accounts the file still lists
            line += f"; until then, organisation-wide grants still reach it: {', '.join(org_wide)}"
        result.destructive.append(line)
    old_names = {a.name for a in old_accounts.values()}
    for account_id, account in sorted(new_accounts.items(), key=lambda item: item[1].name):
        if account_id not in old_accounts and account.name not in old_names:
            result.structure.append(f"account added: {account.name} ({account_id}) with {', '.join(account.role_keys)}")
    for old_name, new_name in sorted(moved.items()):
        result.destructive.append(
            f"account {old_name} renamed to {new_name} (same id): a new stack SwitchRole-{new_name} would create "
            f"roles that SwitchRole-{old_name} still holds; destroy the old stack first, or keep the name"
        )
    for account_id in sorted(old_accounts.keys() & new_accounts.keys()):
        before, after = old_accounts[account_id], new_accounts[account_id]
        assert base is not None
        name = after.name
        old_keys = [renames.get(k, k) for k in before.role_keys]
        moved_roles = _roles_moved_under_their_name(base, head, before.role_keys, after.role_keys)
        for old_key, key in zip(before.role_keys, old_keys, strict=True):
            old_arn = base.role_kinds[old_key].arn(account_id)
            if old_key in moved_roles:
                result.destructive.append(
                    f"role {base.role_kinds[old_key].name} in {name} moves {old_arn} -> "
                    f"{head.role_kinds[moved_roles[old_key]].arn(account_id)} under the same name: IAM role names "
                    "are unique in an account whatever their path or case and a role cannot be moved, so this "
                    "cannot deploy as one update; deploy it in two steps (remove the role from the account, "
                    "deploy, then add it back)"
                )
            elif key not in after.role_keys:
                result.destructive.append(f"role {old_key} in {name} will be deleted (stack SwitchRole-{name})")
            elif old_arn != head.role_kinds[key].arn(account_id):
                result.destructive.append(
                    f"role {key} in {name} is replaced (new name): open sessions and links break during "
                    f"deploy ({old_arn} -> {head.role_kinds[key].arn(account_id)})"
                )
        for key in after.role_keys:
            if key not in old_keys:
                result.structure.append(f"role {key} added to {name}")
    for old_key, new_key in sorted(renames.items()):
        role_name = head.role_kinds[new_key].name
        accounts = [a.name for a in head.accounts if new_key in a.role_keys]
        example = f" (e.g. {accounts[0]}-{old_key} -> {accounts[0]}-{new_key})" if accounts else ""
        result.structure.append(
            f"role kind renamed: {old_key} -> {new_key} (IAM role {role_name} kept: deployed as an in-place update); "
            f"every holder's profile and console names change{example}: regenerate them with "
            "`switchrole profiles --merge`"
        )
    old_kinds = {renames.get(k, k) for k in base.role_kinds} if base else set()
    new_kinds = set(head.role_kinds)
    result.structure += [f"role kind added: {k}" for k in sorted(new_kinds - old_kinds)]
    result.structure += [f"role kind removed: {k}" for k in sorted(old_kinds - new_kinds)]
    old_groups, new_groups = set(base.groups) if base else set(), set(head.groups)
    result.destructive += [
        f"group {g} will be deleted; its members lose its grants" for g in sorted(old_groups - new_groups)
    ]
    result.structure += [f"group added: {g}" for g in sorted(new_groups - old_groups)]
    old_users, new_users = set(base.users) if base else set(), set(head.users)
    result.destructive += [
        f"user {u} leaves the file: the deploy removes them from every group; the IAM user itself is retained "
        "with any password, access keys and MFA device until deleted by hand "
        "(docs/onboarding.md, Offboarding a person)"
        for u in sorted(old_users - new_users)
    ]
    result.structure += [f"user added: {u}" for u in sorted(new_users - old_users)]


def _settings(base: Organisation | None, head: Organisation, result: AccessDiff) -> None:
    """The hub and the deployment: what they change about who may switch where, and every other difference."""
    if base is None:
        return
    old_hub, new_hub = base.hub, head.hub
    if old_hub.account_id != new_hub.account_id:
        result.destructive.append(
            f"hub account changes {old_hub.account_id} -> {new_hub.account_id}: every trust policy trusts the new "
            "account; the old hub's users lose every switch"
        )
    rows: list[tuple[int, dict[str, Any]]] = []

    def org_wide(org: Organisation) -> dict[tuple[str, str], str]:
        return {
            (g, k): str(org.hub.organization_id) for g in org.groups for k in org.group_access(g) if org.org_wide(g, k)
        }

    before, after = org_wide(base), org_wide(head)
    for (group, key), org_id in sorted(after.items()):
        if before.get((group, key)) != org_id:
            change = Change(
                f'group {group}\'s accounts: "*" grant now reaches every account of organisation {org_id} that has '
                "this role, including accounts this file does not list",
                WEAKER,
                0,
            )
            rows.append((0, _role_change(key, [f"organisation {org_id}"], change, list(head.members(group)))))
    for (group, key), org_id in sorted(before.items()):
        if (group, key) not in after:
            change = Change(f'group {group}\'s accounts: "*" grant is again limited to the listed accounts', NARROWER)
            rows.append((9, _role_change(key, [f"organisation {org_id}"], change, list(base.members(group)))))
    old_targets = {(t.ou, t.role_keys) for t in base.deployment.ou_targets}
    new_targets = {(t.ou, t.role_keys) for t in head.deployment.ou_targets}
    for ou, keys in sorted(new_targets - old_targets):
        for key in keys:
            change = Change(
                "deployed into every account of this OU, now and later (StackSets auto-deployment)", WEAKER, 0
            )
            rows.append((0, _role_change(key, [f"OU {ou}"], change, list(head.users_granted_everywhere(key)))))
    for ou, keys in sorted(old_targets - new_targets):
        result.destructive.append(f"OU target {ou} ({', '.join(keys)}) removed: its StackSet deletes those roles")
    _add_role_changes(result, rows)
    if base.deployment.mode != head.deployment.mode:
        result.destructive.append(
            f"deployment mode {base.deployment.mode} -> {head.deployment.mode}: every role moves to other stacks, "
            "which create the same role names; remove the roles first (documentation: StackSets)"
        )
    modelled = {"account_id", "organization_id", "mode", "ou_targets"}
    for section, old_value, new_value in (
        ("hub", base.hub, head.hub),
        ("deployment", base.deployment, head.deployment),
        ("quotas", base.quotas, head.quotas),
    ):
        for name in old_value.__dataclass_fields__:
            before_value, after_value = getattr(old_value, name), getattr(new_value, name)
            if name not in modelled and before_value != after_value:
                result.structure.append(f"setting changed: {section}.{name} {before_value!r} -> {after_value!r}")
    if base.hub.organization_id != head.hub.organization_id and not (before or after):
        result.structure.append(
            f"setting changed: hub.organization_id {base.hub.organization_id!r} -> {head.hub.organization_id!r}"
        )


def load_base(base: str, config: Path) -> tuple[Organisation | None, str]:
    """The base organisation from a file, or from ``git show <ref>:<config>``; None when the ref lacks the file."""
    path = Path(base)
    if path.is_file():
        from switchrole.infra.validate import load_checked

        return load_checked(path, merge_keys=True), str(path)  # the base: accepted before merge keys were refused
    directory = config.resolve().parent
    verify = subprocess.run(
        ["git", "-C", str(directory), "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if verify.returncode != 0:
        raise ConfigError.single((), f"--base {base!r} is neither a file nor a git revision")
    shown = subprocess.run(["git", "-C", str(directory), "show", f"{base}:./{config.name}"], capture_output=True)
    label = f"{base}:{config.name}"
    if shown.returncode != 0:
        return None, f"{label} (absent)"
    if len(shown.stdout) > MAX_FILE_BYTES:
        raise ConfigError.single((), f"is over {MAX_FILE_BYTES:,} bytes", label)
    try:
        text = shown.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError.single((), f"not UTF-8: byte 0x{shown.stdout[exc.start]:02x}", label) from None
    return loads(text, label, merge_keys=True), label
