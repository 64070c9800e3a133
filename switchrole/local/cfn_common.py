"""What every IAM CloudFormation model of the emulator shares: the backend, the properties a resource was last
created or updated with, and the list and inline-policy synchronisation an update needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from moto.utilities.utils import get_partition

PROPERTIES = "switchrole_properties"  # the template properties a resource was last created or updated with


def iam_backend(account_id: str, region_name: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account_id][get_partition(region_name)]


def template_props(json_: Mapping[str, Any]) -> dict[str, Any]:
    return dict(json_.get("Properties") or {})


def remember_props(resource: Any, props: Mapping[str, Any]) -> Any:
    setattr(resource, PROPERTIES, dict(props))
    return resource


def previous_props(resource: Any) -> dict[str, Any]:
    return dict(getattr(resource, PROPERTIES, {}))


def policy_json(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def delete_conflict(message: str) -> Exception:
    from moto.iam.exceptions import DeleteConflictException

    return DeleteConflictException(message)


def added_removed(old: Iterable[str], new: Iterable[str]) -> tuple[list[str], list[str]]:
    """(added, removed) between two lists, keeping order."""
    before, after = list(old), list(new)
    return [x for x in after if x not in before], [x for x in before if x not in after]


def inline_policies(policies: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {p["PolicyName"]: policy_json(p["PolicyDocument"]) for p in policies}


def sync_list(
    old: Mapping[str, Any], new: Mapping[str, Any], key: str, add: Callable[[str], Any], remove: Callable[[str], Any]
) -> None:
    """Apply the difference of one list property (ManagedPolicyArns, Groups, Users, Roles) between templates."""
    added, removed = added_removed(old.get(key, []), new.get(key, []))
    for item in added:
        add(item)
    for item in removed:
        remove(item)


def sync_inline(
    old: Mapping[str, Any], new: Mapping[str, Any], put: Callable[[str, str], Any], delete: Callable[[str], Any]
) -> None:
    """Apply the difference of the ``Policies`` (inline policies) property between templates."""
    before, after = inline_policies(old.get("Policies", [])), inline_policies(new.get("Policies", []))
    for policy, document in after.items():
        if before.get(policy) != document:
            put(policy, document)
    for policy in before.keys() - after.keys():
        delete(policy)


def replaces(old: Mapping[str, Any], new: Mapping[str, Any], keys: Iterable[str]) -> bool:
    return any(old.get(key) != new.get(key) for key in keys)
