"""``switchrole audit``: does AWS still match the accounts file?

``switchrole validate`` proves the file is right; this reads the live IAM state, with read-only calls only
(IAM ``Get*``/``List*``, and STS ``GetCallerIdentity``, ``GetSessionToken`` and ``AssumeRole`` to get in), and
reports every difference from what the file's templates deploy:

- in the hub: members of switchrole's groups the file does not put there (memberships left behind
  included), policies attached to switchrole's groups and users beyond the file's, managed-policy documents
  that differ, switchrole users (tagged) that the file no longer has, console passwords without an MFA
  device, access keys older than the maximum age or unused for that long, and users the file has that
  do not exist;
- in each target account, read through the audit role kind (``audit: true``): roles under switchrole's
  paths that the file does not have, *any* role whose trust admits the hub account or a hub principal
  that switchrole did not create (shadow access), and trust and permission documents that differ.

Every finding carries the AWS CLI commands that would fix it. Accounts are read concurrently (a bounded
pool); an account that cannot be read is reported and the others are still audited.
"""

from __future__ import annotations

import json
import re
import shlex
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from switchrole.config import (
    HUB_PATH,
    MANAGED_BY_TAG,
    PARTITION,
    Organisation,
    RoleKind,
    TargetAccount,
    expired_entries,
    iso,
)
from switchrole.documents import admitted, difference, same
from switchrole.errors import format_path
from switchrole.schema import IAM_NAME_CHARSET
from switchrole.templates import ExpectedHub, ExpectedPolicy, ExpectedRole, ExpectedState, expected_state

EXIT_CLEAN, EXIT_UNREADABLE, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3
WORKERS = 8
DEFAULT_MAX_KEY_AGE = 90  # days

# Finding kinds, most dangerous first: the report is sorted by this order.
SHADOW_TRUST = "shadow-trust"
EXTRA_MEMBERSHIP = "extra-membership"
DOCUMENT_DIFFERS = "document-differs"
EXTRA_POLICY = "extra-policy"
NOT_IN_FILE = "not-in-file"
CONSOLE_WITHOUT_MFA = "console-without-mfa"
STALE_KEY = "stale-access-key"
MISSING = "missing"
EXPIRED_ENTRY = "expired-entry"
KINDS: dict[str, str] = {
    SHADOW_TRUST: "role outside switchrole trusts the hub",
    EXTRA_MEMBERSHIP: "membership the file does not have",
    DOCUMENT_DIFFERS: "document or setting differs from the file",
    EXTRA_POLICY: "policy attached that the file does not have",
    NOT_IN_FILE: "switchrole entity the file does not have",
    CONSOLE_WITHOUT_MFA: "console password without an MFA device",
    STALE_KEY: "access key too old or unused",
    MISSING: "in the file, missing in AWS",
    EXPIRED_ENTRY: "expired entry in file",
}
RANK = {kind: n for n, kind in enumerate(KINDS)}

# Roles `cdk bootstrap --trust <hub>` creates, as docs/onboarding.md prescribes: they trust the hub by design.
# Only the default qualifier, this account and its region, at path "/", trusting the hub account's root and
# nothing else of the hub: a role that borrows the name but admits anything more is shadow trust.
CDK_QUALIFIER = "hnb659fds"
CDK_BOOTSTRAP_ROLE = re.compile(
    rf"cdk-{CDK_QUALIFIER}-(?:deploy|file-publishing|image-publishing|lookup)-role-(\d{{12}})-([a-z0-9-]+)"
)


def is_cdk_bootstrap_role(name: str, path: str, admits: list[str], account: TargetAccount, hub: str) -> bool:
    match = CDK_BOOTSTRAP_ROLE.fullmatch(name)
    return (
        match is not None
        and match.groups() == (account.account_id, account.region)
        and path == "/"
        and admits == [f"arn:{PARTITION}:iam::{hub}:root"]
    )


@dataclass(frozen=True)
class Finding:
    kind: str
    account: str  # account name from the file (the hub's name for the hub)
    account_id: str
    subject: str  # what it is about, e.g. "group readers", "role backdoor"
    detail: str
    fix: tuple[str, ...]  # AWS CLI commands, run in order in ``account_id``

    @property
    def title(self) -> str:
        return KINDS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "account": self.account,
            "account_id": self.account_id,
            "subject": self.subject,
            "detail": self.detail,
            "fix": list(self.fix),
        }


