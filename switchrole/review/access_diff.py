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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchrole.model.errors import ConfigError
from switchrole.model.expiry import iso, utc_now
from switchrole.model.loading import MAX_FILE_BYTES, loads
from switchrole.model.markdown import code, escape
from switchrole.model.organisation import Organisation
from switchrole.review.access_state import (
    NARROWER,
    WEAKER,
    AccessKey,
    Change,
    Conditions,
    RoleKey,
    account_renames,
    condition_changes,
    effective_access,
    in_hours,
    kind_renames,
    permission_changes,
    role_states,
    roles_moved_under_their_name,
)

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
        return review_fit.fit(self, limit, hours=in_hours, until=_until_cell, everything=how)

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
                    f"{_cell(', '.join(r['groups']))} | {_mfa_cell(r)} | "
                    f"{in_hours(r['max_session_duration'])} | {_until_cell(r)} |"
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


def _mfa_cell(row: dict[str, Any]) -> str:
    if row.get("mfa_at_sign_in"):
        return "at Identity Center sign-in (not checked by IAM)"
    return "yes" if row["mfa_required"] else "**no**"


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
        moved_roles = roles_moved_under_their_name(base, head, before.role_keys, after.role_keys)
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
    _identity_center_settings(base, head, result)
    modelled = {"account_id", "organization_id", "mode", "ou_targets", "identity_center"}
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


def _identity_center_settings(base: Organisation, head: Organisation, result: AccessDiff) -> None:
    """``hub.identity_center``: where the permission sets' roles are (what every trust admits), and the MFA promise
    the trust of MFA-requiring roles relies on for them."""
    old, new = base.hub.identity_center, head.hub.identity_center
    if old is None or new is None:
        if old != new:
            state = "added" if new is not None else "removed"
            result.structure.append(f"setting changed: hub.identity_center {state}")
        return
    if old.role_path != new.role_path:
        result.structure.append(
            f"hub.identity_center.region {old.region} -> {new.region}: trusts now admit the permission sets' roles "
            f"under {new.role_path} (was {old.role_path}); people signed in to the old instance lose their switches"
        )
    if old.mfa_at_sign_in != new.mfa_at_sign_in:
        result.structure.append(
            "hub.identity_center.mfa_at_sign_in "
            + (
                "false -> true: MFA-requiring roles may now be granted to permission sets, whose trust then relies on "
                "Identity Center requiring MFA at sign-in (IAM cannot check it)"
                if new.mfa_at_sign_in
                else "true -> false: no MFA-requiring role may be granted to a permission set any more"
            )
        )
    for name in ("start_url", "instance_arn", "account_id"):
        if getattr(old, name) != getattr(new, name):
            before, after = getattr(old, name), getattr(new, name)
            result.structure.append(f"setting changed: hub.identity_center.{name} {before!r} -> {after!r}")


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
