"""The ``switchrole`` command line: each command is a thin layer over library functions.

Exit codes: 0 success, 1 a check failed, 2 bad usage or configuration (one
line per problem, naming the field path and the file line).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer

from switchrole import __version__
from switchrole.cli import help_style
from switchrole.infra import deploy_settings
from switchrole.local.kept import CONFIG_VAR, DIR_VAR
from switchrole.model.errors import ConfigError
from switchrole.model.organisation import Organisation
from switchrole.review.fit import MIN_LIMIT as MIN_REVIEW_CHARS
from switchrole.review.fit import REVIEW_LIMIT

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

help_style.install()
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    name="switchrole",
    help="One reviewed accounts file -> cross-account switch-role IAM in every AWS account.",
    no_args_is_help=True,
    context_settings=HELP_OPTIONS,
    pretty_exceptions_enable=False,
)


def _resolve_config(ctx: typer.Context, param: Any, value: Path) -> Path:
    """Without --config, the file `npx cdk deploy` here builds: cdk.json's `config` context, else accounts.yaml."""
    source = ctx.get_parameter_source(param.name)
    if source is not None and source.name == "DEFAULT":
        return deploy_settings.default_config()
    return value


ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config",
        "-c",
        help="The accounts file (default: the one `npx cdk deploy` builds here, cdk.json's config, else "
        "accounts.yaml).",
        callback=_resolve_config,
        show_default=False,
    ),
]
DEFAULT_CONFIG = Path(deploy_settings.DEFAULT_CONFIG)

T = TypeVar("T")


