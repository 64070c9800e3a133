"""`switchrole diff`: each kind of change, exit codes, and a git revision as the base."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import EXAMPLE, rename_kind, variant
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.infra.validate import load_checked
from switchrole.review.access_diff import diff as access_diff

runner = CliRunner()
AWS_POLICY = "arn:aws:iam::aws:policy"


def review(tmp_path: Path, change: Callable[[Any], None], fmt: str = "json") -> tuple[int, Any]:
    """The review the CLI prints (the CLI itself, with its deploy check, is tested below): exit code, report."""
    head = tmp_path / "accounts.yaml"
    head.write_text(variant(change))
    result = access_diff(load_checked(EXAMPLE), load_checked(head), base_label=str(EXAMPLE), head_label=str(head))
    code = 3 if result.access_changed else 0
    return code, json.loads(result.to_json()) if fmt == "json" else result.to_markdown()


def test_no_change_exits_0(tmp_path: Path) -> None:
    code, report = review(tmp_path, lambda d: d["roles"]["ReadOnly"].__setitem__("description", "reworded"))
    assert code == 0
    assert report["access_changed"] is False and report["gained"] == report["lost"] == []


def test_grant_added(tmp_path: Path) -> None:
    code, report = review(tmp_path, lambda d: d["users"]["erin"]["groups"].append("readers"))
    assert code == 3
    assert {(r["user"], r["account"], r["role"]) for r in report["gained"]} == {
        ("erin", a, "ReadOnly") for a in ("shop-prod", "shop-dev", "data-prod", "data-dev")
    }
    assert report["gained"][0]["groups"] == ["readers"]


def test_grant_removed(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["groups"]["shop-developers"]["grants"][1]["accounts"] = ["shop-dev"]

    code, report = review(tmp_path, change)
    assert code == 3
    assert [(r["user"], r["account"], r["role"]) for r in report["lost"]] == [("bob", "shop-prod", "ReadOnly")]


def test_access_kept_through_another_group_is_not_lost(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["groups"]["data-developers"]["grants"][1]["accounts"] = ["data-dev"]  # carol still has it via readers

    code, report = review(tmp_path, change)
    assert code == 0, report


def test_mfa_relaxed_is_flagged_as_weaker(tmp_path: Path) -> None:
    code, report = review(tmp_path, lambda d: d["roles"]["ReadOnly"].__setitem__("mfa", {"required": False}))
    assert code == 3
    (entry,) = report["weaker"]
    assert entry["role"] == "ReadOnly" and entry["change"] == "MFA no longer required"
    assert entry["accounts"] == ["shop-prod", "shop-dev", "data-prod", "data-dev"]
    assert entry["holders"] == ["alice", "bob", "carol"]
    md = review(tmp_path, lambda d: d["roles"]["ReadOnly"].__setitem__("mfa", {"required": False}), "md")[1]
    assert "Wider permissions and weaker conditions" in md and "MFA no longer required" in md


def test_mfa_age_and_session_changes(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["roles"]["Admin"]["mfa"] = {"max_age_seconds": 600}
        data["roles"]["Admin"]["max_session_duration"] = 7200

    _, report = review(tmp_path, change)
    assert [c["change"] for c in report["weaker"]] == ["session 1 h -> 2 h"]  # a longer session is weaker
    assert [c["change"] for c in report["changed"]] == ["MFA max age 900 s -> 600 s"]  # a shorter MFA age is not


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["roles"]["ReadOnly"].__setitem__("managed_policies", ["AdministratorAccess"]),
         ("ReadOnly", "+ AdministratorAccess")),
        (lambda d: d["roles"]["Auditor"].__setitem__("inline_policies", {"Break": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}}),
         ("Auditor", "inline policy Break (new): + Allow `iam:*` on `*`")),
        (lambda d: d["roles"]["Developer"].pop("permissions_boundary"),
         ("Developer", "permissions boundary removed (was PowerUserAccess)")),
        (lambda d: d["roles"]["Developer"].__setitem__("permissions_boundary", f"{AWS_POLICY}/AdministratorAccess"),
         ("Developer", "permissions boundary PowerUserAccess -> AdministratorAccess (may widen what the role can do)")),
        (lambda d: d["roles"]["ReadOnly"].__setitem__("session_tags", ["team"]),
         ("ReadOnly", "session tags callers may set: + team (sts:TagSession)")),
        (lambda d: d["roles"]["Developer"].__setitem__("source_identity", False),
         ("Developer", "source identity no longer required (CloudTrail no longer names the hub user)")),
        (lambda d: d["roles"]["Auditor"].pop("external_id"), ("Auditor", "external id no longer required")),
        (lambda d: d["roles"]["Admin"].pop("trust"),
         ("Admin", "trust: strict removed: any hub principal allowed sts:AssumeRole on it may now switch in")),
    ],
)  # fmt: skip
def test_every_widening_of_a_role_is_reviewed_as_weaker(
    tmp_path: Path, change: Callable[[Any], None], expected: tuple[str, str]
) -> None:
    """Defect: permission changes printed "No change in effective access" and exited 0."""
    code, report = review(tmp_path, change)
    assert code == 3
    assert (report["weaker"][0]["role"], report["weaker"][0]["change"]) == expected
    assert report["weaker"][0]["accounts"] and report["gained"] == report["lost"] == []


def test_readonly_to_administrator_names_the_policy_first(tmp_path: Path) -> None:
    change = lambda d: d["roles"]["ReadOnly"].__setitem__("managed_policies", ["AdministratorAccess"])  # noqa: E731
    code, md = review(tmp_path, change, "md")
    assert code == 3
    assert "- **ReadOnly**: + AdministratorAccess in 4 accounts (shop-prod, shop-dev, data-prod, data-dev)" in md
    assert md.index("+ AdministratorAccess") < md.index("- ReadOnlyAccess")  # widening before narrowing


def test_a_new_deny_statement_is_narrower(tmp_path: Path) -> None:
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    _, report = review(tmp_path, lambda d: d["roles"]["ReadOnly"].__setitem__("inline_policies", {"NoS3": deny}))
    assert report["weaker"] == []
    assert [c["change"] for c in report["changed"]] == ["inline policy NoS3 (new): + Deny `s3:*` on `*`"]


def test_kind_renamed_with_the_same_role_name_is_a_rename_not_loss_and_gain(tmp_path: Path) -> None:
    """Defect: a key rename showed as 10 accesses lost and 10 gained."""

    code, report = review(tmp_path, lambda data: rename_kind(data, "Developer", "Engineer"))
    assert code == 3  # a rename is still worth a reviewer's look
    assert report["gained"] == report["lost"] == report["destructive"] == []
    assert report["structure"] == [  # and everyone's profile names change with the key (it was not said)
        "role kind renamed: Developer -> Engineer (IAM role Developer kept: deployed as an in-place update); every "
        "holder's profile and console names change (e.g. shop-dev-Developer -> shop-dev-Engineer): regenerate them "
        "with `switchrole profiles --merge`"
    ]


def test_role_name_change_is_a_replacement(tmp_path: Path) -> None:
    _, report = review(tmp_path, lambda d: d["roles"]["Developer"].__setitem__("name", "Builder"))
    assert any("role Developer in shop-dev is replaced" in line for line in report["destructive"])


@pytest.mark.parametrize(
    ("change", "moved_to"),
    [
        (lambda d: d["roles"]["Developer"].__setitem__("role_path", "/eng/"), "role/eng/Developer"),
        (lambda d: d["roles"]["Developer"].__setitem__("name", "DEVELOPER"), "role/switchrole/DEVELOPER"),
        (lambda d: (rename_kind(d, "Developer", "Engineer"), d["roles"]["Engineer"].__setitem__("role_path", "/e/")),
         "role/e/Developer"),
    ],
    ids=["path", "case of the name", "key and path"],
)  # fmt: skip
def test_a_role_moved_under_its_name_needs_two_deploys(
    tmp_path: Path, change: Callable[[Any], None], moved_to: str
) -> None:
    """IAM role names are unique without case and a role cannot change path: CloudFormation's replacement
    creates the new role first and fails on the name (seen on the emulator), so the review says so."""
    code, report = review(tmp_path, change)
    assert code == 3
    line = next(line for line in report["destructive"] if line.startswith("role ") and " in shop-dev " in line)
    assert f"arn:aws:iam::333333333333:role/switchrole/Developer -> arn:aws:iam::333333333333:{moved_to}" in line
    assert "cannot deploy as one update" in line and "two steps" in line
    assert not any("is replaced" in line or "will be deleted" in line for line in report["destructive"])


def test_offboarding_the_last_admin_is_reviewable(tmp_path: Path) -> None:
    """Defect: removing the last member of a strict grant made validate, synth and diff exit 2."""
    code, report = review(tmp_path, lambda d: d["users"].__delitem__("alice"))
    assert code == 3
    assert report["destructive"][0] == (
        "Admin admits nobody now in shop-prod, shop-dev, data-prod, data-dev "
        "(trust: strict, no user is granted it any more)"
    )
    assert any(line.startswith("user alice leaves the file") for line in report["destructive"])
    lost = {(r["user"], r["account"], r["role"]) for r in report["lost"]}
    assert ("alice", "shop-prod", "Admin") in lost and ("alice", "data-dev", "ReadOnly") in lost
    assert len(lost) == 8


def test_role_deleted_is_destructive_and_listed_first(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["accounts"][0]["roles"] = ["ReadOnly", "Admin"]  # Auditor leaves shop-prod

    code, report = review(tmp_path, change)
    assert code == 3
    assert report["destructive"] == ["role Auditor in shop-prod will be deleted (stack SwitchRole-shop-prod)"]
    assert [(r["user"], r["account"], r["role"]) for r in report["lost"]] == [("dave", "shop-prod", "Auditor")]
    md = review(tmp_path, change, "md")[1]
    assert md.index("Destructive") < md.index("Access lost")


def test_account_added(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["accounts"].append({"name": "shop-stg", "account_id": "444444444444", "roles": ["ReadOnly"]})

    code, report = review(tmp_path, change)
    assert code == 3
    assert "account added: shop-stg (444444444444) with ReadOnly" in report["structure"]
    assert {(r["user"], r["account"]) for r in report["gained"]} == {("alice", "shop-stg"), ("carol", "shop-stg")}


def test_user_removed_is_destructive(tmp_path: Path) -> None:
    _, report = review(tmp_path, lambda d: d["users"].__delitem__("erin"))
    assert any(
        line.startswith("user erin leaves the file: the deploy removes them from every group") and "retained" in line
        for line in report["destructive"]
    )


def test_git_revision_as_base(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    config = tmp_path / "accounts.yaml"
    config.write_text(EXAMPLE.read_text())
    git("add", "accounts.yaml")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")
    config.write_text(variant(lambda d: d["users"]["erin"]["groups"].append("auditors")))
    result = runner.invoke(app, ["diff", "--base", "main", "--config", str(config)])
    assert result.exit_code == 3
    assert "Access gained (4)" in result.stdout and "| erin |" in result.stdout
    unknown = runner.invoke(app, ["diff", "--base", "no-such-branch", "--config", str(config)])
    assert unknown.exit_code == 2 and "neither a file nor a git revision" in unknown.stderr


@pytest.mark.parametrize("fmt", ["xml"])
def test_bad_format(fmt: str) -> None:
    result = runner.invoke(app, ["diff", "--base", str(EXAMPLE), "--config", str(EXAMPLE), "--format", fmt])
    assert result.exit_code == 2


STACKSETS = EXAMPLE.parent / "examples" / "stacksets.yaml"


def review_files(tmp_path: Path, base_text: str, head_text: str) -> tuple[int, Any]:
    base, head = tmp_path / "base.yaml", tmp_path / "head.yaml"
    base.write_text(base_text)
    head.write_text(head_text)
    result = runner.invoke(app, ["diff", "--base", str(base), "--config", str(head), "--format", "json"])
    assert result.exit_code in (0, 3), result.output
    return result.exit_code, json.loads(result.stdout)


def test_a_new_hub_account_is_destructive(tmp_path: Path) -> None:
    code, report = review(tmp_path, lambda d: d["hub"].__setitem__("account_id", "999999999999"))
    assert code == 3
    assert report["destructive"][0].startswith("hub account changes 111111111111 -> 999999999999")


def test_an_organisation_id_makes_star_grants_organisation_wide(tmp_path: Path) -> None:
    """accounts: "*" then reaches accounts the file does not list: a widening, though no listed access changes."""
    code, report = review(tmp_path, lambda d: d["hub"].__setitem__("organization_id", "o-abcdefghij"))
    assert code == 3
    widened = {(c["role"], c["accounts"][0]) for c in report["weaker"]}
    assert widened == {(k, "organisation o-abcdefghij") for k in ("Admin", "ReadOnly", "Auditor")}
    assert all("including accounts this file does not list" in c["change"] for c in report["weaker"])


@pytest.mark.slow
def test_a_new_ou_target_is_a_widening(tmp_path: Path) -> None:
    text = STACKSETS.read_text()
    sandboxes = "    - {ou: ou-exam-sandboxes, roles: [ReadOnly, Admin]}"
    head = text.replace(sandboxes, f"{sandboxes}\n    - {{ou: ou-exam-prodaccts, roles: [Admin]}}")
    code, report = review_files(tmp_path, text, head)
    assert code == 3
    (change,) = report["weaker"]
    assert (change["role"], change["accounts"], change["holders"]) == ("Admin", ["OU ou-exam-prodaccts"], ["alice"])
    code, report = review_files(tmp_path, head, text)
    assert any(line.startswith("OU target ou-exam-prodaccts (Admin) removed") for line in report["destructive"])


def test_an_account_renamed_keeps_its_role_changes_visible(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["accounts"][0]["name"] = "shop-production"
        for group in data["groups"].values():
            for grant in group["grants"]:
                if isinstance(grant["accounts"], list):
                    grant["accounts"] = ["shop-production" if a == "shop-prod" else a for a in grant["accounts"]]
        data["roles"]["ReadOnly"]["managed_policies"] = ["AdministratorAccess"]

    code, report = review(tmp_path, change)
    assert code == 3
    assert report["gained"] == report["lost"] == []
    assert any(line.startswith("account shop-prod renamed to shop-production") for line in report["destructive"])
    (widened,) = [c for c in report["weaker"] if c["change"] == "+ AdministratorAccess"]
    assert "shop-production" in widened["accounts"]


def test_an_account_leaving_is_still_reached_by_organisation_wide_grants(tmp_path: Path) -> None:
    text = STACKSETS.read_text()
    head = text.replace("  - {name: data-prod,", "  # - {name: data-prod,").replace(
        "[data-prod, data-dev]", "[data-dev]"
    )
    code, report = review_files(tmp_path, text, head)
    assert code == 3
    (line,) = [d for d in report["destructive"] if d.startswith("account data-prod")]
    assert "organisation-wide grants still reach it" in line and "Admin (group platform-admins)" in line


def test_a_new_deployment_mode_is_destructive_and_other_settings_are_listed(tmp_path: Path) -> None:
    def change(data: Any) -> None:
        data["deployment"] = {"mode": "stacksets", "account_id": "999999999999", "organizational_unit_ids": ["r-exam"]}
        data["quotas"] = {"trust_policy_chars": 4096}

    code, report = review(tmp_path, change)
    assert code == 3
    assert any(line.startswith("deployment mode stacks -> stacksets") for line in report["destructive"])
    assert "setting changed: quotas.trust_policy_chars 2048 -> 4096" in report["structure"]


def test_role_tags_are_reviewed_as_a_possible_widening(tmp_path: Path) -> None:
    _, report = review(tmp_path, lambda d: d["roles"]["ReadOnly"].__setitem__("tags", {"team": "payments"}))
    assert [c["change"] for c in report["weaker"]] == [
        "role tags changed (principal tags of every session: may widen access through ABAC)"
    ]


def test_a_base_revision_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    config = tmp_path / "accounts.yaml"
    config.write_bytes(EXAMPLE.read_text().replace("Break-glass", "Br\xe9ak-glass").encode("latin-1"))
    git("add", "accounts.yaml")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")
    config.write_text(EXAMPLE.read_text())
    result = runner.invoke(app, ["diff", "--base", "main", "--config", str(config)])
    assert result.exit_code == 2 and "not UTF-8: byte 0xe9" in result.stderr
    assert isinstance(result.exception, SystemExit)


# --------------------------------------------------------------------------- how routine changes read (issue 18)


def test_a_first_holder_of_a_strict_role_is_a_grant_not_a_return(tmp_path: Path) -> None:
    """Admin admitting nobody, then granted: it read "admits alice again", under narrower permissions."""
    base = tmp_path / "base.yaml"
    base.write_text(variant(lambda d: d["users"].pop("alice")))
    result = access_diff(load_checked(base), load_checked(EXAMPLE), base_label="b", head_label="h")
    lines = [row["change"] for row in result.weaker]
    assert "now admits alice (trust: strict; it admitted nobody)" in lines
    assert not any("again" in row["change"] for row in [*result.weaker, *result.changed])


def test_an_expired_user_gaining_a_role_is_marked_expired(tmp_path: Path) -> None:
    def expired_gains(data: Any) -> None:
        data["users"]["erin"]["until"] = "2020-01-01T00:00:00Z"
        data["users"]["erin"]["groups"] = ["platform-admins"]

    _, report = review(tmp_path, expired_gains)
    assert {r["expired"] for r in report["gained"] if r["user"] == "erin"} == {True}
    _, markdown = review(tmp_path, expired_gains, fmt="md")
    row = "| erin | shop-prod (222222222222) | Admin | platform-admins | yes | 1 h | **expired** 2020-01-01"
    assert row in markdown


def test_an_end_moved_into_the_past_ends_access_now(tmp_path: Path) -> None:
    _, report = review(tmp_path, lambda d: d["users"]["bob"].__setitem__("until", "2020-01-01T00:00:00Z"))
    changes = [r["change"] for r in report["changed"]]
    assert changes == [
        "bob's access ends now: until 2020-01-01T00:00:00Z is past (was until 2099-06-30T00:00:00Z); IAM refuses it "
        "from the deploy (3 roles)"
    ]


def test_one_users_end_moved_on_every_role_is_one_line(tmp_path: Path) -> None:
    """It printed one near-identical line per role kind (41 lines for a user with 41 roles)."""
    _, report = review(tmp_path, lambda d: d["users"]["bob"].__setitem__("until", "2099-09-30T00:00:00Z"))
    (row,) = report["weaker"]
    assert row["change"] == "bob's access extended: until 2099-06-30T00:00:00Z -> 2099-09-30T00:00:00Z (3 roles)"
    assert row["role"] == "Developer, ReadOnly" and row["accounts"] == ["shop-dev", "shop-prod"]


def test_a_cdk_json_pointing_the_deploy_at_another_file_is_reviewed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: `config` in cdk.json made `npx cdk deploy` build a file the review never read ("No change")."""

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (tmp_path / "accounts.yaml").write_text(EXAMPLE.read_text())
    settings = json.loads((EXAMPLE.parent / "cdk.json").read_text())
    (tmp_path / "cdk.json").write_text(json.dumps(settings))
    git("add", "accounts.yaml", "cdk.json")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")
    (tmp_path / "other.yaml").write_text(variant(lambda d: d["users"]["erin"]["groups"].append("platform-admins")))
    settings["context"]["config"] = "other.yaml"
    (tmp_path / "cdk.json").write_text(json.dumps(settings))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["diff", "--base", "main", "--format", "json"])
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["head"] == "other.yaml"  # the file the deploy builds is the file reviewed
    assert (
        "cdk.json: the deploy builds 'other.yaml', not 'accounts.yaml'; this review read 'other.yaml'"
        in (report["destructive"])
    )
    assert ("erin", "shop-prod", "Admin") in {(r["user"], r["account"], r["role"]) for r in report["gained"]}
