"""CloudFormation's limits on one template (500 resources, 200 outputs, 200 parameters, 1 MB), for every stack.

Counts are checked before synthesis with the field to change; sizes on the synthesized templates. The one
synthesis of this module proves the CDK's own template validation fails synthesis instead of warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template
from factories import build, generated
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.infra import limits as cfn_limits
from switchrole.infra.limits import assembly_problems, hub_count, roles_count
from switchrole.infra.validate import check
from switchrole.model.errors import format_path
from switchrole.model.organisation import Organisation

STACKSETS = {"mode": "stacksets", "account_id": "999999999999", "organizational_unit_ids": ["r-abcd"]}


def kinds(linked: int, cli_only: int = 0) -> dict[str, Any]:
    """``linked`` role kinds with a console link (2 outputs each) and ``cli_only`` without one (1 output)."""
    result: dict[str, Any] = {f"Linked{i}": {"managed_policies": ["ReadOnlyAccess"]} for i in range(linked)}
    for i in range(cli_only):
        result[f"CliOnly{i}"] = {"managed_policies": ["ReadOnlyAccess"], "external_id": "switchrole-audit"}
    return result


def org(roles: dict[str, Any], *, n_users: int = 1, stacksets: bool = False, **extra: Any) -> Organisation:
    data = generated(1, roles=roles, users={f"user{i:03d}": {"groups": []} for i in range(n_users)}, **extra)
    if stacksets:
        data["deployment"] = STACKSETS
    return build(data)


def lines(organisation: Organisation) -> list[str]:
    return [f"{format_path(p.path)}: {p.message}" for p in check(organisation)]


# --------------------------------------------------------------------------- counts, before synthesis


@pytest.mark.parametrize("stacksets", [False, True], ids=["stacks", "stacksets"])
def test_200_outputs_in_a_template_and_not_201(stacksets: bool) -> None:
    """101 role kinds gave "Template has 202 outputs, maximum is 200" as a CDK warning, and validate said OK."""
    assert lines(org(kinds(100), stacksets=stacksets)) == []  # 200 outputs
    (line,) = lines(org(kinds(100, cli_only=1), stacksets=stacksets))  # 201
    where = "stack SwitchRole-acct-0001" if not stacksets else "the StackSet template of these 101 role kinds"
    assert line == (
        f"accounts[0].roles: {where} would have 201 outputs (the ARN of each of its 101 roles, and a console link "
        "for 100); CloudFormation allows at most 200 in a template: list fewer role kinds here"
    )


def test_an_ou_targets_template_is_counted_at_the_ou_target() -> None:
    data = generated(1, roles=kinds(101), users={"amy": {"groups": []}})
    data["accounts"][0]["roles"] = ["Linked0"]
    data["hub"]["organization_id"] = "o-abcdefghij"
    data["deployment"] = {**STACKSETS, "ou_targets": [{"ou": "ou-abcd-sandboxes", "roles": list(kinds(101))}]}
    (line,) = lines(build(data))
    assert line.startswith("deployment.ou_targets[0].roles: the StackSet template of these 101 role kinds would have")


@pytest.mark.parametrize("what", ["users", "groups"])
def test_500_resources_in_the_hub_stack_and_not_501(what: str) -> None:
    """Every user and group is a resource of the one hub stack (with its grant policies and memberships)."""

    def hub(n: int) -> Organisation:
        if what == "users":
            return org(kinds(1), n_users=n)
        return org(kinds(1), n_users=0, grants={f"team{i:03d}": [] for i in range(n)})

    assert hub_count(hub(500))[0].resources == 500
    assert lines(hub(500)) == []
    (line,) = lines(hub(501))
    assert line.startswith(f"{what}: stack SwitchRole-Hub would have 501 resources (")
    assert line.endswith("CloudFormation allows at most 500 in a template (one hub stack holds every group and user)")


def test_an_empty_hub_stack_is_refused() -> None:
    """No group and no user: CloudFormation refuses a template without resources."""
    assert lines(org(kinds(1), n_users=1)) == []
    (line,) = lines(org(kinds(1), n_users=0))
    assert line.startswith("users: stack SwitchRole-Hub would have no resources (no groups, no users)")


def test_500_stack_sets_in_the_stacksets_stack_and_not_501() -> None:
    """Each distinct set of role kinds among the accounts is a StackSet: a resource of SwitchRole-StackSets."""
    names = [f"K{i}" for i in range(9)]
    subsets = [[k for b, k in enumerate(names) if n >> b & 1] for n in range(1, 2 ** len(names))]

    def stacksets(n: int) -> Organisation:
        data = generated(n, roles={k: {"managed_policies": ["ReadOnlyAccess"]} for k in names})
        data["users"] = {"amy": {"groups": []}}
        for account, roles in zip(data["accounts"], subsets, strict=False):
            account["roles"] = roles
        data["deployment"] = STACKSETS
        return build(data)

    assert lines(stacksets(500)) == []
    (line,) = lines(stacksets(501))
    assert line.startswith("accounts: stack SwitchRole-StackSets would have 501 resources (a StackSet per distinct")


def test_a_grant_that_fits_no_policy_is_reported_once_and_counted_without_a_crash() -> None:
    """An organisation-wide grant naming 600 accounts that lack the kind fits no managed policy."""
    data = generated(601, users={"amy": {"groups": ["readers"]}})
    for account in data["accounts"][1:]:
        account["roles"] = ["Admin"]
    data["hub"]["organization_id"] = "o-abcdefghij"
    data["groups"] = {"readers": {"grants": [{"role": "ReadOnly", "accounts": "*"}]}}
    (line,) = lines(build(data))
    assert line.startswith("groups.readers.grants: the organisation-wide grant statement for ReadOnly does not fit")


def test_validate_refuses_before_synthesis_one_line_per_problem(tmp_path: Path) -> None:
    from factories import dump

    config = tmp_path / "accounts.yaml"
    config.write_text(dump(generated(2, roles=kinds(101), users={"amy": {"groups": []}})))
    result = CliRunner().invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    refused = result.stderr.splitlines()
    assert len(refused) == 2 and all("would have 202 outputs" in line for line in refused), refused
    assert refused[0].startswith(f"{config}:") and "accounts[0].roles:" in refused[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.yaml"]


def test_the_counts_are_the_synthesized_templates(example_org: Organisation, templates: dict[str, Template]) -> None:
    """The arithmetic mirrors the stacks: the example's hub has grant policies, memberships, the MFA policy and an
    until: policy; its target stacks have roles with and without console links."""
    hub = templates["SwitchRole-Hub"].to_json()
    assert hub_count(example_org)[0].resources == len(hub["Resources"])
    assert len(hub["Parameters"]) == 1 and "Outputs" not in hub
    for account in example_org.accounts:
        template = templates[account.stack_name].to_json()
        count = roles_count(example_org, account.role_keys, cfn_limits.BOOTSTRAP_PARAMETERS)
        assert (count.resources, count.outputs, count.parameters) == (
            len(template["Resources"]),
            len(template["Outputs"]),
            len(template["Parameters"]),
        ), account.name


# --------------------------------------------------------------------------- sizes, after synthesis


def test_template_sizes_at_the_edge(example_org: Organisation, example_assembly_dir: Path) -> None:
    hub = (example_assembly_dir / "SwitchRole-Hub.template.json").stat().st_size
    largest = max(p.stat().st_size for p in example_assembly_dir.glob("*.template.json"))
    assert hub == largest and assembly_problems(example_org, example_assembly_dir) == []
    assert assembly_problems(example_org, example_assembly_dir, limit=hub) == []
    (problem,) = assembly_problems(example_org, example_assembly_dir, limit=hub - 1)
    assert problem.path == ("groups",)
    assert problem.message.startswith(f"stack SwitchRole-Hub's template is {hub:,} bytes; CloudFormation reads at")


@pytest.fixture(scope="module")
def failed_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    """What synthesis says of a file past the checks above (built without them), with a low size limit."""
    from switchrole.infra.assembly import synth
    from switchrole.infra.nag import SynthFailed

    out = tmp_path_factory.mktemp("failed") / "cdk.out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cfn_limits, "MAX_TEMPLATE_URL_BYTES", 10_000)
        with pytest.raises(SynthFailed) as info:
            synth(org(kinds(101)), out)
    return info.value.lines, out


def test_the_cdks_template_validation_fails_synthesis(failed_synth: tuple[list[str], Path]) -> None:
    """The net under the counts: the CDK's findings were warnings, and validate said OK."""
    refused, out = failed_synth
    assert (
        "SwitchRole-acct-0001: CloudFormation would refuse this template: Template has 202 outputs, maximum is 200 "
        "(CloudFormation Validate F0004)"
    ) in refused
    assert not out.exists() and list(out.parent.iterdir()) == []  # all or nothing


def test_a_template_over_the_size_limit_fails_synthesis(failed_synth: tuple[list[str], Path]) -> None:
    refused, _ = failed_synth
    too_large = [line for line in refused if "'s template is" in line]
    assert len(too_large) == 1 and too_large[0].startswith("accounts[0].roles: stack SwitchRole-acct-0001's template")
    assert "CloudFormation reads at most 10,000 from S3: list fewer role kinds here" in too_large[0]
