"""Access review for pull requests: who gains, loses or changes which access between two accounts files.

A YAML diff shows edited lines and a CloudFormation diff shows resources; the
reviewer's question is "who can now switch into what, and under which
conditions?". This compares the *effective* access of two organisations.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchrole.config import Organisation, RoleKind, loads
from switchrole.errors import ConfigError

AccessKey = tuple[str, str, str]  # user, account name, role kind


@dataclass(frozen=True)
class Conditions:
    """What a reviewer weighs for one switch: the conditions under which it is allowed."""

    account_id: str
    role_arn: str
    mfa_required: bool
    mfa_max_age_seconds: int | None
    max_session_duration: int
    external_id_required: bool
    source_identity_required: bool
    strict_trust: bool

    @classmethod
    def of(cls, kind: RoleKind, account_id: str) -> Conditions:
        return cls(
            account_id=account_id,
            role_arn=kind.arn(account_id),
            mfa_required=kind.mfa_required,
            mfa_max_age_seconds=kind.mfa_max_age_seconds if kind.mfa_required else None,
            max_session_duration=kind.max_session_duration,
            external_id_required=kind.external_id is not None,
            source_identity_required=kind.source_identity,
            strict_trust=kind.strict_trust,
        )


def effective_access(org: Organisation | None) -> dict[AccessKey, tuple[Conditions, tuple[str, ...]]]:
    """(user, account, role) -> (conditions, groups granting it)."""
    result: dict[AccessKey, tuple[Conditions, tuple[str, ...]]] = {}
    if org is None:
        return result
    for access in org.access():
        key = (access.user, access.account.name, access.role.key)
        groups = result[key][1] if key in result else ()
        result[key] = (Conditions.of(access.role, access.account.account_id), (*groups, access.group))
    return result


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:g} h"


def condition_changes(old: Conditions, new: Conditions) -> list[tuple[str, bool]]:
    """(description, weaker) for every condition that differs."""
    changes: list[tuple[str, bool]] = []
    if old.mfa_required != new.mfa_required:
        changes.append(("MFA no longer required" if old.mfa_required else "MFA now required", old.mfa_required))
    elif old.mfa_max_age_seconds != new.mfa_max_age_seconds and new.mfa_max_age_seconds and old.mfa_max_age_seconds:
        weaker = new.mfa_max_age_seconds > old.mfa_max_age_seconds
        changes.append((f"MFA max age {old.mfa_max_age_seconds} s -> {new.mfa_max_age_seconds} s", weaker))
    if old.max_session_duration != new.max_session_duration:
        weaker = new.max_session_duration > old.max_session_duration
        changes.append((f"session {_hours(old.max_session_duration)} -> {_hours(new.max_session_duration)}", weaker))
    if old.external_id_required != new.external_id_required:
        changes.append(
            (
                "external id now required" if new.external_id_required else "external id no longer required",
                not new.external_id_required,
            )
        )
    if old.source_identity_required != new.source_identity_required:
        changes.append(
            (
                "source identity now required"
                if new.source_identity_required
                else "source identity no longer required",
                not new.source_identity_required,
            )
        )
    if old.strict_trust != new.strict_trust:
        changes.append(("strict trust added" if new.strict_trust else "strict trust removed", old.strict_trust))
    if old.role_arn != new.role_arn:
        changes.append((f"role replaced: {old.role_arn} -> {new.role_arn}", False))
    return changes


@dataclass
class AccessDiff:
    base_label: str
    head_label: str
    destructive: list[str] = field(default_factory=list)
    gained: list[dict[str, Any]] = field(default_factory=list)
    lost: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    structure: list[str] = field(default_factory=list)  # accounts, role kinds, groups, users added or removed

    @property
    def access_changed(self) -> bool:
        return bool(self.destructive or self.gained or self.lost or self.changed or self.structure)

    def to_json(self) -> str:
        return json.dumps(
            {
                "base": self.base_label,
                "head": self.head_label,
                "access_changed": self.access_changed,
                "destructive": self.destructive,
                "gained": self.gained,
                "lost": self.lost,
                "changed": self.changed,
                "structure": self.structure,
            },
            indent=2,
        )

    def to_markdown(self) -> str:
        out = [f"## switchrole access review: `{self.base_label}` -> `{self.head_label}`", ""]
        if not self.access_changed:
            return "\n".join([*out, "No change in effective access.", ""])
        if self.destructive:
            out += ["### :warning: Destructive changes", "", *[f"- {line}" for line in self.destructive], ""]
        weaker = [c for c in self.changed if c["weaker"]]
        if weaker:
            out += ["### :warning: Weaker conditions", ""]
            out += [f"- **{c['user']}** -> {c['account']} / {c['role']}: {'; '.join(c['changes'])}" for c in weaker]
            out.append("")
        for title, rows in (("Access gained", self.gained), ("Access lost", self.lost)):
            if rows:
                out += [
                    f"### {title} ({len(rows)})",
                    "",
                    "| user | account | role | via | MFA | session |",
                    "|---|---|---|---|---|---|",
                ]
                out += [
                    f"| {r['user']} | {r['account']} ({r['account_id']}) | {r['role']} | {', '.join(r['groups'])} | "
                    f"{'yes' if r['mfa_required'] else '**no**'} | {_hours(r['max_session_duration'])} |"
                    for r in rows
                ]
                out.append("")
        if self.changed:
            out += [
                f"### Access changed ({len(self.changed)})",
                "",
                "| user | account | role | change |",
                "|---|---|---|---|",
            ]
            out += [f"| {c['user']} | {c['account']} | {c['role']} | {'; '.join(c['changes'])} |" for c in self.changed]
            out.append("")
        if self.structure:
            out += ["### Accounts, role kinds, groups and users", "", *[f"- {line}" for line in self.structure], ""]
        return "\n".join(out)


def _row(key: AccessKey, conditions: Conditions, groups: tuple[str, ...]) -> dict[str, Any]:
    user, account, role = key
    return {"user": user, "account": account, "role": role, "groups": list(groups), **conditions.__dict__}


def diff(base: Organisation | None, head: Organisation, *, base_label: str, head_label: str) -> AccessDiff:
    result = AccessDiff(base_label, head_label)
    old, new = effective_access(base), effective_access(head)
    for key in sorted(new.keys() - old.keys()):
        result.gained.append(_row(key, *new[key]))
    for key in sorted(old.keys() - new.keys()):
        result.lost.append(_row(key, *old[key]))
    for key in sorted(old.keys() & new.keys()):
        changes = condition_changes(old[key][0], new[key][0])
        if changes:
            user, account, role = key
            result.changed.append(
                {
                    "user": user,
                    "account": account,
                    "role": role,
                    "changes": [text for text, _ in changes],
                    "weaker": any(weaker for _, weaker in changes),
                }
            )
    _structure(base, head, result)
    return result


def _structure(base: Organisation | None, head: Organisation, result: AccessDiff) -> None:
    old_accounts = {a.name: a for a in base.accounts} if base else {}
    new_accounts = {a.name: a for a in head.accounts}
    for name in old_accounts.keys() - new_accounts.keys():
        result.destructive.append(
            f"account {name} ({old_accounts[name].account_id}) leaves the file: `cdk deploy` does not delete "
            f"stack SwitchRole-{name}; its roles stay until `npx cdk destroy SwitchRole-{name}`"
        )
    for name in sorted(new_accounts.keys() - old_accounts.keys()):
        account = new_accounts[name]
        result.structure.append(f"account added: {name} ({account.account_id}) with {', '.join(account.role_keys)}")
    for name in sorted(old_accounts.keys() & new_accounts.keys()):
        before, after = old_accounts[name], new_accounts[name]
        assert base is not None
        if before.account_id != after.account_id:
            result.destructive.append(f"account {name} changes id {before.account_id} -> {after.account_id}")
        for key in before.role_keys:
            if key not in after.role_keys:
                result.destructive.append(f"role {key} in {name} will be deleted (stack SwitchRole-{name})")
            elif base.role_kinds[key].arn(before.account_id) != head.role_kinds[key].arn(after.account_id):
                result.destructive.append(
                    f"role {key} in {name} is replaced (new name or path): open sessions and links break during deploy"
                )
        for key in after.role_keys:
            if key not in before.role_keys:
                result.structure.append(f"role {key} added to {name}")
    old_kinds, new_kinds = set(base.role_kinds) if base else set(), set(head.role_kinds)
    result.structure += [f"role kind added: {k}" for k in sorted(new_kinds - old_kinds)]
    result.structure += [f"role kind removed: {k}" for k in sorted(old_kinds - new_kinds)]
    old_groups, new_groups = set(base.groups) if base else set(), set(head.groups)
    result.destructive += [
        f"group {g} will be deleted; its members lose its grants" for g in sorted(old_groups - new_groups)
    ]
    result.structure += [f"group added: {g}" for g in sorted(new_groups - old_groups)]
    old_users, new_users = set(base.users) if base else set(), set(head.users)
    result.destructive += [
        f"user {u} leaves the file: the IAM user is retained (RemovalPolicy.RETAIN) with its keys and MFA "
        "device but leaves all groups; delete it by hand if the person left"
        for u in sorted(old_users - new_users)
    ]
    result.structure += [f"user added: {u}" for u in sorted(new_users - old_users)]


def load_base(base: str, config: Path) -> tuple[Organisation | None, str]:
    """The base organisation from a file, or from ``git show <ref>:<config>``; None when the ref lacks the file."""
    path = Path(base)
    if path.is_file():
        from switchrole.validate import load_checked

        return load_checked(path), str(path)
    directory = config.resolve().parent
    verify = subprocess.run(
        ["git", "-C", str(directory), "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if verify.returncode != 0:
        raise ConfigError.single((), f"--base {base!r} is neither a file nor a git revision")
    shown = subprocess.run(
        ["git", "-C", str(directory), "show", f"{base}:./{config.name}"], capture_output=True, text=True
    )
    label = f"{base}:{config.name}"
    if shown.returncode != 0:
        return None, f"{label} (absent)"
    return loads(shown.stdout, label), label
