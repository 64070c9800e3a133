"""The replacement guard: a change CloudFormation would deploy as a replacement of a named resource is refused
with the two-step plan; the routine edits (an `until:` moved, a group needing one grant policy more) are not
replacements at all.

What forces a replacement is read from CloudFormation's resource schemas (cfn-lint's copy); the first test keeps
the shipped table equal to them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from factories import EXAMPLE, generated, load_data, variant
from typer.testing import CliRunner

from scripts.create_only import TYPES, source
from switchrole.cli.main import app
from switchrole.infra.create_only import CREATE_ONLY
from switchrole.infra.replacement import collisions, update_problems
from switchrole.infra.validate import load_checked

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def test_the_table_is_cfn_lints_schemas() -> None:
    """switchrole/infra/create_only.py is what scripts/create_only.py writes from the installed cfn-lint's schemas."""
    assert (ROOT / "switchrole" / "infra" / "create_only.py").read_text() == source()
    assert CREATE_ONLY["AWS::IAM::ManagedPolicy"] == ("Description", "ManagedPolicyName", "Path")


# --------------------------------------------------------------------------- the rule, on written templates


def assembly(folder: Path, resources: dict[str, dict[str, Any]], account: str = "111111111111") -> Path:
    """A one-stack cloud assembly holding ``resources`` (logical id -> type and properties)."""
    folder.mkdir()
    template = {"Resources": {lid: {"Type": r["Type"], "Properties": r["Properties"]} for lid, r in resources.items()}}
    (folder / "Stack.template.json").write_text(json.dumps(template))
    artifact = {
        "type": "aws:cloudformation:stack",
        "environment": f"aws://{account}/us-east-1",
        "properties": {"templateFile": "Stack.template.json", "stackName": "SwitchRole-Hub"},
    }
    (folder / "manifest.json").write_text(json.dumps({"artifacts": {"SwitchRole-Hub": artifact}}))
    return folder


def res(kind: str, **properties: Any) -> dict[str, Any]:
    return {"Type": f"AWS::{kind}", "Properties": properties}


