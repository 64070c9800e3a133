"""The commands against AWS: smoke (prove a switch) and audit (live IAM against the file).

Plain functions with Typer annotations; :mod:`switchrole.cli.main` registers them on the app in help order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from switchrole.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    TokenCodeOption,
    load,
)


def smoke(
    role_arn: Annotated[str | None, typer.Option("--role-arn", help="The role to switch into.")] = None,
    all_roles: Annotated[bool, typer.Option("--all", help="Every role --user is granted (needs --config).")] = False,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Hub user, with --all.")] = None,
    permission_set: Annotated[
        str | None,
        typer.Option("--permission-set", help="With --all, instead of --user: an Identity Center permission set."),
    ] = None,
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
                permission_set=permission_set,
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