def fail(lines: list[str] | str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print problems to stderr and return the Exit to raise."""
    for line in [lines] if isinstance(lines, str) else lines:
        typer.echo(line, err=True)
    return typer.Exit(code)


def guarded(action: Callable[[], T]) -> T:
    """Run ``action``; a :class:`ConfigError` becomes one stderr line per problem and exit code 2."""
    try:
        return action()
    except ConfigError as exc:
        raise fail(exc.lines) from None


def load(config: Path) -> Organisation:
    from switchrole.infra.validate import load_checked

    return guarded(lambda: load_checked(config))


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"switchrole {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """switchrole: sign in once in the hub account, switch role into every project account."""


@app.command()
def validate(
    config: ConfigOption = DEFAULT_CONFIG,
    quick: Annotated[
        bool, typer.Option("--quick", help="Skip the synthesis checks (cdk-nag, template sizes): ~3 s faster.")
    ] = False,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="Git revision or file of what is deployed: also check that the change deploys as one update.",
        ),
    ] = None,
) -> None:
    """Check the accounts file: schema, references, IAM quotas and (unless --quick) synthesis.

    Every IAM quota the generated policies must fit, and everything synthesis checks (cdk-nag, template sizes),
    so that a file that validates is a file that synthesizes. With --base, also that CloudFormation can deploy
    the change over --base as one update (no replacement of a named resource); --quick skips that too.
    """
    import tempfile

    from switchrole.review.summary import summarize, warnings

    org = load(config)
    base_org = _base(base, config) if base is not None and not quick else None
    if not quick:
        from switchrole.infra.assembly import synth as synth_assembly
        from switchrole.infra.nag import SynthFailed

        with tempfile.TemporaryDirectory(prefix="switchrole-validate-") as scratch:
            assembly = Path(scratch) / "cdk.out"
            try:
                guarded(lambda: synth_assembly(org, assembly))
                if base_org is not None:
                    _refuse_replacements(base_org, org, config, assembly)
            except SynthFailed as exc:
                raise fail([f"{config}: {line}" for line in exc.lines]) from None
    for warning in warnings(org):
        typer.echo(f"{config}: warning: {warning}", err=True)
    typer.echo(f"{config}: OK: {summarize(org)}" + (" (--quick: synthesis not checked)" if quick else ""))


def _base(base: str, config: Path) -> Organisation | None:
    from switchrole.review.access_diff import load_base

    return guarded(lambda: load_base(base, config))[0]


def _refuse_replacements(base: Organisation, head: Organisation, config: Path, assembly: Path | None = None) -> None:
    """Exit 2, one line each, for every change CloudFormation could not deploy over ``base`` as one update."""
    from switchrole.infra.replacement import update_problems

    if problems := update_problems(base, head, assembly):
        raise fail([problem.render(str(config)) for problem in problems])


@app.command()
def synth(
    config: ConfigOption = DEFAULT_CONFIG,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the cloud assembly.")] = Path("cdk.out"),
) -> None:
    """Write the cloud assembly (same as `npx cdk synth`) without the CDK CLI."""
    org = load(config)  # before anything is written: an invalid file leaves --out untouched
    from switchrole.infra.assembly import synth as synth_assembly
    from switchrole.infra.nag import SynthFailed

    try:
        stacks = guarded(lambda: synth_assembly(org, out))
    except SynthFailed as exc:
        raise fail(exc.lines) from None
    for stack in stacks:
        typer.echo(f"{stack.stack_name}\t{stack.template}")


@app.command("bootstrap-template")
def bootstrap_template(
    config: ConfigOption = DEFAULT_CONFIG,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write it.")] = Path("bootstrap-template.json"),
) -> None:
    """Write switchrole's CDK bootstrap template for target accounts (`npx cdk bootstrap --template FILE`).

    The CDK CLI's own template, except that only the account's own deployer roles (switchrole-github-deploy,
    OrganizationAccountAccessRole) may use its deployment roles (no hub principal, whatever --trust says), and
    CloudFormation may manage only IAM roles under the file's role paths. Commit it beside accounts.yaml.
    """
    from switchrole.infra.bootstrap import render
    from switchrole.local.demo import DemoFailed, cdk_binary
    from switchrole.review.writes import FileWriteError, replace_text

    org = load(config)
    try:
        text = render(org, cdk_binary())
    except (DemoFailed, OSError) as exc:
        raise fail(f"bootstrap-template: {exc}", EXIT_FAILED) from None
    try:
        replace_text(out, text)
    except FileWriteError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"{out}: switchrole's bootstrap template; use it as: npx cdk bootstrap aws://ACCOUNT/REGION --template {out}"
    )


@app.command()
def matrix(
    config: ConfigOption = DEFAULT_CONFIG,
    format: Annotated[
        Literal["table", "md", "json"] | None,
        typer.Option("--format", "-f", help="table (the default on a terminal), md (the default otherwise) or json."),
    ] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this hub user.")] = None,
) -> None:
    """Who may switch into what: one row per user, group, account and role."""
    from switchrole.client.profiles import no_roles_note
    from switchrole.review.matrix import nobody_note, records, to_markdown, to_table

    org = load(config)
    if user is not None:
        _known_user(org, user, config)
    rows = records(org, user)
    if user is not None and not rows and (note := no_roles_note(org, user)):
        typer.echo(f"note: {note}; the output lists none", err=True)  # stdout: the empty table, valid
    if format == "json":
        typer.echo(json.dumps(rows, indent=2))
    elif format == "table" or (format is None and sys.stdout.isatty()):
        from rich.console import Console

        console = Console()
        console.print(to_table(org, rows))
        note = "" if user else nobody_note(org).strip()
        if note:
            console.print(note, markup=False, highlight=False)
    else:
        typer.echo(to_markdown(rows) + ("" if user else nobody_note(org)), nl=False)


@app.command()
def smoke(
    role_arn: Annotated[str | None, typer.Option("--role-arn", help="The role to switch into.")] = None,
    all_roles: Annotated[bool, typer.Option("--all", help="Every role --user is granted (needs --config).")] = False,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Hub user, with --all.")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Accounts file: fills MFA, external id, diagnosis.")
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="AWS profile with the hub user's credentials.")
    ] = None,
    mfa_serial: Annotated[str | None, typer.Option("--mfa-serial", help="MFA device ARN.")] = None,
    token_code: Annotated[
        str | None, typer.Option("--token-code", help="Current MFA code (prompted on a TTY).")
    ] = None,
    session_name: Annotated[str | None, typer.Option("--session-name", help="Role session name.")] = None,
    duration: Annotated[int | None, typer.Option("--duration", help="Session seconds (900..role maximum).")] = None,
    external_id: Annotated[str | None, typer.Option("--external-id", help="External id the role requires.")] = None,
    source_identity: Annotated[
        bool | None,
        typer.Option("--source-identity/--no-source-identity", help="Set SourceIdentity to your user name."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
    workers: Annotated[int, typer.Option("--workers", help="Concurrent checks with --all.", min=1, max=16)] = 4,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Use and keep the MFA session cache that profiles use.")
    ] = True,
) -> None:
    """Prove a switch works: assume the role, check who you are, list the account's buckets, switch back.

    Exit code 0: every check passed; 1: a check failed; 2: usage or configuration.
    """
    from switchrole.cli import smoke as smoke_cli
    from switchrole.client.redact import redacted_output

    with redacted_output(stdout=True):  # the last resort: every line smoke prints, on both streams
        code = smoke_cli.run(
            smoke_cli.Options(
                role_arn=role_arn,
                all_roles=all_roles,
                user=user,
                org=load(config) if config is not None else None,
                profile=profile,
                mfa_serial=mfa_serial,
                token_code=token_code,
                session_name=session_name,
                duration=duration,
                external_id=external_id,
                source_identity=source_identity,
                as_json=as_json,
                workers=workers,
                cache=cache,
            )
        )
    raise typer.Exit(code)


UserOption = Annotated[str, typer.Option("--user", "-u", help="Hub user.")]


def _known_user(org: Organisation, user: str, config: Path) -> None:
    if user not in org.users:
        raise fail(f"--user: no user {user!r} in {config} (users: {', '.join(org.users) or 'none'})")


@app.command()
def profiles(
    user: UserOption,
    config: ConfigOption = DEFAULT_CONFIG,
    hub_profile: Annotated[
        str | None,
        typer.Option(
            "--hub-profile", help="Profile holding the user's hub credentials (default: hub.name; A-Z a-z 0-9 +=,.@_-)."
        ),
    ] = None,
    mfa_serial: Annotated[
        str | None,
        typer.Option("--mfa-serial", help="MFA device ARN, or a hardware token's serial (default: mfa/<user>)."),
    ] = None,
    merge: Annotated[
        Path | None, typer.Option("--merge", help="Update this AWS config file in place (only switchrole's block).")
    ] = None,
    command: Annotated[
        str | None,
        typer.Option("--command", help="How profiles run switchrole (default: this installation's absolute path)."),
    ] = None,
) -> None:
    """AWS CLI profiles for every role the user may switch into (an ~/.aws/config fragment; never credentials).

    Each runs `switchrole assume` as credential_process: MFA session first (one code, cached), then AssumeRole.
    """
    from switchrole.client.profiles import (
        MergeConflict,
        merge_profiles,
        merge_summary,
        no_roles_note,
        profile_option_problems,
        profiles_block,
        read_aws_config,
    )
    from switchrole.review.writes import (
        FileWriteError,
        as_lf,
        check_replaceable,
        line_ending,
        locked,
        replace_text,
        with_line_ending,
    )

    problems = profile_option_problems(hub_profile, mfa_serial, command)  # before anything is read or written
    if problems:
        raise fail(problems)
    org = load(config)
    _known_user(org, user, config)
    block = guarded(
        lambda: profiles_block(
            org, user, hub_profile=hub_profile or org.hub.name, mfa_serial=mfa_serial, command=command
        )
    )
    note = no_roles_note(org, user)  # the block is empty: merged, it removes the profiles the user had
    if merge is None:
        if note:
            typer.echo(f"note: {note}; the output lists none", err=True)
        typer.echo(block, nl=False)
        return
    try:
        with locked(merge):  # a second merge waits, then merges into this one's result
            check_replaceable(merge, personal=True)  # another user's file, or a read-only one: refused
            existing = guarded(lambda: read_aws_config(merge))
            # edited as LF lines (the block's markers are found by line), written back in the file's own endings
            updated = with_line_ending(merge_profiles(as_lf(existing), block, user), line_ending(existing))
            if updated != existing:
                replace_text(merge, updated, personal=True)
    except (MergeConflict, FileWriteError) as exc:
        raise fail(f"{merge}: {exc}" if isinstance(exc, MergeConflict) else str(exc)) from None
    changes = merge_summary(as_lf(existing), block, user)  # expired access gets no profile (profiles_block)
    verdict = "unchanged, nothing written" if updated == existing else ("written" if not existing else "updated")
    typer.echo(f"{merge}: switchrole profiles for {user}: {changes} ({verdict})", err=True)
    if note:
        typer.echo(f"note: {note}; the block lists none", err=True)


@app.command()
def links(
    user: UserOption,
    config: ConfigOption = DEFAULT_CONFIG,
    format: Annotated[
        Literal["text", "md", "html", "extend-switch-roles"],
        typer.Option("--format", "-f", help="text, md, html, or extend-switch-roles (the AESR extension's INI)."),
    ] = "text",
) -> None:
    """Console Switch Role links for every role the user may switch into."""
    from switchrole.client import profiles as clients

    org = load(config)
    _known_user(org, user, config)
    items = clients.links(org, user)
    note = clients.no_roles_note(org, user)
    if format == "extend-switch-roles" and note:  # the extension refuses a configuration without a target
        raise fail(f"{note}: AWS Extend Switch Roles would refuse a configuration without a role; nothing printed")
    if format == "extend-switch-roles" and not any(link.console for link in items):
        raise fail(
            f"{user} has no role the console can switch into (each needs an external id or a source identity): "
            "AWS Extend Switch Roles would have nothing to show; use `switchrole profiles` instead"
        )
    if note:
        typer.echo(f"note: {note}; the output lists none", err=True)  # stdout: the format's empty document
    renderers = {
        "text": lambda: clients.links_text(items),
        "md": lambda: clients.links_markdown(items),
        "html": lambda: clients.links_html(items, title=f"Switch roles for {user}"),
        "extend-switch-roles": lambda: clients.extend_switch_roles(org, user),
    }
    typer.echo(renderers[format](), nl=False)


HubProfileOption = Annotated[
    str | None,
    typer.Option(
        "--hub-profile",
        "--profile",
        help="Profile with the hub user's long-term keys (else AWS_ACCESS_KEY_ID & co., e.g. from aws-vault exec).",
    ),
]
TokenCodeOption = Annotated[
    str | None, typer.Option("--token-code", help="MFA code; else $SWITCHROLE_TOKEN_CODE or a prompt, when needed.")
]


def _source(hub_profile: str | None) -> Any:
    import botocore.exceptions

    from switchrole.client.sessions import SourceFailed, source_session

    try:
        return source_session(hub_profile)
    except botocore.exceptions.ProfileNotFound as exc:
        raise fail(f"--hub-profile: {exc}") from None
    except SourceFailed as exc:
        raise fail(exc.message, exc.exit_code) from None


def _credential_process(options: dict[str, Any], obtain: Callable[[], Any]) -> str:
    """The credential_process answer of ``assume`` and ``session``: ``obtain()``'s credentials as JSON, for
    stdout, obtained under the command's deadline, and cached for the fast path under the invocation
    ``options`` (:mod:`switchrole.client.invocation`). Everything else either prints goes to stderr through the
    last-resort redaction, and a failure is its one line and exit code."""
    from switchrole.client import deadline
    from switchrole.client.invocation import remember
    from switchrole.client.redact import redact, redacted_output
    from switchrole.client.switch import SmokeFailed

    with redacted_output(stdout=False):  # stdout carries the credentials, and nothing else
        try:
            seconds = deadline.configured_seconds()
        except deadline.DeadlineError as exc:
            raise fail(str(exc)) from None
        try:
            with deadline.running(seconds, str(options["command"])):  # the answer is printed after it
                answer = obtain()
        except SmokeFailed as exc:
            raise fail(redact(exc.message), exc.exit_code) from None
        remember(options, answer)
        return str(answer.credential_process())


@app.command()
def assume(
    role_arn: Annotated[str, typer.Option("--role-arn", help="The role to assume.")],
    session_name: Annotated[str, typer.Option("--session-name", help="Role session name.")],
    hub_profile: HubProfileOption = None,
    duration: Annotated[int | None, typer.Option("--duration", help="Session seconds (at most 3600 from MFA).")] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="The external id the role's trust requires, if any.")
    ] = None,
    source_identity: Annotated[
        bool, typer.Option("--source-identity", help="Set SourceIdentity to your user name.")
    ] = False,
    mfa_serial: Annotated[
        str | None,
        typer.Option("--mfa-serial", help="Your MFA device's ARN: switch from an MFA session made with its code."),
    ] = None,
    mfa_max_age: Annotated[
        int | None, typer.Option("--mfa-max-age", help="The role's maximum MFA age: an older session asks anew.")
    ] = None,
    token_code: TokenCodeOption = None,
) -> None:
    """credential_process for AWS CLI profiles: prints the role's temporary credentials as JSON for the CLI/SDK.

    MFA session first (cached, mode 0600), then AssumeRole from it; role credentials are cached too.
    """

    from switchrole.cli.smoke import argument_problem
    from switchrole.client.assume import AssumeRequest, SmokeFailed, assume_role
    from switchrole.client.assume import token_code as read_token_code
    from switchrole.client.sessions import CredentialCache
    from switchrole.client.switch import SESSION_NAME_RE, parse_role_arn

    def credentials() -> Any:
        try:
            parse_role_arn(role_arn)
        except SmokeFailed as exc:
            raise fail(exc.message) from None
        problem = argument_problem(duration, token_code) or (
            "--session-name: 2-64 of A-Z a-z 0-9 _ + = , . @ -" if not SESSION_NAME_RE.fullmatch(session_name) else None
        )
        if problem:
            raise fail(problem)
        request = AssumeRequest(role_arn, session_name, duration, external_id, source_identity, mfa_serial, mfa_max_age)
        return assume_role(
            _source(hub_profile),
            request,
            token=lambda: read_token_code(token_code, mfa_serial),
            cache=CredentialCache.default(),
        )

    invocation = {
        "command": "assume",
        "role_arn": role_arn,
        "session_name": session_name,
        "hub_profile": hub_profile,
        "duration": duration,
        "external_id": external_id,
        "source_identity": source_identity,
        "mfa_serial": mfa_serial,
        "mfa_max_age": mfa_max_age,
    }
    typer.echo(_credential_process(invocation, credentials))


@app.command()
def session(
    mfa_serial: Annotated[str, typer.Option("--mfa-serial", help="The hub user's MFA device ARN.")],
    hub_profile: HubProfileOption = None,
    token_code: TokenCodeOption = None,
) -> None:
    """credential_process for the hub MFA-session profile: the user's MFA session (cached) as JSON.

    For work in the hub account that the MFA policy allows only with MFA.
    """
    from switchrole.client.assume import session_credentials
    from switchrole.client.assume import token_code as read_token_code
    from switchrole.client.sessions import CredentialCache

    typer.echo(
        _credential_process(
            {"command": "session", "mfa_serial": mfa_serial, "hub_profile": hub_profile},
            lambda: session_credentials(
                _source(hub_profile),
                serial=mfa_serial,
                token=lambda: read_token_code(token_code, mfa_serial),
                cache=CredentialCache.default(),
            ),
        )
    )


@app.command()
def logout() -> None:
    """Forget every cached MFA session and role credential (the next switch asks for a new MFA code).

    Role sessions already handed to a running program stay valid until they expire.
    """
    from switchrole.client.sessions import CredentialCache

    cache = CredentialCache.default()
    typer.echo(f"{cache.directory}: {cache.clear()} cached credential(s) removed")


EXIT_ACCESS_CHANGED = 3


@app.command()
def diff(
    base: Annotated[str, typer.Option("--base", help="Git revision (e.g. origin/main) or file to compare with.")],
    config: ConfigOption = DEFAULT_CONFIG,
    format: Annotated[Literal["md", "json"], typer.Option("--format", "-f", help="md or json.")] = "md",
    max_chars: Annotated[
        int,
        typer.Option(
            "--max-chars",
            min=0,
            help="md: group, then cut, a longer review (never silently; what widens access first). 0: no limit.",
        ),
    ] = REVIEW_LIMIT,
) -> None:
    """Who gains, loses or changes access between --base and the accounts file (for pull-request review).

    The Markdown fits in a GitHub comment (65,536 characters) by default: a longer review is grouped, then cut,
    saying so on its first and last lines. Exit code 0: effective access is unchanged; 3: access changes; 2: bad
    input.
    """
    from switchrole.infra.nag import SynthFailed
    from switchrole.review.access_diff import diff as access_diff
    from switchrole.review.access_diff import load_base

    if 0 < max_chars < MIN_REVIEW_CHARS:
        raise fail(
            f"--max-chars: at least {MIN_REVIEW_CHARS:,} (the counts and what was cut need room), or 0: no limit"
        )
    head = load(config)
    base_org, base_label = guarded(lambda: load_base(base, config))
    if base_org is not None:
        try:
            _refuse_replacements(base_org, head, config)
        except SynthFailed as exc:
            raise fail([f"{config}: {line}" for line in exc.lines]) from None
    result = access_diff(base_org, head, base_label=base_label, head_label=str(config))
    if not Path(base).is_file():  # a git revision: what the deploy itself is told may have changed too
        from switchrole.infra.deploy_settings import cdk_json_changes

        destructive, other = cdk_json_changes(base, config.resolve().parent)
        result.destructive += destructive
        result.structure += other
    if format == "json":
        typer.echo(result.to_json())
    else:
        from shlex import quote

        from switchrole.model.markdown import code

        command = f"switchrole diff --base {quote(base)} --config {quote(str(config))} --max-chars 0"
        everything = f"{code(command)} (or --format json)"
        typer.echo(result.to_markdown(max_chars, everything=everything), nl=False)
    raise typer.Exit(EXIT_ACCESS_CHANGED if result.access_changed else EXIT_OK)


@contextmanager
def _editing(config: Path) -> Iterator[None]:
    """Hold the file's edit lock from reading it to replacing it (two edits never lose one another's change)."""
    from switchrole.review.writes import FileWriteError, locked

    try:
        with locked(config):
            yield
    except FileWriteError as exc:
        raise fail(str(exc)) from None


def _read_config(config: Path) -> str:
    from switchrole.model.organisation import read_text

    return guarded(lambda: read_text(config))


def _checked_edit(config: Path, edited: str) -> Organisation:
    """The edited file's organisation, with every check: nothing is written when anything fails."""
    from switchrole.infra.validate import check
    from switchrole.model.errors import ConfigError, Problem, edited_label
    from switchrole.model.organisation import loads

    try:
        org = loads(edited, str(config))
    except ConfigError as exc:  # lines of a text never written would point nowhere
        raise fail(exc.unlocated(edited_label(str(config))).lines) from None
    problems = check(org)
    if problems:
        raise fail([Problem(p.path, p.message).render(edited_label(str(config))) for p in problems])
    return org


