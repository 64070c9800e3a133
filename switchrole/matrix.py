"""The access matrix: who may switch into what, as reviewers read it (JSON rows or a Markdown table)."""

from __future__ import annotations

import datetime
from typing import Any

from switchrole.config import Access, Organisation, iso, utc_now

COLUMNS = (
    "user",
    "group",
    "account_name",
    "account_id",
    "role",
    "role_name",
    "role_arn",
    "mfa_required",
    "mfa_max_age_seconds",
    "max_session_duration",
    "external_id_required",
    "source_identity_required",
    "strict_trust",
    "until",
    "expired",
)


def record(access: Access, now: datetime.datetime | None = None) -> dict[str, Any]:
    """One row; ``until`` is when IAM ends this switch (the earlier of the grant's and the user's ``until:``,
    null: it does not end), ``expired`` whether it has ended at ``now``."""
    role = access.role
    return {
        "user": access.user,
        "group": access.group,
        "account_name": access.account.name,
        "account_id": access.account.account_id,
        "role": role.key,
        "role_name": role.name,
        "role_arn": role.arn(access.account.account_id),
        "mfa_required": role.mfa_required,
        "mfa_max_age_seconds": role.mfa_max_age_seconds if role.mfa_required else None,
        "max_session_duration": role.max_session_duration,
        "external_id_required": role.external_id is not None,
        "source_identity_required": role.source_identity,
        "strict_trust": role.strict_trust,
        "until": None if access.until is None else iso(access.until),
        "expired": access.expired(now or utc_now()),
    }


def records(org: Organisation, user: str | None = None, now: datetime.datetime | None = None) -> list[dict[str, Any]]:
    """One row per (user, group, account, role) the file grants, in file order (expired ones too, marked)."""
    now = now or utc_now()
    return [record(a, now) for a in org.access(user)]


def nobody_note(org: Organisation) -> str:
    """The ``trust: strict`` roles nobody may switch into (they have no rows above)."""
    nobody = org.strict_roles_admitting_nobody()
    if not nobody:
        return ""
    where = ", ".join(f"{kind.key} in {account.name} ({account.account_id})" for account, kind in nobody)
    return f"\nAdmits nobody (trust: strict, no user granted): {where}\n"


def to_markdown(rows: list[dict[str, Any]]) -> str:
    header = ("user", "group", "account", "role", "MFA", "session", "conditions", "until")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        mfa = f"yes, <= {r['mfa_max_age_seconds']} s" if r["mfa_required"] else "**no**"
        conditions = ", ".join(
            name
            for name, on in (
                ("external id", r["external_id_required"]),
                ("source identity", r["source_identity_required"]),
                ("strict trust", r["strict_trust"]),
            )
            if on
        )
        cells = (
            r["user"],
            r["group"],
            f"{r['account_name']} ({r['account_id']})",
            r["role"],
            mfa,
            f"{r['max_session_duration'] / 3600:g} h",
            conditions or "-",
            ("**expired** " if r["expired"] else "") + (r["until"] or "-"),
        )
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"
