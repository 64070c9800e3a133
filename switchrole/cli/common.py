"""What every command shares: the Typer app, the --config option, one-line failures, loading the file.

Every command has the same shape: an ``...Options`` dataclass (what the command line said) and a
``run_...(options) -> int`` that does the work and returns the exit code; the Typer function only declares the
options, builds the dataclass and exits with run's code. Refusals are printed where they are found, one line per
problem on stderr: run returns their code with :func:`refuse`, and helpers shared by several commands
(:func:`load`, :func:`guarded`, :func:`known_user`, ...) raise :func:`fail`'s Exit, which :func:`command` turns
back into the returned code, so run() called from Python returns an int whatever happens to the input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from switchrole import __version__
from switchrole.cli import help_style
from switchrole.infra import deploy_settings
from switchrole.model.errors import ConfigError
from switchrole.model.exits import EXIT_USAGE
from switchrole.model.organisation import Organisation

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
OptionsT = TypeVar("OptionsT")  # a command's options


def refuse(lines: list[str] | str, code: int = EXIT_USAGE) -> int:
    """Print problems to stderr, one per line, and return the exit code (2: bad usage or configuration)."""
    for line in [lines] if isinstance(lines, str) else lines:
        typer.echo(line, err=True)
    return code


def fail(lines: list[str] | str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print problems to stderr and return the Exit to raise (from a helper that has no exit code to return)."""
    return typer.Exit(refuse(lines, code))


def command(run: Callable[[OptionsT], int]) -> Callable[[OptionsT], int]:
    """A command's ``run(options) -> int``: a refusal a helper raised (its lines printed) is returned as its code."""

    @functools.wraps(run)
    def returning(options: OptionsT) -> int:
        try:
            return run(options)
        except typer.Exit as exc:
            return int(exc.exit_code)

    return returning


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


UserOption = Annotated[str, typer.Option("--user", "-u", help="Hub user.")]


def known_user(org: Organisation, user: str, config: Path) -> None:
    if user not in org.users:
        raise fail(f"--user: no user {user!r} in {config} (users: {', '.join(org.users) or 'none'})")


def known_permission_set(org: Organisation, permission_set: str, config: Path) -> None:
    sets = [g.permission_set for g in org.permission_set_groups if g.permission_set is not None]
    if permission_set not in sets:
        raise fail(
            f"--permission-set: no group of {config} is permission set {permission_set!r} "
            f"(permission sets: {', '.join(sets) or 'none'})"
        )


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


def base_organisation(base: str, config: Path) -> Organisation | None:
    from switchrole.review.access_diff import load_base

    return guarded(lambda: load_base(base, config))[0]


def refuse_replacements(base: Organisation, head: Organisation, config: Path, assembly: Path | None = None) -> None:
    """Exit 2, one line each, for every change CloudFormation could not deploy over ``base`` as one update."""
    from switchrole.infra.replacement import update_problems

    if problems := update_problems(base, head, assembly):
        raise fail([problem.render(str(config)) for problem in problems])
