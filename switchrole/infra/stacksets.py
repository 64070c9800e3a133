"""Plan the CloudFormation StackSets that carry target-account roles in ``deployment.mode: stacksets``.

Accounts with the same role kinds share one StackSet and one template (grouped
by content, not by hand). What differs between them, the hub users a
``trust: strict`` role admits and the permission set roles a strict or MFA-requiring role admits, are StackSets
parameters, overridden per group of accounts, so a grant change does not move an account to another StackSet.
Each OU target is a StackSet of its own, with auto-deployment, that excludes the hub and the deployment
account (:func:`ou_exclusions`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from switchrole.iam.policies import (
    check_trust_size,
    document,
    permission_set_statement,
    strict_principals,
    trust_document,
)
from switchrole.model.organisation import Organisation, TargetAccount

STACKSETS_STACK_NAME = "SwitchRole-StackSets"
MAX_NAME = 128
# Characters of a description: the CDK refuses a longer stack description (CloudFormation takes 1,024 bytes for a
# template's, 1,024 characters for a StackSet's), so switchrole's own descriptions are cut to this.
MAX_DESCRIPTION = 512


@dataclass(frozen=True)
class InstanceGroup:
    """Stack instances with the same parameter values (empty ``account_ids`` for an OU target)."""

    account_ids: tuple[str, ...]
    parameters: tuple[tuple[str, str], ...]  # (parameter, comma-separated principal ARNs; "" admits nobody)


@dataclass(frozen=True)
class StackSetPlan:
    name: str
    role_keys: tuple[str, ...]
    instances: tuple[InstanceGroup, ...]
    ou: str | None = None  # an OU target: every account in it, including later ones (auto-deployment)


def ou_exclusions(org: Organisation) -> tuple[str, ...]:
    """The accounts an OU target never deploys to (``AccountFilterType: DIFFERENCE``): the hub, and the
    account that deploys the StackSets when it is set. Each once, hub first."""
    return tuple(dict.fromkeys(a for a in (org.hub.account_id, org.deployment.account_id) if a is not None))


def principals_parameter(role_key: str) -> str:
    return f"{role_key}Principals"


def permission_sets_parameter(role_key: str) -> str:
    return f"{role_key}PermissionSets"


def has_permission_sets_parameter(org: Organisation, role_key: str) -> bool:
    """Does ``role_key``'s template take the permission set roles it admits as a parameter? With permission-set
    groups in the file, every kind whose trust admits only named callers (strict) or tests MFA (which an
    Identity Center session cannot pass) does."""
    kind = org.role_kinds[role_key]
    return bool(org.permission_set_groups) and (kind.strict_trust or kind.mfa_required)


def stack_set_name(role_keys: tuple[str, ...], ou: str | None = None) -> str:
    name = "SwitchRole-" + (f"OU-{ou}-" if ou else "") + "-".join(role_keys)
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256("-".join(role_keys).encode()).hexdigest()[:12]
    return "SwitchRole-" + (f"OU-{ou}-" if ou else "") + digest


def describe_role_keys(prefix: str, role_keys: tuple[str, ...], suffix: str = "", limit: int = MAX_DESCRIPTION) -> str:
    """``prefix`` + the role kinds + ``suffix``, within ``limit`` characters: the kinds that fit are listed and the
    rest summarised (64-character kind keys make a long list; the description is switchrole's own, so it must
    always fit rather than fail the user's file)."""
    text = f"{prefix}{', '.join(role_keys)}{suffix}"
    shown = len(role_keys)
    while len(text) > limit and shown > 0:
        shown -= 1
        listed = "".join(f"{key}, " for key in role_keys[:shown])
        text = f"{prefix}{listed}… ({len(role_keys)} role kinds){suffix}"
    assert len(text) <= limit, text  # prefix and suffix are switchrole's, with names of at most 64 characters
    return text


def _parameters(
    org: Organisation,
    role_keys: tuple[str, ...],
    users_of: dict[str, tuple[str, ...]],
    sets_of: dict[str, tuple[str, ...]],
    where: str,
) -> tuple[tuple[str, str], ...]:
    values = []
    for key in role_keys:
        kind = org.role_kinds[key]
        statements: list[dict[str, Any]] = []
        if kind.strict_trust:
            principals = strict_principals(org, users_of[key])
            statements += trust_document(org, kind, principals)["Statement"] if principals else []
            values.append((principals_parameter(key), ",".join(principals)))
        elif kind.mfa_required or not has_permission_sets_parameter(org, key):
            statements += trust_document(org, kind, None)["Statement"]
        if has_permission_sets_parameter(org, key):
            patterns = [p for name in sets_of[key] for p in org.permission_set_role_patterns(name)]
            statements += [permission_set_statement(org, kind, patterns)] if patterns else []
            values.append((permission_sets_parameter(key), ",".join(patterns)))
        check_trust_size(org, kind, document(statements), where)
    return tuple(values)


@dataclass(frozen=True)
class RoleKeySets:
    """The distinct role templates: one per set of role kinds (sorted keys) that accounts or an OU target list."""

    accounts: dict[tuple[str, ...], list[TargetAccount]]  # role kinds -> the accounts with exactly these, file order
    ou_targets: list[tuple[str, ...]]  # each OU target's role kinds, in file order


def role_key_sets(org: Organisation) -> RoleKeySets:
    by_kinds: dict[tuple[str, ...], list[TargetAccount]] = defaultdict(list)
    for account in org.accounts:
        by_kinds[tuple(sorted(account.role_keys))].append(account)
    return RoleKeySets(dict(by_kinds), [tuple(sorted(target.role_keys)) for target in org.deployment.ou_targets])


def plan(org: Organisation) -> list[StackSetPlan]:
    """The StackSets for ``org`` (raises PolicyError as the per-account stacks would)."""
    sets = role_key_sets(org)
    plans = []
    for role_keys, accounts in sets.accounts.items():
        groups: dict[tuple[tuple[str, str], ...], list[str]] = defaultdict(list)
        for account in accounts:
            users = {k: org.users_granted(k, account.name) for k in role_keys}
            granted = {k: org.permission_sets_granted(k, account.name) for k in role_keys}
            groups[_parameters(org, role_keys, users, granted, account.name)].append(account.account_id)
        instances = tuple(InstanceGroup(tuple(ids), params) for params, ids in groups.items())
        plans.append(StackSetPlan(stack_set_name(role_keys), role_keys, instances))
    for target, role_keys in zip(org.deployment.ou_targets, sets.ou_targets, strict=True):
        users = {k: org.users_granted_everywhere(k) for k in role_keys}
        granted = {k: org.permission_sets_granted_everywhere(k) for k in role_keys}
        params = _parameters(org, role_keys, users, granted, f"OU {target.ou}")
        plans.append(
            StackSetPlan(stack_set_name(role_keys, target.ou), role_keys, (InstanceGroup((), params),), target.ou)
        )
    return plans
