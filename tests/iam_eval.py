"""A small, independent reading of generated identity policies: which roles can a group reach?

It deliberately does not reuse switchrole's builders: it matches each Allow
statement's Resource (IAM wildcards) and its conditions against every role
the organisation creates, the way IAM would for an ``sts:AssumeRole`` request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from switchrole.model.organisation import Organisation


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_allows(
    statement: dict[str, Any],
    role_arn: str,
    account_id: str,
    *,
    mfa_age: int | None,
    org_id: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Does this Allow statement permit sts:AssumeRole on ``role_arn`` (in organisation ``org_id``) for a caller
    with that MFA age, at ``now`` (default: the current time)?"""
    if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in _as_list(statement.get("Action", [])):
        return False
    if not any(fnmatchcase(role_arn, pattern) for pattern in _as_list(statement["Resource"])):
        return False
    for operator, tests in statement.get("Condition", {}).items():
        for key, expected in tests.items():
            values = [str(v) for v in _as_list(expected)]
            if operator == "StringEquals" and key == "aws:ResourceAccount":
                if account_id not in values:
                    return False
            elif operator == "StringNotEquals" and key == "aws:ResourceAccount":
                if account_id in values:
                    return False
            elif operator == "StringEquals" and key == "aws:ResourceOrgID":
                if org_id not in values:
                    return False
            elif operator == "StringEquals" and key == "sts:SourceIdentity":
                if values != ["${aws:username}"]:  # the caller's own name: what the clients always set
                    return False
            elif operator == "Bool" and key == "aws:MultiFactorAuthPresent":
                if values != ["true"] or mfa_age is None:
                    return False
            elif operator == "NumericLessThan" and key == "aws:MultiFactorAuthAge":
                if mfa_age is None or not mfa_age < int(values[0]):
                    return False
            elif operator == "DateLessThan" and key == "aws:CurrentTime":
                if not (now or datetime.now(UTC)) < datetime.strptime(values[0], "%Y-%m-%dT%H:%M:%S%z"):
                    return False
            else:
                raise AssertionError(f"unexpected condition {operator} {key} in a grant policy")
    return True


def reachable(
    org: Organisation,
    documents: list[dict[str, Any]],
    *,
    mfa_age: int | None = 0,
    every_kind: bool = False,
    now: datetime | None = None,
) -> set[tuple[str, str]]:
    """(account name, role kind) pairs the documents allow, over every role the organisation creates.

    ``every_kind`` also tries every role kind in every account (roles a configured account does not have),
    as if someone had created them by hand: a grant must not reach those either.
    """
    result = set()
    for account in org.accounts:
        for key in org.role_kinds if every_kind else account.role_keys:
            arn = org.role_kinds[key].arn(account.account_id)
            if any(
                statement_allows(s, arn, account.account_id, mfa_age=mfa_age, org_id=org.hub.organization_id, now=now)
                for d in documents
                for s in d["Statement"]
            ):
                result.add((account.name, key))
    return result


def granted(org: Organisation, group: str, now: datetime | None = None) -> set[tuple[str, str]]:
    """What the file grants ``group`` that has not ended at ``now`` (default: the current time)."""
    at = now or datetime.now(UTC)
    return {
        (a.name, role)
        for role, accounts in org.group_access(group).items()
        for a in accounts
        if (end := org.grant_end(group, role, a.name)) is None or at < end
    }


def _principal_named(principal: Any, caller_arn: str) -> bool:
    if principal == "*":
        return True
    account = caller_arn.split(":")[4]
    return any(
        entry in ("*", caller_arn, account, f"arn:aws:iam::{account}:root")
        for entry in _as_list(principal.get("AWS", []) if isinstance(principal, dict) else [])
    )


def trust_admits(
    document: dict[str, Any],
    caller_arn: str,
    *,
    mfa_age: int | None = 0,
    external_id: str | None = None,
    source_identity: str | None = None,
) -> bool:
    """Does this trust policy let ``caller_arn`` call sts:AssumeRole (with these request values)?

    Explicit Deny wins; otherwise some Allow must name the caller and hold all its conditions.
    """
    user = caller_arn.rsplit("/", 1)[-1]

    def holds(statement: dict[str, Any]) -> bool:
        for operator, tests in statement.get("Condition", {}).items():
            for key, expected in tests.items():
                values = [str(v).replace("${aws:username}", user) for v in _as_list(expected)]
                actual = {
                    "aws:MultiFactorAuthPresent": "true" if mfa_age is not None else None,
                    "aws:MultiFactorAuthAge": None if mfa_age is None else str(mfa_age),
                    "sts:ExternalId": external_id,
                    "sts:SourceIdentity": source_identity,
                    "aws:PrincipalArn": caller_arn,
                }.get(key, "unknown")
                if actual == "unknown":
                    raise AssertionError(f"unexpected condition {operator} {key} in a trust policy")
                if actual is None:
                    return False
                if operator in ("Bool", "StringEquals", "ArnEquals") and actual not in values:
                    return False
                if operator == "NumericLessThan" and not int(actual) < int(values[0]):
                    return False
        return True

    matching = [
        s
        for s in document["Statement"]
        if "sts:AssumeRole" in _as_list(s.get("Action", [])) and _principal_named(s.get("Principal"), caller_arn)
    ]
    if any(s["Effect"] == "Deny" and holds(s) for s in matching):
        return False
    return any(s["Effect"] == "Allow" and holds(s) for s in matching)
