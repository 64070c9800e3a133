"""A target account against the file: switchrole's roles, and every role switchrole's can reach (doors)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from switchrole.iam.bootstrap_policies import BOOTSTRAP_POLICIES
from switchrole.iam.compare import admitted, allows_assume_role, difference, same
from switchrole.infra.assembly_reader import ExpectedRole
from switchrole.infra.bootstrap import DEPLOYER_ROLES, QUALIFIER, allowed_actions, trust_document
from switchrole.live.audit.findings import (
    DOCUMENT_DIFFERS,
    EXTRA_POLICY,
    MISSING,
    NOT_IN_FILE,
    REACHABLE,
    SHADOW_TRUST,
    AccountResult,
)
from switchrole.live.audit.fixes import create_role_commands, delete_role_commands, document_arg, iam_cmd, q
from switchrole.live.audit.reading import Where, managed_by_switchrole, pages
from switchrole.model.organisation import MANAGED_BY_TAG, PARTITION, Organisation, TargetAccount

# The bootstrap roles switchrole's template (switchrole.infra.bootstrap) creates: named like the CDK's, trusting only
# the account's own named deployer roles. Acknowledged (no finding) only as that template makes them: the same
# trust, no policy beyond the CDK's (bootstrap_policies). A bootstrap role that trusts the hub (`cdk bootstrap
# --trust`, the CDK's default template) is the door switchrole closes: every hub principal allowed
# sts:AssumeRole deploys here.
CDK_BOOTSTRAP_ROLE = re.compile(
    rf"cdk-{QUALIFIER}-(deploy|file-publishing|image-publishing|lookup)-role-(\d{{12}})-([a-z0-9-]+)"
)


def bootstrap_role_kind(name: str, account: TargetAccount) -> str | None:
    """deploy, lookup, file-publishing or image-publishing: a CDK bootstrap role of this account and region."""
    match = CDK_BOOTSTRAP_ROLE.fullmatch(name)
    return match.group(1) if match and match.groups()[1:] == (account.account_id, account.region) else None


def bootstrap_trust(account_id: str) -> dict[str, Any]:
    """switchrole's bootstrap trust as IAM shows it in ``account_id`` (the template's Fn::Sub resolved)."""
    document = trust_document()
    condition = document["Statement"][0]["Condition"]
    condition["ArnEquals"]["aws:PrincipalArn"] = [f"arn:{PARTITION}:iam::{account_id}:role/{n}" for n in DEPLOYER_ROLES]
    document["Statement"][0]["Principal"] = {"AWS": f"arn:{PARTITION}:iam::{account_id}:root"}
    return document


def audit_account(
    iam: Any,
    org: Organisation,
    account: TargetAccount,
    roles: Mapping[str, ExpectedRole],
    result: AccountResult,
) -> None:
    """Every role of the account: switchrole's against the file, then every role anything of switchrole's can
    reach (:func:`_reachable`)."""
    at = Where(result.name, result.account_id, result.findings)
    live = {r["RoleName"]: r for r in pages(iam, "list_roles", "Roles")}
    for name, role in sorted(roles.items()):
        if name not in live:
            at.add(MISSING, f"role {name}", f"role {role.path}{name} does not exist", create_role_commands(role))
        else:
            _audit_role(iam, role, at)
    _reachable(iam, org, account, roles, live, at, result)


def _trust(iam: Any, summary: Mapping[str, Any]) -> Any:
    return (
        summary.get("AssumeRolePolicyDocument")
        or iam.get_role(RoleName=summary["RoleName"])["Role"]["AssumeRolePolicyDocument"]
    )


def _reachable(
    iam: Any,
    org: Organisation,
    account: TargetAccount,
    roles: Mapping[str, ExpectedRole],
    live: Mapping[str, Any],
    at: Where,
    result: AccountResult,
) -> None:
    """Reachability, not only direct trust: starting from the hub (any of its principals), switchrole's roles
    here and the acknowledged bootstrap roles, every role whose trust admits one of them, to a fixed point. A
    role trusting another role here needs no identity-policy Allow (same-account trust naming a role ARN is
    enough), and a role trusting this account's root admits whichever of them may call sts:AssumeRole: each is
    a door around the file, reported with the chain that reaches it."""
    hub, here = org.hub.account_id, account.account_id
    paths = {kind.path for kind in org.role_kinds.values()} - {"/"}
    reached: dict[str, str] = {live[n]["Arn"]: f"switchrole's role {n}" for n in roles if n in live}
    pending = sorted(set(live) - set(roles))
    trusts = {name: _trust(iam, live[name]) for name in pending}  # read once, used by every pass below
    tags: dict[str, bool] = {}
    assumers: list[str] = []  # reached roles that may call sts:AssumeRole: read only once a trust needs them
    unread = list(reached)

    def tagged(name: str) -> bool:
        if name not in tags:
            tags[name] = managed_by_switchrole(pages(iam, "list_role_tags", "Tags", RoleName=name))
        return tags[name]

    def may_assume() -> list[str]:
        while unread:
            arn = unread.pop(0)
            if _may_assume_roles(iam, arn.rsplit("/", 1)[-1]):
                assumers.append(arn)
        return assumers

    ours = bootstrap_trust(here)
    for name in list(pending):
        kind = bootstrap_role_kind(name, account)
        if kind is None:
            continue
        summary = live[name]
        extra = _bootstrap_extras(iam, name, kind, account)
        admits_hub = admitted(trusts[name], hub)
        if summary["Path"] == "/" and same(ours, trusts[name]) and not extra:
            result.acknowledged.append(f"role {name} (switchrole bootstrap: its own deployer roles only)")
            reached[summary["Arn"]] = f"bootstrap role {name}"
            pending.remove(name)
        elif admits_hub:
            at.add(
                SHADOW_TRUST,
                f"role {name}",
                f"CDK bootstrap role trusts {', '.join(admits_hub)} of the hub (`cdk bootstrap --trust`): any hub "
                "principal allowed sts:AssumeRole deploys here as administrator, around trust: strict and MFA; "
                "re-bootstrap with `switchrole bootstrap-template` (docs/onboarding.md)",
                _delete_live_role(iam, name),
            )
            pending.remove(name)
        elif extra:
            at.add(EXTRA_POLICY, f"role {name}", f"bootstrap role has {', '.join(extra)} beyond the bootstrap's", [])
            reached[summary["Arn"]] = f"bootstrap role {name}"
            pending.remove(name)
    changed = True
    while changed:
        changed = False
        for name in list(pending):
            summary = live[name]
            how = _admission(trusts[name], hub, here, reached, may_assume)
            if how is not None:
                note = f" (tagged {MANAGED_BY_TAG[0]}: left behind)" if tagged(name) else ""
                at.add(
                    SHADOW_TRUST if admitted(trusts[name], hub) else REACHABLE,
                    f"role {summary['Path']}{name}",
                    f"{how}; the file has no such role{note}",
                    _delete_live_role(iam, name),
                )
                reached[summary["Arn"]] = f"role {name}"
                unread.append(summary["Arn"])
                pending.remove(name)
                changed = True
    for name in pending:
        summary = live[name]
        if summary["Path"] in paths or tagged(name):
            note = f" (tagged {MANAGED_BY_TAG[0]}: left behind)" if tagged(name) else ""
            at.add(
                NOT_IN_FILE,
                f"role {summary['Path']}{name}",
                f"role under switchrole's path, or tagged as switchrole's, that the file does not have{note}",
                _delete_live_role(iam, name),
            )


def _admission(
    trust: Any, hub: str, here: str, reached: Mapping[str, str], assumers: Callable[[], list[str]]
) -> str | None:
    """How ``trust`` lets something switchrole reaches in, or None (``assumers`` is read only for a trust of this
    account's root: it costs a policy read per reached role)."""
    of_hub = admitted(trust, hub)
    if of_hub:
        return f"its trust admits {', '.join(of_hub)} of the hub"
    local = admitted(trust, here)
    for principal in local:
        if principal in reached:
            return f"its trust admits {principal}, which {reached[principal]} is or reaches"
    root = {here, f"arn:{PARTITION}:iam::{here}:root", "*"}
    if any(p in root or p.startswith("everyone") for p in local) and (who := assumers()):
        return (
            f"its trust admits this account's root: any principal here allowed sts:AssumeRole, "
            f"{reached[who[0]]} included"
        )
    return None


def _bootstrap_extras(iam: Any, name: str, kind: str, account: TargetAccount) -> list[str]:
    """What a bootstrap role carries beyond what the CDK's template gives it (BOOTSTRAP_POLICIES): a managed
    policy, an inline policy, or an action an inline policy of the template's name does not allow there."""
    expected = BOOTSTRAP_POLICIES[kind]
    attached = {p["PolicyName"] for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)}
    extras = [f"managed policy {p}" for p in sorted(attached - set(expected["managed"]))]
    suffix = f"-{account.account_id}-{account.region}"
    for policy in pages(iam, "list_role_policies", "PolicyNames", RoleName=name):
        allowed = expected["inline"].get(policy.removesuffix(suffix))
        if allowed is None:
            extras.append(f"inline policy {policy}")
            continue
        document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        beyond = sorted(set(allowed_actions(document)) - set(allowed))
        if beyond:
            extras.append(f"inline policy {policy} allowing {', '.join(beyond)}")
    return extras


def _may_assume_roles(iam: Any, name: str) -> bool:
    """Whether any policy of role ``name`` (attached or inline) allows sts:AssumeRole (conditions not read)."""
    documents = []
    for attached in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name):
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        documents.append(version["PolicyVersion"]["Document"])
    for policy_name in pages(iam, "list_role_policies", "PolicyNames", RoleName=name):
        documents.append(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"])
    return any(allows_assume_role(document) for document in documents)


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
