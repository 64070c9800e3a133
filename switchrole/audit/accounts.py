"""A target account against the file: switchrole's roles, and any role that trusts the hub (shadow access)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from switchrole.audit.findings import DOCUMENT_DIFFERS, EXTRA_POLICY, MISSING, NOT_IN_FILE, SHADOW_TRUST, AccountResult
from switchrole.audit.fixes import create_role_commands, delete_role_commands, document_arg, iam_cmd, q
from switchrole.audit.reading import Where, managed_by_switchrole, pages
from switchrole.config import MANAGED_BY_TAG, PARTITION, Organisation, TargetAccount
from switchrole.documents import admitted, difference, same
from switchrole.templates import ExpectedRole

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


def audit_account(
    iam: Any,
    org: Organisation,
    account: TargetAccount,
    roles: Mapping[str, ExpectedRole],
    result: AccountResult,
) -> None:
    """Every role of the account: switchrole's against the file, and anyone's trust of the hub."""
    at = Where(result.name, result.account_id, result.findings)
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
        tagged = managed_by_switchrole(pages(iam, "list_role_tags", "Tags", RoleName=name))
        if not admits and summary["Path"] not in paths and not tagged:
            continue
        fix = _delete_live_role(iam, name)
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


def _delete_live_role(iam: Any, name: str) -> list[str]:
    """The commands that delete role ``name`` as it is now (its policies and instance profiles first)."""
    return delete_role_commands(
        name,
        (p["PolicyArn"] for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)),
        pages(iam, "list_role_policies", "PolicyNames", RoleName=name),
        (
            p["InstanceProfileName"]
            for p in pages(iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=name)
        ),
    )


def _audit_role(iam: Any, role: ExpectedRole, at: Where) -> None:
    live = iam.get_role(RoleName=role.name)["Role"]
    name, r = role.name, q(role.name)
    subject = f"role {role.path}{name}"
    if live["Path"] != role.path:
        at.add(
            DOCUMENT_DIFFERS,
            subject,
            f"role {name} is at path {live['Path']}, not {role.path}: the hub's grants name another ARN",
            [*_delete_live_role(iam, name), *create_role_commands(role)],
        )
        return
    if not same(role.trust, live["AssumeRolePolicyDocument"]):
        at.add(
            DOCUMENT_DIFFERS,
            subject,
            f"trust policy differs from the file: {difference(role.trust, live['AssumeRolePolicyDocument'])}",
            [iam_cmd("update-assume-role-policy", "--role-name", r, "--policy-document", document_arg(role.trust))],
        )
    boundary = (live.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if boundary != role.boundary:
        fix = (
            iam_cmd("put-role-permissions-boundary", "--role-name", r, "--permissions-boundary", q(role.boundary))
            if role.boundary
            else iam_cmd("delete-role-permissions-boundary", "--role-name", r)
        )
        at.add(DOCUMENT_DIFFERS, subject, f"permissions boundary is {boundary or 'none'}, not {role.boundary}", [fix])
    if int(live.get("MaxSessionDuration", 3600)) != role.max_session_duration:
        at.add(
            DOCUMENT_DIFFERS,
            subject,
            f"maximum session {live.get('MaxSessionDuration')} s, not {role.max_session_duration} s",
            [iam_cmd("update-role", "--role-name", r, "--max-session-duration", str(role.max_session_duration))],
        )
    attached = {p["PolicyArn"] for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)}
    for arn in sorted(attached - role.managed_policy_arns):
        at.add(
            EXTRA_POLICY,
            subject,
            f"managed policy {arn} is attached",
            [iam_cmd("detach-role-policy", "--role-name", r, "--policy-arn", q(arn))],
        )
    for arn in sorted(role.managed_policy_arns - attached):
        at.add(
            MISSING,
            subject,
            f"the file attaches {arn}; the role does not have it",
            [iam_cmd("attach-role-policy", "--role-name", r, "--policy-arn", q(arn))],
        )
    inline = set(pages(iam, "list_role_policies", "PolicyNames", RoleName=name))
    for policy in sorted(inline - set(role.inline_policies)):
        at.add(
            EXTRA_POLICY,
            subject,
            f"inline policy {policy} is on the role",
            [iam_cmd("delete-role-policy", "--role-name", r, "--policy-name", q(policy))],
        )
    for policy, document in sorted(role.inline_policies.items()):
        put = iam_cmd(
            "put-role-policy",
            "--role-name",
            r,
            "--policy-name",
            q(policy),
            "--policy-document",
            document_arg(document),
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
