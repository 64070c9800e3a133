"""The access matrix: who may switch into what, as reviewers read it (JSON rows, a Markdown table, or a
terminal table grouped by user and coloured by environment like the console links)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from rich.table import Table
from rich.text import Text

from switchrole.model.environments import colour
from switchrole.model.expiry import iso, utc_now
from switchrole.model.markdown import escape
from switchrole.model.organisation import Access, Organisation

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
    "permission_set",
    "session_seconds",
)


def record(access: Access, now: datetime.datetime | None = None) -> dict[str, Any]:
    """One row; ``until`` is when IAM ends this switch (the earlier of the grant's and the user's ``until:``,
    null: it does not end), ``expired`` whether it has ended at ``now``. A permission set's row names it in
    ``permission_set`` (``user`` is then "permission set <name>"); its MFA, where the role requires it, is
    Identity Center's at sign-in, and ``session_seconds`` is at most an hour (role chaining)."""
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
        "permission_set": access.permission_set,
        "session_seconds": access.session_seconds,
    }


def records(
    org: Organisation,
    user: str | None = None,
    now: datetime.datetime | None = None,
    *,
    permission_set: str | None = None,
) -> list[dict[str, Any]]:
    """One row per (user, group, account, role) the file grants, in file order (expired ones too, marked): every
    user's, then every permission set's; with ``user`` or ``permission_set``, only theirs."""
    now = now or utc_now()
    rows: Iterable[Access]
    if permission_set is not None:
        rows = (a for a in org.permission_set_access() if a.permission_set == permission_set)
    else:
        rows = org.access(user) if user is not None else org.grantee_access()
    return [record(a, now) for a in rows]


def _mfa(r: dict[str, Any]) -> str:
    if not r["mfa_required"]:
        return "**no**"
    return "at Identity Center sign-in" if r["permission_set"] else f"yes, <= {r['mfa_max_age_seconds']} s"


def nobody_note(org: Organisation) -> str:
    """The ``trust: strict`` roles nobody may switch into (they have no rows above)."""
    nobody = org.strict_roles_admitting_nobody()
    if not nobody:
        return ""
    where = ", ".join(f"{kind.key} in {account.name} ({account.account_id})" for account, kind in nobody)
    return f"\nAdmits nobody (trust: strict, no user granted): {where}\n"


def _conditions(r: dict[str, Any]) -> str:
    named = (
        ("external id", r["external_id_required"]),
        ("source identity", r["source_identity_required"]),
        ("strict trust", r["strict_trust"]),
    )
    return ", ".join(name for name, on in named if on) or "-"


def _session(r: dict[str, Any]) -> str:
    return f"{r['session_seconds'] / 3600:g} h"


def _until(r: dict[str, Any], expired: str = "**expired** ") -> str:
    return (expired if r["expired"] else "") + (r["until"] or "-")


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """The table, names escaped (:mod:`switchrole.model.markdown`), then how many rows it holds: a rendering that lost
    rows does not pass for the whole matrix."""
    header = ("user", "group", "account", "role", "MFA", "session", "conditions", "until")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        mfa = _mfa(r)
        names = (r["user"], r["group"], f"{r['account_name']} ({r['account_id']})", r["role"])
        cells = (*(escape(n, table=True) for n in names), mfa, _session(r), _conditions(r), _until(r))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", count_line(rows)]) + "\n"


def count_line(rows: list[dict[str, Any]]) -> str:
    users = len({r["user"] for r in rows if not r["permission_set"]})
    sets = len({r["permission_set"] for r in rows if r["permission_set"]})
    line = f"{len(rows)} switch{'' if len(rows) == 1 else 'es'} for {users} user{'' if users == 1 else 's'}"
    return line + (f" and {sets} permission set{'' if sets == 1 else 's'}" if sets else "")


def to_table(org: Organisation, rows: list[dict[str, Any]]) -> Table:
    """The terminal form: one section per user (named once), accounts coloured by environment (prod red,
    staging orange, dev green), an MFA opt-out in bold red; account and role names are never cut."""
    colours = {a.name: colour(a) for a in org.accounts}
    table = Table(title=f"Who may switch into what ({org.source})", title_justify="left")
    table.add_column("user", style="bold", no_wrap=True)
    table.add_column("account", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("via group", overflow="fold")
    table.add_column("MFA", overflow="fold")
    table.add_column("session", no_wrap=True)
    table.add_column("conditions", overflow="fold")
    table.add_column("until", overflow="fold")
    previous = None
    for r in rows:
        if previous is not None and r["user"] != previous:
            table.add_section()
        if not r["mfa_required"]:
            mfa = Text("not required", "bold red")
        else:
            mfa = Text("at sign-in" if r["permission_set"] else f"<= {r['mfa_max_age_seconds']} s")
        table.add_row(
            r["user"] if r["user"] != previous else "",
            Text(r["account_name"], style=f"#{colours[r['account_name']]}"),
            r["role"],
            r["group"],
            mfa,
            _session(r),
            _conditions(r),
            Text(_until(r, expired="expired "), "bold red" if r["expired"] else ""),
        )
        previous = r["user"]
    table.caption = count_line(rows)
    return table
