"""Build the CDK app (every stack) from an organisation; shared by ``app.py`` and ``switchrole synth``."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk

from switchrole import nag
from switchrole.config import HUB_STACK_NAME, Organisation
from switchrole.errors import ConfigError
from switchrole.stacks import HubStack, StackSetsStack, TargetAccountStack
from switchrole.stacks.stacksets_stack import STACKSETS_STACK_NAME
from switchrole.validate import load_checked

DEFAULT_CONFIG = "accounts.yaml"
REPORT = "validation-report.json"
# Set over whatever the CDK CLI passes, so `switchrole synth` and `npx cdk synth` write the same templates
# (and `cdk diff` after a deploy from either shows no change): construct paths in each resource's metadata,
# which reviewers and `cdk diff` use, and no AWS::CDK::Metadata analytics resource.
APP_CONTEXT = {"aws:cdk:version-reporting": False, "aws:cdk:enable-path-metadata": True}


class SynthFailed(Exception):
    """cdk-nag found something nobody acknowledged; ``lines`` has one line per finding."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class StackTemplate:
    stack_name: str
    template: Path


def add_stacks(app: cdk.App, org: Organisation, *, checks: bool = True) -> None:
    """Add the hub stack and one stack per target account to ``app`` (and cdk-nag, unless ``checks`` is off)."""
    if checks:
        nag.add_checks(app)
    HubStack(app, HUB_STACK_NAME, org=org)
    if org.deployment.stacksets:
        StackSetsStack(app, STACKSETS_STACK_NAME, org=org)
        return
    for account in org.accounts:
        TargetAccountStack(app, account.stack_name, org=org, account=account)


def synth(org: Organisation, outdir: str | Path, *, checks: bool = True) -> list[StackTemplate]:
    """Write the cloud assembly to ``outdir`` without the CDK CLI; all or nothing.

    The assembly is built in a staging directory beside ``outdir`` and moved
    into place only when synthesis (including cdk-nag) succeeded, so a failed
    run leaves ``outdir`` as it was.
    """
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise ConfigError.single((), f"--out {outdir} is a file, not a folder; refusing to replace it")
    if outdir.exists() and any(outdir.iterdir()) and not (outdir / "manifest.json").exists():
        raise ConfigError.single((), f"--out {outdir} exists and is not a cloud assembly; refusing to replace it")
    outdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}-", dir=outdir.parent))
    try:
        app = cdk.App(outdir=str(staging), post_cli_context=APP_CONTEXT)
        add_stacks(app, org, checks=checks)
        try:
            assembly = app.synth()
        except RuntimeError as exc:  # jsii raises plugin failures as RuntimeError("ValidationFailed: ...")
            if "ValidationFailed" in str(exc):
                raise SynthFailed(_unacknowledged(staging / REPORT)) from None
            raise
        stacks = [(s.stack_name, s.template_file) for s in assembly.stacks]
        if outdir.exists():
            shutil.rmtree(outdir)
        staging.rename(outdir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [StackTemplate(name, outdir / template) for name, template in stacks]


def _unacknowledged(report_path: Path) -> list[str]:
    report = json.loads(report_path.read_text())
    lines = []
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            for construct in violation["violatingConstructs"]:
                lines.append(
                    f"{construct['constructPath']}: cdk-nag finding {violation['ruleName']} is not acknowledged "
                    "(fix the policy, or add it to the role kind's nag_acknowledgments with a reason)"
                )
    return lines or ["cdk-nag validation failed (see validation-report.json)"]


def main() -> None:
    """Entry point of ``app.py`` (run by ``npx cdk``): ``-c config=PATH`` picks the accounts file."""
    app = cdk.App(post_cli_context=APP_CONTEXT)
    path = app.node.try_get_context("config") or DEFAULT_CONFIG
    try:
        org = load_checked(path)
    except ConfigError as exc:
        print("\n".join(exc.lines), file=sys.stderr)
        print(f"switchrole: {len(exc.lines)} problem(s) in {path}; nothing synthesized", file=sys.stderr)
        raise SystemExit(2) from None
    add_stacks(app, org)
    try:
        app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" not in str(exc):
            raise
        print(str(exc).removeprefix("ValidationFailed: "), file=sys.stderr)
        raise SystemExit(2) from None