@dataclass
class AccountResult:
    """One account's audit: its findings, or why it could not be read."""

    name: str
    account_id: str
    hub: bool = False
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    acknowledged: list[str] = field(default_factory=list)  # trusts of the hub that are there by design

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.name,
            "account_id": self.account_id,
            "hub": self.hub,
            "read": self.error is None,
            "error": self.error,
            "findings": len(self.findings),
            "acknowledged": self.acknowledged,
        }


@dataclass
class AuditReport:
    results: list[AccountResult]
    max_key_age: int
    auditor: str = ""
    file_findings: list[Finding] = field(default_factory=list)  # about the file itself (expired entries)

    @property
    def findings(self) -> list[Finding]:
        """Most dangerous first; then in account order (hub first) and by subject."""
        order = {r.account_id: n for n, r in enumerate(self.results)}
        every = [f for r in self.results for f in r.findings] + self.file_findings
        return sorted(every, key=lambda f: (RANK[f.kind], order.get(f.account_id, -1), f.subject, f.detail))

    @property
    def unreadable(self) -> list[AccountResult]:
        return [r for r in self.results if r.error is not None]

    @property
    def exit_code(self) -> int:
        """1 when an account could not be read (the audit is incomplete), else 3 on drift, else 0."""
        if self.unreadable:
            return EXIT_UNREADABLE
        return EXIT_DRIFT if self.findings else EXIT_CLEAN

    def to_dict(self) -> dict[str, Any]:
        return {
            "clean": self.exit_code == EXIT_CLEAN,
            "exit_code": self.exit_code,
            "auditor": self.auditor,
            "max_key_age_days": self.max_key_age,
            "findings": [f.to_dict() for f in self.findings],
            "accounts": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)


class AuditFailed(Exception):
    """The audit cannot start (no audit role kind, credentials of another account, no MFA code): one line."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


# --------------------------------------------------------------------------- expired entries in the file


def expired_findings(org: Organisation, now: datetime) -> list[Finding]:
    """Entries whose ``until:`` has passed and that are still in the file: IAM already refuses them (the
    conditions do it), but the file still deploys them and the reader of the file still sees them."""
    findings = []
    for path, until in expired_entries(org, now):
        where = format_path(path)
        if path[0] == "users":
            fix = f"switchrole offboard --user {_q(str(path[1]))} --config {_q(org.source)}"
        else:
            fix = f"remove {where} from {_q(org.source)}"
        findings.append(
            Finding(
                EXPIRED_ENTRY,
                org.source,
                org.hub.account_id,
                where,
                f"expired at {iso(until)} but still in {org.source}",
                (f"{fix}; review with switchrole diff, then npx cdk deploy --all",),
            )
        )
    return findings


# --------------------------------------------------------------------------- expected state


def expected(org: Organisation) -> ExpectedState:
    """Synthesize the file (one stack per account, whatever the deployment mode: the roles and their documents
    are the same) into a temporary folder and read what a deploy leaves, intrinsics resolved."""
    from switchrole.assembly import synth

    per_account = replace(org, deployment=replace(org.deployment, mode="stacks"))
    with tempfile.TemporaryDirectory(prefix="switchrole-audit-") as scratch:
        out = Path(scratch) / "cdk.out"
        synth(per_account, out, checks=False)
        return expected_state(out, org.hub.account_id, org.hub.region)


# --------------------------------------------------------------------------- fix commands


def _q(value: str) -> str:
    return shlex.quote(value)


def _doc(document: Mapping[str, Any]) -> str:
    return _q(json.dumps(document, separators=(",", ":")))


def _iam(*args: str) -> str:
    return "aws iam " + " ".join(args)


def delete_role_commands(
    name: str, managed: Iterable[str], inline: Iterable[str], profiles: Iterable[str]
) -> list[str]:
    commands = [_iam("detach-role-policy", "--role-name", _q(name), "--policy-arn", _q(a)) for a in sorted(managed)]
    commands += [_iam("delete-role-policy", "--role-name", _q(name), "--policy-name", _q(p)) for p in sorted(inline)]
    commands += [
        _iam("remove-role-from-instance-profile", "--instance-profile-name", _q(p), "--role-name", _q(name))
        for p in sorted(profiles)
    ]
    return [*commands, _iam("delete-role", "--role-name", _q(name))]


def create_role_commands(role: ExpectedRole) -> list[str]:
    create = [
        "create-role", "--role-name", _q(role.name), "--path", _q(role.path),
        "--assume-role-policy-document", _doc(role.trust), "--max-session-duration", str(role.max_session_duration),
        "--tags", _q(f"Key={MANAGED_BY_TAG[0]},Value={MANAGED_BY_TAG[1]}"),
    ]  # fmt: skip
    if role.boundary:
        create += ["--permissions-boundary", _q(role.boundary)]
    commands = [_iam(*create)]
    commands += [
        _iam("attach-role-policy", "--role-name", _q(role.name), "--policy-arn", _q(a))
        for a in sorted(role.managed_policy_arns)
    ]
    commands += [
        _iam("put-role-policy", "--role-name", _q(role.name), "--policy-name", _q(n), "--policy-document", _doc(d))
        for n, d in sorted(role.inline_policies.items())
    ]
    return commands


# --------------------------------------------------------------------------- reading


def pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    """Every item of a listing, across pages (IAM answers 100 at a time)."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(key, [])
    else:
        yield from getattr(client, operation)(**params).get(key, [])


