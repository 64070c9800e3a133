"""Build accounts-file text for tests: the example, variations of it, and large generated organisations."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from switchrole.model.loading import from_data, loads
from switchrole.model.organisation import Organisation

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "accounts.yaml"


def example_data() -> Any:
    """The example accounts file as a mutable ruamel document."""
    return YAML(typ="rt").load(EXAMPLE.read_text())


def dump(data: Any) -> str:
    buffer = io.StringIO()
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.dump(data, buffer)
    return buffer.getvalue()


def variant(change: Callable[[Any], None]) -> str:
    """The example with ``change`` applied to its data, as YAML text."""
    data = example_data()  # freshly parsed (a deep copy of ruamel's document would drop a timestamp's zone)
    change(data)
    return dump(data)


def rename_kind(data: Any, old: str, new: str) -> None:
    """Rename a role kind's key everywhere in the file, keeping its IAM role name."""
    data["roles"][new] = data["roles"].pop(old)
    data["roles"][new]["name"] = old
    for account in data["accounts"]:
        account["roles"] = [new if r == old else r for r in account["roles"]]
    for group in data["groups"].values():
        for grant in group["grants"]:
            grant["role"] = new if grant["role"] == old else grant["role"]


def account_id(n: int) -> str:
    return f"{200000000000 + n:012d}"


def generated(
    n_accounts: int,
    *,
    grants: dict[str, list[dict[str, Any]]] | None = None,
    users: dict[str, dict[str, Any]] | None = None,
    roles: dict[str, Any] | None = None,
    quotas: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An organisation of ``n_accounts`` targets (``acct-0001`` ...), each with every role kind."""
    roles = roles or {
        "ReadOnly": {"managed_policies": ["ReadOnlyAccess"]},
        "Admin": {"managed_policies": ["AdministratorAccess"]},
    }
    data: dict[str, Any] = {
        "hub": {"account_id": "111111111111", "name": "identity"},
        "roles": roles,
        "accounts": [
            {"name": f"acct-{i:04d}", "account_id": account_id(i), "roles": list(roles)}
            for i in range(1, n_accounts + 1)
        ],
        "groups": {name: {"grants": g} for name, g in (grants or {}).items()},
        "users": users or {},
    }
    if quotas:
        data["quotas"] = quotas
    return data


def load_data(data: dict[str, Any]) -> Organisation:
    """Through YAML text, as a user's file would be read (fine up to ~1,000 accounts)."""
    return loads(dump(data), "generated.yaml")


def build(data: dict[str, Any]) -> Organisation:
    """Straight from data, skipping YAML: for the 5,000-account organisations."""
    return from_data(data, "generated")
