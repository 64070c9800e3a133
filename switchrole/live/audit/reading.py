"""Read-only access to IAM: every page of a listing, an entity or None, and where findings are made."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from switchrole.live.audit.findings import Finding
from switchrole.model.organisation import MANAGED_BY_TAG


def pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    """Every item of a listing, across pages (IAM answers 100 at a time)."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(key, [])
    else:
        yield from getattr(client, operation)(**params).get(key, [])


def read_or_none(iam: Any, operation: str, **params: Any) -> Any:
    """IAM's answer to ``operation``, or None when IAM says there is no such entity."""
    try:
        return getattr(iam, operation)(**params)
    except iam.exceptions.NoSuchEntityException:
        return None


@dataclass
class Where:
    """Where findings are made: the account, and the list they go to."""

    name: str
    account_id: str
    findings: list[Finding]

    def add(self, kind: str, subject: str, detail: str, fix: Iterable[str]) -> None:
        self.findings.append(Finding(kind, self.name, self.account_id, subject, detail, tuple(fix)))


def managed_by_switchrole(tags: Iterable[Mapping[str, str]]) -> bool:
    return any(t["Key"] == MANAGED_BY_TAG[0] and t["Value"] == MANAGED_BY_TAG[1] for t in tags)
