"""Permission sets in the matrix and the access review: named apart from users, their MFA said to be Identity
Center's (not IAM's), their sessions an hour, and every change to them (grants, region, the MFA promise) shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import ROOT, dump
from ruamel.yaml import YAML
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.model.loading import loads
from switchrole.model.organisation import Organisation
from switchrole.review.access_diff import diff
from switchrole.review.matrix import records, to_markdown

EXAMPLE = ROOT / "examples" / "identity-center.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def org() -> Organisation:
    return loads(EXAMPLE.read_text(), "ic.yaml")


def test_matrix_rows_name_the_permission_set_and_its_sign_in_mfa(org: Organisation) -> None:
    rows = records(org)
    sre = [r for r in rows if r["permission_set"] == "SRE"]
    assert {r["user"] for r in sre} == {"permission set SRE"}
    assert all(r["session_seconds"] == 3600 for r in sre)
    text = to_markdown(rows)
    assert "| permission set SRE | sre | pay-prod (222222222222) | Admin | at Identity Center sign-in | 1 h |" in text
    assert text.rstrip().endswith("8 switches for 1 user and 2 permission sets")


def test_matrix_for_one_permission_set_and_an_unknown_one() -> None:
    result = runner.invoke(app, ["matrix", "--config", str(EXAMPLE), "--permission-set", "SRE", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert {r["permission_set"] for r in json.loads(result.stdout)} == {"SRE"}
    result = runner.invoke(app, ["matrix", "--config", str(EXAMPLE), "--permission-set", "Nope"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"--permission-set: no group of {EXAMPLE} is permission set 'Nope' (permission sets: SRE, Developers)"
    ]


def test_review_shows_a_set_losing_a_role_and_a_new_set_gaining_one(org: Organisation) -> None:
    text = EXAMPLE.read_text().replace("      - {role: Admin, accounts: [pay-prod]}\n", "")
    text = text.replace("  break-glass:\n", "  oncall:\n    permission_set: OnCall\n    grants:\n"
                        "      - {role: ReadOnly, accounts: [pay-prod]}\n  break-glass:\n")  # fmt: skip
    head = loads(text, "head.yaml")
    review = diff(org, head, base_label="base", head_label="head")
    assert [(r["user"], r["account"], r["role"]) for r in review.lost] == [("permission set SRE", "pay-prod", "Admin")]
    assert [(r["user"], r["account"], r["role"]) for r in review.gained] == [
        ("permission set OnCall", "pay-prod", "ReadOnly")
    ]
    markdown = review.to_markdown()
    assert (
        "| permission set OnCall | pay-prod (222222222222) | ReadOnly | oncall | at Identity Center sign-in" in markdown
    )
    assert "group added: oncall" in markdown


def test_review_says_what_moving_the_instance_and_the_mfa_promise_change(org: Organisation) -> None:
    moved = EXAMPLE.read_text().replace("    region: eu-west-1          #", "    region: us-east-1          #")
    review = diff(org, loads(moved, "head.yaml"), base_label="base", head_label="head")
    assert any(
        "hub.identity_center.region eu-west-1 -> us-east-1" in line and "/aws-reserved/sso.amazonaws.com/ " in line
        for line in review.structure
    ), review.structure
    data = YAML(typ="rt").load(EXAMPLE.read_text())
    data["defaults"]["mfa"] = {"required": False}  # nothing granted to a set requires MFA: no promise needed
    data["hub"]["identity_center"]["mfa_at_sign_in"] = False
    base = loads(dump(data), "base.yaml")
    data["hub"]["identity_center"]["mfa_at_sign_in"] = True
    review = diff(base, loads(dump(data), "head.yaml"), base_label="base", head_label="head")
    assert any("mfa_at_sign_in false -> true" in line for line in review.structure), review.structure


def test_matrix_cli_refuses_user_and_permission_set_together(tmp_path: Path) -> None:
    result = runner.invoke(app, ["matrix", "--config", str(EXAMPLE), "--user", "alice", "--permission-set", "SRE"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "give one of them" in result.stderr