POLICY = {"Version": "2012-10-17", "Statement": []}
CASES = {  # name: (before, after, refused properties or None)
    "policy-description": (
        {"P": res("IAM::ManagedPolicy", ManagedPolicyName="p", Description="a", PolicyDocument=POLICY)},
        {"P": res("IAM::ManagedPolicy", ManagedPolicyName="p", Description="b", PolicyDocument=POLICY)},
        ("Description",),
    ),
    "policy-document": (
        {"P": res("IAM::ManagedPolicy", ManagedPolicyName="p", PolicyDocument=POLICY)},
        {"P": res("IAM::ManagedPolicy", ManagedPolicyName="p", PolicyDocument={**POLICY, "Id": "x"})},
        None,
    ),
    "role-path": (
        {"R": res("IAM::Role", RoleName="Admin", Path="/a/")},
        {"R": res("IAM::Role", RoleName="Admin", Path="/b/")},
        ("Path",),
    ),
    "role-renamed": (
        {"R": res("IAM::Role", RoleName="Admin", Path="/a/")},
        {"R": res("IAM::Role", RoleName="Admin2", Path="/a/")},
        None,  # a replacement under a new name: created beside the old one, which is then deleted
    ),
    "role-description": (
        {"R": res("IAM::Role", RoleName="Admin", Description="a")},
        {"R": res("IAM::Role", RoleName="Admin", Description="b")},
        None,
    ),
    "group-name-case-same-id": (
        {"G": res("IAM::Group", GroupName="ops")},
        {"G": res("IAM::Group", GroupName="Ops")},
        ("GroupName",),
    ),
    "user-name-case-new-id": (
        {"A": res("IAM::User", UserName="alice")},
        {"B": res("IAM::User", UserName="Alice")},
        (),
    ),
    "user-moved-to-a-new-id": (
        {"A": res("IAM::User", UserName="alice")},
        {"B": res("IAM::User", UserName="alice")},
        (),
    ),
    "stackset-permission-model": (
        {"S": res("CloudFormation::StackSet", StackSetName="s", PermissionModel="SELF_MANAGED")},
        {"S": res("CloudFormation::StackSet", StackSetName="s", PermissionModel="SERVICE_MANAGED")},
        ("PermissionModel",),
    ),
    "stackset-name-case": (  # not IAM: StackSet names keep their case, so this is a new name
        {"S": res("CloudFormation::StackSet", StackSetName="s", PermissionModel="SELF_MANAGED")},
        {"S": res("CloudFormation::StackSet", StackSetName="S", PermissionModel="SELF_MANAGED")},
        None,
    ),
    "membership": (
        {"M": res("IAM::UserToGroupAddition", GroupName="ops", Users=["a"])},
        {"M": res("IAM::UserToGroupAddition", GroupName="ops", Users=["b"])},
        None,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_schemas_decide_what_is_refused(tmp_path: Path, name: str) -> None:
    before, after, refused = CASES[name]
    found = collisions(assembly(tmp_path / "a", before), assembly(tmp_path / "b", after))
    if refused is None:
        assert found == []
    else:
        (collision,) = found
        assert collision.changed == refused
        assert "cannot deploy as one update" in collision.reason() and "two steps" in collision.reason()


def test_a_name_in_another_account_is_another_name(tmp_path: Path) -> None:
    before = assembly(tmp_path / "a", {"A": res("IAM::User", UserName="alice")}, account="111111111111")
    after = assembly(tmp_path / "b", {"B": res("IAM::User", UserName="alice")}, account="999999999999")
    assert collisions(before, after) == []


def test_every_type_switchrole_deploys_is_in_the_table(example_assemblies: dict[str, Path]) -> None:
    types = set()
    for folder in example_assemblies.values():
        for template in folder.glob("*.template.json"):
            types |= {r["Type"] for r in json.loads(template.read_text())["Resources"].values()}
    assert types <= set(TYPES) == set(CREATE_ONLY)


# --------------------------------------------------------------------------- real syntheses


@pytest.fixture(scope="module")
def example_assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from switchrole.infra.assembly import synth

    out = {}
    for name, path in (("stacks", EXAMPLE), ("stacksets", ROOT / "examples" / "stacksets.yaml")):
        out[name] = tmp_path_factory.mktemp(name) / "cdk.out"
        synth(load_checked(path), out[name])
    return out


def moved_until(data: Any) -> None:
    data["users"]["bob"]["until"] = "2099-09-30T00:00:00Z"


def test_moving_an_until_is_an_update() -> None:
    """The user's until: policy carried the date in its (create-only) Description: EntityAlreadyExists."""
    base, head = load_checked(EXAMPLE), load_data_text(variant(moved_until))
    assert update_problems(base, head) == []


def load_data_text(text: str) -> Any:
    from switchrole.model.loading import loads

    return loads(text, "head.yaml")


def boundary_org(accounts: int) -> Any:
    """A group whose grants end at a different time in each account: a statement each, so the count of
    accounts decides how many grant policies the group needs."""
    grants = [
        {"role": "Admin", "accounts": [f"acct-{i:04d}"], "until": f"2099-01-{i:02d}T00:00:00Z"}
        for i in range(1, accounts + 1)
    ]
    return load_data(generated(accounts, grants={"ops": grants}, users={"al": {"groups": ["ops"]}}))


def test_a_group_crossing_a_grant_policy_boundary_is_an_update_both_ways() -> None:
    """The descriptions said (1/2), then (1/3): every policy of the group was replaced, and collided."""
    from switchrole.iam.policies import grant_policies

    small, large = boundary_org(14), boundary_org(22)
    assert len(grant_policies(small, "ops")) < len(grant_policies(large, "ops"))
    assert update_problems(small, large) == [] and update_problems(large, small) == []


def path_moved(data: Any) -> None:
    data["roles"]["Admin"]["role_path"] = "/break-glass/"


def test_validate_base_refuses_a_role_moved_under_its_name(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(EXAMPLE.read_text())
    head = tmp_path / "accounts.yaml"
    head.write_text(variant(path_moved))
    result = runner.invoke(app, ["validate", "--base", str(base), "--config", str(head)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 4  # Admin, in each of the four accounts
    assert all(line.startswith(f"{head}: roles.Admin: cannot deploy as one update") for line in lines), lines
    assert "Path '/switchrole/' -> '/break-glass/'" in lines[0] and "two steps" in lines[0]
    assert runner.invoke(app, ["validate", "--base", str(base), "--config", str(base)]).exit_code == 0
