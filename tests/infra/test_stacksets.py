"""deployment.mode: stacksets: the StackSets stack, its shared role templates, grouping, and a replay in moto."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from factories import ROOT, build, generated

from switchrole.infra.assembly import synth
from switchrole.infra.stacksets import MAX_DESCRIPTION, describe_role_keys, plan
from switchrole.infra.validate import load_checked

EXAMPLE = ROOT / "examples" / "stacksets.yaml"


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stacksets") / "cdk.out"
    synth(load_checked(EXAMPLE), out)
    return out


@pytest.fixture(scope="module")
def stack_sets(assembly: Path) -> dict[str, dict[str, Any]]:
    template = json.loads((assembly / "SwitchRole-StackSets.template.json").read_text())
    return {
        r["Properties"]["StackSetName"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudFormation::StackSet"
    }


def test_only_the_hub_and_the_stacksets_stack(assembly: Path) -> None:
    manifest = json.loads((assembly / "manifest.json").read_text())
    stacks = {k: v for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"}
    assert sorted(stacks) == ["SwitchRole-Hub", "SwitchRole-StackSets"]
    assert stacks["SwitchRole-StackSets"]["environment"] == "aws://999999999999/us-east-1"


def test_accounts_with_the_same_role_kinds_share_a_stack_set(stack_sets: dict[str, dict[str, Any]]) -> None:
    assert sorted(stack_sets) == [
        "SwitchRole-Admin-Auditor-Developer-ReadOnly",
        "SwitchRole-Admin-Auditor-ReadOnly",
        "SwitchRole-OU-ou-exam-sandboxes-Admin-ReadOnly",
    ]
    prod = stack_sets["SwitchRole-Admin-Auditor-ReadOnly"]
    (instances,) = prod["StackInstancesGroup"]
    assert instances["DeploymentTargets"] == {
        "AccountFilterType": "INTERSECTION",
        "Accounts": ["222222222222", "555555555555"],
        "OrganizationalUnitIds": ["r-exam"],
    }
    assert instances["ParameterOverrides"] == [
        {"ParameterKey": "AdminPrincipals", "ParameterValue": "arn:aws:iam::111111111111:user/alice"}
    ]


def test_service_managed_settings(stack_sets: dict[str, dict[str, Any]]) -> None:
    for props in stack_sets.values():
        assert props["PermissionModel"] == "SERVICE_MANAGED"
        assert props["CallAs"] == "SELF"
        assert props["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
        assert props["OperationPreferences"] == {
            "FailureTolerancePercentage": 10,
            "MaxConcurrentPercentage": 25,
            "RegionConcurrencyType": "PARALLEL",
        }
    assert stack_sets["SwitchRole-Admin-Auditor-ReadOnly"]["AutoDeployment"] == {"Enabled": False}
    ou = stack_sets["SwitchRole-OU-ou-exam-sandboxes-Admin-ReadOnly"]
    assert ou["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert ou["StackInstancesGroup"][0]["DeploymentTargets"] == {  # never the hub, nor the deployment account
        "AccountFilterType": "DIFFERENCE",
        "Accounts": ["111111111111", "999999999999"],
        "OrganizationalUnitIds": ["ou-exam-sandboxes"],
    }


def test_role_templates_are_account_agnostic_and_take_grantees_as_parameters(
    stack_sets: dict[str, dict[str, Any]],
) -> None:
    body = json.loads(stack_sets["SwitchRole-Admin-Auditor-Developer-ReadOnly"]["TemplateBody"])
    assert body["Parameters"]["AdminPrincipals"]["Type"] == "CommaDelimitedList"
    assert "BootstrapVersion" not in body.get("Parameters", {}) and "Rules" not in body
    text = json.dumps(body)
    for account in ("222222222222", "333333333333", "555555555555", "666666666666"):
        assert account not in text
    admin = next(r for r in body["Resources"].values() if r["Properties"]["RoleName"] == "Admin")
    nobody, trust = admin["Properties"]["AssumeRolePolicyDocument"]["Fn::If"][1:]  # "" admits nobody
    assert body["Conditions"]["AdminAdmitsNobody"] == {
        "Fn::Equals": [{"Fn::Join": ["", {"Ref": "AdminPrincipals"}]}, ""]
    }
    assert [s["Effect"] for s in nobody["Statement"]] == ["Deny"]
    condition = trust["Statement"][0]["Condition"]
    assert condition["ArnEquals"] == {"aws:PrincipalArn": {"Ref": "AdminPrincipals"}}
    assert condition["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
    assert body["Outputs"]["AdminRoleArn"]["Value"] == {
        "Fn::GetAtt": [next(k for k, r in body["Resources"].items() if r["Properties"]["RoleName"] == "Admin"), "Arn"]
    }


def test_template_counts_are_the_synthesized_ones(assembly: Path, stack_sets: dict[str, dict[str, Any]]) -> None:
    """What validate counts before synthesis (cfn_limits) is what each StackSet template and the stack hold."""
    from switchrole.infra.limits import roles_count

    org = load_checked(EXAMPLE)
    plans = {p.name: p for p in plan(org)}
    for name, props in stack_sets.items():
        body = json.loads(props["TemplateBody"])
        role_keys = plans[name].role_keys
        count = roles_count(org, role_keys, sum(org.role_kinds[k].strict_trust for k in role_keys))
        assert (count.resources, count.outputs, count.parameters) == (
            len(body["Resources"]),
            len(body["Outputs"]),
            len(body.get("Parameters", {})),
        ), name
    stack = json.loads((assembly / "SwitchRole-StackSets.template.json").read_text())
    assert len(stack["Resources"]) == len(plans) == len(stack_sets)


@pytest.mark.slow
def test_cfn_lint_on_the_stack_and_every_stack_set_template(
    assembly: Path, stack_sets: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    files = [assembly / "SwitchRole-StackSets.template.json", assembly / "SwitchRole-Hub.template.json"]
    for name, props in stack_sets.items():
        body = tmp_path / f"{name}.json"
        body.write_text(props["TemplateBody"])
        files.append(body)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", *map(str, files)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_grouping_at_scale_is_by_content() -> None:
    data = generated(
        1000,
        roles={
            "ReadOnly": {"managed_policies": ["ReadOnlyAccess"]},
            "Admin": {"managed_policies": ["AdministratorAccess"], "trust": "strict"},
        },
        grants={"readers": [{"role": "ReadOnly", "accounts": "*"}]},
        users={"ann": {"groups": ["admins-a", "readers"]}, "ben": {"groups": ["admins-b"]}},
    )
    for account in data["accounts"][::4]:
        account["roles"] = ["ReadOnly"]  # 250 accounts without Admin
    admin = [a["name"] for a in data["accounts"] if "Admin" in a["roles"]]
    data["groups"]["admins-a"] = {"grants": [{"role": "Admin", "accounts": admin[:375]}]}
    data["groups"]["admins-b"] = {"grants": [{"role": "Admin", "accounts": admin[375:]}]}
    data["deployment"] = {"mode": "stacksets", "account_id": "999999999999", "organizational_unit_ids": ["r-abcd"]}
    plans = {p.name: p for p in plan(build(data))}
    assert sorted(plans) == ["SwitchRole-Admin-ReadOnly", "SwitchRole-ReadOnly"]
    both = plans["SwitchRole-Admin-ReadOnly"]
    assert sum(len(g.account_ids) for g in both.instances) == 750
    assert sorted(g.parameters[0][1].rsplit("/", 1)[-1] for g in both.instances) == ["ann", "ben"]  # one group each
    assert sum(len(g.account_ids) for g in plans["SwitchRole-ReadOnly"].instances) == 250


def test_descriptions_list_the_role_kinds_that_fit_and_summarise_the_rest() -> None:
    keys = tuple(f"{chr(65 + i)}{'x' * 63}" for i in range(17))  # 17 kind keys of 64 characters
    text = describe_role_keys("switchrole roles: ", keys)
    assert len(text) <= MAX_DESCRIPTION and text.endswith(", … (17 role kinds)")
    assert text.startswith(f"switchrole roles: {keys[0]}, {keys[1]}, ")
    # at the edge the list is whole; one character more and it is summarised
    prefix = "p" * (MAX_DESCRIPTION - len(", ".join(keys[:7])))
    assert describe_role_keys(prefix, keys[:7]) == prefix + ", ".join(keys[:7])
    assert describe_role_keys(prefix + "p", keys[:7]).endswith("… (7 role kinds)")


def test_a_role_template_of_many_long_kind_keys_builds() -> None:
    """17 kind keys of 64 characters: "Stack description must be <= 1024 bytes" crashed validate in StackSets mode."""
    import aws_cdk as cdk

    from switchrole.infra.stacks.stacksets_stack import RoleSetStack

    kind = {"managed_policies": ["ReadOnlyAccess"], "role_path": "/"}  # path + 64-character name: the console's 64
    roles = {f"{chr(65 + i)}{'x' * 63}": kind for i in range(17)}
    data = generated(1, roles=roles)
    data["deployment"] = {"mode": "stacksets", "account_id": "999999999999", "organizational_unit_ids": ["r-abcd"]}
    org = build(data)
    stack = RoleSetStack(cdk.App(), "RoleSet1", org=org, role_keys=tuple(sorted(roles)))
    description = stack.template_options.description or ""
    assert len(description) <= MAX_DESCRIPTION and len(description.encode()) <= 1024
    assert description.endswith("… (17 role kinds) roles that hub account identity may switch into")


@pytest.mark.slow
def test_replayed_in_moto_the_instances_get_the_roles(stack_sets: dict[str, dict[str, Any]]) -> None:
    """moto's CloudFormation has no AWS::CloudFormation::StackSet resource and cannot place given account ids in
    an organisation, so the StackSets are replayed through its StackSets API (self-managed) instead."""
    from switchrole.local.server import LocalAws

    props = stack_sets["SwitchRole-Admin-Auditor-Developer-ReadOnly"]
    (group,) = props["StackInstancesGroup"]
    with LocalAws() as aws:
        kwargs = {"endpoint_url": aws.endpoint, "region_name": "us-east-1", "aws_secret_access_key": "x"}
        cfn = boto3.client("cloudformation", aws_access_key_id="AKIASTACKSETADMIN000", **kwargs)
        cfn.create_stack_set(
            StackSetName=props["StackSetName"],
            TemplateBody=props["TemplateBody"],
            Capabilities=props["Capabilities"],
            PermissionModel="SELF_MANAGED",
            Parameters=[{"ParameterKey": "AdminPrincipals", "ParameterValue": "placeholder"}],
        )
        cfn.create_stack_instances(
            StackSetName=props["StackSetName"],
            Accounts=group["DeploymentTargets"]["Accounts"],
            Regions=group["Regions"],
            ParameterOverrides=group["ParameterOverrides"],
        )
        for account in group["DeploymentTargets"]["Accounts"]:
            sts = boto3.client("sts", aws_access_key_id="AKIASTACKSETADMIN000", **kwargs)
            creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/inspect", RoleSessionName="inspect")[
                "Credentials"
            ]
            iam = boto3.client(
                "iam",
                aws_access_key_id=creds["AccessKeyId"],
                aws_session_token=creds["SessionToken"],
                **{**kwargs, "aws_secret_access_key": creds["SecretAccessKey"]},
            )
            roles = {r["RoleName"]: r for r in iam.list_roles(PathPrefix="/switchrole/")["Roles"]}
            assert sorted(roles) == ["Admin", "Auditor", "Developer", "ReadOnly"]
            trust = roles["Admin"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["ArnEquals"]
            assert trust == {"aws:PrincipalArn": ["arn:aws:iam::111111111111:user/alice"]}
            attached = iam.list_attached_role_policies(RoleName="ReadOnly")["AttachedPolicies"]
            assert [p["PolicyName"] for p in attached] == ["ReadOnlyAccess"]


def test_a_stackset_template_over_the_body_limit_is_a_clean_validate_error(tmp_path: Path) -> None:
    """Six role kinds with large inline policies: each role within IAM's quotas, their StackSet template over
    CloudFormation's 51,200-byte TemplateBody. validate gave a PolicyError traceback; now one line, exit 2."""
    from typer.testing import CliRunner

    from switchrole.cli.main import app

    def fence(kind: int) -> dict[str, Any]:  # a Deny (no cdk-nag finding) of about 8,500 characters
        buckets = [f"arn:aws:s3:::kind{kind}-bucket-{n:03d}-of-a-long-name/*" for n in range(170)]
        statement = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": buckets}
        return {"Version": "2012-10-17", "Statement": [statement]}

    roles = {f"Kind{k}": {"managed_policies": ["ReadOnlyAccess"], "inline_policies": {"Fence": fence(k)}}
             for k in range(6)}  # fmt: skip
    data = generated(2, roles=roles, users={"ann": {"groups": []}})
    data["deployment"] = {"mode": "stacksets", "account_id": "999999999999", "organizational_unit_ids": ["r-abcd"]}
    config = tmp_path / "accounts.yaml"
    config.write_text(json.dumps(data))  # JSON is YAML
    result = CliRunner().invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert "template body" in line and "> 51,200" in line and "Traceback" not in result.output


