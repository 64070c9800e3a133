"""The `switchrole local` commands: the embedded local AWS (demo, credentials, mfa-code, stop).

Each an Options dataclass and a run function returning the exit code (:mod:`switchrole.cli.common`). They are
registered on their own Typer group, ``local_app``, which :mod:`switchrole.cli.main` adds as ``switchrole local``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from switchrole.cli.common import (
    DEFAULT_CONFIG,
    HELP_OPTIONS,
    ConfigOption,
    command,
    fail,
    known_permission_set,
    known_user,
    load,
    refuse,
)
from switchrole.local.kept import CONFIG_VAR, DIR_VAR
from switchrole.model.exits import EXIT_FAILED, EXIT_OK

local_app = typer.Typer(
    help='The embedded local AWS (a moto server; the "local" extra): run the whole product without an AWS account.',
    context_settings=HELP_OPTIONS,
    no_args_is_help=True,
)


@dataclass(frozen=True)
class DemoOptions:
    config: Path
    then: list[Path] = field(default_factory=list)  # changed files deployed onto it in turn
    keep: bool = False
    mfa_reading: Literal["strict", "lenient"] = "strict"
    format: Literal["table", "json"] = "table"


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
    raise typer.Exit(run_local_demo(DemoOptions(config, then or [], keep, mfa_reading, format)))


@command
def run_local_demo(options: DemoOptions) -> int:
    """0: every check as expected; 1: not; 2: bad input; 130: interrupted (everything it started is ended, jsii's
    kernel too)."""
    from rich.console import Console

    from switchrole.local import extra

    try:
        extra.require()  # before anything else: one line naming the extra, not a traceback from the server
    except extra.MissingExtra as exc:
        return refuse(str(exc))
    from switchrole.local.demo_checks import DemoFailed, cdk_binary
    from switchrole.local.demo_run import run_demo

    org = load(options.config)
    changes = [load(path) for path in options.then]  # every file is valid before anything starts
    try:
        cdk_binary()  # before any work folder or server exists
    except DemoFailed as exc:
        return refuse(f"local demo: {exc}", EXIT_FAILED)
    console = None
    if options.format == "json":
        console = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 160)
    return run_demo(
        org,
        then=changes,
        keep=options.keep,
        mfa_reading=options.mfa_reading,
        console=console,
        config_path=options.config,
        then_path=options.then[-1] if options.then else None,
        json_out=sys.stdout if options.format == "json" else None,
    )


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
    from switchrole.local.demo_checks import HUB_ADMIN
    from switchrole.local.server import admin_get

    endpoint, config = _local_endpoint(endpoint, config)
    org = load(config)
    if user is None:
        user = HUB_ADMIN
    else:
        known_user(org, user, config)
    try:
        return admin_get(endpoint, what, account or org.hub.account_id, user)
    except (LookupError, OSError) as exc:
        raise fail(f"local AWS at {endpoint}: {exc}", EXIT_FAILED) from None


@dataclass(frozen=True)
class CredentialsOptions:
    """Exactly one of user, deployer, account and permission_set."""

    user: str | None = None
    deployer: bool = False
    account: str | None = None  # a 12-digit account id: its first access
    permission_set: str | None = None
    person: str = "someone@example.com"  # with permission_set: the sign-in name
    endpoint: str | None = None  # None: the kept local AWS's
    config: Path | None = None  # None: the kept local AWS's file, else accounts.yaml


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
    permission_set: Annotated[
        str | None,
        typer.Option(
            "--permission-set",
            help="A person signed in through the emulator's Identity Center stand-in to this set's role instead.",
        ),
    ] = None,
    person: Annotated[
        str, typer.Option("--person", help="With --permission-set: the person's sign-in name (the session name).")
    ] = "someone@example.com",
    endpoint: EndpointOption = None,
    config: LocalConfigOption = None,
) -> None:
    """Print `export` lines with a new emulator access key for a hub user (eval them; nothing goes to disk).

    eval "$(switchrole local credentials --user alice)"; for the local AWS only. At IAM's limit of two keys,
    the oldest key switchrole created for that user is deleted first.
    """
    options = CredentialsOptions(user, deployer, account, permission_set, person, endpoint, config)
    raise typer.Exit(run_local_credentials(options))


@command
def run_local_credentials(options: CredentialsOptions) -> int:
    user, account, permission_set = options.user, options.account, options.permission_set
    endpoint, config = options.endpoint, options.config
    if sum((user is not None, options.deployer, account is not None, permission_set is not None)) != 1:
        return refuse("give one of --user NAME, --deployer, --account ID or --permission-set NAME")
    import re
    import shlex

    if account is not None:
        if not re.fullmatch(r"\d{12}", account):
            return refuse(f"--account: {account!r} is not a 12-digit account id")
        _print_first_access(endpoint, config, account)
        return EXIT_OK
    if permission_set is not None:
        _print_sign_in(endpoint, config, permission_set, options.person)
        return EXIT_OK
    key = _local_admin(endpoint, config, user, "access-key")
    key_id, secret = str(key.get("AccessKeyId", "")), str(key.get("SecretAccessKey", ""))
    if not re.fullmatch(r"AKIA[A-Z0-9]{12,124}", key_id) or not re.fullmatch(r"[A-Za-z0-9/+=]{16,128}", secret):
        return refuse("local AWS: the answer is not an access key", EXIT_FAILED)
    typer.echo(f"export AWS_ACCESS_KEY_ID={shlex.quote(key_id)}")  # eval'ed by a shell: quoted, whatever it is
    typer.echo(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(secret)}")
    typer.echo("unset AWS_SESSION_TOKEN AWS_PROFILE")
    return EXIT_OK


def _print_sign_in(endpoint: str | None, config: Path | None, permission_set: str, person: str) -> None:
    """A session of ``permission_set``'s role in the hub, as the emulator's Identity Center stand-in signs
    ``person`` in (the demo provisioned the role)."""
    from switchrole.local.identity_center import sign_in_permission_set
    from switchrole.local.kept import admin_token

    endpoint, config = _local_endpoint(endpoint, config)
    org = load(config)
    known_permission_set(org, permission_set, config)
    try:
        session = sign_in_permission_set(endpoint, org, permission_set, person, admin_token())
    except (LookupError, OSError) as exc:
        raise fail(f"local AWS at {endpoint}: {exc}", EXIT_FAILED) from None
    _print_session(session)


def _print_first_access(endpoint: str | None, config: Path | None, account: str) -> None:
    """A session of ``account``'s OrganizationAccountAccessRole, assumed from the emulated management account."""
    from switchrole.local.server import first_access_session

    endpoint, config = _local_endpoint(endpoint, config)
    try:
        session = first_access_session(endpoint, account, load(config).hub.region)
    except (LookupError, OSError) as exc:
        raise fail(f"local AWS at {endpoint}: {exc}", EXIT_FAILED) from None
    _print_session(session)