def _missing(iam: Any, operation: str, **params: Any) -> Any:
    """IAM's answer to ``operation``, or None when IAM says there is no such entity."""
    try:
        return getattr(iam, operation)(**params)
    except iam.exceptions.NoSuchEntityException:
        return None


@dataclass
class _Where:
    """Where findings are made: the account, and the list they go to."""

    name: str
    account_id: str
    findings: list[Finding]

    def add(self, kind: str, subject: str, detail: str, fix: Iterable[str]) -> None:
        self.findings.append(Finding(kind, self.name, self.account_id, subject, detail, tuple(fix)))


# --------------------------------------------------------------------------- the hub


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
    at = _Where(result.name, result.account_id, result.findings)
    live_groups = {g["GroupName"]: g for g in pages(iam, "list_groups", "Groups", PathPrefix=HUB_PATH)}
    for name, path in hub.groups.items():
        if name in live_groups:
            continue
        answer = _missing(iam, "get_group", GroupName=name)
        other = answer["Group"] if answer else None
        if other is None:
            fix = [_iam("create-group", "--path", _q(path), "--group-name", _q(name))]
            fix += [_iam("add-user-to-group", "--group-name", _q(name), "--user-name", _q(u)) for u in
                    sorted(hub.members.get(name, ()))]  # fmt: skip
            at.add(MISSING, f"group {name}", f"the file has group {name}; the hub has no such group", fix)
        else:
            at.add(DOCUMENT_DIFFERS, f"group {name}", f"group {name} is at path {other['Path']}, not {path}", [])
            live_groups[name] = other
    for name in sorted(live_groups):
        _audit_group(iam, org, hub, name, at)
    _audit_policies(iam, hub, at)
    _audit_users(iam, org, hub, set(live_groups), at, now=now, max_key_age=max_key_age, workers=workers)


