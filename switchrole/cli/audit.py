"""Terminal side of ``switchrole audit``: options, progress on stderr, and the report (table, Markdown, JSON)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from switchrole.live.audit.findings import WORKERS, AccountResult, AuditFailed, AuditReport
from switchrole.live.audit.runner import connect, expected
from switchrole.live.audit.runner import run as run_audit
from switchrole.model.exits import EXIT_USAGE
from switchrole.model.organisation import Organisation, TargetAccount

FORMATS = ("table", "md", "json")


@dataclass(frozen=True)
class Options:
    org: Organisation
    profile: str | None = None
    endpoint_url: str | None = None
    format: str = "table"
    accounts: str | None = None  # comma-separated account names; None: every target account
    max_key_age: int = 90
    mfa_serial: str | None = None
    token_code: str | None = None
    cache: bool = True
    workers: int = WORKERS


err = Console(stderr=True, highlight=False, soft_wrap=True)


def _out() -> Console:
    probe = Console()
    return Console(highlight=False, emoji=False, width=None if probe.is_terminal else 200)


def usage(message: str) -> int:
    err.print(message, markup=False)
    return EXIT_USAGE


def selected(org: Organisation, names: str | None) -> list[TargetAccount] | str:
    """The target accounts ``--accounts`` names (file order), or the one-line problem."""
    if names is None:
        return list(org.accounts)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {a.name for a in org.accounts}
    unknown = [n for n in wanted if n not in known]
    if unknown or not wanted:
        return f"--accounts: no account {unknown[0]!r} in {org.source}" if unknown else "--accounts: name an account"
    return [a for a in org.accounts if a.name in wanted]


def run(options: Options) -> int:
    import botocore.exceptions

    from switchrole.client.assume import token_code
    from switchrole.client.sessions import CredentialCache, SourceFailed, source_session

    org = options.org
    if options.format not in FORMATS:
        return usage(f"--format: expected one of {', '.join(FORMATS)}, got {options.format!r}")
    if options.max_key_age < 0:
        return usage(f"--max-key-age: {options.max_key_age} is not a number of days")
    accounts = selected(org, options.accounts)
    if isinstance(accounts, str):
        return usage(accounts)
    if accounts and all(org.audit_kind_for(account) is None for account in accounts):
        return usage(
            f"{org.source}: no role kind to read target accounts through: mark one `audit: true` (it needs "
            "iam:Get* and iam:List*, e.g. managed_policies: [SecurityAudit])"
        )
    try:
        source = source_session(options.profile, org.hub.region)
    except botocore.exceptions.ProfileNotFound as exc:
        return usage(f"--profile: {exc}")
    except SourceFailed as exc:
        err.print(f"switchrole audit: {exc.message}", markup=False)
        return exc.exit_code
    cache = CredentialCache.default() if options.cache else CredentialCache(None)
    try:
        auditor = connect(
            org,
            source,
            mfa_serial=options.mfa_serial,
            token=lambda: token_code(options.token_code, options.mfa_serial),
            cache=cache,
            endpoint_url=options.endpoint_url,
        )
    except AuditFailed as exc:
        err.print(f"switchrole audit: {exc.message}", markup=False)
        return exc.exit_code
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("synthesizing the expected state", total=None)
        state = expected(org)
        progress.update(task, description=f"auditing the hub and {len(accounts)} account(s)", total=len(accounts) + 1)
        report = run_audit(
            org,
            auditor,
            state,
            accounts=accounts,
            max_key_age=options.max_key_age,
            workers=options.workers,
            on_done=lambda _: progress.advance(task),
        )
    for result in report.unreadable:
        err.print(f"cannot read {result.name} ({result.account_id}): {result.error}", markup=False)
    render(report, options.format, org)
    return report.exit_code


def render(report: AuditReport, format: str, org: Organisation) -> None:
    """JSON and Markdown as plain text (no markup, emoji codes or wrapping may touch a command); the table by Rich."""
    if format == "json":
        sys.stdout.write(report.to_json() + "\n")
    elif format == "md":
        sys.stdout.write(to_markdown(report, org))
    else:
        if report.findings:
            _out().print(table(report))
        sys.stdout.write("\n".join([summary(report, org), *_notes(report.results)]) + "\n")


def summary(report: AuditReport, org: Organisation) -> str:
    read = [r for r in report.results if r.error is None]
    where = f"the hub and {len(read) - 1} target account(s)" if any(r.hub for r in read) else f"{len(read)} account(s)"
    if not report.findings and not report.unreadable:
        return f"clean: {where} match {org.source} (access keys: at most {report.max_key_age} days)"
    text = f"{len(report.findings)} finding(s) in {where}, most dangerous first"
    if report.unreadable:
        text += f"; {len(report.unreadable)} account(s) could not be read: " + ", ".join(
            r.name for r in report.unreadable
        )
    return text


def _notes(results: Sequence[AccountResult]) -> list[str]:
    acknowledged = [f"{r.name}: {a}" for r in results for a in r.acknowledged]
    if not acknowledged:
        return []
    return [
        f"not findings: {len(acknowledged)} CDK bootstrap role(s) as switchrole's bootstrap makes them (only their "
        "account's own deployer roles may use them; docs/onboarding.md)"
    ]


def table(report: AuditReport) -> Table:
    result = Table(title="switchrole audit", show_lines=True)
    for column in ("#", "finding", "account", "subject", "detail", "fix (AWS CLI)"):
        result.add_column(column, overflow="fold")
    for n, finding in enumerate(report.findings, start=1):
        result.add_row(
            str(n),
            escape(finding.title),
            f"{escape(finding.account)}\n{finding.account_id}",
            escape(finding.subject),
            escape(finding.detail),
            escape("\n".join(finding.fix)),
        )
    return result


def to_markdown(report: AuditReport, org: Organisation) -> str:
    lines = [
        "# switchrole audit",
        "",
        summary(report, org) + (f"; auditor `{report.auditor}`" if report.auditor else ""),
    ]
    for n, finding in enumerate(report.findings, start=1):
        lines += [
            "",
            f"## {n}. {finding.title}: {finding.subject}",
            "",
            f"{finding.account} ({finding.account_id}): {finding.detail}",
        ]
        if finding.fix:
            lines += ["", "```bash", *finding.fix, "```"]
    if report.unreadable:
        lines += ["", "## Accounts not read", ""]
        lines += [f"- {r.name} ({r.account_id}): {r.error}" for r in report.unreadable]
    acknowledged = [f"- {r.name}: {a}" for r in report.results for a in r.acknowledged]
    if acknowledged:
        lines += ["", "## Trusts of the hub by design (not findings)", "", *acknowledged]
    return "\n".join(lines) + "\n"
