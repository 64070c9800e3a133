"""What an audit finds: the kinds of finding, most dangerous first, and the report with its exit code."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from switchrole.live.audit.fixes import q
from switchrole.model.errors import format_path
from switchrole.model.exits import EXIT_CHANGED, EXIT_FAILED, EXIT_OK, EXIT_USAGE
from switchrole.model.expiry import expired_entries, iso
from switchrole.model.organisation import Organisation

EXIT_CLEAN, EXIT_UNREADABLE, EXIT_DRIFT = EXIT_OK, EXIT_FAILED, EXIT_CHANGED
WORKERS = 8
DEFAULT_MAX_KEY_AGE = 90  # days

# Finding kinds, most dangerous first: the report is sorted by this order.
SHADOW_TRUST = "shadow-trust"
REACHABLE = "reachable"
EXTRA_MEMBERSHIP = "extra-membership"
DOCUMENT_DIFFERS = "document-differs"
EXTRA_POLICY = "extra-policy"
NOT_IN_FILE = "not-in-file"
CONSOLE_WITHOUT_MFA = "console-without-mfa"
STALE_KEY = "stale-access-key"
MISSING = "missing"
EXPIRED_ENTRY = "expired-entry"
KINDS: dict[str, str] = {
    SHADOW_TRUST: "role outside switchrole trusts the hub",
    REACHABLE: "role outside switchrole reachable from switchrole's roles",
    EXTRA_MEMBERSHIP: "membership the file does not have",
    DOCUMENT_DIFFERS: "document or setting differs from the file",
    EXTRA_POLICY: "policy attached that the file does not have",
    NOT_IN_FILE: "switchrole entity the file does not have",
    CONSOLE_WITHOUT_MFA: "console password without an MFA device",
    STALE_KEY: "access key too old or unused",
    MISSING: "in the file, missing in AWS",
    EXPIRED_ENTRY: "expired entry in file",
}
RANK = {kind: n for n, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Finding:
    kind: str
    account: str  # account name from the file (the hub's name for the hub; the file itself for its entries)
    account_id: str
    subject: str  # what it is about, e.g. "group readers", "role backdoor"
    detail: str
    fix: tuple[str, ...]  # suggested commands, in order: AWS CLI in ``account_id``, or an edit of the file

    @property
    def title(self) -> str:
        return KINDS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "account": self.account,
            "account_id": self.account_id,
            "subject": self.subject,
            "detail": self.detail,
            "fix": list(self.fix),
        }


@dataclass
class AccountResult:
    """One account's audit: its findings, or why it could not be read."""

    name: str
    account_id: str
    hub: bool = False
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    acknowledged: list[str] = field(default_factory=list)  # trusts of the hub that are there by design

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.name,
            "account_id": self.account_id,
            "hub": self.hub,
            "read": self.error is None,
            "error": self.error,
            "findings": len(self.findings),
            "acknowledged": self.acknowledged,
        }


@dataclass
class AuditReport:
    results: list[AccountResult]
    max_key_age: int
    auditor: str = ""
    file_findings: list[Finding] = field(default_factory=list)  # about the file itself (expired entries)

    @property
    def findings(self) -> list[Finding]:
        """Most dangerous first; then in account order (hub first) and by subject."""
        order = {r.account_id: n for n, r in enumerate(self.results)}
        every = [f for r in self.results for f in r.findings] + self.file_findings
        return sorted(every, key=lambda f: (RANK[f.kind], order.get(f.account_id, -1), f.subject, f.detail))

    @property
    def unreadable(self) -> list[AccountResult]:
        return [r for r in self.results if r.error is not None]

    @property
    def exit_code(self) -> int:
        """1 when an account could not be read (the audit is incomplete), else 3 on drift, else 0."""
        if self.unreadable:
            return EXIT_UNREADABLE
        return EXIT_DRIFT if self.findings else EXIT_CLEAN

    def to_dict(self) -> dict[str, Any]:
        return {
            "clean": self.exit_code == EXIT_CLEAN,
            "exit_code": self.exit_code,
            "auditor": self.auditor,
            "max_key_age_days": self.max_key_age,
            "findings": [f.to_dict() for f in self.findings],
            "accounts": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)


class AuditFailed(Exception):
    """The audit cannot start (no audit role kind, credentials of another account, no MFA code): one line."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


def expired_findings(org: Organisation, now: datetime) -> list[Finding]:
    """Entries whose ``until:`` has passed and that are still in the file: IAM already refuses them (the
    conditions do it), but the file still deploys them and the reader of the file still sees them."""
    findings = []
    for path, until in expired_entries(org, now):
        where = format_path(path)
        if path[0] == "users":
            fix = f"switchrole offboard --user {q(str(path[1]))} --config {q(org.source)}"
        else:
            fix = f"remove {where} from {q(org.source)}"
        findings.append(
            Finding(
                EXPIRED_ENTRY,
                org.source,
                org.hub.account_id,
                where,
                f"expired at {iso(until)} but still in {org.source}",
                (f"{fix}; review with switchrole diff, then npx cdk deploy --all",),
            )
        )
    return findings
