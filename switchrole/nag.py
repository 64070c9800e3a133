"""cdk-nag (3.x, as a CDK validation plugin), the CDK's own template validation, and the findings switchrole
acknowledges on purpose.

Every acknowledgment names the exact finding and says why, so a reviewer sees
each accepted exception in the code next to the resource that causes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"
REPORT = "validation-report.json"
# The CDK validates every template against CloudFormation's rules (limits, resource schemas) during synthesis;
# with this context flag its findings fail synthesis instead of being printed as warnings.
VALIDATE_TEMPLATES = "@aws-cdk/core:validateAgainstDefaultRules"


class SynthFailed(Exception):
    """cdk-nag or the CDK's template validation found something (or a template cannot be built); a line each."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


def unacknowledged(report_path: Path) -> list[str]:
    """The findings of a failed validation, one line each, from the report CDK writes next to the assembly."""
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        return ["cdk-nag validation failed (no readable validation report)"]
    lines = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                if plugin.get("pluginName") == PACK:
                    lines.append(
                        f"{construct['constructPath']}: cdk-nag finding {violation['ruleName']} is not acknowledged "
                        "(fix the policy, or add it to the role kind's nag_acknowledgments with a reason)"
                    )
                else:  # the CDK's own template validation: CloudFormation would refuse the template
                    lines.append(
                        f"{construct['constructPath']}: CloudFormation would refuse this template: "
                        f"{violation.get('description', '?')} ({plugin.get('pluginName')} {violation['ruleName']})"
                    )
    return lines or ["template validation failed (see validation-report.json)"]


def add_checks(app: cdk.App) -> None:
    """Run the AwsSolutions pack on every stack; unacknowledged findings fail synth."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(verbose=True))


def acknowledge(scope: IConstruct, rule: str, finding: str | None, reason: str) -> None:
    """Accept one finding (``rule`` like ``IAM5``; ``finding`` like ``Resource::arn:...``) with a reason."""
    rule_id = f"{PACK}::{PACK}-{rule}" + (f"[{finding}]" if finding else "")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
