"""``switchrole offboard``: remove a person (or one of their groups) from the accounts file, as a reviewable edit.

Like onboarding, the edit is minimal: ruamel.yaml finds where the user's entry
(or the group in their list) is, only those bytes are removed, the result is
parsed again and compared with the intended data, and every check runs before
anything is written. What CloudFormation will not do when the user leaves the
file (the IAM user is retained, with any password, access keys and MFA device)
is printed as exact AWS CLI commands.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from switchrole.model.errors import ConfigError
from switchrole.model.loading import loads, parse_yaml, to_plain
from switchrole.model.organisation import Organisation


@dataclass(frozen=True)
class Removal:
    user: str
    group: str | None = None  # None: the whole user leaves the file


def offboard(text: str, removal: Removal, source: str) -> str:
    """The edited file text; raises :class:`ConfigError` (nothing to write)."""
    root = parse_yaml(text, source)
    lines = text.splitlines(keepends=True)
    users = root.get("users")
    if not isinstance(users, CommentedMap) or removal.user not in users:
        known = ", ".join(users) if isinstance(users, CommentedMap) else "none"
        raise ConfigError.single(("--user",), f"no user {removal.user!r} in the file (users: {known})", source)
    if users.fa.flow_style():
        raise ConfigError.single(("users",), "users is written in flow style ({...}); remove the user by hand", source)
    expected = copy.deepcopy(to_plain(root))
    if removal.group is None:
        edited = _remove_user(root, users, lines, removal.user)
        del expected["users"][removal.user]
    else:
        edited = _remove_group(users, lines, removal, source)
        expected["users"][removal.user]["groups"].remove(removal.group)
    if to_plain(parse_yaml(edited, source)) != expected:  # the edit must mean exactly what was intended
        raise ConfigError.single((), "internal error: the edit would not round-trip; the file was not changed", source)
    loads(edited, source)  # schema and references; quotas are checked by the caller with the full pipeline
    return edited


def _entry_end(lines: list[str], start: int, indent: int) -> int:
    """Index of the line after a mapping entry that starts at ``start`` (its key at column ``indent``);
    trailing blank and comment lines stay with what follows."""
    end = start + 1
    while end < len(lines):
        stripped = lines[end].strip()
        if stripped and not stripped.startswith("#") and len(lines[end]) - len(lines[end].lstrip(" ")) <= indent:
            break
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def _remove_user(root: CommentedMap, users: CommentedMap, lines: list[str], user: str) -> str:
    """The user's entry, and the comment lines right above it at its indentation (they are about this user)."""
    line, column = users.lc.key(user)
    end = _entry_end(lines, line, column)
    start = line
    while start > 0 and lines[start - 1].startswith(" " * column + "#"):
        start -= 1
    result = lines[:start] + lines[end:]
    if len(users) == 1:  # the mapping would become null: leave an explicit empty one
        key_line = root.lc.key("users")[0]
        result[key_line] = result[key_line].replace("users:", "users: {}", 1)
    return "".join(result)


def _remove_group(users: CommentedMap, lines: list[str], removal: Removal, source: str) -> str:
    entry = users[removal.user]
    groups = entry.get("groups") if isinstance(entry, CommentedMap) else None
    if not isinstance(groups, CommentedSeq) or removal.group not in groups:
        raise ConfigError.single(("--group",), f"{removal.user} is not in group {removal.group!r} in the file", source)
    index = list(groups).index(removal.group)
    result = list(lines)
    if not groups.fa.flow_style():
        line = groups.lc.item(index)[0]
        del result[line]
        if len(groups) == 1:
            key_line = entry.lc.key("groups")[0]
            result[key_line] = result[key_line].replace("groups:", "groups: []", 1)
        return "".join(result)
    positions = [groups.lc.item(i) for i in range(len(groups))]
    line = positions[index][0]
    if any(p[0] != line for p in positions) or groups.lc.line != line:
        raise ConfigError.single(
            ("users", removal.user, "groups"), "a groups list spanning several lines; remove the group by hand", source
        )
    text = result[line]
    close = text.index("]", positions[-1][1])
    start_column = positions[index][1]
    if len(groups) == 1:
        start, stop = start_column, close
    elif index < len(groups) - 1:
        start, stop = start_column, positions[index + 1][1]
    else:
        start, stop = text.rindex(",", 0, start_column), close
    result[line] = text[:start] + text[stop:]
    return "".join(result)


def follow_up(org: Organisation, user: str) -> list[str]:
    """What CloudFormation will not do when ``user`` leaves the file, as commands for a hub administrator.

    ``org`` is the organisation *before* the change: it knows which roles the user held.
    """
    hub = org.hub
    longest = max((kind.max_session_duration for _, kind in org.user_roles(user)), default=0)
    serial = hub.mfa_serial(user)
    return [
        "After the pull request merges, `npx cdk deploy SwitchRole-Hub` removes "
        f"{user} from every group: from then on, no new switch is possible.",
        f"CloudFormation keeps the IAM user {user} (it cannot delete a user who has credentials). "
        f"To delete it, in the hub account {hub.account_id}, as an administrator:",
        f"  aws iam list-access-keys --user-name {user}",
        f"  aws iam update-access-key --user-name {user} --status Inactive --access-key-id <each key id>",
        f"  aws iam delete-access-key --user-name {user} --access-key-id <each key id>",
        f"  aws iam delete-login-profile --user-name {user}          # if they had a console password",
        f"  aws iam deactivate-mfa-device --user-name {user} --serial-number {serial}",
        f"  aws iam delete-virtual-mfa-device --serial-number {serial}",
        "  # delete-user also refuses a user with any of these; list each, delete what it shows:",
        f"  aws iam list-signing-certificates --user-name {user}     # delete-signing-certificate",
        f"  aws iam list-ssh-public-keys --user-name {user}          # delete-ssh-public-key",
        f"  aws iam list-service-specific-credentials --user-name {user}   # delete-service-specific-credential",
        f"  aws iam list-user-policies --user-name {user}            # delete-user-policy",
        f"  aws iam list-attached-user-policies --user-name {user}   # detach-user-policy",
        f"  aws iam list-groups-for-user --user-name {user}          # remove-user-from-group (groups added by hand)",
        f"  aws iam delete-user --user-name {user}",
        f"(Until the IAM user is deleted, adding {user} to the file again fails on deploy: the user already exists.)",
        (
            f"Role sessions {user} already opened stay valid until they expire (at most {longest / 3600:g} h "
            "here); to end them now, revoke the older sessions of those roles in their accounts (IAM console: "
            "Roles -> Revoke active sessions), which signs out every current user of the role."
            if longest
            else f"{user} held no role, so no role session can be open."
        ),
    ]
