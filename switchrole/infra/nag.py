"""cdk-nag (3.x, as a CDK validation plugin), the CDK's own template validation, and the findings switchrole
acknowledges on purpose.

Every acknowledgment names the exact finding and says why, so a reviewer sees
each accepted exception in the code next to the resource that causes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
import jsii
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"
REPORT = "validation-report.json"


class SynthFailed(Exception):
    """cdk-nag or the CDK's template validation found something (or a template cannot be built); a line each."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


# Context for every app that runs the checks. CDK would print its own multi-line validation report (about 20
# lines for a single finding) whenever it runs as a process, as under `npx cdk` and `switchrole validate`; with
# this it prints nothing and throws nothing, writes the report beside the assembly, and switchrole reads it
# (:func:`check`), printing one line per finding. CloudFormation's own template validation (CDK's built-in
# plugin) then fails synthesis on what it calls an error, instead of printing it as a block of warnings.
CONTEXT = {
    "@aws-cdk/core:failSynthOnValidationErrors": False,
    "@aws-cdk/core:validateAgainstDefaultRules": True,
}
MAX_DESCRIPTION = 300  # characters of a rule's description in a finding's line


def findings(report_path: Path) -> list[str]:
    """The findings of the validation plugins that failed, one line each, from the report CDK writes next to the
    assembly (empty when every plugin passed)."""
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        return ["cdk-nag validation failed (no readable validation report)"]
    lines = []
    failed = [p for p in report.get("pluginReports", []) if p.get("conclusion", "failure") != "success"]
    for plugin in failed:
        for violation in plugin.get("violations", []):
            if violation.get("severity", "error") not in ("error", "fatal"):
                continue
            for construct in violation.get("violatingConstructs", []) or [{"constructPath": "(template)"}]:
                where, rule = construct.get("constructPath") or "(template)", violation.get("ruleName", "?")
                if plugin.get("pluginName") == PACK:
                    lines.append(
                        f"{where}: cdk-nag finding {rule} is not acknowledged "
                        "(fix the policy, or add it to the role kind's nag_acknowledgments with a reason)"
                    )
                else:  # the CDK's own template validation: CloudFormation would refuse the template
                    description = " ".join(str(violation.get("description", "")).split())[:MAX_DESCRIPTION]
                    lines.append(
                        f"{where}: CloudFormation would refuse this template: {description} "
                        f"({plugin.get('pluginName')} {rule})"
                    )
    return lines or (["validation failed (see validation-report.json)"] if failed else [])


def problems(outdir: Path, *, required: bool = True) -> list[str]:
    """One line per finding if the validation of the assembly in ``outdir`` failed (or, when ``required``, did
    not run: CDK writes no report when no validation plugin ran)."""
    if not required and not (outdir / REPORT).exists():
        return []
    return findings(outdir / REPORT)


def check(outdir: Path, *, required: bool = True) -> None:
    """Raise :class:`SynthFailed` with :func:`problems`, if any."""
    if lines := problems(outdir, required=required):
        raise SynthFailed(lines)


def add_checks(app: cdk.App, stacks: Sequence[cdk.Stack] | None = None) -> None:
    """Run the AwsSolutions pack on ``stacks`` (default: every stack of ``app``); unacknowledged findings fail
    synth. A person who adds switchrole's stacks to an app of their own gets the checks on switchrole's stacks
    only: theirs are theirs to check."""
    plugin = AwsSolutionsChecks(verbose=True) if stacks is None else _ScopedChecks(stacks)
    cdk.Validations.of(app).add_plugins(plugin)


@jsii.implements(cdk.IPolicyValidationPlugin)
class _ScopedChecks:
    """cdk-nag's pack over some stacks of an app (``validateScope`` per stack, one report), under the pack's
    own name so that :func:`findings` reads its report like the pack's."""

    def __init__(self, stacks: Sequence[cdk.Stack]) -> None:
        self._pack = AwsSolutionsChecks(verbose=True)
        self._stacks = list(stacks)

    @property
    def name(self) -> str:
        return self._pack.name

    @property
    def rule_ids(self) -> list[str] | None:
        return self._pack.rule_ids

    @property
    def version(self) -> str | None:
        return self._pack.version

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        reports = [self._pack.validate_scope(stack) for stack in self._stacks]
        return cdk.PolicyValidationPluginReport(
            success=all(report.success for report in reports),
            violations=[violation for report in reports for violation in report.violations],
        )


def acknowledge(scope: IConstruct, rule: str, finding: str | None, reason: str) -> None:
    """Accept one finding (``rule`` like ``IAM5``; ``finding`` like ``Resource::arn:...``) with a reason."""
    rule_id = f"{PACK}::{PACK}-{rule}" + (f"[{finding}]" if finding else "")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
