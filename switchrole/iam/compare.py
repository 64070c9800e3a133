"""Policy documents compared by meaning, and the question "does this trust policy admit that account?".

IAM hands back what it was given, in the shape it was given: a one-element list or its string, statements in
any order, ``"111111111111"`` for ``arn:aws:iam::111111111111:root``. ``switchrole audit`` must not call
that drift, so documents are compared after :func:`normalise`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from switchrole.model.organisation import PARTITION

_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_LISTS = ("Action", "NotAction", "Resource", "NotResource")


def _strings(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return sorted({_scalar(v) for v in values})


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _principal(value: Any) -> dict[str, list[str]]:
    if value == "*":
        return {"AWS": ["*"]}
    result = {}
    for kind, names in dict(value).items():
        listed = _strings(names)
        if kind == "AWS":
            listed = sorted({f"arn:{PARTITION}:iam::{n}:root" if _ACCOUNT_ID.fullmatch(n) else n for n in listed})
        result[kind] = listed
    return result


def _statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"Effect": statement.get("Effect")}
    for key in _LISTS:
        if key in statement:
            values = _strings(statement[key])
            result[key] = sorted({v.lower() for v in values}) if key.endswith("Action") else values
    for key in ("Principal", "NotPrincipal"):
        if key in statement:
            result[key] = _principal(statement[key])
    if statement.get("Condition"):
        result["Condition"] = {
            operator: {key.lower(): _strings(v) for key, v in dict(pairs).items()}
            for operator, pairs in dict(statement["Condition"]).items()
        }
    return result


def normalise(document: Mapping[str, Any] | None) -> dict[str, Any]:
    """A canonical form: statements unordered, without Sid and without empty (null) ones, actions lower-case,
    every value a sorted list (IAM treats a string and a one-element list alike), account ids in principals as
    root ARNs."""
    if not document:
        return {"Version": None, "Statement": []}
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, Mapping) else list(statements)
    canonical = {json.dumps(_statement(s), sort_keys=True) for s in statements if isinstance(s, Mapping)}
    return {"Version": document.get("Version"), "Statement": [json.loads(s) for s in sorted(canonical)]}


def same(expected: Mapping[str, Any] | None, actual: Mapping[str, Any] | None) -> bool:
    """Do two policy documents mean the same (order, one-element lists and string/list forms aside)?"""
    return normalise(expected) == normalise(actual)


def difference(expected: Mapping[str, Any] | None, actual: Mapping[str, Any] | None, limit: int = 300) -> str:
    """What the live document has that the file's has not (+) and the other way round (-), shortly."""
    want, have = normalise(expected), normalise(actual)
    dump = [json.dumps(s, sort_keys=True, separators=(",", ":")) for s in want["Statement"]]
    live = [json.dumps(s, sort_keys=True, separators=(",", ":")) for s in have["Statement"]]
    parts = [f"+ {s}" for s in live if s not in dump] + [f"- {s}" for s in dump if s not in live]
    if want["Version"] != have["Version"]:
        parts.append(f"Version {have['Version']} (file: {want['Version']})")
    text = "; ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _matches(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.IGNORECASE) is not None


def _covers_assume_role(statement: Mapping[str, Any]) -> bool:
    if "Action" in statement:
        return any(_matches(a, "sts:AssumeRole") for a in _strings(statement["Action"]))
    return not any(_matches(a, "sts:AssumeRole") for a in _strings(statement.get("NotAction", [])))


def allows_assume_role(document: Mapping[str, Any] | None) -> bool:
    """Whether an identity policy has an Allow statement whose actions cover sts:AssumeRole (resources and
    conditions not read: the audit's question is whether it *may*)."""
    statements = (document or {}).get("Statement", [])
    statements = [statements] if isinstance(statements, Mapping) else statements
    return any(isinstance(s, Mapping) and s.get("Effect") == "Allow" and _covers_assume_role(s) for s in statements)


def _of_account(principal: str, account_id: str) -> bool:
    if principal == "*" or principal == account_id:
        return True
    parts = principal.split(":")
    return len(parts) >= 5 and parts[0] == "arn" and parts[2] in ("iam", "sts") and parts[4] == account_id


def admitted(trust: Mapping[str, Any] | None, account_id: str) -> list[str]:
    """The principals of ``account_id`` (or everyone) that ``trust`` lets call ``sts:AssumeRole``, as written;
    conditions are not evaluated (a condition narrows, it does not remove, the admission)."""
    found: list[str] = []
    statements = (trust or {}).get("Statement", [])
    for statement in [statements] if isinstance(statements, Mapping) else statements:
        if not isinstance(statement, Mapping):  # a statement an Fn::If left empty: none
            continue
        if statement.get("Effect") != "Allow" or not _covers_assume_role(statement):
            continue
        if "NotPrincipal" in statement:
            excluded = _principal(statement["NotPrincipal"]).get("AWS", [])
            if not any(_of_account(p, account_id) and p != "*" for p in excluded):
                found.append(f"everyone but {', '.join(excluded) or 'nobody'} (NotPrincipal)")
            continue
        aws = _principal(statement.get("Principal", {})).get("AWS", [])
        found += [p for p in aws if _of_account(p, account_id)]
    return sorted(set(found))
