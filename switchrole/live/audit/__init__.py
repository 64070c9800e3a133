"""``switchrole audit``: does AWS still match the accounts file?

``switchrole validate`` proves the file is right; this reads the live IAM state, with read-only calls only
(IAM ``Get*``/``List*``, and STS ``GetCallerIdentity``, ``GetSessionToken`` and ``AssumeRole`` to get in), and
reports every difference from what the file's templates deploy:

- in the hub: members of switchrole's groups the file does not put there (memberships left behind
  included), policies attached to switchrole's groups and users beyond the file's, managed-policy documents
  that differ, switchrole users (tagged) that the file no longer has, console passwords without an MFA
  device, access keys older than the maximum age or unused for that long, and users the file has that
  do not exist;
- in each target account, read through the audit role kind (``audit: true``): roles under switchrole's
  paths that the file does not have, *any* role whose trust admits the hub account or a hub principal
  that switchrole did not create (shadow access), every role reachable from switchrole's roles or the
  bootstrap roles (a trust naming them, or this account's root while one of them may call sts:AssumeRole),
  CDK bootstrap roles that are not switchrole's bootstrap (trusting the hub, or with policies added), and
  trust and permission documents that differ.

Every finding carries the commands that would fix it (AWS CLI; for entries of the file, the edit).
Accounts are read concurrently (a bounded pool); an account that cannot be read is reported and the others
are still audited.

Modules: ``findings`` (kinds, report, exit code), ``fixes`` (the suggested commands), ``reading`` (read-only
IAM access), ``hub`` and ``accounts`` (the checks), ``runner`` (getting in, concurrency), ``cli`` (terminal).
"""

from switchrole.live.audit.accounts import audit_account, bootstrap_role_kind
from switchrole.live.audit.findings import (
    EXIT_CLEAN,
    EXIT_DRIFT,
    EXIT_UNREADABLE,
    KINDS,
    AccountResult,
    AuditFailed,
    AuditReport,
    Finding,
    expired_findings,
)
from switchrole.live.audit.fixes import create_role_commands, delete_role_commands
from switchrole.live.audit.hub import audit_hub
from switchrole.live.audit.runner import Auditor, connect, expected, run
from switchrole.model.exits import EXIT_USAGE

__all__ = [
    "EXIT_CLEAN",
    "EXIT_DRIFT",
    "EXIT_UNREADABLE",
    "EXIT_USAGE",
    "KINDS",
    "AccountResult",
    "AuditFailed",
    "AuditReport",
    "Auditor",
    "Finding",
    "audit_account",
    "audit_hub",
    "bootstrap_role_kind",
    "connect",
    "create_role_commands",
    "delete_role_commands",
    "expected",
    "expired_findings",
    "run",
]