def _audit_group(iam: Any, org: Organisation, hub: ExpectedHub, name: str, at: _Where) -> None:
    members = {u["UserName"] for u in pages(iam, "get_group", "Users", GroupName=name)}
    attached = {p["PolicyArn"] for p in pages(iam, "list_attached_group_policies", "AttachedPolicies", GroupName=name)}
    inline = set(pages(iam, "list_group_policies", "PolicyNames", GroupName=name))
    expected_members = hub.members.get(name, frozenset())
    expected_policies = {p.arn(hub.account_id) for p in hub.policies.values() if name in p.groups}
    g = _q(name)
    if name not in hub.groups:
        fix = [_iam("remove-user-from-group", "--group-name", g, "--user-name", _q(u)) for u in sorted(members)]
        fix += [_iam("detach-group-policy", "--group-name", g, "--policy-arn", _q(a)) for a in sorted(attached)]
        fix += [_iam("delete-group-policy", "--group-name", g, "--policy-name", _q(p)) for p in sorted(inline)]
        at.add(
            NOT_IN_FILE,
            f"group {name}",
            f"group {name} is under switchrole's path {HUB_PATH} but not in {org.source}",
            [*fix, _iam("delete-group", "--group-name", g)],
        )
    for user in sorted(members - expected_members):
        why = "not in the file: left behind, or added by hand" if user not in org.users else "the file does not"
        at.add(
            EXTRA_MEMBERSHIP,
            f"{user} in group {name}",
            f"{user} is a member of switchrole group {name} ({why})",
            [_iam("remove-user-from-group", "--group-name", g, "--user-name", _q(user))],
        )
    for user in sorted(expected_members - members):
        at.add(
            MISSING,
            f"{user} in group {name}",
            f"the file puts {user} in group {name}; the hub does not",
            [_iam("add-user-to-group", "--group-name", g, "--user-name", _q(user))],
        )
    for arn in sorted(attached - expected_policies):
        at.add(
            EXTRA_POLICY,
            f"group {name}",
            f"managed policy {arn} is attached to group {name}",
            [_iam("detach-group-policy", "--group-name", g, "--policy-arn", _q(arn))],
        )
    for arn in sorted(expected_policies - attached if name in hub.groups else set()):
        at.add(
            MISSING,
            f"group {name}",
            f"the file attaches {arn} to group {name}; the hub does not",
            [_iam("attach-group-policy", "--group-name", g, "--policy-arn", _q(arn))],
        )
    for policy in sorted(inline):
        at.add(
            EXTRA_POLICY,
            f"group {name}",
            f"inline policy {policy} is on group {name} (switchrole puts none there)",
            [_iam("delete-group-policy", "--group-name", g, "--policy-name", _q(policy))],
        )


def _audit_policies(iam: Any, hub: ExpectedHub, at: _Where) -> None:
    live = {p["PolicyName"]: p for p in pages(iam, "list_policies", "Policies", Scope="Local", PathPrefix=HUB_PATH)}
    for name, policy in sorted(hub.policies.items()):
        arn = policy.arn(hub.account_id)
        found = live.get(name) or (_missing(iam, "get_policy", PolicyArn=arn) or {}).get("Policy")
        if found is None or found["Arn"] != arn:
            fix = [
                _iam("create-policy", "--policy-name", _q(name), "--path", _q(policy.path), "--policy-document",
                     _doc(policy.document)),
            ]  # fmt: skip
            fix += [_iam("attach-group-policy", "--group-name", _q(g), "--policy-arn", _q(arn)) for g in
                    sorted(policy.groups)]  # fmt: skip
            at.add(MISSING, f"policy {name}", f"managed policy {arn} does not exist", fix)
            continue
        version = iam.get_policy_version(PolicyArn=arn, VersionId=found["DefaultVersionId"])["PolicyVersion"]
        if not same(policy.document, version["Document"]):
            at.add(
                DOCUMENT_DIFFERS,
                f"policy {name}",
                f"managed policy {name} differs from the file: {difference(policy.document, version['Document'])}",
                [_iam("create-policy-version", "--policy-arn", _q(arn), "--policy-document", _doc(policy.document),
                      "--set-as-default")],
            )  # fmt: skip
    for name in sorted(set(live) - set(hub.policies)):
        arn = live[name]["Arn"]
        entities = iam.list_entities_for_policy(PolicyArn=arn)
        fix = [_iam("detach-group-policy", "--group-name", _q(g["GroupName"]), "--policy-arn", _q(arn))
               for g in entities.get("PolicyGroups", [])]  # fmt: skip
        fix += [_iam("detach-user-policy", "--user-name", _q(u["UserName"]), "--policy-arn", _q(arn))
                for u in entities.get("PolicyUsers", [])]  # fmt: skip
        fix += [_iam("detach-role-policy", "--role-name", _q(r["RoleName"]), "--policy-arn", _q(arn))
                for r in entities.get("PolicyRoles", [])]  # fmt: skip
        fix += [
            _iam("delete-policy-version", "--policy-arn", _q(arn), "--version-id", _q(v["VersionId"]))
            for v in pages(iam, "list_policy_versions", "Versions", PolicyArn=arn)
            if not v["IsDefaultVersion"]
        ]
        at.add(
            NOT_IN_FILE,
            f"policy {name}",
            f"managed policy {arn} is under switchrole's path but the file has no such policy",
            [*fix, _iam("delete-policy", "--policy-arn", _q(arn))],
        )


