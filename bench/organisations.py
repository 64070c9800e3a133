"""Generated organisations for the scale benchmark: N target accounts, 3 role kinds each, 5 groups, 200 users."""

from __future__ import annotations

from typing import Any

ROLES = {
    "ReadOnly": {"managed_policies": ["ReadOnlyAccess"], "max_session_duration": 14400},
    "Developer": {"managed_policies": ["PowerUserAccess"], "source_identity": True},
    "Admin": {"managed_policies": ["AdministratorAccess"], "mfa": {"max_age_seconds": 900}, "trust": "strict"},
}


def organisation(n: int, *, mode: str = "stacks", organization_id: str | None = "o-benchmark01") -> dict[str, Any]:
    names = [f"proj{i // 2:04d}-{'prod' if i % 2 else 'dev'}" for i in range(n)]
    accounts = [
        {"name": name, "account_id": f"{200000000000 + i:012d}", "roles": list(ROLES)} for i, name in enumerate(names)
    ]
    # explicit lists stay within what one group can hold (9 managed policies of ~400 accounts each);
    # every "*" grant is organisation-wide (constant size) when organization_id is set
    team_a = names[: min(len(names) // 2, 1200)] or names[:1]
    team_b = names[len(names) // 2 :][:1000] or names[:1]
    groups = {
        "readers": {"grants": [{"role": "ReadOnly", "accounts": "*"}]},
        "platform-admins": {"grants": [{"role": "Admin", "accounts": "*"}]},
        "team-a": {"grants": [{"role": "Developer", "accounts": team_a}, {"role": "ReadOnly", "accounts": team_a}]},
        "team-b": {"grants": [{"role": "Developer", "accounts": team_b}]},
        "auditors": {"grants": [{"role": "ReadOnly", "accounts": names[::10][:1500]}]},
    }
    team = ["readers", "team-a", "team-b", "auditors"]
    users = {f"user{i:03d}": {"groups": [team[i % 4]] + (["readers"] if i % 4 else [])} for i in range(196)}
    users |= {f"admin{i}": {"groups": ["platform-admins", "readers"]} for i in range(4)}
    data: dict[str, Any] = {
        "hub": {"account_id": "111111111111", "name": "identity"},
        "roles": ROLES,
        "accounts": accounts,
        "groups": groups,
        "users": users,
        "quotas": {"trust_policy_chars": 2048},
    }
    if organization_id:
        data["hub"]["organization_id"] = organization_id
    if mode == "stacksets":
        data["deployment"] = {"mode": "stacksets", "account_id": "999999999999", "organizational_unit_ids": ["r-bench"]}
    return data
