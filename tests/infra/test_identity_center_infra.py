"""Permission sets in the synthesized templates: the hub's policies the sets reference (no IAM group), a group
turning into a permission set as an in-place update (no replacement), and StackSets mode, whose shared templates
take the admitted permission set roles as a parameter and resolve to the per-account stacks' trust."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from factories import ROOT, dump
from ruamel.yaml import YAML

from switchrole.iam.policies import trust_policy
from switchrole.infra.assembly import synth
from switchrole.infra.limits import hub_count
from switchrole.infra.replacement import collisions, resources
from switchrole.infra.validate import load_checked
from switchrole.model.loading import loads

EXAMPLE = ROOT / "examples" / "identity-center.yaml"


def example() -> Any:
    return YAML(typ="rt").load(EXAMPLE.read_text())


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example, a version where the IAM-user group break-glass became a permission set, and StackSets mode."""
    folder = tmp_path_factory.mktemp("ic")
    data = example()
    data["groups"]["break-glass"]["permission_set"] = "BreakGlass"
    del data["users"]["alice"]
    turned = folder / "turned.yaml"
    turned.write_text(dump(data))
    data = example()
    data["deployment"] = {"mode": "stacksets", "account_id": "999999999999", "organizational_unit_ids": ["r-ab12"]}
    stacksets = folder / "stacksets.yaml"
    stacksets.write_text(dump(data))
    data = example()
    center = data["hub"]["identity_center"]
    center["instance_arn"], center["account_id"] = "arn:aws:sso:::instance/ssoins-0123456789abcdef", "999999999999"
    data["groups"]["sre"]["identity_store_group"] = "9067b9d0f1-2b3c4d5e-6f70-4a81-92b3-c4d5e6f70812"
    admin = folder / "admin.yaml"
    admin.write_text(dump(data))
    assemblies = {}
    for name, path in (("example", EXAMPLE), ("turned", turned), ("stacksets", stacksets), ("admin", admin)):
        assemblies[name] = folder / name
        synth(load_checked(path), assemblies[name])
    return assemblies


def hub(assembly: Path) -> dict[str, Any]:
    return dict(json.loads((assembly / "SwitchRole-Hub.template.json").read_text()))