def _write_or_show(config: Path, text: str, edited: str, *, dry_run: bool, what: str) -> bool:
    """``--dry-run``: print the unified diff and write nothing (False); else replace the file atomically (True)."""
    import difflib

    from switchrole.review.writes import FileWriteError, line_ending, replace_text, with_line_ending

    edited = with_line_ending(edited, line_ending(text))  # a CRLF file stays CRLF
    if dry_run:
        lines = difflib.unified_diff(
            text.splitlines(keepends=True), edited.splitlines(keepends=True), str(config), f"{config} ({what})"
        )
        typer.echo("".join(lines), nl=False)
        return False
    try:
        replace_text(config, edited)
    except FileWriteError as exc:
        raise fail(str(exc)) from None
    return True


def _comma_list(values: list[str]) -> list[str]:
    """A repeatable option whose values may also be comma lists: ``--roles a --roles b`` = ``--roles a,b``."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


@app.command()
def onboard(
    name: Annotated[str, typer.Option("--name", help="Account name, e.g. shop-stg.")],
    account_id: Annotated[str, typer.Option("--account-id", help="The 12-digit account id.")],
    roles: Annotated[
        list[str],
        typer.Option("--roles", "--role", metavar="KIND", help="Role kinds to create there (repeatable, or a,b)."),
    ],
    grant: Annotated[
        list[str] | None,
        typer.Option("--grant", metavar="GROUP:ROLE", help="A grant in the new account (repeatable, or a:b,c:d)."),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region of the account's stack (default hub's).")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the change; write nothing.")] = False,
) -> None:
    """Add a project account (and grants) to the accounts file, keeping every other byte; then print the next steps."""
    from switchrole.review.onboard import NewAccount, next_steps, parse_grant
    from switchrole.review.onboard import onboard as edit

    grants = guarded(lambda: tuple(parse_grant(g) for g in _comma_list(grant or [])))
    new = NewAccount(name, account_id, tuple(_comma_list(roles)), grants, region)
    with _editing(config):
        text = _read_config(config)
        edited, notes = guarded(lambda: edit(text, new, str(config)))
        org = _checked_edit(config, edited)
        for note in notes:
            typer.echo(f"note: {note}", err=True)
        if not _write_or_show(config, text, edited, dry_run=dry_run, what="onboarded"):
            return
    typer.echo(f"{config}: added account {name} ({account_id})" + (f" and {len(grants)} grant(s)" if grants else ""))
    for line in next_steps(new, hub_account_id=org.hub.account_id, region=org.hub.region, config=str(config)):
        typer.echo(line)


@app.command()
def offboard(
    user: Annotated[str, typer.Option("--user", "-u", help="The hub user who leaves.")],
    group: Annotated[
        str | None, typer.Option("--group", "-g", help="Only leave this group (the user stays in the file).")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the change; write nothing.")] = False,
) -> None:
    """Remove a user (or one of their groups) from the accounts file, keeping every other byte.

    Then print what CloudFormation will not do (access keys, password, MFA device) as AWS CLI commands.
    """
    from switchrole.model.organisation import loads
    from switchrole.review.access_diff import diff as access_diff
    from switchrole.review.offboard import Removal, follow_up
    from switchrole.review.offboard import offboard as edit

    with _editing(config):
        text = _read_config(config)
        before = guarded(lambda: loads(text, str(config)))
        edited = guarded(lambda: edit(text, Removal(user, group), str(config)))
        org = _checked_edit(config, edited)
        if not _write_or_show(config, text, edited, dry_run=dry_run, what="offboarded"):
            return
    lost = access_diff(before, org, base_label="", head_label="").lost
    what = f"removed {user} from group {group}" if group else f"removed user {user}"
    typer.echo(f"{config}: {what}; {len(lost)} switch(es) lost:")
    for row in lost:
        typer.echo(f"  {row['role']} in {row['account']} ({row['account_id']})")
    typer.echo("Open a pull request with this change; CI posts `switchrole diff --base origin/main` for review.")
    if group is None:
        for line in follow_up(before, user):
            typer.echo(line)


@app.command("init")
def init_repository(
    directory: Annotated[Path, typer.Argument(help="The new repository's folder (created if missing).")],
) -> None:
    """Scaffold your own access repository, with switchrole and the CDK CLI pinned.

    accounts.yaml, cdk.json, this switchrole's wheel (vendor/) and hashed requirements files, package.json, the
    pull-request and deploy workflows, docs/onboarding.md, a README. Overwrites nothing: if any of its files exists,
    it writes none.
    """
    from switchrole.scaffold import ScaffoldError, scaffold

    try:
        written = scaffold(directory)
    except ScaffoldError as exc:
        raise fail(exc.lines) from None
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: cd {directory} and follow README.md (set up, `switchrole validate`, commit with vendor/)")


@app.command()
def audit(
    config: ConfigOption = DEFAULT_CONFIG,
    profile: Annotated[
        str | None, typer.Option("--profile", help="Profile with a hub principal's credentials (else AWS_* & co.).")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url",
            "--endpoint",
            help="AWS endpoint (the local emulator); default: AWS's standard resolution.",
        ),
    ] = None,
    format: Annotated[
        Literal["table", "md", "json"], typer.Option("--format", "-f", help="table, md or json.")
    ] = "table",
    accounts: Annotated[
        str | None, typer.Option("--accounts", help="Only these target accounts (names, comma-separated).")
    ] = None,
    max_key_age: Annotated[
        int, typer.Option("--max-key-age", help="Days after which an access key, or its last use, is too old.")
    ] = 90,  # audit.findings.DEFAULT_MAX_KEY_AGE (a test keeps them equal; importing it here would load boto3)
    mfa_serial: Annotated[
        str | None, typer.Option("--mfa-serial", help="MFA device ARN (default: mfa/<you> when MFA is needed).")
    ] = None,
    token_code: TokenCodeOption = None,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Use and keep the MFA session cache that profiles use.")
    ] = True,
    workers: Annotated[int, typer.Option("--workers", help="Accounts read at once.", min=1, max=32)] = 8,  # WORKERS
) -> None:
    """Does AWS match the file? Every difference, most dangerous first, each with its fix (read-only).

    Reads the hub and every target account (each through its audit role kind) with read-only calls and lists every
    difference from the file, each with the command that fixes it (AWS CLI, or the edit of the file).

    Exit code 0: clean; 3: drift found; 1: an account could not be read (the others are still audited);
    2: usage or configuration.
    """
    from switchrole.cli import audit as audit_cli

    code = audit_cli.run(
        audit_cli.Options(
            org=load(config),
            profile=profile,
            endpoint_url=endpoint_url,
            format=format,
            accounts=accounts,
            max_key_age=max_key_age,
            mfa_serial=mfa_serial,
            token_code=token_code,
            cache=cache,
            workers=workers,
        )
    )
    raise typer.Exit(code)


local_app = typer.Typer(
    help='The embedded local AWS (a moto server; the "local" extra): run the whole product without an AWS account.',
    context_settings=HELP_OPTIONS,
    no_args_is_help=True,
)
app.add_typer(local_app, name="local")


@local_app.command("demo")
def local_demo(
    config: ConfigOption = DEFAULT_CONFIG,
    then: Annotated[
        list[Path] | None,
        typer.Option(
            "--then",
            help="A changed accounts file to deploy onto the same emulator afterwards (an update); repeat it for "
            "a chain of changes, deployed in order.",
        ),
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Leave the local AWS running afterwards.")] = False,
    mfa_reading: Annotated[
        Literal["strict", "lenient"],
        typer.Option(
            "--mfa-reading",
            help="strict: an AssumeRole's MFA code counts for the trust policy only; lenient: for the caller too.",
        ),
    ] = "strict",
    format: Annotated[
        Literal["table", "json"],
        typer.Option(
            "--format", "-f", help="table, or json: every round's checks as JSON on stdout (progress on stderr)."
        ),
    ] = "table",
) -> None:
    """Deploy to a local AWS with the real CDK CLI, then smoke-check every switch and the refusals that must hold.

    Needs switchrole's "local" extra, the emulator (moto's server); without it, this says how to install it.
    """
    import sys

    from rich.console import Console

    from switchrole.local import extra

    try:
        extra.require()  # before anything else: one line naming the extra, not a traceback from the server
    except extra.MissingExtra as exc:
        raise fail(str(exc)) from None
    from switchrole.local.demo import DemoFailed, cdk_binary, run_demo

    org = load(config)
    changes = [load(path) for path in then or []]  # every file is valid before anything starts
    try:
        cdk_binary()  # before any work folder or server exists
    except DemoFailed as exc:
        raise fail(f"local demo: {exc}", EXIT_FAILED) from None
    console = None
    if format == "json":
        console = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 160)
    code = run_demo(
        org,
        then=changes,
        keep=keep,
        mfa_reading=mfa_reading,
        console=console,
        config_path=config,
        then_path=then[-1] if then else None,
        json_out=sys.stdout if format == "json" else None,
    )
    raise typer.Exit(code)  # 130 when interrupted: everything it started is ended (jsii's kernel too)


EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="The local AWS (default: $AWS_ENDPOINT_URL, else the kept local AWS's).",
    ),
]
LocalConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar=CONFIG_VAR,
        help="The accounts file (default: the one the kept local AWS was deployed from, else accounts.yaml).",
    ),
]
LocalDirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        envvar=DIR_VAR,
        help="The kept local AWS's folder (default: $SWITCHROLE_LOCAL_DIR, else the only one running).",
    ),
]


def _kept_defaults(endpoint: str | None, config: Path | None) -> tuple[str | None, Path]:
    """Endpoint and accounts file not given: take those of the kept local AWS, if there is exactly one."""
    if endpoint and config:
        return endpoint, config
    from switchrole.local.kept import NotKept, find

    try:
        kept = find()
    except NotKept:
        return endpoint, config or DEFAULT_CONFIG
    return endpoint or kept.endpoint, config or (Path(kept.config) if kept.config else DEFAULT_CONFIG)


def _local_endpoint(endpoint: str | None, config: Path | None) -> tuple[str, Path]:
    """The local AWS endpoint and accounts file (given, else the kept emulator's); only a loopback endpoint."""
    endpoint, config = _kept_defaults(endpoint, config)
    if not endpoint or not endpoint.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise fail("--endpoint: give the local AWS endpoint (http://127.0.0.1:PORT), or source the demo's env file")
    return endpoint, config


def _local_admin(
    endpoint: str | None, config: Path | None, user: str | None, what: str, *, account: str | None = None
) -> dict[str, str]:
    """Ask the local AWS (see switchrole.local.admin_api) for ``what`` about a hub user of the accounts file
    (``user`` None: the demo's hub administrator, who deploys), in ``account`` (default: the hub)."""
    from switchrole.local.demo import HUB_ADMIN
    from switchrole.local.server import admin_get

    endpoint, config = _local_endpoint(endpoint, config)
    org = load(config)
    if user is None:
        user = HUB_ADMIN
    else:
        _known_user(org, user, config)
    try:
        return admin_get(endpoint, what, account or org.hub.account_id, user)
    except (LookupError, OSError) as exc:
        raise fail(f"local AWS at {endpoint}: {exc}", EXIT_FAILED) from None


@local_app.command("credentials")
def local_credentials(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Hub user.")] = None,
    deployer: Annotated[
        bool,
        typer.Option(
            "--deployer",
            help="The hub administrator instead: deploys the hub's stack (`npx cdk deploy SwitchRole-Hub`).",
        ),
    ] = False,
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            help="An account's first access instead (its OrganizationAccountAccessRole, as AWS Organizations gives "
            "it): a deployer its bootstrap names, to `npx cdk bootstrap` it and deploy its stack.",
        ),
    ] = None,
    endpoint: EndpointOption = None,
    config: LocalConfigOption = None,
) -> None:
    """Print `export` lines with a new emulator access key for a hub user (eval them; nothing goes to disk).

    eval "$(switchrole local credentials --user alice)"; for the local AWS only. At IAM's limit of two keys,
    the oldest key switchrole created for that user is deleted first.
    """
    if sum((user is not None, deployer, account is not None)) != 1:
        raise fail("give one of --user NAME, --deployer or --account ID")
    import re
    import shlex

    if account is not None:
        if not re.fullmatch(r"\d{12}", account):
            raise fail(f"--account: {account!r} is not a 12-digit account id")
        _print_first_access(endpoint, config, account)
        return
    key = _local_admin(endpoint, config, user, "access-key")
    key_id, secret = str(key.get("AccessKeyId", "")), str(key.get("SecretAccessKey", ""))
    if not re.fullmatch(r"AKIA[A-Z0-9]{12,124}", key_id) or not re.fullmatch(r"[A-Za-z0-9/+=]{16,128}", secret):
        raise fail("local AWS: the answer is not an access key", EXIT_FAILED)
    typer.echo(f"export AWS_ACCESS_KEY_ID={shlex.quote(key_id)}")  # eval'ed by a shell: quoted, whatever it is
    typer.echo(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(secret)}")
    typer.echo("unset AWS_SESSION_TOKEN AWS_PROFILE")


