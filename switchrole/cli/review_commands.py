"""The commands from file to file, no AWS call: matrix, diff (the access review), onboard and offboard (through
the edit transaction of :mod:`switchrole.review.edits`: checked, then written byte-preserving).

Each an Options dataclass and a run function returning the exit code (:mod:`switchrole.cli.common`); the Typer
functions declare the options, and :mod:`switchrole.cli.main` registers them on the app in help order.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from switchrole.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    command,
    fail,
    guarded,
    known_permission_set,
    known_user,
    load,
    refuse,
    refuse_replacements,
)
from switchrole.model.exits import EXIT_CHANGED, EXIT_OK
from switchrole.review.fit import MIN_LIMIT as MIN_REVIEW_CHARS
from switchrole.review.fit import REVIEW_LIMIT

if TYPE_CHECKING:
    from switchrole.review.edits import Edit


@dataclass(frozen=True)
class MatrixOptions:
    config: Path
    format: Literal["table", "md", "json"] | None = None  # None: table on a terminal, else md
    user: str | None = None
    permission_set: str | None = None


def matrix(
    config: ConfigOption = DEFAULT_CONFIG,
    format: Annotated[
        Literal["table", "md", "json"] | None,
        typer.Option("--format", "-f", help="table (the default on a terminal), md (the default otherwise) or json."),
    ] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this hub user.")] = None,
    permission_set: Annotated[
        str | None, typer.Option("--permission-set", help="Only this Identity Center permission set's people.")
    ] = None,
) -> None:
    """Who may switch into what: one row per user (or permission set), group, account and role."""
    raise typer.Exit(run_matrix(MatrixOptions(config, format, user, permission_set)))


@command
def run_matrix(options: MatrixOptions) -> int:
    from switchrole.client.profiles import no_roles_note
    from switchrole.review.matrix import nobody_note, records, to_markdown, to_table

    config, format, user, permission_set = options.config, options.format, options.user, options.permission_set
    org = load(config)
    if user is not None and permission_set is not None:
        return refuse("--user and --permission-set: give one of them")
    if user is not None:
        known_user(org, user, config)
    if permission_set is not None:
        known_permission_set(org, permission_set, config)
    rows = records(org, user, permission_set=permission_set)
    if user is not None and not rows and (note := no_roles_note(org, user)):
        typer.echo(f"note: {note}; the output lists none", err=True)  # stdout: the empty table, valid
    if format == "json":
        typer.echo(json.dumps(rows, indent=2))
    elif format == "table" or (format is None and sys.stdout.isatty()):
        from rich.console import Console

        console = Console()
        console.print(to_table(org, rows))
        note = "" if user or permission_set else nobody_note(org).strip()
        if note:
            console.print(note, markup=False, highlight=False)
    else:
        typer.echo(to_markdown(rows) + ("" if user or permission_set else nobody_note(org)), nl=False)
    return EXIT_OK


EXIT_ACCESS_CHANGED = EXIT_CHANGED


@dataclass(frozen=True)
class DiffOptions:
    base: str  # a git revision or file
    config: Path
    format: Literal["md", "json"] = "md"
    max_chars: int = REVIEW_LIMIT  # 0: no limit


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
    raise typer.Exit(run_diff(DiffOptions(base, config, format, max_chars)))


@command
def run_diff(options: DiffOptions) -> int:
    from switchrole.infra.nag import SynthFailed
    from switchrole.review.access_diff import diff as access_diff
    from switchrole.review.access_diff import load_base

    base, config, format, max_chars = options.base, options.config, options.format, options.max_chars
    if 0 < max_chars < MIN_REVIEW_CHARS:
        return refuse(
            f"--max-chars: at least {MIN_REVIEW_CHARS:,} (the counts and what was cut need room), or 0: no limit"
        )
    head = load(config)
    base_org, base_label = guarded(lambda: load_base(base, config))
    if base_org is not None:
        try:
            refuse_replacements(base_org, head, config)
        except SynthFailed as exc:
            return refuse([f"{config}: {line}" for line in exc.lines])
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
    return EXIT_ACCESS_CHANGED if result.access_changed else EXIT_OK


@contextmanager
def _editing(config: Path) -> Iterator[Edit]:
    """:func:`switchrole.review.edits.editing`, a refusal printed (one line per problem) and exit code 2."""
    from switchrole.review.edits import EditRefused, editing

    try:
        with editing(config) as file:
            yield file
    except EditRefused as refused:
        raise fail(refused.lines) from None


def _comma_list(values: list[str]) -> list[str]:
    """A repeatable option whose values may also be comma lists: ``--roles a --roles b`` = ``--roles a,b``."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class OnboardOptions:
    name: str
    account_id: str
    roles: list[str]  # as given: repeatable, each maybe a comma list
    grant: list[str]  # GROUP:ROLE, as given
    region: str | None
    config: Path
    dry_run: bool = False


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
    raise typer.Exit(run_onboard(OnboardOptions(name, account_id, roles, grant or [], region, config, dry_run)))


@command
def run_onboard(options: OnboardOptions) -> int:
    from switchrole.review.onboard import NewAccount, next_steps, parse_grant
    from switchrole.review.onboard import onboard as edit

    config = options.config
    grants = guarded(lambda: tuple(parse_grant(g) for g in _comma_list(options.grant)))
    new = NewAccount(options.name, options.account_id, tuple(_comma_list(options.roles)), grants, options.region)
    with _editing(config) as file:
        edited, notes = guarded(lambda: edit(file.text, new, str(config)))
        org = file.checked(edited)
        for note in notes:
            typer.echo(f"note: {note}", err=True)
        shown = file.write_or_diff(edited, dry_run=options.dry_run, what="onboarded")
    if shown is not None:  # --dry-run: the change, nothing written
        typer.echo(shown, nl=False)
        return EXIT_OK
    typer.echo(
        f"{config}: added account {new.name} ({new.account_id})" + (f" and {len(grants)} grant(s)" if grants else "")
    )
    for line in next_steps(new, hub_account_id=org.hub.account_id, region=org.hub.region, config=str(config)):
        typer.echo(line)
    return EXIT_OK


@dataclass(frozen=True)
class OffboardOptions:
    user: str
    group: str | None  # only leave this group; None: the user leaves the file
    config: Path
    dry_run: bool = False


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
    raise typer.Exit(run_offboard(OffboardOptions(user, group, config, dry_run)))


@command
def run_offboard(options: OffboardOptions) -> int:
    from switchrole.model.loading import loads
    from switchrole.review.access_diff import diff as access_diff
    from switchrole.review.offboard import Removal, follow_up
    from switchrole.review.offboard import offboard as edit

    user, group, config = options.user, options.group, options.config
    with _editing(config) as file:
        before = guarded(lambda: loads(file.text, str(config)))
        edited = guarded(lambda: edit(file.text, Removal(user, group), str(config)))
        org = file.checked(edited)
        shown = file.write_or_diff(edited, dry_run=options.dry_run, what="offboarded")
    if shown is not None:  # --dry-run: the change, nothing written
        typer.echo(shown, nl=False)
        return EXIT_OK
    lost = access_diff(before, org, base_label="", head_label="").lost
    what = f"removed {user} from group {group}" if group else f"removed user {user}"
    typer.echo(f"{config}: {what}; {len(lost)} switch(es) lost:")
    for row in lost:
        typer.echo(f"  {row['role']} in {row['account']} ({row['account_id']})")
    typer.echo("Open a pull request with this change; CI posts `switchrole diff --base origin/main` for review.")
    if group is None:
        for line in follow_up(before, user):
            typer.echo(line)
    return EXIT_OK