def test_a_permission_set_has_its_policies_in_the_hub_and_no_iam_group(out: dict[str, Path]) -> None:
    template = hub(out["example"])
    kinds = {r["Type"] for r in template["Resources"].values()}
    groups = [r["Properties"]["GroupName"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Group"]
    assert groups == ["break-glass"] and "AWS::IAM::UserToGroupAddition" in kinds
    policies = {
        r["Properties"]["ManagedPolicyName"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and r["Properties"]["ManagedPolicyName"].startswith("switchrole-s")
    }
    assert set(policies) == {"switchrole-sre-1"}
    assert policies["switchrole-sre-1"]["Path"] == "/switchrole/" and "Groups" not in policies["switchrole-sre-1"]
    outputs = {o["Description"]: o["Value"] for o in template["Outputs"].values()}
    assert outputs["The customer-managed policies permission set SRE references"] == "/switchrole/switchrole-sre-1"


def test_a_group_becoming_a_permission_set_updates_its_policies_in_place(out: dict[str, Path]) -> None:
    """Same logical ids, names and (create-only) descriptions: only the group and its members go."""
    before, after = resources(out["example"]), resources(out["turned"])
    assert collisions(out["example"], out["turned"]) == []
    policy = next(k for k, r in before.items() if r.name == "switchrole-break-glass-1")
    assert after[policy].properties["Description"] == before[policy].properties["Description"]
    assert "Groups" in before[policy].properties and "Groups" not in after[policy].properties
    gone = {before[k].kind for k in before.keys() - after.keys()}
    assert gone == {"AWS::IAM::Group", "AWS::IAM::UserToGroupAddition", "AWS::IAM::User", "AWS::IAM::ManagedPolicy"}


def resolve(value: Any, parameters: dict[str, list[str]], conditions: dict[str, Any]) -> Any:
    """A StackSet template's trust as CloudFormation resolves it for one instance's parameters."""
    if isinstance(value, list):
        items = [resolve(v, parameters, conditions) for v in value]
        return [i for i in items if i != {"Ref": "AWS::NoValue"}]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in parameters:
        return parameters[value["Ref"]]
    if set(value) == {"Fn::If"}:
        name, yes, no = value["Fn::If"]
        return resolve(yes if holds(conditions[name], parameters) else no, parameters, conditions)
    return {k: resolve(v, parameters, conditions) for k, v in value.items()}


def holds(condition: Any, parameters: dict[str, list[str]]) -> bool:
    if "Fn::And" in condition:
        return all(holds(c, parameters) for c in condition["Fn::And"])
    join, expected = condition["Fn::Equals"]
    return "".join(parameters[join["Fn::Join"][1]["Ref"]]) == expected


def test_stacksets_templates_resolve_to_the_per_account_trust(out: dict[str, Path]) -> None:
    org = loads(EXAMPLE.read_text(), "ic.yaml")
    template = json.loads((out["stacksets"] / "SwitchRole-StackSets.template.json").read_text())
    checked = 0
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudFormation::StackSet":
            continue
        body = json.loads(resource["Properties"]["TemplateBody"])
        for group in resource["Properties"]["StackInstancesGroup"]:
            parameters = {p["ParameterKey"]: p["ParameterValue"].split(",") for p in group["ParameterOverrides"]}
            parameters = {k: [] if v == [""] else v for k, v in parameters.items()}
            for account_id in group["DeploymentTargets"]["Accounts"]:
                account = next(a for a in org.accounts if a.account_id == account_id)
                for role in body["Resources"].values():
                    if role["Type"] != "AWS::IAM::Role":
                        continue
                    kind = org.role_kinds[role["Properties"]["RoleName"]]
                    resolved = resolve(role["Properties"]["AssumeRolePolicyDocument"], parameters, body["Conditions"])
                    assert resolved == trust_policy(org, account, kind), (account.name, kind.key)
                    checked += 1
    assert checked == 6


def test_the_permission_sets_stack_references_exactly_the_hubs_policies_after_the_hub(out: dict[str, Path]) -> None:
    manifest = json.loads((out["admin"] / "manifest.json").read_text())
    artifact = manifest["artifacts"]["SwitchRole-IdentityCenter"]
    assert "SwitchRole-Hub" in artifact["dependencies"]
    assert artifact["environment"] == "aws://999999999999/eu-west-1"
    template = json.loads((out["admin"] / "SwitchRole-IdentityCenter.template.json").read_text())
    sets = {r["Properties"]["Name"]: r["Properties"] for r in template["Resources"].values()
            if r["Type"] == "AWS::SSO::PermissionSet"}  # fmt: skip
    assert sets["SRE"]["CustomerManagedPolicyReferences"] == [{"Name": "switchrole-sre-1", "Path": "/switchrole/"}]
    assert set(sets) == {"SRE", "Developers"}
    [assignment] = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SSO::Assignment"]
    assert (assignment["TargetId"], assignment["PrincipalType"]) == ("111111111111", "GROUP")
    hub_policies = {r["Properties"]["ManagedPolicyName"] for r in hub(out["admin"])["Resources"].values()
                    if r["Type"] == "AWS::IAM::ManagedPolicy"}  # fmt: skip
    for properties in sets.values():
        assert {ref["Name"] for ref in properties["CustomerManagedPolicyReferences"]} <= hub_policies


def test_cfn_lint_on_the_identity_center_templates(out: dict[str, Path]) -> None:
    templates = [str(out["admin"] / name) for name in (
        "SwitchRole-IdentityCenter.template.json", "SwitchRole-Hub.template.json", "SwitchRole-pay-prod.template.json"
    )]  # fmt: skip
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), *templates], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_hub_count_is_the_synthesized_template(out: dict[str, Path]) -> None:
    """No IAM group for a permission set, and an output listing the policies it references."""
    org = loads(EXAMPLE.read_text(), "ic.yaml")
    template = hub(out["example"])
    count = hub_count(org)[0]
    assert (count.resources, count.outputs) == (len(template["Resources"]), len(template["Outputs"]))
