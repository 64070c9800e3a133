"""The commands from the file to templates: validate, synth, bootstrap-template, init.

Each an Options dataclass and a run function returning the exit code (:mod:`switchrole.cli.common`); the Typer
functions declare the options, and :mod:`switchrole.cli.main` registers them on the app in help order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from switchrole.cli.common import (
    DEFAULT_CONFIG,
    ConfigOption,
    base_organisation,
    command,
    guarded,
    load,
    refuse,
    refuse_replacements,
)
from switchrole.model.exits import EXIT_FAILED, EXIT_OK


@dataclass(frozen=True)
class ValidateOptions:
    config: Path
    quick: bool = False
    base: str | None = None  # a git revision or file: also check the change deploys over it as one update


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
    raise typer.Exit(run_validate(ValidateOptions(config, quick, base)))


@command
def run_validate(options: ValidateOptions) -> int:
    import tempfile

    from switchrole.review.summary import summarize, warnings

    config, quick, base = options.config, options.quick, options.base
    org = load(config)
    base_org = base_organisation(base, config) if base is not None and not quick else None
    if not quick:
        from switchrole.infra.assembly import synth as synth_assembly
        from switchrole.infra.nag import SynthFailed

        with tempfile.TemporaryDirectory(prefix="switchrole-validate-") as scratch:
            assembly = Path(scratch) / "cdk.out"
            try:
                guarded(lambda: synth_assembly(org, assembly))
                if base_org is not None:
                    refuse_replacements(base_org, org, config, assembly)
            except SynthFailed as exc:
                return refuse([f"{config}: {line}" for line in exc.lines])
    for warning in warnings(org):
        typer.echo(f"{config}: warning: {warning}", err=True)
    typer.echo(f"{config}: OK: {summarize(org)}" + (" (--quick: synthesis not checked)" if quick else ""))
    return EXIT_OK


@dataclass(frozen=True)
class SynthOptions:
    config: Path
    out: Path = Path("cdk.out")


def synth(
    config: ConfigOption = DEFAULT_CONFIG,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the cloud assembly.")] = Path("cdk.out"),
) -> None:
    """Write the cloud assembly (same as `npx cdk synth`) without the CDK CLI."""
    raise typer.Exit(run_synth(SynthOptions(config, out)))


@command
def run_synth(options: SynthOptions) -> int:
    org = load(options.config)  # before anything is written: an invalid file leaves --out untouched
    from switchrole.infra.assembly import synth as synth_assembly
    from switchrole.infra.nag import SynthFailed

    try:
        stacks = guarded(lambda: synth_assembly(org, options.out))
    except SynthFailed as exc:
        return refuse(exc.lines)
    for stack in stacks:
        typer.echo(f"{stack.stack_name}\t{stack.template}")
    return EXIT_OK


@dataclass(frozen=True)
class BootstrapTemplateOptions:
    config: Path
    out: Path = Path("bootstrap-template.json")


def bootstrap_template(
    config: ConfigOption = DEFAULT_CONFIG,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write it.")] = Path("bootstrap-template.json"),
) -> None:
    """Write switchrole's CDK bootstrap template for target accounts (`npx cdk bootstrap --template FILE`).

    The CDK CLI's own template, except that only the account's own deployer roles (switchrole-github-deploy,
    OrganizationAccountAccessRole) may use its deployment roles (no hub principal, whatever --trust says), and
    CloudFormation may manage only IAM roles under the file's role paths. Commit it beside accounts.yaml.
    """
    raise typer.Exit(run_bootstrap_template(BootstrapTemplateOptions(config, out)))


@command
def run_bootstrap_template(options: BootstrapTemplateOptions) -> int:
    from switchrole.infra.bootstrap import render
    from switchrole.local.demo_checks import DemoFailed, cdk_binary
    from switchrole.review.writes import FileWriteError, replace_text

    out = options.out
    org = load(options.config)
    try:
        text = render(org, cdk_binary())
    except (DemoFailed, OSError) as exc:
        return refuse(f"bootstrap-template: {exc}", EXIT_FAILED)
    try:
        replace_text(out, text)
    except FileWriteError as exc:
        return refuse(str(exc))
    typer.echo(
        f"{out}: switchrole's bootstrap template; use it as: npx cdk bootstrap aws://ACCOUNT/REGION --template {out}"
    )
    return EXIT_OK


@dataclass(frozen=True)
class InitOptions:
    directory: Path


def init_repository(
    directory: Annotated[Path, typer.Argument(help="The new repository's folder (created if missing).")],
) -> None:
    """Scaffold your own access repository, with switchrole and the CDK CLI pinned.

    accounts.yaml, cdk.json, this switchrole's wheel (vendor/) and hashed requirements files, package.json, the
    pull-request and deploy workflows, docs/onboarding.md, a README. Overwrites nothing: if any of its files exists,
    it writes none.
    """
    raise typer.Exit(run_init(InitOptions(directory)))


@command
def run_init(options: InitOptions) -> int:
    from switchrole.scaffold import ScaffoldError, scaffold

    try:
        written = scaffold(options.directory)
    except ScaffoldError as exc:
        return refuse(exc.lines)
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(
        f"next: cd {options.directory} and follow README.md (set up, `switchrole validate`, commit with vendor/)"
    )
    return EXIT_OK
