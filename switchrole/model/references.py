"""Cross references of a file that matches the schema: every name that must exist, be unique or fit a limit.

One :class:`~switchrole.model.errors.Problem` per finding, each with its field path, so a single run lists them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from switchrole.model.display_names import fit_display_name, portable_display_key
from switchrole.model.errors import Path, Problem
from switchrole.model.organisation import (
    CDK_ROOT_IDS,
    HUB_STACK_NAME,
    MAX_CONSOLE_ROLE_CHARS,
    MAX_GROUP_POLICIES,
    MAX_GROUPS_PER_USER,
    MAX_STACK_NAME,
    MAX_TAGS,
    STACK_PREFIX,
    grant_policy_name,
    own_role_tags,
)
from switchrole.model.schema import MAX_POLICY_NAME, OrganisationSpec
from switchrole.model.text import suggest

# --------------------------------------------------------------------------- cross references


def check_references(spec: OrganisationSpec) -> list[Problem]:
    """Everything one field cannot know alone: duplicates, references, name lengths."""
    problems: list[Problem] = []

    def add(path: Path, message: str) -> None:
        problems.append(Problem(path, message))

    kinds = spec.roles

    # role kinds: resolved names must be unique and switchable from the console
    names_seen: dict[str, str] = {}
    for key, kind in kinds.items():
        name, path = kind.name or key, kind.role_path or spec.defaults.role_path
        other = names_seen.setdefault(name.lower(), key)
        if other != key:
            add(("roles", key, "name" if kind.name else "roles"), f"role name {name!r} is also used by roles.{other}")
        if name in CDK_ROOT_IDS:
            add(
                ("roles", key, "name") if kind.name else ("roles", key),
                f"role name {name!r} is reserved by the AWS CDK (its own id at the root of every stack, where each "
                "role's id is its name); " + ("choose another name" if kind.name else "set `name:` to another name"),
            )
        if len(path.lstrip("/") + name) > MAX_CONSOLE_ROLE_CHARS:
            add(
                ("roles", key, "role_path" if kind.role_path else "name"),
                f"path + role name {path.lstrip('/') + name!r} is {len(path.lstrip('/') + name)} characters; "
                f"the console's Switch Role accepts at most {MAX_CONSOLE_ROLE_CHARS}",
            )
        if len(kind.managed_policies) > spec.quotas.role_managed_policies:
            add(
                ("roles", key, "managed_policies"),
                f"{len(kind.managed_policies)} managed policies; a role takes at most "
                f"{spec.quotas.role_managed_policies} (quotas.role_managed_policies)",
            )
        _check_duplicates(kind.managed_policies, ("roles", key, "managed_policies"), "policy", add)
        own = len(own_role_tags(key))
        if len(kind.tags) + own > MAX_TAGS:
            add(
                ("roles", key, "tags"),
                f"{len(kind.tags)} tags; IAM allows {MAX_TAGS} on a role and switchrole adds {own} of its own "
                f"({', '.join(own_role_tags(key))}): at most {MAX_TAGS - own} here",
            )
        _check_case_duplicates(kind.tags, ("roles", key, "tags"), "tag key", add)
        role_keys = {k.lower() for k in [*kind.tags, *own_role_tags(key)]}
        for i, tag in enumerate(kind.session_tags):
            if tag.lower() in role_keys:  # a session tag overrides the role's tag of the same key
                add(
                    ("roles", key, "session_tags", i),
                    f"{tag!r} is also a tag of the role: a session tag of that key would override it, so "
                    "attribute-based policies could no longer trust the role's value",
                )
    for name, user in spec.users.items():
        _check_case_duplicates(user.tags, ("users", name, "tags"), "tag key", add)
        if len(user.tags) + 1 > MAX_TAGS:
            add(("users", name, "tags"), f"{len(user.tags)} tags; IAM allows {MAX_TAGS} and switchrole adds 1")
    _check_case_duplicates(kinds, ("roles",), "role kind", add)
    audited = [key for key, kind in kinds.items() if kind.audit]
    for key in audited[1:]:
        add(("roles", key, "audit"), f"only one role kind can be the audit role; roles.{audited[0]} already is")

    # target accounts
    hub = spec.hub
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, account in enumerate(spec.accounts):
        at: Path = ("accounts", i)
        if account.account_id == hub.account_id:
            add(
                (*at, "account_id"),
                f"{account.account_id} is the hub account (hub.account_id); the hub cannot be a target",
            )
        if (j := ids.setdefault(account.account_id, i)) != i:
            add((*at, "account_id"), f"duplicate account id {account.account_id} (also accounts[{j}])")
        if (j := names.setdefault(account.name.lower(), i)) != i:
            add((*at, "name"), f"duplicate account name {account.name!r} (also accounts[{j}])")
        if account.name.lower() in (hub.name.lower(), "hub"):
            add((*at, "name"), f"{account.name!r} clashes with the hub (stack {HUB_STACK_NAME}, hub.name)")
        if len(STACK_PREFIX + account.name) > MAX_STACK_NAME:
            add((*at, "name"), f"stack name {STACK_PREFIX}{account.name} would exceed {MAX_STACK_NAME} characters")
        for k, role in enumerate(account.roles):
            if role not in kinds:
                add((*at, "roles", k), f"unknown role kind {role!r}" + suggest(role, kinds))
        _check_duplicates(account.roles, (*at, "roles"), "role kind", add)

    _check_console_names(spec, add)

    by_name = {a.name: a for a in spec.accounts}
    # groups and their grants
    for gname, group in spec.groups.items():
        for i, grant in enumerate(group.grants):
            at = ("groups", gname, "grants", i)
            if grant.role not in kinds:
                add((*at, "role"), f"unknown role kind {grant.role!r}" + suggest(grant.role, kinds))
                continue
            if grant.accounts == "*":
                if not any(grant.role in a.roles for a in spec.accounts):
                    add((*at, "accounts"), f'"*" matches nothing: no target account has role kind {grant.role!r}')
                continue
            for k, name in enumerate(grant.accounts):
                target = by_name.get(name)
                if target is None:
                    add((*at, "accounts", k), f"unknown account {name!r}" + suggest(name, by_name))
                elif grant.role not in target.roles:
                    add(
                        (*at, "accounts", k),
                        f"account {name!r} has no role kind {grant.role!r} (its roles: {', '.join(target.roles)})",
                    )
            _check_duplicates(grant.accounts, (*at, "accounts"), "account", add)
    _check_case_duplicates(spec.groups, ("groups",), "group", add)
    for gname in spec.groups:
        longest = grant_policy_name(gname, MAX_GROUP_POLICIES)
        if len(longest) > MAX_POLICY_NAME:
            add(
                ("groups", gname),
                f"group name is {len(gname)} characters; its managed policies are named switchrole-<group>-<n>, "
                f"which IAM limits to {MAX_POLICY_NAME} characters (at most "
                f"{MAX_POLICY_NAME - len(longest) + len(gname)} for the group name)",
            )

    _check_permission_sets(spec, add)

    # users
    for uname, user in spec.users.items():
        at = ("users", uname, "groups")
        for k, gname in enumerate(user.groups):
            if gname not in spec.groups:
                add((*at, k), f"unknown group {gname!r}" + suggest(gname, spec.groups))
            elif (permission_set := spec.groups[gname].permission_set) is not None:
                add(
                    (*at, k),
                    f"group {gname!r} is Identity Center permission set {permission_set}: Identity Center assigns "
                    "its people, so no user is listed in it (make it a group of its own for IAM users)",
                )
        _check_duplicates(user.groups, at, "group", add)
        if len(user.groups) > MAX_GROUPS_PER_USER:
            add(at, f"{len(user.groups)} groups; an IAM user can be in at most {MAX_GROUPS_PER_USER}")
    _check_case_duplicates(spec.users, ("users",), "user", add)

    deployment = spec.deployment
    if deployment.mode == "stacksets":
        if deployment.account_id is None:
            add(("deployment", "account_id"), "stacksets mode needs the management or delegated-administrator account")
        if not deployment.organizational_unit_ids:
            add(
                ("deployment", "organizational_unit_ids"),
                "service-managed StackSets target OUs: list the OUs (or the root r-...) holding the listed accounts",
            )
    seen_ous: dict[str, int] = {}
    for i, ou_target in enumerate(deployment.ou_targets):
        if (j := seen_ous.setdefault(ou_target.ou, i)) != i:
            add(("deployment", "ou_targets", i, "ou"), f"OU {ou_target.ou} is listed twice (also ou_targets[{j}])")
        _check_duplicates(ou_target.roles, ("deployment", "ou_targets", i, "roles"), "role kind", add)
        for k, role in enumerate(ou_target.roles):
            if role not in kinds:
                add(("deployment", "ou_targets", i, "roles", k), f"unknown role kind {role!r}" + suggest(role, kinds))
    if deployment.ou_targets and deployment.mode != "stacksets":
        add(("deployment", "ou_targets"), "OU targets need mode: stacksets")
    if deployment.ou_targets and spec.hub.organization_id is None:
        add(
            ("deployment", "ou_targets"),
            'accounts of an OU are reachable only by accounts: "*" grants with hub.organization_id set',
        )
    return problems


def _check_permission_sets(spec: OrganisationSpec, add: Callable[[Path, str], None]) -> None:
    """Permission-set groups: Identity Center is configured, each set is one group's, and every role kind
    granted to one can hold for a federated session (IAM's MFA keys cannot: see iam-facts.md)."""
    center = spec.hub.identity_center
    if center is not None and (center.instance_arn is None) != (center.account_id is None):
        missing = "account_id" if center.account_id is None else "instance_arn"
        add(
            ("hub", "identity_center", missing),
            "the permission sets stack needs both instance_arn and account_id (the administration account)",
        )
    seen: dict[str, str] = {}
    for gname, group in spec.groups.items():
        if group.identity_store_group is not None and (center is None or center.instance_arn is None
                                                       or group.permission_set is None):  # fmt: skip
            add(
                ("groups", gname, "identity_store_group"),
                "an assignment needs the group's permission_set and hub.identity_center's instance_arn and account_id "
                "(the permission sets stack makes it)",
            )
        if group.permission_set is None:
            continue
        at: Path = ("groups", gname, "permission_set")
        if center is None:
            add(at, "a permission set needs hub.identity_center (its region, and whether it requires MFA at sign-in)")
            continue
        other = seen.setdefault(group.permission_set.lower(), gname)
        if other != gname:
            add(at, f"permission set {group.permission_set!r} is also groups.{other}'s (one group per set)")
        for i, grant in enumerate(group.grants):
            kind = spec.roles.get(grant.role)
            if kind is None:
                continue
            required = _first(kind.mfa and kind.mfa.required, spec.defaults.mfa.required, True)
            if required and not center.mfa_at_sign_in:
                add(
                    ("groups", gname, "grants", i, "role"),
                    f"group {gname!r} (permission set {group.permission_set}) is granted {grant.role}, which "
                    "requires MFA, but an Identity Center session carries no IAM MFA keys for the trust to test: "
                    "set hub.identity_center.mfa_at_sign_in: true once Identity Center requires MFA at sign-in "
                    "(the trust then relies on that), or grant a kind with mfa: {required: false}",
                )
            if kind.source_identity:
                add(
                    ("groups", gname, "grants", i, "role"),
                    f"group {gname!r} (permission set {group.permission_set}) is granted {grant.role}, which "
                    "requires a source identity equal to the caller's IAM user name; an Identity Center session "
                    "has none, and no documented key IAM could bind it to: grant a kind without source_identity "
                    "(CloudTrail still names the person: the switch's caller is their Identity Center session)",
                )


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def _check_console_names(spec: OrganisationSpec, add: Callable[[Path, str], None]) -> None:
    """Console display names (cut to 64 characters) name one role each: the AWS Extend Switch Roles extension
    keeps one section of a name, and the console's role history one entry."""
    seen: dict[str, str] = {}
    for i, account in enumerate(spec.accounts):
        for key in dict.fromkeys(k for k in account.roles if k in spec.roles):
            name = fit_display_name(account.name, key)
            other = seen.setdefault(name, f"{account.name}-{key}")
            if other != f"{account.name}-{key}":
                add(
                    ("accounts", i, "name"),
                    f"the console display name {name!r} of {account.name}-{key} (cut to 64 characters) is also "
                    f"{other}'s: make the names differ nearer their start or end",
                )
    if spec.deployment.mode == "stacksets":
        keys: dict[str, str] = {}
        for key in spec.roles:
            if (other := keys.setdefault(portable_display_key(key), key)) != key:
                add(
                    ("roles", key),
                    f"the StackSets console link names it <account id>-{portable_display_key(key)}, as it names "
                    f"roles.{other}: make the keys differ nearer their start or end",
                )


def _check_duplicates(values: Iterable[str], path: Path, what: str, add: Callable[[Path, str], None]) -> None:
    seen: set[str] = set()
    for k, value in enumerate(values):
        if value in seen:
            add((*path, k), f"{what} {value!r} is listed twice")
        seen.add(value)


def _check_case_duplicates(mapping: Mapping[str, Any], path: Path, what: str, add: Callable[[Path, str], None]) -> None:
    """IAM names (and tag keys) are unique regardless of case: ``Readers`` and ``readers`` collide."""
    seen: dict[str, str] = {}
    for key in mapping:
        other = seen.setdefault(key.lower(), key)
        if other != key:
            add((*path, key), f"{what} {key!r} differs from {other!r} only by case; IAM does not tell them apart")