def _print_first_access(endpoint: str | None, config: Path | None, account: str) -> None:
    """A session of ``account``'s OrganizationAccountAccessRole, assumed from the emulated management account."""
    import shlex

    from switchrole.local.server import first_access_session

    endpoint, config = _local_endpoint(endpoint, config)
    try:
        session = first_access_session(endpoint, account, load(config).hub.region)
    except (LookupError, OSError) as exc:
        raise fail(f"local AWS at {endpoint}: {exc}", EXIT_FAILED) from None
    credentials = session.get_credentials().get_frozen_credentials()
    typer.echo(f"export AWS_ACCESS_KEY_ID={shlex.quote(credentials.access_key)}")
    typer.echo(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(credentials.secret_key)}")
    typer.echo(f"export AWS_SESSION_TOKEN={shlex.quote(credentials.token or '')}")
    typer.echo("unset AWS_PROFILE")


@local_app.command("mfa-code")
def local_mfa_code(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Hub user.")] = None,
    deployer: Annotated[
        bool, typer.Option("--deployer", help="The hub administrator's device instead (e.g. for `switchrole audit`).")
    ] = False,
    endpoint: EndpointOption = None,
    config: LocalConfigOption = None,
) -> None:
    """Print the current code of a virtual MFA device on the local AWS (what an authenticator app shows)."""
    if (user is None) == (not deployer):
        raise fail("give one of --user NAME or --deployer")
    typer.echo(_local_admin(endpoint, config, user, "mfa-code")["Code"])


