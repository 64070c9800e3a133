"""A small evaluator of the parts of IAM that switchrole's policies use, pure: no moto, no request, no clock.

Explicit Deny over Allow; Action/NotAction and Resource wildcards; the condition operators switchrole writes
(String*, Arn*, Bool, Numeric*, Date*, IpAddress, with IfExists and ForAnyValue/ForAllValues) over a context of
condition keys; principals; and the TOTP of the emulated virtual MFA devices. The emulator
(:mod:`switchrole.local.authz`) wires it into moto, and the audit reads live policies with it; anything it cannot
decide raises :class:`Undecidable` rather than guessing.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import ipaddress
import re
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Context = Mapping[str, Any]  # condition key -> a value, or a list of values for a multivalued key

ALLOW, DENY, NEUTRAL = "allow", "deny", "neutral"
MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."

_VARIABLE = re.compile(r"\$\{([\w:/.-]+)\}")


# --------------------------------------------------------------------------- pure evaluation


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _get(context: Context, key: str) -> Any:
    """Condition keys are case-insensitive in IAM: ``aws:username`` is ``AWS:UserName``."""
    if key in context:
        return context[key]
    lowered = key.lower()
    return next((v for k, v in context.items() if k.lower() == lowered), None)


def _has(context: Context, key: str) -> bool:
    return _get(context, key) is not None


def substitute(value: str, context: Context) -> str | None:
    """Replace policy variables (``${aws:username}``); None when one is not in the request."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        found = _get(context, match.group(1))
        if found is None or isinstance(found, list):
            missing = True
            return ""
        return str(found)

    result = _VARIABLE.sub(replace, value)
    return None if missing else result


def like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcards: ``*`` any run, ``?`` one character; everything else literal (``[ab]`` too)."""
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=16384)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``pattern`` compiled once: a managed policy such as ReadOnlyAccess holds thousands of action patterns,
    more than the re module's own cache keeps, so each request recompiled them all."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


class Undecidable(Exception):
    """A condition this model cannot decide as AWS would: an Allow with it never applies, a Deny always does."""


class UnknownOperator(Undecidable):
    """An operator this model does not evaluate."""


# Keys AWS puts in the request context that the emulator does not supply: a condition on one of them is
# undecided (fail closed) rather than read as the key being absent, which would open a Deny that AWS applies.
UNMODELLED_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:SecureTransport",  # always present on AWS; the emulator speaks HTTP
        "aws:TokenIssueTime",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:RequestedRegion",
        "aws:PrincipalType",
        "aws:userid",
        "aws:ViaAWSService",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalServiceName",
    )
)
# Tag keys: AWS sets one for each tag of the principal or resource (switchrole tags its users and roles).
UNMODELLED_PREFIXES = ("aws:principaltag/", "aws:resourcetag/", "iam:resourcetag/")


def unmodelled(key: str) -> bool:
    """Is ``key`` one AWS sets that this model does not supply (a condition on it is :class:`Undecidable`)?"""
    lowered = key.lower()
    return lowered in UNMODELLED_KEYS or lowered.startswith(UNMODELLED_PREFIXES)


def _date(value: str) -> datetime.datetime:
    if value.replace(".", "", 1).isdigit():
        return datetime.datetime.fromtimestamp(float(value), datetime.UTC)
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


_ORDER = {
    "Equals": lambda a, e: a == e,
    "LessThan": lambda a, e: a < e,
    "LessThanEquals": lambda a, e: a <= e,
    "GreaterThan": lambda a, e: a > e,
    "GreaterThanEquals": lambda a, e: a >= e,
}


def _compare(base: str, expected: str, actual: str) -> bool:
    if base == "StringEquals":
        return actual == expected
    if base == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if base in ("StringLike", "ArnLike", "ArnEquals"):
        return like(expected, actual)
    if base == "Bool":
        return actual.lower() == expected.lower()
    if base.startswith("Numeric") and base.removeprefix("Numeric") in _ORDER:
        return bool(_ORDER[base.removeprefix("Numeric")](float(actual), float(expected)))
    if base.startswith("Date") and base.removeprefix("Date") in _ORDER:
        return bool(_ORDER[base.removeprefix("Date")](_date(actual), _date(expected)))
    if base == "IpAddress":
        return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)
    raise UnknownOperator(base)


_KNOWN = {
    "StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", "IpAddress",
    *(f"{family}{order}" for family in ("Numeric", "Date") for order in _ORDER),
}  # fmt: skip
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


def condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    """One ``operator: {key: expected}`` test against the request context (raises :class:`Undecidable`).

    ``ForAnyValue:``/``ForAllValues:`` test every value of a multivalued key (a list in the context).
    """
    qualifier, _, operator = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise UnknownOperator(f"{qualifier}:{operator}")
    if unmodelled(key) and not _has(context, key):
        raise Undecidable(f"{key} is not modelled")
    if operator == "Null":  # "true": the key must be absent; "false": present
        return any(str(v).lower() == str(not _has(context, key)).lower() for v in _as_list(expected))
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    negated = base in _NEGATED
    base = _NEGATED.get(base, base)
    if base not in _KNOWN:
        raise UnknownOperator(operator)
    found = _get(context, key)
    if found is None:
        # AWS: a missing key fails the test, except ...IfExists, negated operators and ForAllValues (vacuously
        # true); ForAnyValue is false on a missing key whatever the operator.
        return if_exists or (qualifier != "ForAnyValue" and (qualifier == "ForAllValues" or negated))
    values = [substitute(str(v).lower() if isinstance(v, bool) else str(v), context) for v in _as_list(expected)]

    def one(actual: str) -> bool:
        try:
            matched = any(v is not None and _compare(base, v, actual) for v in values)
        except ValueError as error:  # a malformed number, date or address: AWS would refuse the policy
            raise Undecidable(f"{operator} cannot compare {actual!r}") from error
        return not matched if negated else matched

    actuals = [str(a) for a in _as_list(found)]
    return all(map(one, actuals)) if qualifier == "ForAllValues" else any(map(one, actuals))


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    """Do all of a statement's conditions hold for ``context`` (every operator, every key)?"""
    return all(
        condition_holds(operator, key, expected, context)
        for operator, tests in conditions.items()
        for key, expected in tests.items()
    )


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(like(p, action, ignore_case=True) for p in patterns)


