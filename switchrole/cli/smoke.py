"""Terminal side of ``switchrole smoke``: options to requests, MFA prompting, progress and report."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import boto3
import botocore.exceptions
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from switchrole.client import deadline
from switchrole.client.assume import token_code
from switchrole.client.redact import never_redact, redact
from switchrole.client.sessions import CredentialCache, profile_session
from switchrole.client.switch import (
    RETRIES,
    SESSION_NAME_RE,
    SmokeFailed,
    SmokeRequest,
    classify,
    find_role,
    parse_role_arn,
    permission_set_of,
    profile_of,
    request_for,
    utc_iso,
)
from switchrole.live.smoke import SmokeReport, Step, check_permission_set, check_user, run_smoke, worst
from switchrole.model.exits import EXIT_USAGE
from switchrole.model.expiry import utc_now
from switchrole.model.organisation import Organisation


@dataclass(frozen=True)
class Options:
    role_arn: str | None
    all_roles: bool
    user: str | None
    org: Organisation | None
    profile: str | None
    mfa_serial: str | None
    token_code: str | None
    session_name: str | None
    duration: int | None
    external_id: str | None
    source_identity: bool | None
    as_json: bool
    workers: int
    cache: bool = True  # the MFA session cache shared with `switchrole assume` (--no-cache: neither read nor write)
    permission_set: str | None = None  # --all for an Identity Center permission set (instead of --user)


err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False)


def say(message: str) -> None:
    """One line on stderr, redacted (every line the command prints passes :func:`redact`)."""
    err.print(redact(message), markup=False)


def usage(message: str) -> int:
    say(message)
    return EXIT_USAGE


def _cache(options: Options) -> CredentialCache:
    return CredentialCache.default() if options.cache else CredentialCache(None)


def run(options: Options) -> int:
    if options.org is not None:  # its role ARNs are shown whole, however long and mixed-case their names
        org = options.org
        never_redact(*(org.role_kinds[k].arn(a.account_id) for a in org.accounts for k in a.role_keys))
    try:
        session = profile_session(options.profile)
    except botocore.exceptions.ProfileNotFound as exc:
        return usage(f"--profile: {exc}")
    try:
        seconds = deadline.configured_seconds()
    except deadline.DeadlineError as exc:
        return usage(str(exc))
    if options.all_roles and options.role_arn is not None:
        return usage("--role-arn and --all: give one of them (--all switches into every role --user is granted)")
    if options.all_roles:
        return _run_all(session, options, seconds)
    if options.role_arn is None:
        return usage("give --role-arn ARN, or --all --config accounts.yaml --user NAME")
    try:
        parse_role_arn(options.role_arn)
    except SmokeFailed as exc:
        return usage(exc.message)
    problem = argument_problem(options.duration, options.token_code, options.session_name)
    if problem:
        return usage(problem)
    request = _single_request(options)
    token: Callable[[], str] | None = None
    with deadline.running(seconds, "smoke", prefix="FAILED: "):  # the report is printed after it
        if request.mfa_required or request.mfa_serial:
            try:
                serial = request.mfa_serial or _default_serial(session, options.org, request)
            except SmokeFailed as failure:  # the endpoint or the credentials: the cause, not a hint about MFA
                _print_single(failed_report(request, "source identity", failure), options.as_json)
                return failure.exit_code
            if serial == FROM_IDENTITY_CENTER:  # MFA was Identity Center's, at sign-in: no code to give
                request = replace(request, mfa_required=False, mfa_serial=None)
                serial = ""
            if serial is None:
                if options.org is None:
                    return usage("the role requires MFA: pass --mfa-serial (or --config so the hub user's device "
                                 "is known)")  # fmt: skip
                return usage("the role requires MFA, and the caller is not a hub IAM user whose device --config "
                             "names: pass --mfa-serial")  # fmt: skip
            if serial:
                request = replace(request, mfa_serial=serial)
                token = lambda: token_code(options.token_code, serial)  # noqa: E731  (asked only when no cached MFA session will do)
        report = run_smoke(session, request, token=token, org=options.org, cache=_cache(options))
    _print_single(report, options.as_json)
    return report.exit_code


def argument_problem(duration: int | None, token_code: str | None, session_name: str | None = None) -> str | None:
    """What AWS would refuse about these arguments, checked before any call (botocore's message is not one line)."""
    if duration is not None and not 900 <= duration <= 43200:
        return f"--duration: {duration} is not between 900 and 43,200 seconds"
    if token_code is not None and not re.fullmatch(r"[0-9]{6}", token_code):
        return "--token-code: an MFA code is 6 digits"
    if session_name is not None and not SESSION_NAME_RE.fullmatch(session_name):
        return "--session-name: 2-64 of A-Z a-z 0-9 _ + = , . @ -"
    return None


def _single_request(options: Options) -> SmokeRequest:
    assert options.role_arn is not None
    request = SmokeRequest(role_arn=options.role_arn, label=options.role_arn.rsplit("/", 1)[-1])
    found = find_role(options.org, options.role_arn) if options.org else None
    if found is not None:
        account, kind = found
        assert options.org is not None
        request = request_for(options.org, account, kind, None)
    return replace(
        request,
        session_name=options.session_name or request.session_name,
        duration=options.duration,
        external_id=options.external_id or request.external_id,
        source_identity=request.source_identity if options.source_identity is None else options.source_identity,
        mfa_serial=options.mfa_serial or request.mfa_serial,
    )


FROM_IDENTITY_CENTER = "identity-center"  # the caller is a permission set's session: no MFA device to name


def _default_serial(session: boto3.Session, org: Organisation | None, request: SmokeRequest) -> str | None:
    """The hub user's virtual MFA device, when the accounts file tells us the hub; :data:`FROM_IDENTITY_CENTER`
    for a session of one of the file's permission sets; None when the caller is neither. A caller that cannot be
    asked (the endpoint, the credentials) is :class:`SmokeFailed`."""
    if org is None:
        return None
    try:
        sts = session.client("sts", region_name=session.region_name or "us-east-1", config=RETRIES)
        arn = str(sts.get_caller_identity()["Arn"])
    except Exception as exc:
        raise classify(exc, "GetCallerIdentity", request, "", org, False, profile=profile_of(session)) from None
    if permission_set_of(org, arn) in {g.permission_set for g in org.permission_set_groups}:
        return FROM_IDENTITY_CENTER
    return org.hub.mfa_serial(arn.rsplit("/", 1)[-1]) if ":user/" in arn else None


def failed_report(request: SmokeRequest, stage: str, failure: SmokeFailed) -> SmokeReport:
    """The report of a check that failed at ``stage`` before :func:`run_smoke` began."""
    report = SmokeReport(request, [Step(stage, False, failure.message)], failure.message, failure.kind)
    report.aws_message, report.exit_code = failure.aws_message, failure.exit_code
    return report


def _run_all(session: boto3.Session, options: Options, seconds: float) -> int:
    org, user = options.org, options.user
    if options.permission_set is not None:
        return _run_permission_set(session, options, seconds)
    if org is None or user is None:
        return usage("--all needs --config accounts.yaml and --user NAME (or --permission-set NAME)")
    if user not in org.users:
        return usage(f"--user: no user {user!r} in {org.source}")
    now = utc_now()
    total = len(org.user_roles(user, now=now))
    if not total:
        say(f"{user} may switch into no role in {org.source} (none granted, or expired)")
        return 0
    # a progress bar only on a terminal: elsewhere it would leave an empty line on stderr
    with (
        deadline.running(seconds, "smoke --all", "FAILED: ", math.ceil(total / options.workers)),
        Progress(console=err, transient=True, disable=options.as_json or not err.is_terminal) as progress,
    ):
        task = progress.add_task(f"switching as {user}", total=total)
        try:
            reports = check_user(
                session,
                org,
                user,
                token=asking_over(
                    progress, lambda: token_code(options.token_code, options.mfa_serial or org.hub.mfa_serial(user))
                ),
                mfa_serial=options.mfa_serial,
                duration=options.duration,
                workers=options.workers,
                on_done=lambda _: progress.advance(task),
                cache=_cache(options),
                now=now,
            )
        except SmokeFailed as failure:
            say(failure.message)
            return failure.exit_code
    if options.as_json:
        out.print_json(redact(json.dumps([r.to_dict() for r in reports])))
    else:
        print_summary(reports, title=f"switchrole smoke: {user}")
    return worst(reports)


def asking_over(progress: Progress, ask: Callable[[], str]) -> Callable[[], str]:
    """``ask`` (the MFA code's prompt) with the progress bar taken off the terminal while the person types: the
    bar's live line, redrawn ten times a second on the prompt's line, erased the prompt (echo off, the person
    typed blind). The bar comes back afterwards (without a bar, stop and start do nothing)."""

    def asked_alone() -> str:
        progress.stop()
        try:
            return ask()
        finally:
            progress.start()

    return asked_alone


def _run_permission_set(session: boto3.Session, options: Options, seconds: float) -> int:
    """``--all --permission-set NAME``: every switch of the set, from the set's Identity Center session."""
    org, name = options.org, options.permission_set
    assert name is not None
    if org is None or options.user is not None:
        return usage("--all --permission-set needs --config accounts.yaml, and no --user")
    if not any(g.permission_set == name for g in org.permission_set_groups):
        return usage(f"--permission-set: no group of {org.source} is permission set {name!r}")
    if options.mfa_serial or options.token_code:
        return usage("--mfa-serial and --token-code are for hub users: Identity Center asked for MFA at sign-in")
    with deadline.running(seconds, "smoke --all", "FAILED: "):
        try:
            reports = check_permission_set(session, org, name, workers=options.workers)
        except SmokeFailed as failure:
            say(failure.message)
            return failure.exit_code
    if not reports:
        say(f"permission set {name} may switch into no role in {org.source} (none granted, or expired)")
        return 0
    if options.as_json:
        out.print_json(redact(json.dumps([r.to_dict() for r in reports])))
    else:
        print_summary(reports, title=f"switchrole smoke: permission set {name}")
    return worst(reports)


# The summary's columns: (header, always shown). Optional ones are dropped, last first, when the table would
# not fit the terminal; the account and the role are never cut (they fold onto a second line instead).
COLUMNS = (("account", True), ("role", True), ("result", True), ("expires", True), ("buckets", False),
           ("identity after switch", False))  # fmt: skip


def _cells(report: SmokeReport) -> dict[str, str]:
    """The row's cells, each redacted whole (a cell may be folded onto two lines, which no line-wise
    redaction would see as one value)."""
    account, _, role_name = parse_role_arn(report.request.role_arn)
    cells = {
        "account": report.request.account_name or account,
        "role": report.request.role_key or role_name,
        "result": "ok" if report.ok else "FAILED",
        "expires": utc_iso(report.expiration) if report.expiration else "-",
        "buckets": str(len(report.buckets)) if report.ok else "-",
        "identity after switch": report.assumed_arn or "-",
    }
    return {header: redact(value) for header, value in cells.items()}


def summary_table(reports: list[SmokeReport], title: str, width: int | None = None) -> Table:
    """One row per switch; ``width`` (the terminal's) drops optional columns that would not fit (None: all).
    The result is ok or FAILED: each failure's cause is one line of :func:`failure_lines`."""
    rows = [_cells(r) for r in reports]
    natural = {h: max([len(h), *(len(row[h]) for row in rows)]) for h, _ in COLUMNS}
    shown = [h for h, always in COLUMNS if always]
    for header, always in COLUMNS:
        if not always and width is not None and _table_width([*shown, header], natural) > width:
            break
        if not always:
            shown.append(header)
    table = Table(title=title)
    for header in shown:
        if header in ("account", "role"):  # the row's identity: wrapped within the cell if need be, never cut
            table.add_column(header, overflow="fold", min_width=min(natural[header], 12))
        elif header == "buckets":
            table.add_column(header, justify="right", no_wrap=True)
        elif header == "identity after switch":
            table.add_column(header, overflow="fold")
        else:
            table.add_column(header, no_wrap=True, min_width=natural[header])
    for report, row in zip(reports, rows, strict=True):
        cells = [Text(row[h]) for h in shown]  # names and ARNs as they are, never read as markup
        cells[shown.index("result")] = Text("ok", "green") if report.ok else Text("FAILED", "red")
        table.add_row(*cells)
    return table


def _table_width(headers: list[str], natural: dict[str, int]) -> int:
    """Rich's default box: one rule per column and one more, one space of padding on each side of a cell."""
    return sum(natural[h] + 3 for h in headers) + 1


def failure_lines(reports: list[SmokeReport]) -> list[str]:
    """One line per failed switch: which one, and its cause (the cause names the AWS call that failed)."""
    lines = []
    for report in reports:
        if not report.ok:
            cells = _cells(report)
            lines.append(f"FAILED {cells['account']} {cells['role']}: {redact(report.failure or '')}")
    return lines


def count_line(reports: list[SmokeReport]) -> str:
    passed = sum(r.ok for r in reports)
    noun = "switch" if len(reports) == 1 else "switches"
    return f"{len(reports)} {noun}: {passed} passed, {len(reports) - passed} failed"


def print_summary(reports: list[SmokeReport], title: str) -> None:
    """The table and the count on stdout; each failure's cause once, one line each, on stderr."""
    out.print(summary_table(reports, title=title, width=out.width))
    out.print(count_line(reports), markup=False)
    for line in failure_lines(reports):
        say(line)


def _print_single(report: SmokeReport, as_json: bool) -> None:
    """The steps that passed on stdout, then OK there; or the failure's cause, once, as one line on stderr."""
    if as_json:
        out.print_json(redact(json.dumps(report.to_dict())))
        return
    for step in report.steps:
        if step.ok:
            out.print("[green]✓[/green] ", end="")
            out.print(f"{step.name}: {redact(step.detail)}", markup=False)
    if report.ok:
        out.print(Text("OK", "green"), Text(f": switched into {redact(report.request.role_arn)} and back"), sep="")
    else:
        say(f"FAILED: {report.failure or ''}")
