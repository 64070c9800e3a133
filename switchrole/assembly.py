"""Build the CDK app (every stack) from an organisation; shared by ``app.py`` and ``switchrole synth``."""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk

from switchrole import nag
from switchrole.config import HUB_STACK_NAME, Organisation
from switchrole.errors import ConfigError
from switchrole.stacks import HubStack, TargetAccountStack
from switchrole.validate import load_checked

DEFAULT_CONFIG = "accounts.yaml"


def add_stacks(app: cdk.App, org: Organisation, *, checks: bool = True) -> None:
    """Add the hub stack and one stack per target account to ``app`` (and cdk-nag, unless ``checks`` is off)."""
    if checks:
        nag.add_checks(app)
    HubStack(app, HUB_STACK_NAME, org=org)
    for account in org.accounts:
        TargetAccountStack(app, account.stack_name, org=org, account=account)


def synth(org: Organisation, outdir: str | Path, *, checks: bool = True) -> cdk.cx_api.CloudAssembly:
    """Write the cloud assembly to ``outdir`` without the CDK CLI."""
    app = cdk.App(outdir=str(outdir))
    add_stacks(app, org, checks=checks)
    return app.synth()


def main() -> None:
    """Entry point of ``app.py`` (run by ``npx cdk``): ``-c config=PATH`` picks the accounts file."""
    app = cdk.App()
    path = app.node.try_get_context("config") or DEFAULT_CONFIG
    try:
        org = load_checked(path)
    except ConfigError as exc:
        print("\n".join(exc.lines), file=sys.stderr)
        print(f"switchrole: {len(exc.lines)} problem(s) in {path}; nothing synthesized", file=sys.stderr)
        raise SystemExit(2) from None
    add_stacks(app, org)
    app.synth()
