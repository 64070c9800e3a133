"""Real linters on the real synthesized templates: cfn-lint and cdk-nag's AwsSolutions pack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from factories import variant

from switchrole.model.loading import loads


@pytest.mark.slow
def test_cfn_lint_reports_nothing(example_assembly_dir: Path) -> None:
    templates = sorted(str(p) for p in example_assembly_dir.glob("*.template.json"))
    assert len(templates) == 5
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", *templates],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_cdk_nag_passes_with_every_finding_acknowledged_for_a_reason(example_assembly_dir: Path) -> None:
    report = json.loads((example_assembly_dir / "validation-report.json").read_text())
    (plugin,) = report["pluginReports"]
    assert plugin["pluginName"] == "AwsSolutions"
    assert plugin["conclusion"] == "success"
    assert plugin["violations"] == []
    suppressed = plugin["suppressedViolations"]
    rules = {v["ruleName"].split("[")[0] for v in suppressed}
    assert rules == {"AwsSolutions-IAM4", "AwsSolutions-IAM5"}, rules
    for violation in suppressed:
        assert len(violation["reason"]) > 40, violation["ruleName"]
    managed = {v["ruleName"] for v in suppressed if v["ruleName"].startswith("AwsSolutions-IAM4")}
    assert "AwsSolutions-IAM4[Policy::arn:aws:iam::aws:policy/AdministratorAccess]" in managed


def test_cdk_nag_fails_synth_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    """Proves the pack is really active: a wildcard inline policy is not silently accepted."""
    from switchrole.infra.assembly import synth
    from switchrole.infra.nag import SynthFailed

    def change(data: Any) -> None:
        data["roles"]["ReadOnly"]["inline_policies"] = {
            "Everything": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        }

    org = loads(variant(change))
    with pytest.raises(SynthFailed) as info:
        synth(org, tmp_path / "out")
    assert "SwitchRole-shop-prod/ReadOnly/Resource: cdk-nag finding AwsSolutions-IAM5[Action::s3:*]" in str(info.value)
    assert not (tmp_path / "out").exists()  # all or nothing
    assert list(tmp_path.iterdir()) == []


def test_a_finding_acknowledged_in_the_accounts_file_passes(tmp_path: Path) -> None:
    from switchrole.infra.assembly import synth

    def change(data: Any) -> None:
        data["roles"]["ReadOnly"]["inline_policies"] = {
            "ReadBuckets": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}],
            }
        }
        data["roles"]["ReadOnly"]["nag_acknowledgments"] = {
            "AwsSolutions-IAM5[Action::s3:Get*]": "read-only role reads every bucket by design",
            "AwsSolutions-IAM5[Resource::*]": "read-only role reads every bucket by design",
        }

    synth(loads(variant(change)), tmp_path / "out")
    report = json.loads((tmp_path / "out" / "validation-report.json").read_text())
    reasons = {v["reason"] for v in report["pluginReports"][0]["suppressedViolations"]}
    assert "roles.ReadOnly: read-only role reads every bucket by design" in reasons