@local_app.command("stop")
def local_stop(folder: LocalDirOption = None) -> None:
    """Stop a kept local AWS (`switchrole local demo --keep`) and remove its folder."""
    from switchrole.local.kept import NotKept, find

    try:
        kept = find(folder)
    except NotKept as exc:
        raise fail(str(exc)) from None
    if kept.stop():
        typer.echo(f"stopped the local AWS at {kept.endpoint} (pid {kept.pid}); removed {kept.folder}")
    else:
        typer.echo(f"the local AWS at {kept.endpoint} had already stopped; removed {kept.folder}")


def run(argv: list[str] | None = None) -> Any:
    """Console-script entry point: never a traceback for the user (``SWITCHROLE_DEBUG=1`` shows it), and
    nothing credential-shaped in the one line printed instead."""
    import os
    from contextlib import nullcontext

    from switchrole.client.redact import redact, redacted_output

    args = argv if argv is not None else sys.argv[1:]
    command = next((arg for arg in args if not arg.startswith("-")), "")
    # the commands that call AWS: every line redacted, the usage errors of the argument parser included
    # (stdout too for smoke; assume and session print the credential_process answer there)
    redacted = redacted_output(stdout=command == "smoke") if command in REDACTED_COMMANDS else nullcontext()
    with redacted:
        try:
            return app(args=args, prog_name="switchrole")
        except Exception as exc:
            if os.environ.get("SWITCHROLE_DEBUG"):
                raise
            reason = redact(str(exc).splitlines()[0])[:200] if str(exc) else ""  # redacted, then cut
            typer.echo(
                f"switchrole: unexpected error: {type(exc).__name__}: {reason} (SWITCHROLE_DEBUG=1 shows more)",
                err=True,
            )
            return EXIT_FAILED


REDACTED_COMMANDS = ("smoke", "assume", "session")


if __name__ == "__main__":
    raise SystemExit(run())
