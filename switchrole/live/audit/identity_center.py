"""The hub's IAM Identity Center roles against the file: each permission set's role and the policies it carries.

Identity Center creates a role ``AWSReservedSSO_<set>_<suffix>`` in the hub for every permission set assigned
there, and attaches the set's customer-managed policy references to it. The audit reads those roles, as IAM
holds them, and reports:

- a permission-set group of the file whose set has no role in the hub (not assigned there: its people cannot
  use its grants), or whose role sits at another path than the trusts admit (the file names another home
  region);
- a set that does not reference one of its group's switchrole policies (its people lack those grants), or
  references another group's (they get that group's switches);
- a set the file does not have that references a switchrole policy, or whose policies allow ``sts:AssumeRole``
  into a target role whose trust leaves the decision to the hub (``trust: account``, no MFA, no external id):
  a door around the file, read with the same IAM evaluator as the emulator's (:mod:`switchrole.iam.evaluate`).

Fixes are ``aws sso-admin`` commands for the Identity Center administration account, which this audit does
not read (the permission set's ARN is looked up there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from switchrole.iam.evaluate import ALLOW, evaluate
from switchrole.infra.assembly_reader import ExpectedHub
from switchrole.live.audit.findings import EXTRA_POLICY, MISSING, REACHABLE
from switchrole.live.audit.fixes import q
from switchrole.live.audit.reading import Where, pages, read_or_none
from switchrole.model.expiry import iso
from switchrole.model.organisation import (
    HUB_PATH,
    PARTITION,
    SSO_ROLE_PATH,
    SSO_ROLE_PREFIX,
    SSO_ROLE_SUFFIX_CHARS,
    Organisation,
    grant_policy_name,
)

ROLE_NAME_RE = re.compile(rf"{SSO_ROLE_PREFIX}(.+)_[0-9a-f]{{{SSO_ROLE_SUFFIX_CHARS}}}")
POLICY_NAME_RE = re.compile(r"switchrole-(.+)-([0-9]+)")


def _sso_admin(org: Organisation, *args: str) -> str:
    center = org.hub.identity_center
    instance = center.instance_arn if center is not None and center.instance_arn else "<instance-arn>"
    return " ".join(["aws sso-admin", *args[:1], "--instance-arn", q(instance), *args[1:]])


def audit_permission_sets(iam: Any, org: Organisation, hub: ExpectedHub, at: Where, *, now: datetime) -> None:
    """The hub's Identity Center roles against the file's permission-set groups (findings into ``at``)."""
    center = org.hub.identity_center
    roles: dict[str, dict[str, Any]] = {}
    for role in pages(iam, "list_roles", "Roles", PathPrefix=SSO_ROLE_PATH):
        match = ROLE_NAME_RE.fullmatch(role["RoleName"])
        if match is not None:
            roles[match.group(1)] = role
    owner = _policy_owners(hub)
    sets = {str(g.permission_set): g.name for g in org.permission_set_groups}
    for permission_set, group in sets.items():
        role = roles.get(permission_set)
        subject = f"permission set {permission_set}"
        if role is None:
            at.add(
                MISSING,
                subject,
                f"no Identity Center role {SSO_ROLE_PREFIX}{permission_set}_… in the hub: the set is not assigned to "
                f"the hub account, so its people cannot use group {group}'s grants",
                [_sso_admin(org, "create-account-assignment", "--target-type AWS_ACCOUNT", "--target-id",
                            q(org.hub.account_id), "--permission-set-arn <permission-set-arn>",
                            "--principal-type GROUP --principal-id <identity-store-group-id>")],
            )  # fmt: skip
            continue
        if center is not None and role["Path"] != center.role_path:
            at.add(
                MISSING,
                subject,
                f"its role is at {role['Path']}, but the trusts admit {center.role_path}: set "
                "hub.identity_center.region to the Identity Center instance's home region",
                [],
            )
        attached = _attached(iam, role["RoleName"])
        wanted = {arn for arn, of in owner.items() if of == group}
        for arn in sorted(wanted - attached):
            name = arn.rsplit("/", 1)[-1]
            at.add(
                MISSING,
                subject,
                f"the set does not reference {name} (group {group}'s grants): its people lack those switches",
                [
                    _sso_admin(org, "attach-customer-managed-policy-reference-to-permission-set",
                               "--permission-set-arn <permission-set-arn>",
                               f"--customer-managed-policy-reference Name={q(name)},Path={HUB_PATH}"),
                    _sso_admin(org, "provision-permission-set", "--permission-set-arn <permission-set-arn>",
                               "--target-type AWS_ACCOUNT", "--target-id", q(org.hub.account_id)),
                ],
            )  # fmt: skip
        for arn in sorted(attached & set(owner) - wanted):
            at.add(
                EXTRA_POLICY,
                subject,
                f"the set references {arn.rsplit('/', 1)[-1]}, group {owner[arn]}'s grants: its people get that "
                "group's switches, which the file does not grant them",
                [_detach(org, arn)],
            )
    for permission_set, role in sorted(roles.items()):
        if permission_set in sets:
            continue
        subject = f"permission set {permission_set}"
        attached = _attached(iam, role["RoleName"])
        for arn in sorted(attached & set(owner)):
            at.add(
                EXTRA_POLICY,
                subject,
                f"a permission set the file does not have references {arn.rsplit('/', 1)[-1]}, group {owner[arn]}'s "
                "grants: its people get that group's switches",
                [_detach(org, arn)],
            )
        reached = _reachable(iam, org, role, attached, now)
        if reached:
            at.add(
                REACHABLE,
                subject,
                f"a permission set the file does not have may switch into {', '.join(reached)}: their trust leaves "
                "the decision to the hub (trust: account, no MFA); grant it in the file, or narrow its policies, or "
                "make those kinds trust: strict",
                [],
            )


def _policy_owners(hub: ExpectedHub) -> dict[str, str]:
    """switchrole's grant policy ARNs in the hub -> their group (``switchrole-<group>-<n>``)."""
    owners = {}
    for name, policy in hub.policies.items():
        match = POLICY_NAME_RE.fullmatch(name)
        if match and policy.path == HUB_PATH and name == grant_policy_name(match.group(1), int(match.group(2))):
            owners[policy.arn(hub.account_id)] = match.group(1)
    return owners