def _resource_matches(patterns: Iterable[str], resource: str, context: Context) -> bool:
    for pattern in patterns:
        concrete = substitute(pattern, context)
        if concrete is not None and like(concrete, resource):
            return True
    return False


def principal_matches(principal: Any, caller_arn: str, *, exactly: bool = False) -> bool:
    """Does a Principal element name the caller? ``arn:aws:iam::<id>:root`` (or the bare id) names its whole
    account; ``exactly``: only the caller's own ARN counts (what lets a trust policy alone grant a same-account
    AssumeRole)."""
    if principal == "*":
        return not exactly
    if not isinstance(principal, Mapping):
        return False
    account = caller_arn.split(":")[4]
    for entry in _as_list(principal.get("AWS", [])):
        if entry == caller_arn or (not exactly and (entry in ("*", account) or entry.endswith(f":{account}:root"))):
            return True
    return False


def statement_effect(
    statement: Mapping[str, Any],
    action: str,
    resource: str | None,
    context: Context,
    caller_arn: str | None = None,
    *,
    exactly: bool = False,
) -> str:
    """ALLOW, DENY or NEUTRAL for one statement; an operator the model does not know fails closed."""
    if "NotAction" in statement:
        if _action_matches(_as_list(statement["NotAction"]), action):
            return NEUTRAL
    elif not _action_matches(_as_list(statement.get("Action", [])), action):
        return NEUTRAL
    if resource is not None:
        if "NotResource" in statement:
            if _resource_matches(_as_list(statement["NotResource"]), resource, context):
                return NEUTRAL
        elif not _resource_matches(_as_list(statement.get("Resource", [])), resource, context):
            return NEUTRAL
    if caller_arn is not None and not principal_matches(statement.get("Principal"), caller_arn, exactly=exactly):
        return NEUTRAL
    deny = statement.get("Effect") == "Deny"
    try:
        holds = conditions_hold(statement.get("Condition", {}), context)
    except Undecidable:
        holds = deny  # an Allow it might not grant does not apply; a Deny it might impose does
    if not holds:
        return NEUTRAL
    return DENY if deny else ALLOW


def evaluate(
    documents: Sequence[Mapping[str, Any]],
    action: str,
    resource: str | None,
    context: Context,
    caller_arn: str | None = None,
    *,
    exactly: bool = False,
) -> str:
    """Explicit Deny wins, then any Allow, else NEUTRAL (implicit deny)."""
    result = NEUTRAL
    for document in documents:
        for statement in _as_list(document.get("Statement", [])):
            if not isinstance(statement, Mapping):  # e.g. an AWS::NoValue left by CloudFormation's Fn::If
                continue
            effect = statement_effect(statement, action, resource, context, caller_arn, exactly=exactly)
            if effect == DENY:
                return DENY
            if effect == ALLOW:
                result = ALLOW
    return result


def totp(seed_base32: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 time-based one-time password, as a virtual MFA device shows it."""
    key = base64.b32decode(seed_base32 + "=" * (-len(seed_base32) % 8))
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


def totp_valid(seed_base32: str, code: str, at: float | None = None) -> bool:
    """Is ``code`` the device's code at ``at`` (default: now), one step either side (clock drift)?"""
    now = time.time() if at is None else at
    return any(hmac.compare_digest(totp(seed_base32, now + drift * 30), code) for drift in (-1, 0, 1))
