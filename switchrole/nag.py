"""cdk-nag (3.x, as a CDK validation plugin) and the findings switchrole acknowledges on purpose.

Every acknowledgment names the exact finding and says why, so a reviewer sees
each accepted exception in the code next to the resource that causes it.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"


def add_checks(app: cdk.App) -> None:
    """Run the AwsSolutions pack on every stack; unacknowledged findings fail synth."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(verbose=True))


def acknowledge(scope: IConstruct, rule: str, finding: str | None, reason: str) -> None:
    """Accept one finding (``rule`` like ``IAM5``; ``finding`` like ``Resource::arn:...``) with a reason."""
    rule_id = f"{PACK}::{PACK}-{rule}" + (f"[{finding}]" if finding else "")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