def _print_session(session: Any) -> None:
    """``export`` lines of a boto3 session's temporary credentials (quoted: a shell evals them)."""
    import shlex

    credentials = session.get_credentials().get_frozen_credentials()
    typer.echo(f"export AWS_ACCESS_KEY_ID={shlex.quote(credentials.access_key)}")
    typer.echo(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(credentials.secret_key)}")
    typer.echo(f"export AWS_SESSION_TOKEN={shlex.quote(credentials.token or '')}")
    typer.echo("unset AWS_PROFILE")


@dataclass(frozen=True)
class MfaCodeOptions:
    """One of user and deployer."""

    user: str | None = None
    deployer: bool = False
    endpoint: str | None = None
    config: Path | None = None


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
    raise typer.Exit(run_local_mfa_code(MfaCodeOptions(user, deployer, endpoint, config)))


@command
def run_local_mfa_code(options: MfaCodeOptions) -> int:
    if (options.user is None) == (not options.deployer):
        return refuse("give one of --user NAME or --deployer")
    typer.echo(_local_admin(options.endpoint, options.config, options.user, "mfa-code")["Code"])
    return EXIT_OK


@dataclass(frozen=True)
class StopOptions:
    folder: Path | None = None  # None: $SWITCHROLE_LOCAL_DIR, else the only kept local AWS


@local_app.command("stop")
def local_stop(folder: LocalDirOption = None) -> None:
    """Stop a kept local AWS (`switchrole local demo --keep`) and remove its folder."""
    raise typer.Exit(run_local_stop(StopOptions(folder)))


@command
def run_local_stop(options: StopOptions) -> int:
    from switchrole.local.kept import NotKept, find

    try:
        kept = find(options.folder)
    except NotKept as exc:
        return refuse(str(exc))
    if kept.stop():
        typer.echo(f"stopped the local AWS at {kept.endpoint} (pid {kept.pid}); removed {kept.folder}")
    else:
        typer.echo(f"the local AWS at {kept.endpoint} had already stopped; removed {kept.folder}")
    return EXIT_OK