def _tagged(tags: Iterable[Mapping[str, str]]) -> bool:
    return any(t["Key"] == MANAGED_BY_TAG[0] and t["Value"] == MANAGED_BY_TAG[1] for t in tags)


def _audit_users(
    iam: Any,
    org: Organisation,
    hub: ExpectedHub,
    switchrole_groups: set[str],
    at: _Where,
    *,
    now: datetime,
    max_key_age: int,
    workers: int,
) -> None:
    live = {u["UserName"]: u for u in pages(iam, "list_users", "Users")}
    for name in sorted(hub.users - set(live)):
        groups = [g for g, users in hub.members.items() if name in users]
        fix = [_iam("create-user", "--user-name", _q(name), "--tags",
                    _q(f"Key={MANAGED_BY_TAG[0]},Value={MANAGED_BY_TAG[1]}"))]  # fmt: skip
        fix += [_iam("add-user-to-group", "--group-name", _q(g), "--user-name", _q(name)) for g in sorted(groups)]
        at.add(MISSING, f"user {name}", f"the file has user {name}; the hub has no such user", fix)

    def one(name: str) -> None:
        in_file = name in hub.users
        if in_file or _tagged(pages(iam, "list_user_tags", "Tags", UserName=name)):
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
    at: _Where,
    *,
    now: datetime,
    max_key_age: int,
    in_file: bool,
    own: Mapping[str, ExpectedPolicy] | None = None,
) -> None:
    """``own``: the managed policies the file attaches to this user alone (ARN -> policy: an ``until:`` Deny)."""
    own = own or {}
    u = _q(name)
    groups = {g["GroupName"] for g in pages(iam, "list_groups_for_user", "Groups", UserName=name)}
    attached = {p["PolicyArn"] for p in pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name)}
    inline = set(pages(iam, "list_user_policies", "PolicyNames", UserName=name))
    keys = list(pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=name))
    devices = [d["SerialNumber"] for d in pages(iam, "list_mfa_devices", "MFADevices", UserName=name)]
    login = _missing(iam, "get_login_profile", UserName=name)
    if not in_file:
        fix = [_iam("delete-access-key", "--user-name", u, "--access-key-id", _q(k["AccessKeyId"])) for k in keys]
        fix += [_iam("delete-login-profile", "--user-name", u)] if login else []
        for serial in devices:
            fix.append(_iam("deactivate-mfa-device", "--user-name", u, "--serial-number", _q(serial)))
            if ":mfa/" in serial:
                fix.append(_iam("delete-virtual-mfa-device", "--serial-number", _q(serial)))
        fix += [_iam("remove-user-from-group", "--group-name", _q(g), "--user-name", u) for g in sorted(groups)]
        fix += [_iam("detach-user-policy", "--user-name", u, "--policy-arn", _q(a)) for a in sorted(attached)]
        fix += [_iam("delete-user-policy", "--user-name", u, "--policy-name", _q(p)) for p in sorted(inline)]
        at.add(
            NOT_IN_FILE,
            f"user {name}",
            f"user {name} is tagged {MANAGED_BY_TAG[0]} but not in {org.source} (retained when it left the file)",
            [*fix, _iam("delete-user", "--user-name", u)],
        )
    expected_groups = set(org.users[name].groups) if name in org.users else set()
    for group in sorted(groups - expected_groups - switchrole_groups):  # switchrole's groups report their members
        at.add(
            EXTRA_MEMBERSHIP,
            f"{name} in group {group}",
            f"switchrole user {name} is a member of group {group}, which the file does not give",
            [_iam("remove-user-from-group", "--group-name", _q(group), "--user-name", u)],
        )
    for arn in sorted(set(own) - attached):  # e.g. the Deny that ends the user's switching, detached by hand
        at.add(
            DOCUMENT_DIFFERS,
            f"user {name}",
            f"{own[arn].name}, which the file attaches to {name} (a Deny that ends every switch at its time), "
            "is not attached",
            [_iam("attach-user-policy", "--user-name", u, "--policy-arn", _q(arn))],
        )
    for arn in sorted(attached - set(own)):
        at.add(
            EXTRA_POLICY,
            f"user {name}",
            f"managed policy {arn} is attached to switchrole user {name} (switchrole grants only through groups)",
            [_iam("detach-user-policy", "--user-name", u, "--policy-arn", _q(arn))],
        )
    for policy in sorted(inline):
        at.add(
            EXTRA_POLICY,
            f"user {name}",
            f"inline policy {policy} is on switchrole user {name}",
            [_iam("delete-user-policy", "--user-name", u, "--policy-name", _q(policy))],
        )
    if login is not None and not devices:
        at.add(
            CONSOLE_WITHOUT_MFA,
            f"user {name}",
            f"{name} can sign in to the console with a password and has no MFA device",
            [_iam("delete-login-profile", "--user-name", u)],
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
                [_iam("update-access-key", "--user-name", u, "--access-key-id", _q(key["AccessKeyId"]),
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


# --------------------------------------------------------------------------- a target account


def audit_account(
    iam: Any,
    org: Organisation,
    account: TargetAccount,
    roles: Mapping[str, ExpectedRole],
    result: AccountResult,
) -> None:
    """Every role of the account: switchrole's against the file, and anyone's trust of the hub."""
    at = _Where(result.name, result.account_id, result.findings)
    hub = org.hub.account_id
    paths = {kind.path for kind in org.role_kinds.values()} - {"/"}
    live = {r["RoleName"]: r for r in pages(iam, "list_roles", "Roles")}
    for name, role in sorted(roles.items()):
        if name not in live:
            at.add(MISSING, f"role {name}", f"role {role.path}{name} does not exist", create_role_commands(role))
        else:
            _audit_role(iam, role, at)
    for name in sorted(set(live) - set(roles)):
        summary = live[name]
        trust = (
            summary.get("AssumeRolePolicyDocument") or iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        )
        admits = admitted(trust, hub)
        if is_cdk_bootstrap_role(name, summary["Path"], admits, account, hub):
            result.acknowledged.append(f"role {name} (cdk bootstrap --trust {hub})")
            continue
        tagged = _tagged(pages(iam, "list_role_tags", "Tags", RoleName=name))
        if not admits and summary["Path"] not in paths and not tagged:
            continue
        fix = delete_role_commands(
            name,
            (p["PolicyArn"] for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)),
            pages(iam, "list_role_policies", "PolicyNames", RoleName=name),
            (p["InstanceProfileName"] for p in
             pages(iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=name)),
        )  # fmt: skip
        note = f" (tagged {MANAGED_BY_TAG[0]}: left behind)" if tagged else ""
        if admits:
            at.add(
                SHADOW_TRUST,
                f"role {summary['Path']}{name}",
                f"its trust admits {', '.join(admits)} of the hub; the file has no such role{note}",
                fix,
            )
        else:
            at.add(
                NOT_IN_FILE,
                f"role {summary['Path']}{name}",
                f"role under switchrole's path, or tagged as switchrole's, that the file does not have{note}",
                fix,
            )


def _audit_role(iam: Any, role: ExpectedRole, at: _Where) -> None:
    live = iam.get_role(RoleName=role.name)["Role"]
    name, r = role.name, _q(role.name)
    subject = f"role {role.path}{name}"
    if live["Path"] != role.path:
        at.add(
            DOCUMENT_DIFFERS,
            subject,
            f"role {name} is at path {live['Path']}: its ARN is not the one the hub grants and trusts name",
            [*delete_role_commands(name, [], [], []), *create_role_commands(role)],
        )
        return
    if not same(role.trust, live["AssumeRolePolicyDocument"]):
        at.add(
            DOCUMENT_DIFFERS,
            subject,
            f"trust policy differs from the file: {difference(role.trust, live['AssumeRolePolicyDocument'])}",
            [_iam("update-assume-role-policy", "--role-name", r, "--policy-document", _doc(role.trust))],
        )
    boundary = (live.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if boundary != role.boundary:
        fix = (
            _iam("put-role-permissions-boundary", "--role-name", r, "--permissions-boundary", _q(role.boundary))
            if role.boundary
            else _iam("delete-role-permissions-boundary", "--role-name", r)
        )
        at.add(DOCUMENT_DIFFERS, subject, f"permissions boundary is {boundary or 'none'}, not {role.boundary}", [fix])
    if int(live.get("MaxSessionDuration", 3600)) != role.max_session_duration:
        at.add(
            DOCUMENT_DIFFERS,
            subject,
            f"maximum session {live.get('MaxSessionDuration')} s, not {role.max_session_duration} s",
            [_iam("update-role", "--role-name", r, "--max-session-duration", str(role.max_session_duration))],
        )
    attached = {p["PolicyArn"] for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)}
    for arn in sorted(attached - role.managed_policy_arns):
        at.add(
            EXTRA_POLICY,
            subject,
            f"managed policy {arn} is attached",
            [_iam("detach-role-policy", "--role-name", r, "--policy-arn", _q(arn))],
        )
    for arn in sorted(role.managed_policy_arns - attached):
        at.add(
            MISSING,
            subject,
            f"the file attaches {arn}; the role does not have it",
            [_iam("attach-role-policy", "--role-name", r, "--policy-arn", _q(arn))],
        )
    inline = set(pages(iam, "list_role_policies", "PolicyNames", RoleName=name))
    for policy in sorted(inline - set(role.inline_policies)):
        at.add(
            EXTRA_POLICY,
            subject,
            f"inline policy {policy} is on the role",
            [_iam("delete-role-policy", "--role-name", r, "--policy-name", _q(policy))],
        )
    for policy, document in sorted(role.inline_policies.items()):
        put = _iam(
            "put-role-policy", "--role-name", r, "--policy-name", _q(policy), "--policy-document", _doc(document)
        )
        if policy not in inline:
            at.add(MISSING, subject, f"the file's inline policy {policy} is not on the role", [put])
            continue
        live_document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        if not same(document, live_document):
            at.add(
                DOCUMENT_DIFFERS,
                subject,
                f"inline policy {policy} differs from the file: {difference(document, live_document)}",
                [put],
            )


# --------------------------------------------------------------------------- running it


def session_name(caller_arn: str) -> str:
    """The auditor's name as the role session name (CloudTrail shows who audited)."""
    name = re.sub(rf"[^{IAM_NAME_CHARSET}]", "-", caller_arn.rsplit("/", 1)[-1])[:64]
    return name if len(name) >= 2 else "switchrole-audit"


def assume_params(kind: RoleKind, account: TargetAccount, caller_arn: str) -> dict[str, Any]:
    """AssumeRole's parameters for the audit role, as `switchrole smoke` would pass them."""
    from switchrole.smoke import assume_role_params

    params = assume_role_params(kind.arn(account.account_id), session_name(caller_arn), None, kind.external_id)
    if kind.source_identity:
        params["SourceIdentity"] = caller_arn.rsplit("/", 1)[-1]
    return params


@dataclass(frozen=True)
class Auditor:
    """The hub session the audit reads with (an MFA session when one is needed) and how to reach AWS."""

    session: boto3.Session
    caller_arn: str
    endpoint_url: str | None = None

    def client(self, service: str, session: boto3.Session | None = None) -> Any:
        from switchrole.smoke import RETRIES

        source = session or self.session
        return source.client(
            service, region_name=source.region_name or "us-east-1", endpoint_url=self.endpoint_url, config=RETRIES
        )


def connect(
    org: Organisation,
    source: boto3.Session,
    *,
    mfa_serial: str | None,
    token: Callable[[], str | None],
    cache: Any,
    endpoint_url: str | None = None,
) -> Auditor:
    """Who audits, and with what: the source credentials must be a hub principal. An MFA session is opened
    (one code, cached like `switchrole assume`'s) when ``mfa_serial`` is given, when the audit role kind needs
    MFA, or when the caller is a file user whose groups carry the hub's MFA policy (which denies IAM reads
    without MFA); the hub reads and every AssumeRole then come from that session."""
    from switchrole.sessions import mfa_session
    from switchrole.smoke import RETRIES, SmokeRequest, classify

    step, caller = "GetCallerIdentity", ""
    try:
        sts = source.client(
            "sts", region_name=source.region_name or org.hub.region, endpoint_url=endpoint_url, config=RETRIES
        )
        caller = str(sts.get_caller_identity()["Arn"])
        if caller.split(":")[4] != org.hub.account_id:
            raise AuditFailed(f"the credentials are {caller}, not a principal of the hub account {org.hub.account_id}")
        kind = org.audit_role_kind
        user = caller.rsplit("/", 1)[-1] if ":user/" in caller else None
        needs = (
            mfa_serial is not None
            or (kind is not None and kind.mfa_required)
            or (user is not None and user in org.users and org.user_requires_mfa(user))
        )
        serial = mfa_serial or (org.hub.mfa_serial(user) if user else None)
        if not needs or serial is None:  # a role session (SSO, a pipeline) brings its own MFA, or needs none
            return Auditor(source, caller, endpoint_url)
        step = "GetSessionToken"
        opened = mfa_session(
            source,
            serial=serial,
            token=token,
            cache=cache,
            max_age=kind.mfa_max_age_seconds if kind is not None and kind.mfa_required else None,
            endpoint_url=endpoint_url,
            client_config=RETRIES,
        )
    except AuditFailed:
        raise
    except Exception as exc:
        failure = classify(exc, step, SmokeRequest(role_arn="", mfa_required=True), caller, None, True)
        raise AuditFailed(failure.message, failure.exit_code) from None
    return Auditor(opened.session, caller, endpoint_url)


def _failure(exc: Exception, step: str, role_arn: str = "") -> str:
    """One line for an account that could not be read (never an AWS answer's body)."""
    from switchrole.smoke import SmokeFailed, SmokeRequest, classify

    try:
        failure = classify(exc, step, SmokeRequest(role_arn=role_arn or "-"), "", None, False)
    except Exception as other:  # classify re-raises what it does not know
        return f"{step}: {type(other).__name__}"
    return failure.message if isinstance(failure, SmokeFailed) else str(failure)


def run(
    org: Organisation,
    auditor: Auditor,
    state: ExpectedState,
    *,
    accounts: Sequence[TargetAccount] | None = None,
    max_key_age: int = DEFAULT_MAX_KEY_AGE,
    now: datetime | None = None,
    workers: int = WORKERS,
    on_done: Callable[[AccountResult], None] | None = None,
) -> AuditReport:
    """Audit the hub and ``accounts`` (default: every target account) concurrently, at most ``workers`` at once."""
    now = now or datetime.now(UTC)
    targets = list(org.accounts if accounts is None else accounts)
    kind = org.audit_role_kind
    sts = auditor.client("sts")

    def hub() -> AccountResult:
        result = AccountResult(org.hub.name, org.hub.account_id, hub=True)
        try:
            iam = auditor.client("iam")
            audit_hub(iam, org, state.hub, now=now, max_key_age=max_key_age, result=result, workers=workers)
        except Exception as exc:
            result.error, result.findings = _failure(exc, "hub IAM read"), []
        return result

    def target(account: TargetAccount) -> AccountResult:
        result = AccountResult(account.name, account.account_id)
        if kind is None or kind.key not in account.role_keys:
            what = f"no {kind.key} role (the audit role kind)" if kind else "no audit role kind"
            result.error = f"{account.name} has {what} in {org.source}; it cannot be read"
            return result
        step, role_arn = "AssumeRole", kind.arn(account.account_id)
        try:
            answer = sts.assume_role(**assume_params(kind, account, auditor.caller_arn))["Credentials"]
            session = boto3.Session(
                answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"], region_name=account.region
            )
            del answer
            step = f"IAM read in {account.name}"
            roles = state.roles.get(account.account_id, {})
            audit_account(auditor.client("iam", session), org, account, roles, result)
        except Exception as exc:
            result.error, result.findings = _failure(exc, step, role_arn), []
        return result

    def done(result: AccountResult) -> AccountResult:
        if on_done is not None:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets) + 1))) as pool:
        hub_future = pool.submit(lambda: done(hub()))
        results = list(pool.map(lambda a: done(target(a)), targets))
        results.insert(0, hub_future.result())
    return AuditReport(results, max_key_age, auditor.caller_arn, expired_findings(org, now))