@pytest.mark.slow
def test_a_root_ou_target_excludes_the_hub_and_validate_warns(tmp_path: Path) -> None:
    """Issue 19: an ou_targets entry on the organisation root deployed Admin and ReadOnly into the hub itself, and
    validate was silent. Now every OU StackSet excludes the hub and the deployment account (DIFFERENCE; cfn-lint
    accepts it) and validate warns, exit 0, that every other account of the organisation gets the roles."""
    from typer.testing import CliRunner

    from switchrole.cli.main import app

    text = EXAMPLE.read_text().replace(
        "{ou: ou-exam-sandboxes, roles: [ReadOnly, Admin]}", "{ou: r-exam, roles: [Admin]}"
    )
    config = tmp_path / "accounts.yaml"
    config.write_text(text)
    out = tmp_path / "cdk.out"
    synth(load_checked(config), out)
    template = json.loads((out / "SwitchRole-StackSets.template.json").read_text())
    (root,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudFormation::StackSet"
        and r["Properties"]["StackSetName"] == "SwitchRole-OU-r-exam-Admin"
    ]
    (group,) = root["StackInstancesGroup"]
    assert group["DeploymentTargets"] == {
        "AccountFilterType": "DIFFERENCE",
        "Accounts": ["111111111111", "999999999999"],
        "OrganizationalUnitIds": ["r-exam"],
    }
    lint = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--format",
            "parseable",
            str(out / "SwitchRole-StackSets.template.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr

    result = CliRunner().invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.stderr.splitlines() if "ou_targets" in line]
    assert warning == (
        f"{config}: warning: deployment.ou_targets[0].ou: r-exam is the organisation root: the hub and the "
        "deployment account are excluded, but every other account of the organisation, including every account "
        "created later, gets Admin"
    )
