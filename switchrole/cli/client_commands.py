"""The commands for the person's machine: profiles, links, and the credential_process commands assume and
session (with logout).

Each an Options dataclass and a run function returning the exit code (:mod:`switchrole.cli.common`); the Typer
functions declare the options, and :mod:`switchrole.cli.main` registers them on the app in help order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from switchrole.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    HubProfileOption,
    TokenCodeOption,
    command,
    fail,
    guarded,
    known_permission_set,
    known_user,
    load,
    refuse,
)
from switchrole.model.exits import EXIT_OK


@dataclass(frozen=True)
class ProfilesOptions:
    user: str | None  # a hub user, or
    permission_set: str | None  # an Identity Center permission set
    config: Path
    hub_profile: str | None = None
    mfa_serial: str | None = None
    merge: Path | None = None  # the AWS config file to update in place; None: print the block
    command: str | None = None
    session_name: str | None = None


def profiles(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Hub user.")] = None,
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
    permission_set: Annotated[
        str | None,
        typer.Option("--permission-set", help="Instead of --user: profiles for an Identity Center permission set."),
    ] = None,
    session_name: Annotated[
        str | None,
        typer.Option("--session-name", help="With --permission-set: your name, as each switch's session name."),
    ] = None,
) -> None:
    """AWS CLI profiles for every role the user may switch into (an ~/.aws/config fragment; never credentials).

    Each runs `switchrole assume` as credential_process: MFA session first (one code, cached), then AssumeRole.
    With --permission-set: an sso-session, the set's hub profile and role profiles the AWS CLI switches itself.
    """
    options = ProfilesOptions(user, permission_set, config, hub_profile, mfa_serial, merge, command, session_name)
    raise typer.Exit(run_profiles(options))


@command
def run_profiles(options: ProfilesOptions) -> int:
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

    user, permission_set, config, merge = options.user, options.permission_set, options.config, options.merge
    hub_profile, mfa_serial, command, session_name = (
        options.hub_profile, options.mfa_serial, options.command, options.session_name
    )  # fmt: skip
    if (user is None) == (permission_set is None):
        return refuse("give --user (a hub user) or --permission-set (an Identity Center permission set)")
    if permission_set is not None and (hub_profile or mfa_serial or command):
        return refuse("--hub-profile, --mfa-serial and --command are for --user: a permission set signs in with sso")
    if user is not None and session_name is not None:
        return refuse("--session-name is for --permission-set (a user's session name is their user name)")
    problems = profile_option_problems(hub_profile, mfa_serial, command)  # before anything is read or written
    if problems:
        return refuse(problems)
    org = load(config)
    if permission_set is not None:
        from switchrole.client.identity_center_profiles import owner, permission_set_block

        known_permission_set(org, permission_set, config)
        name = permission_set
        block = guarded(lambda: permission_set_block(org, name, session_name=session_name))
        user, note = owner(permission_set), None
    else:
        assert user is not None
        known_user(org, user, config)
        who = user
        block = guarded(
            lambda: profiles_block(
                org, who, hub_profile=hub_profile or org.hub.name, mfa_serial=mfa_serial, command=command
            )
        )
        note = no_roles_note(org, user)  # the block is empty: merged, it removes the profiles the user had
    if merge is None:
        if note:
            typer.echo(f"note: {note}; the output lists none", err=True)
        typer.echo(block, nl=False)
        return EXIT_OK
    try:
        with locked(merge):  # a second merge waits, then merges into this one's result
            check_replaceable(merge, personal=True)  # another user's file, or a read-only one: refused
            existing = guarded(lambda: read_aws_config(merge))
            # edited as LF lines (the block's markers are found by line), written back in the file's own endings
            updated = with_line_ending(merge_profiles(as_lf(existing), block, user), line_ending(existing))
            if updated != existing:
                replace_text(merge, updated, personal=True)
    except (MergeConflict, FileWriteError) as exc:
        return refuse(f"{merge}: {exc}" if isinstance(exc, MergeConflict) else str(exc))
    changes = merge_summary(as_lf(existing), block, user)  # expired access gets no profile (profiles_block)
    verdict = "unchanged, nothing written" if updated == existing else ("written" if not existing else "updated")
    typer.echo(f"{merge}: switchrole profiles for {user}: {changes} ({verdict})", err=True)
    if note:
        typer.echo(f"note: {note}; the block lists none", err=True)
    return EXIT_OK


@dataclass(frozen=True)
class LinksOptions:
    user: str | None  # a hub user, or
    permission_set: str | None  # an Identity Center permission set
    config: Path
    format: Literal["text", "md", "html", "extend-switch-roles"] = "text"


def links(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Hub user.")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    format: Annotated[
        Literal["text", "md", "html", "extend-switch-roles"],
        typer.Option("--format", "-f", help="text, md, html, or extend-switch-roles (the AESR extension's INI)."),
    ] = "text",
    permission_set: Annotated[
        str | None, typer.Option("--permission-set", help="Instead of --user: an Identity Center permission set.")
    ] = None,
) -> None:
    """Console Switch Role links for every role the user (or permission set) may switch into."""
    raise typer.Exit(run_links(LinksOptions(user, permission_set, config, format)))


@command
def run_links(options: LinksOptions) -> int:
    from switchrole.client import profiles as clients
    from switchrole.model.organisation import permission_set_grantee

    user, permission_set, config, format = options.user, options.permission_set, options.config, options.format
    if (user is None) == (permission_set is None):
        return refuse("give --user (a hub user) or --permission-set (an Identity Center permission set)")
    org = load(config)
    if permission_set is not None:
        known_permission_set(org, permission_set, config)
        user = permission_set_grantee(permission_set)
        items = clients.permission_set_links(org, permission_set)
        note = None if items else f"{user} has no role to switch into"
    else:
        assert user is not None
        known_user(org, user, config)
        items = clients.links(org, user)
        note = clients.no_roles_note(org, user)
    if format == "extend-switch-roles" and note:  # the extension refuses a configuration without a target
        return refuse(f"{note}: AWS Extend Switch Roles would refuse a configuration without a role; nothing printed")
    if format == "extend-switch-roles" and not any(link.console for link in items):
        return refuse(
            f"{user} has no role the console can switch into (each needs an external id or a source identity): "
            "AWS Extend Switch Roles would have nothing to show; use `switchrole profiles` instead"
        )
    if note:
        typer.echo(f"note: {note}; the output lists none", err=True)  # stdout: the format's empty document
    renderers = {
        "text": lambda: clients.links_text(items),
        "md": lambda: clients.links_markdown(items),
        "html": lambda: clients.links_html(items, title=f"Switch roles for {user}"),
        "extend-switch-roles": lambda: clients.extend_switch_roles(org, str(user), items=items),
    }
    typer.echo(renderers[format](), nl=False)
    return EXIT_OK


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


@dataclass(frozen=True)
class AssumeOptions:
    role_arn: str
    session_name: str
    hub_profile: str | None = None
    duration: int | None = None
    external_id: str | None = None
    source_identity: bool = False
    mfa_serial: str | None = None
    mfa_max_age: int | None = None
    token_code: str | None = None


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
    options = AssumeOptions(
        role_arn, session_name, hub_profile, duration, external_id, source_identity, mfa_serial, mfa_max_age, token_code
    )
    raise typer.Exit(run_assume(options))


@command
def run_assume(options: AssumeOptions) -> int:
    from switchrole.cli.smoke import argument_problem
    from switchrole.client.assume import AssumeRequest, SmokeFailed, assume_role
    from switchrole.client.assume import token_code as read_token_code
    from switchrole.client.sessions import CredentialCache
    from switchrole.client.switch import parse_role_arn

    role_arn, session_name, hub_profile, duration = (
        options.role_arn, options.session_name, options.hub_profile, options.duration
    )  # fmt: skip
    external_id, source_identity, mfa_serial, mfa_max_age, token_code = (
        options.external_id, options.source_identity, options.mfa_serial, options.mfa_max_age, options.token_code
    )  # fmt: skip

    def credentials() -> Any:
        try:
            parse_role_arn(role_arn)
        except SmokeFailed as exc:
            raise fail(exc.message) from None
        problem = argument_problem(duration, token_code, session_name)
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
    return EXIT_OK


@dataclass(frozen=True)
class SessionOptions:
    mfa_serial: str
    hub_profile: str | None = None
    token_code: str | None = None


def session(
    mfa_serial: Annotated[str, typer.Option("--mfa-serial", help="The hub user's MFA device ARN.")],
    hub_profile: HubProfileOption = None,
    token_code: TokenCodeOption = None,
) -> None:
    """credential_process for the hub MFA-session profile: the user's MFA session (cached) as JSON.

    For work in the hub account that the MFA policy allows only with MFA.
    """
    raise typer.Exit(run_session(SessionOptions(mfa_serial, hub_profile, token_code)))


@command
def run_session(options: SessionOptions) -> int:
    from switchrole.client.assume import session_credentials
    from switchrole.client.assume import token_code as read_token_code
    from switchrole.client.sessions import CredentialCache

    mfa_serial, hub_profile = options.mfa_serial, options.hub_profile
    typer.echo(
        _credential_process(
            {"command": "session", "mfa_serial": mfa_serial, "hub_profile": hub_profile},
            lambda: session_credentials(
                _source(hub_profile),
                serial=mfa_serial,
                token=lambda: read_token_code(options.token_code, mfa_serial),
                cache=CredentialCache.default(),
            ),
        )
    )
    return EXIT_OK


@dataclass(frozen=True)
class LogoutOptions:
    """No options: every cached credential goes."""


def logout() -> None:
    """Forget every cached MFA session and role credential (the next switch asks for a new MFA code).

    Role sessions already handed to a running program stay valid until they expire.
    """
    raise typer.Exit(run_logout(LogoutOptions()))


@command
def run_logout(options: LogoutOptions) -> int:
    from switchrole.client.sessions import CredentialCache

    cache = CredentialCache.default()
    typer.echo(f"{cache.directory}: {cache.clear()} cached credential(s) removed")
    return EXIT_OK
