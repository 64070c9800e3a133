"""switchrole's bootstrap template: the CDK CLI's own, but only each account's own deployer roles may use the roles
the CLI assumes, and CloudFormation may manage only the file's roles. Checked on the real rendered template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import EXAMPLE, ROOT

from switchrole.iam.bootstrap_policies import BOOTSTRAP_POLICIES
from switchrole.infra.bootstrap import (
    ASSUMED_ROLES,
    DEPLOYER_ROLES,
    EXECUTION_ROLE,
    cdk_template_path,
    policies_of,
    render,
)
from switchrole.infra.validate import load_checked

CDK = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("bootstrap") / "bootstrap-template.json"
    path.write_text(render(load_checked(EXAMPLE), CDK))
    return path, json.loads(path.read_text())


def test_the_audit_table_is_the_pinned_cdk_templates() -> None:
    """switchrole/iam/bootstrap_policies.py is what scripts/bootstrap_policies.py writes from the installed CLI."""
    assert policies_of(yaml.safe_load(cdk_template_path(CDK).read_text())) == BOOTSTRAP_POLICIES
    assert BOOTSTRAP_POLICIES["lookup"]["managed"] == ["ReadOnlyAccess"]


def test_only_the_accounts_own_deployer_roles_may_use_the_roles_the_cli_assumes(
    rendered: tuple[Path, dict[str, Any]],
) -> None:
    _, template = rendered
    text = json.dumps(template)
    for name in ASSUMED_ROLES:
        (statement,) = template["Resources"][name]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"AWS": {"Ref": "AWS::AccountId"}}  # no other account, whatever --trust
        arns = statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]
        assert [a["Fn::Sub"].rsplit("/", 1)[1] for a in arns] == list(DEPLOYER_ROLES)
        assert statement["Condition"]["Null"] == {"sts:ExternalId": "true"}
    assert '"Ref": "TrustedAccounts"' not in text and '"Ref": "TrustedAccountsForLookup"' not in text


def test_cloudformation_may_manage_only_the_files_roles(rendered: tuple[Path, dict[str, Any]]) -> None:
    _, template = rendered
    execution = template["Resources"][EXECUTION_ROLE]["Properties"]
    assert "AdministratorAccess" not in json.dumps(execution)
    (policy,) = execution["Policies"]
    allow, deny, _ = policy["PolicyDocument"]["Statement"]
    assert [r["Fn::Sub"] for r in allow["Resource"]] == [
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/switchrole/*"
    ]
    assert all((a.startswith("iam:") and "Policy" in a) or "Role" in a for a in allow["Action"])
    assert "iam:CreatePolicy" not in allow["Action"] and "iam:PassRole" not in allow["Action"]
    assert deny["Effect"] == "Deny" and "cdk-${Qualifier}-*" in deny["Resource"][0]["Fn::Sub"]
    assert template["Parameters"]["BootstrapVariant"]["Default"].startswith("switchrole")


def test_the_template_lints_clean(rendered: tuple[Path, dict[str, Any]]) -> None:
    path, _ = rendered
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True)
    assert result.returncode in (0, 4), result.stdout + result.stderr  # 4: warnings only (the CDK's own, unused params)
    assert "\nE" not in "\n" + result.stdout
