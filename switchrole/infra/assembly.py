"""Build the CDK app (every stack) from an organisation; shared by ``app.py`` and ``switchrole synth``."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk

from switchrole.iam.policies import PolicyError
from switchrole.infra import nag
from switchrole.infra.deploy_settings import DEFAULT_CONFIG
from switchrole.infra.limits import assembly_problems
from switchrole.infra.nag import SynthFailed
from switchrole.infra.stacks import HubStack, IdentityCenterStack, StackSetsStack, TargetAccountStack
from switchrole.infra.stacksets import STACKSETS_STACK_NAME
from switchrole.infra.validate import load_checked
from switchrole.model.errors import ConfigError
from switchrole.model.organisation import HUB_STACK_NAME, IDENTITY_CENTER_STACK_NAME, Organisation

# Set over whatever the CDK CLI passes, so `switchrole synth` and `npx cdk synth` write the same templates
# (and `cdk diff` after a deploy from either shows no change): construct paths in each resource's metadata,
# which reviewers and `cdk diff` use, and no AWS::CDK::Metadata analytics resource. The CDK's own template
# validation (CloudFormation's limits and resource schemas) runs too; its report and cdk-nag's are read, not
# printed (nag.CONTEXT), and fail synthesis, so `switchrole validate` passes nothing `npx cdk synth` refuses.
APP_CONTEXT = {"aws:cdk:version-reporting": False, "aws:cdk:enable-path-metadata": True, **nag.CONTEXT}


@dataclass(frozen=True)
class StackTemplate:
    stack_name: str
    template: Path


def add_stacks(app: cdk.App, org: Organisation, *, checks: bool = True) -> list[cdk.Stack]:
    """Add the hub stack and one stack per target account to ``app`` (and cdk-nag on those stacks only, unless
    ``checks`` is off: an app of the person's own keeps its other stacks to itself); the stacks added."""
    hub = HubStack(app, HUB_STACK_NAME, org=org)
    stacks: list[cdk.Stack] = [hub]
    if org.hub.identity_center is not None and org.hub.identity_center.stack:
        permission_sets = IdentityCenterStack(app, IDENTITY_CENTER_STACK_NAME, org=org)
        permission_sets.add_dependency(hub)  # the sets reference the hub's policies, which must exist first
        stacks.append(permission_sets)
    if org.deployment.stacksets:
        stacks.append(StackSetsStack(app, STACKSETS_STACK_NAME, org=org))
    else:
        stacks += [TargetAccountStack(app, account.stack_name, org=org, account=account) for account in org.accounts]
    if checks:
        nag.add_checks(app, stacks)
    return stacks


def size_lines(org: Organisation, assembly: Path) -> list[str]:
    """Templates of the assembly in ``assembly`` over CloudFormation's size limit, one line each, naming the field."""
    return [problem.render() for problem in assembly_problems(org, assembly)]


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
    staging = _staging(outdir)
    try:
        app = cdk.App(outdir=str(staging), post_cli_context=APP_CONTEXT)
        try:
            add_stacks(app, org, checks=checks)
            assembly = app.synth()
        except PolicyError as exc:  # a StackSet template over CloudFormation's size limit
            raise SynthFailed([str(exc)]) from None
        if lines := nag.problems(staging, required=checks) + size_lines(org, staging):
            raise SynthFailed(lines)
        stacks = [(s.stack_name, s.template_file) for s in assembly.stacks]
        try:
            if outdir.exists():
                shutil.rmtree(outdir)
            staging.rename(outdir)
        except OSError as exc:
            raise _cannot_write(outdir, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [StackTemplate(name, outdir / template) for name, template in stacks]


def _staging(outdir: Path) -> Path:
    """A new folder beside ``outdir`` to build the assembly in (its parents created as needed), or a
    :class:`ConfigError` saying why there can be none: a file where a folder must be, a folder not writable."""
    for ancestor in outdir.parents:
        if ancestor.exists() or ancestor.is_symlink():
            if not ancestor.is_dir():
                raise ConfigError.single((), f"--out {outdir}: {ancestor} is not a folder; nothing written")
            break
    created = [p for p in reversed(outdir.parents) if not p.exists()]
    try:
        outdir.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{outdir.name}-", dir=outdir.parent))
    except OSError as exc:
        for folder in reversed(created):  # nothing written: not even the parents made on the way
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise _cannot_write(outdir, exc) from None


def _cannot_write(outdir: Path, exc: OSError) -> ConfigError:
    return ConfigError.single((), f"--out {outdir}: cannot write the cloud assembly there ({exc.strerror or exc})")


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
    try:
        add_stacks(app, org)
        app.synth()
        if lines := nag.problems(Path(app.outdir)) + size_lines(org, Path(app.outdir)):
            raise SynthFailed(lines)
    except SynthFailed as exc:
        print("\n".join(exc.lines), file=sys.stderr)
        raise SystemExit(2) from None
    except PolicyError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None