def _attached(iam: Any, role: str) -> set[str]:
    return {p["PolicyArn"] for p in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role)}


def _detach(org: Organisation, arn: str) -> str:
    return _sso_admin(
        org,
        "detach-customer-managed-policy-reference-from-permission-set",
        "--permission-set-arn <permission-set-arn>",
        f"--customer-managed-policy-reference Name={q(arn.rsplit('/', 1)[-1])},Path={HUB_PATH}",
    )


def _documents(iam: Any, role: str, attached: set[str]) -> list[Mapping[str, Any]]:
    """The role's identity policies as IAM holds them: its managed policies' default versions and inline ones."""
    documents = []
    for arn in sorted(attached):
        policy = read_or_none(iam, "get_policy", PolicyArn=arn)
        if policy is not None:
            version = policy["Policy"]["DefaultVersionId"]
            documents.append(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
    for name in pages(iam, "list_role_policies", "PolicyNames", RoleName=role):
        documents.append(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    return documents


def _reachable(iam: Any, org: Organisation, role: Mapping[str, Any], attached: set[str], now: datetime) -> list[str]:
    """The target roles (``<kind> in <account>``) whose trust leaves the decision to the hub and that ``role``'s
    policies allow ``sts:AssumeRole`` on, read as IAM would (an undecidable condition fails closed)."""
    open_kinds = [
        kind
        for kind in org.role_kinds.values()
        if not kind.strict_trust and not kind.mfa_required and kind.external_id is None and not kind.source_identity
    ]
    if not open_kinds:
        return []
    documents = _documents(iam, role["RoleName"], attached)
    reached = []
    for account in org.accounts:
        for kind in open_kinds:
            if kind.key not in account.role_keys:
                continue
            context = {
                "aws:PrincipalArn": role["Arn"],
                "aws:PrincipalAccount": org.hub.account_id,
                "aws:ResourceAccount": account.account_id,
                "aws:MultiFactorAuthPresent": "false",
                "aws:CurrentTime": iso(now),
            }
            arn = f"arn:{PARTITION}:iam::{account.account_id}:role{kind.path}{kind.name}"
            if evaluate(documents, "sts:AssumeRole", arn, context) == ALLOW:
                reached.append(f"{kind.key} in {account.name}")
    return reached
