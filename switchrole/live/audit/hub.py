"""The hub account against the file: groups, their members and policies, managed policies, users and keys."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from switchrole.iam.compare import difference, same
from switchrole.infra.assembly_reader import ExpectedHub, ExpectedPolicy
from switchrole.live.audit.findings import (
    CONSOLE_WITHOUT_MFA,
    DOCUMENT_DIFFERS,
    EXTRA_MEMBERSHIP,
    EXTRA_POLICY,
    MISSING,
    NOT_IN_FILE,
    STALE_KEY,
    WORKERS,
    AccountResult,
)
from switchrole.live.audit.fixes import document_arg, iam_cmd, q
from switchrole.live.audit.identity_center import audit_permission_sets
from switchrole.live.audit.reading import Where, managed_by_switchrole, pages, read_or_none
from switchrole.model.organisation import HUB_PATH, MANAGED_BY_TAG, Organisation


def audit_hub(
    iam: Any,
    org: Organisation,
    hub: ExpectedHub,
    *,
    now: datetime,
    max_key_age: int,
    result: AccountResult,
    workers: int = WORKERS,
) -> None:
    """Groups, memberships, policies and users of the hub against the file (findings into ``result``)."""
    at = Where(result.name, result.account_id, result.findings)
    live_groups = {g["GroupName"]: g for g in pages(iam, "list_groups", "Groups", PathPrefix=HUB_PATH)}
    for name, path in hub.groups.items():
        if name in live_groups:
            continue
        answer = read_or_none(iam, "get_group", GroupName=name)
        other = answer["Group"] if answer else None
        if other is None:
            fix = [iam_cmd("create-group", "--path", q(path), "--group-name", q(name))]
            fix += [iam_cmd("add-user-to-group", "--group-name", q(name), "--user-name", q(u)) for u in
                    sorted(hub.members.get(name, ()))]  # fmt: skip
            at.add(MISSING, f"group {name}", f"the file has group {name}; the hub has no such group", fix)
        else:
            move = [iam_cmd("update-group", "--group-name", q(name), "--new-path", q(path))]
            at.add(DOCUMENT_DIFFERS, f"group {name}", f"group {name} is at path {other['Path']}, not {path}", move)
            live_groups[name] = other
    for name in sorted(live_groups):
        _audit_group(iam, org, hub, name, at)
    _audit_policies(iam, hub, at)
    if org.hub.identity_center is not None:
        audit_permission_sets(iam, org, hub, at, now=now)
    _audit_users(iam, org, hub, set(live_groups), at, now=now, max_key_age=max_key_age, workers=workers)


def _audit_group(iam: Any, org: Organisation, hub: ExpectedHub, name: str, at: Where) -> None:
    members = {u["UserName"] for u in pages(iam, "get_group", "Users", GroupName=name)}
    attached = {p["PolicyArn"] for p in pages(iam, "list_attached_group_policies", "AttachedPolicies", GroupName=name)}
    inline = set(pages(iam, "list_group_policies", "PolicyNames", GroupName=name))
    expected_members = hub.members.get(name, frozenset())
    expected_policies = {p.arn(hub.account_id) for p in hub.policies.values() if name in p.groups}
    g = q(name)
    if name not in hub.groups:
        fix = [iam_cmd("remove-user-from-group", "--group-name", g, "--user-name", q(u)) for u in sorted(members)]
        fix += [iam_cmd("detach-group-policy", "--group-name", g, "--policy-arn", q(a)) for a in sorted(attached)]
        fix += [iam_cmd("delete-group-policy", "--group-name", g, "--policy-name", q(p)) for p in sorted(inline)]
        at.add(
            NOT_IN_FILE,
            f"group {name}",
            f"group {name} is under switchrole's path {HUB_PATH} but not in {org.source}",
            [*fix, iam_cmd("delete-group", "--group-name", g)],
        )
    for user in sorted(members - expected_members):
        why = "not in the file: left behind, or added by hand" if user not in org.users else "the file does not"
        at.add(
            EXTRA_MEMBERSHIP,
            f"{user} in group {name}",
            f"{user} is a member of switchrole group {name} ({why})",
            [iam_cmd("remove-user-from-group", "--group-name", g, "--user-name", q(user))],
        )
    for user in sorted(expected_members - members):
        at.add(
            MISSING,
            f"{user} in group {name}",
            f"the file puts {user} in group {name}; the hub does not",
            [iam_cmd("add-user-to-group", "--group-name", g, "--user-name", q(user))],
        )
    for arn in sorted(attached - expected_policies):
        at.add(
            EXTRA_POLICY,
            f"group {name}",
            f"managed policy {arn} is attached to group {name}",
            [iam_cmd("detach-group-policy", "--group-name", g, "--policy-arn", q(arn))],
        )
    for arn in sorted(expected_policies - attached if name in hub.groups else set()):
        at.add(
            MISSING,
            f"group {name}",
            f"the file attaches {arn} to group {name}; the hub does not",
            [iam_cmd("attach-group-policy", "--group-name", g, "--policy-arn", q(arn))],
        )
    for policy in sorted(inline):
        at.add(
            EXTRA_POLICY,
            f"group {name}",
            f"inline policy {policy} is on group {name} (switchrole puts none there)",
            [iam_cmd("delete-group-policy", "--group-name", g, "--policy-name", q(policy))],
        )


def _audit_policies(iam: Any, hub: ExpectedHub, at: Where) -> None:
    live = {p["PolicyName"]: p for p in pages(iam, "list_policies", "Policies", Scope="Local", PathPrefix=HUB_PATH)}
    for name, policy in sorted(hub.policies.items()):
        arn = policy.arn(hub.account_id)
        found = live.get(name) or (read_or_none(iam, "get_policy", PolicyArn=arn) or {}).get("Policy")
        if found is None or found["Arn"] != arn:
            fix = [
                iam_cmd("create-policy", "--policy-name", q(name), "--path", q(policy.path), "--policy-document",
                     document_arg(policy.document)),
            ]  # fmt: skip
            fix += [iam_cmd("attach-group-policy", "--group-name", q(g), "--policy-arn", q(arn)) for g in
                    sorted(policy.groups)]  # fmt: skip
            fix += [
                iam_cmd("attach-user-policy", "--user-name", q(u), "--policy-arn", q(arn)) for u in sorted(policy.users)
            ]  # fmt: skip (a user's until: Deny)
            at.add(MISSING, f"policy {name}", f"managed policy {arn} does not exist", fix)
            continue
        version = iam.get_policy_version(PolicyArn=arn, VersionId=found["DefaultVersionId"])["PolicyVersion"]
        if not same(policy.document, version["Document"]):
            at.add(
                DOCUMENT_DIFFERS,
                f"policy {name}",
                f"managed policy {name} differs from the file: {difference(policy.document, version['Document'])}",
                [iam_cmd("create-policy-version", "--policy-arn", q(arn),
                         "--policy-document", document_arg(policy.document), "--set-as-default")],
            )  # fmt: skip
    for name in sorted(set(live) - set(hub.policies)):
        arn = live[name]["Arn"]
        entities = iam.list_entities_for_policy(PolicyArn=arn)
        fix = [iam_cmd("detach-group-policy", "--group-name", q(g["GroupName"]), "--policy-arn", q(arn))
               for g in entities.get("PolicyGroups", [])]  # fmt: skip
        fix += [iam_cmd("detach-user-policy", "--user-name", q(u["UserName"]), "--policy-arn", q(arn))
                for u in entities.get("PolicyUsers", [])]  # fmt: skip
        fix += [iam_cmd("detach-role-policy", "--role-name", q(r["RoleName"]), "--policy-arn", q(arn))
                for r in entities.get("PolicyRoles", [])]  # fmt: skip
        fix += [
            iam_cmd("delete-policy-version", "--policy-arn", q(arn), "--version-id", q(v["VersionId"]))
            for v in pages(iam, "list_policy_versions", "Versions", PolicyArn=arn)
            if not v["IsDefaultVersion"]
        ]
        at.add(
            NOT_IN_FILE,
            f"policy {name}",
            f"managed policy {arn} is under switchrole's path but the file has no such policy",
            [*fix, iam_cmd("delete-policy", "--policy-arn", q(arn))],
        )


def _audit_users(
    iam: Any,
    org: Organisation,
    hub: ExpectedHub,
    switchrole_groups: set[str],
    at: Where,
    *,
    now: datetime,
    max_key_age: int,
    workers: int,
) -> None:
    live = {u["UserName"]: u for u in pages(iam, "list_users", "Users")}
    for name in sorted(hub.users - set(live)):
        groups = [g for g, users in hub.members.items() if name in users]
        fix = [iam_cmd("create-user", "--user-name", q(name), "--tags",
                    q(f"Key={MANAGED_BY_TAG[0]},Value={MANAGED_BY_TAG[1]}"))]  # fmt: skip
        fix += [iam_cmd("add-user-to-group", "--group-name", q(g), "--user-name", q(name)) for g in sorted(groups)]
        fix += [iam_cmd("attach-user-policy", "--user-name", q(name), "--policy-arn", q(p.arn(hub.account_id)))
                for p in hub.policies.values() if name in p.users]  # fmt: skip
        at.add(MISSING, f"user {name}", f"the file has user {name}; the hub has no such user", fix)

    def one(name: str) -> None:
        in_file = name in hub.users
        if in_file or managed_by_switchrole(pages(iam, "list_user_tags", "Tags", UserName=name)):
            own = {p.arn(hub.account_id): p for p in hub.policies.values() if name in p.users} if in_file else {}
            _audit_user(
                iam, org, name, switchrole_groups, at, now=now, max_key_age=max_key_age, in_file=in_file, own=own
            )

    # about eight reads per user: a hub of hundreds of users is read concurrently too (the report sorts findings)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(one, sorted(live)))


def _audit_user(
    iam: Any,
    org: Organisation,
    name: str,
    switchrole_groups: set[str],
    at: Where,
    *,
    now: datetime,
    max_key_age: int,
    in_file: bool,
    own: Mapping[str, ExpectedPolicy] | None = None,
) -> None:
    """``own``: the managed policies the file attaches to this user alone (ARN -> policy: an ``until:`` Deny)."""
    own = own or {}
    u = q(name)
    groups = {g["GroupName"] for g in pages(iam, "list_groups_for_user", "Groups", UserName=name)}
    attached = {p["PolicyArn"] for p in pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name)}
    inline = set(pages(iam, "list_user_policies", "PolicyNames", UserName=name))
    keys = list(pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=name))
    devices = [d["SerialNumber"] for d in pages(iam, "list_mfa_devices", "MFADevices", UserName=name)]
    login = read_or_none(iam, "get_login_profile", UserName=name)
    if not in_file:
        fix = [iam_cmd("delete-access-key", "--user-name", u, "--access-key-id", q(k["AccessKeyId"])) for k in keys]
        fix += [iam_cmd("delete-login-profile", "--user-name", u)] if login else []
        for serial in devices:
            fix.append(iam_cmd("deactivate-mfa-device", "--user-name", u, "--serial-number", q(serial)))
            if ":mfa/" in serial:
                fix.append(iam_cmd("delete-virtual-mfa-device", "--serial-number", q(serial)))
        fix += [iam_cmd("remove-user-from-group", "--group-name", q(g), "--user-name", u) for g in sorted(groups)]
        fix += [iam_cmd("detach-user-policy", "--user-name", u, "--policy-arn", q(a)) for a in sorted(attached)]
        fix += [iam_cmd("delete-user-policy", "--user-name", u, "--policy-name", q(p)) for p in sorted(inline)]
        at.add(
            NOT_IN_FILE,
            f"user {name}",
            f"user {name} is tagged {MANAGED_BY_TAG[0]} but not in {org.source} (retained when it left the file)",
            [*fix, iam_cmd("delete-user", "--user-name", u)],
        )
    expected_groups = set(org.users[name].groups) if name in org.users else set()
    for group in sorted(groups - expected_groups - switchrole_groups):  # switchrole's groups report their members
        at.add(
            EXTRA_MEMBERSHIP,
            f"{name} in group {group}",
            f"switchrole user {name} is a member of group {group}, which the file does not give",
            [iam_cmd("remove-user-from-group", "--group-name", q(group), "--user-name", u)],
        )
    for arn in sorted(set(own) - attached):  # e.g. the Deny that ends the user's switching, detached by hand
        at.add(
            DOCUMENT_DIFFERS,
            f"user {name}",
            f"{own[arn].name}, which the file attaches to {name} (a Deny that ends every switch at its time), "
            "is not attached",
            [iam_cmd("attach-user-policy", "--user-name", u, "--policy-arn", q(arn))],
        )
    for arn in sorted(attached - set(own)):
        at.add(
            EXTRA_POLICY,
            f"user {name}",
            f"managed policy {arn} is attached to switchrole user {name} (switchrole grants only through groups)",
            [iam_cmd("detach-user-policy", "--user-name", u, "--policy-arn", q(arn))],
        )
    for policy in sorted(inline):
        at.add(
            EXTRA_POLICY,
            f"user {name}",
            f"inline policy {policy} is on switchrole user {name}",
            [iam_cmd("delete-user-policy", "--user-name", u, "--policy-name", q(policy))],
        )
    if login is not None and not devices:
        at.add(
            CONSOLE_WITHOUT_MFA,
            f"user {name}",
            f"{name} can sign in to the console with a password and has no MFA device",
            [iam_cmd("delete-login-profile", "--user-name", u)],
        )
    for key in keys:
        if key.get("Status") != "Active":
            continue
        stale = _stale(iam, key, now, max_key_age)
        if stale:
            at.add(
                STALE_KEY,
                f"user {name}",
                f"access key {key['AccessKeyId']}: {stale} (maximum {max_key_age} days)",
                [iam_cmd("update-access-key", "--user-name", u, "--access-key-id", q(key["AccessKeyId"]),
                      "--status", "Inactive")],
            )  # fmt: skip


def _days(now: datetime, then: datetime) -> int:
    return int((now - then).total_seconds() // 86400)


def _stale(iam: Any, key: Mapping[str, Any], now: datetime, max_key_age: int) -> str | None:
    """Why an active key is stale (created, or last used, more than ``max_key_age`` days ago), or None."""
    age = _days(now, key["CreateDate"])
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"].get("LastUsedDate")
    unused = _days(now, used) if used else None
    if age <= max_key_age and (unused is None or unused <= max_key_age):
        return None
    last = f"last used {unused} days ago" if unused is not None else "never used"
    return f"created {age} days ago, {last}"
