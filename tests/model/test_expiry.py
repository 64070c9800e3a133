"""Access that expires (``until:``): reading it, and what each part of switchrole shows about it.

The policies that make IAM end the access are pinned in test_policies.py and test_stacks.py, the emulator's
Date operators in test_authz.py, and the switches themselves in test_e2e_local.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import EXAMPLE, variant
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.client import profiles as clients
from switchrole.client.switch import explain_denied, request_for
from switchrole.model.errors import ConfigError, format_path
from switchrole.model.expiry import expired_entries, expiring_entries
from switchrole.model.loading import loads
from switchrole.model.organisation import Organisation
from switchrole.review.access_diff import diff
from switchrole.review.matrix import records, to_markdown
from switchrole.review.summary import warnings

runner = CliRunner()
NOW = datetime(2027, 1, 1, tzinfo=UTC)
PAST, SOON, LATER = "2026-06-30T00:00:00Z", "2027-01-10T12:00:00Z", "2027-06-30T00:00:00Z"

SMALL = """\
hub: {account_id: "111111111111", name: identity}
roles:
  ReadOnly: {managed_policies: [ReadOnlyAccess]}
  Admin: {managed_policies: [AdministratorAccess]}
accounts:
  - {name: prod, account_id: "222222222222", roles: [ReadOnly, Admin]}
  - {name: dev, account_id: "333333333333", roles: [ReadOnly, Admin]}
groups:
  readers: {grants: [{role: ReadOnly, accounts: [prod], until: %(readers)s}]}
  oncall:
    grants:
      - {role: Admin, accounts: [prod], until: %(oncall)s}
      - {role: ReadOnly, accounts: "*", until: %(oncall_read)s}
users:
  ann: {groups: [readers, oncall]}
  ben: {groups: [readers], until: %(ben)s}
  cat: {groups: []}
"""


def small(**ends: str | None) -> Organisation:
    values = {"readers": None, "oncall": None, "oncall_read": None, "ben": None} | ends
    return loads(SMALL % {k: "null" if v is None else v for k, v in values.items()}, "small.yaml")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class TestReading:
    @pytest.mark.parametrize(
        "written", ["2027-03-31T00:00:00Z", '"2027-03-31T00:00:00Z"', "'2027-03-31T00:00:00+00:00'",
                    "2027-03-31T00:00:00+00:00", "2027-03-31 00:00:00Z"],
    )  # fmt: skip
    def test_quoted_and_unquoted_utc_times(self, written: str) -> None:
        org = small(oncall=written, ben=written)
        assert org.groups["oncall"].grants[0].until == org.users["ben"].until == datetime(2027, 3, 31, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("written", "words"),
        [
            ("2027-03-31T00:00:00", "has no time zone"),  # unquoted: YAML reads a naive timestamp
            ('"2027-03-31T00:00:00"', "must be a UTC time like 2027-03-31T00:00:00Z (with the Z)"),
            ("2027-03-31T02:00:00+02:00", "must be in UTC (Z or +00:00), not 2027-03-31T02:00:00+02:00"),
            ('"2027-03-31T02:00:00+02:00"', "must be in UTC (Z or +00:00)"),
            ("2027-03-31", "is a date without a time: write the UTC moment, e.g. 2027-03-31T00:00:00Z"),
            ("2027-03-31T00:00:00.5Z", "whole second"),
            ('"2027-02-30T00:00:00Z"', "is not a valid date and time"),
            ("tomorrow", "must be a UTC time like"),
            ("1806451200", "got the number 1806451200"),
        ],
    )
    def test_anything_but_an_explicit_utc_time_exits_2_naming_the_field(
        self, tmp_path: Path, written: str, words: str
    ) -> None:
        path = tmp_path / "accounts.yaml"
        path.write_text(SMALL % {"readers": "null", "oncall": "null", "oncall_read": "null", "ben": written})
        result = runner.invoke(app, ["validate", "--quick", "--config", str(path)])
        assert result.exit_code == 2, result.output
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"{path}:16: users.ben.until: ") and words in line, line
        assert "Traceback" not in result.output

    def test_a_timestamp_anywhere_else_is_still_refused(self) -> None:
        with pytest.raises(ConfigError, match=r"hub.name: a date \(an unquoted timestamp\) is not allowed here"):
            loads(SMALL.replace("name: identity", "name: 2027-03-31T00:00:00Z") % dict.fromkeys(
                ("readers", "oncall", "oncall_read", "ben"), "null"))  # fmt: skip

    def test_until_survives_an_offboarding_edit(self, tmp_path: Path) -> None:
        """offboard re-reads the file and checks the edit means what it should; a zone must not get lost."""
        path = tmp_path / "accounts.yaml"
        path.write_text(SMALL % {"readers": LATER, "oncall": "null", "oncall_read": "null", "ben": LATER})
        result = runner.invoke(app, ["offboard", "--user", "ann", "--config", str(path)])
        assert result.exit_code == 0, result.output
        assert loads(path.read_text()).users["ben"].until == at(LATER)


class TestEnds:
    def test_a_users_end_is_the_earlier_of_the_grant_and_the_user(self) -> None:
        org = small(readers=LATER, ben=SOON)
        assert org.access_end("ben", "prod", "ReadOnly") == at(SOON)
        org = small(readers=SOON, ben=LATER)
        assert org.access_end("ben", "prod", "ReadOnly") == at(SOON)
        assert small(ben=SOON).access_end("ben", "prod", "ReadOnly") == at(SOON)

    def test_access_through_two_groups_ends_with_the_later(self) -> None:
        org = small(readers=PAST, oncall_read=LATER)
        assert org.access_end("ann", "prod", "ReadOnly") == at(LATER)
        assert small(readers=PAST).access_end("ann", "prod", "ReadOnly") is None  # oncall's is unending

    def test_user_roles_at_a_moment_leave_out_what_has_ended(self) -> None:
        org = small(oncall=PAST, oncall_read=PAST, ben=PAST)
        assert [(a.name, k.key) for a, k in org.user_roles("ann", now=NOW)] == [("prod", "ReadOnly")]
        assert org.user_roles("ben", now=NOW) == []
        assert len(org.user_roles("ann")) == 3  # without a moment: everything the file grants

    def test_expired_and_expiring_entries_with_their_field_paths(self) -> None:
        org = small(readers=PAST, oncall=SOON, oncall_read=LATER, ben=PAST)
        expired = [(format_path(p), t) for p, t in expired_entries(org, NOW)]
        assert expired == [("groups.readers.grants[0].until", at(PAST)), ("users.ben.until", at(PAST))]
        assert [format_path(p) for p, _ in expiring_entries(org, NOW)] == ["groups.oncall.grants[0].until"]
        assert expired_entries(org, at(PAST) - timedelta(seconds=1)) == []
        assert len(expired_entries(org, at(PAST))) == 2  # at the second itself, IAM's DateLessThan has ended


class TestValidate:
    def test_warnings_say_what_expired_and_what_expires_soon(self) -> None:
        org = small(readers=PAST, oncall=SOON, oncall_read=LATER, ben=PAST)
        lines = [w for w in warnings(org, NOW) if "until" in w]
        assert lines == [
            f"groups.readers.grants[0].until: expired at {PAST}; IAM already refuses this grant (it still deploys): "
            "remove the grant",
            f"users.ben.until: expired at {PAST}; IAM already refuses every switch of ben (it still deploys): "
            "remove the user (switchrole offboard --user ben)",
            f"groups.oncall.grants[0].until: expires at {SOON}, in 9.5 days (within 14); IAM ends it then",
        ]

    def test_validate_warns_about_an_expired_grant_and_still_succeeds(self, tmp_path: Path) -> None:
        path = tmp_path / "accounts.yaml"
        path.write_text(SMALL % {"readers": "2020-01-01T00:00:00Z", "oncall": "null", "oncall_read": "null",
                                 "ben": "null"})  # fmt: skip
        result = runner.invoke(app, ["validate", "--quick", "--config", str(path)])
        assert result.exit_code == 0, result.output
        assert f"{path}: warning: groups.readers.grants[0].until: expired at 2020-01-01T00:00:00Z" in result.stderr

    def test_the_example_shows_a_live_until_and_no_expiry_warning(self, example_org: Organisation) -> None:
        """If this fails, the example's until: dates have come too close: move them forward."""
        assert [format_path(p) for p, _ in expired_entries(example_org, NOW)] == []
        assert {format_path(p) for p, _ in expired_entries(example_org, datetime(2100, 1, 1, tzinfo=UTC))} == {
            "groups.auditors.grants[0].until",
            "users.bob.until",
        }
        assert not [w for w in warnings(example_org) if "until" in w]


class TestShown:
    def test_matrix_rows_carry_the_effective_end(self) -> None:
        org = small(readers=LATER, oncall=PAST, ben=SOON)
        rows = {(r["user"], r["group"], r["account_name"], r["role"]): r for r in records(org, now=NOW)}
        assert rows[("ben", "readers", "prod", "ReadOnly")]["until"] == SOON  # the user's end is earlier
        assert rows[("ann", "readers", "prod", "ReadOnly")]["until"] == LATER
        admin = rows[("ann", "oncall", "prod", "Admin")]
        assert (admin["until"], admin["expired"]) == (PAST, True)  # still a row: it deploys, IAM refuses it
        assert rows[("ann", "oncall", "dev", "ReadOnly")]["until"] is None
        assert not rows[("ann", "oncall", "dev", "ReadOnly")]["expired"]
        table = to_markdown(records(org, "ann", now=NOW))
        assert table.splitlines()[0].endswith("| conditions | until |")
        assert f"| Admin | yes, <= 3600 s | 1 h | - | **expired** {PAST} |" in table
        assert f"| {LATER} |" in table

    def test_matrix_cli_json_has_until_and_expired(self, tmp_path: Path) -> None:
        path = tmp_path / "accounts.yaml"
        path.write_text(SMALL % {"readers": "2020-01-01T00:00:00Z", "oncall": "null", "oncall_read": "null",
                                 "ben": "2999-01-01T00:00:00Z"})  # fmt: skip
        result = runner.invoke(app, ["matrix", "--config", str(path), "--format", "json", "--user", "ben"])
        assert result.exit_code == 0, result.output
        assert [(r["until"], r["expired"]) for r in json.loads(result.stdout)] == [("2020-01-01T00:00:00Z", True)]

    def test_profiles_and_links_leave_out_expired_access(self) -> None:
        org = small(oncall=PAST, oncall_read=LATER)
        names = [p.name for p in clients.profiles(org, "ann", hub_profile="hub", command="sr", now=NOW)]
        assert names == ["hub-mfa", "prod-ReadOnly", "dev-ReadOnly"]  # prod-Admin has expired
        earlier = clients.profiles(org, "ann", hub_profile="hub", command="sr", now=at(PAST) - timedelta(days=1))
        assert "prod-Admin" in [p.name for p in earlier]
        assert [link.name for link in clients.links(org, "ann", NOW)] == ["prod-ReadOnly", "dev-ReadOnly"]
        assert "prod-Admin" not in clients.extend_switch_roles(org, "ann", NOW)
        assert clients.links(small(ben=PAST), "ben", NOW) == []

    def test_profiles_say_when_a_switch_ends(self) -> None:
        org = small(oncall_read=LATER)
        by_name = {p.name: p for p in clients.profiles(org, "ann", hub_profile="hub", command="sr", now=NOW)}
        assert (
            by_name["dev-ReadOnly"].comment == f"ends {LATER}: IAM refuses this switch from then (until: in the file)"
        )
        assert by_name["prod-ReadOnly"].comment is None  # readers grants it with no end
        assert by_name["prod-Admin"].comment is None

    def test_links_cli_leaves_out_expired_access(self, tmp_path: Path) -> None:
        path = tmp_path / "accounts.yaml"
        path.write_text(SMALL % {"readers": "null", "oncall": "2020-01-01T00:00:00Z", "oncall_read": "null",
                                 "ben": "null"})  # fmt: skip
        result = runner.invoke(app, ["links", "--user", "ann", "--config", str(path)])
        assert result.exit_code == 0, result.output
        assert "prod-ReadOnly" in result.stdout and "prod-Admin" not in result.stdout

    def test_smoke_names_the_expiry_as_the_reason(self) -> None:
        org = small(oncall=PAST, ben=PAST)
        admin = request_for(org, org.account("prod"), org.role_kinds["Admin"], "ann")
        why = explain_denied(admin, "arn:aws:iam::111111111111:user/ann", org, used_mfa=True)
        assert why == f"expired: small.yaml ends the grant of ann at {PAST} (until:), and IAM enforces it"
        readonly = request_for(org, org.account("prod"), org.role_kinds["ReadOnly"], "ben")
        why = explain_denied(readonly, "arn:aws:iam::111111111111:user/ben", org, used_mfa=True)
        assert why == f"expired: small.yaml ends every switch of ben at {PAST} (until:), and IAM enforces it"


class TestAccessReview:
    def review(self, base: Organisation, head: Organisation) -> dict[str, Any]:
        return json.loads(diff(base, head, base_label="base", head_label="head").to_json())

    def changes(self, report: dict[str, Any], section: str) -> list[tuple[str, list[str], str, list[str]]]:
        return [(r["role"], r["accounts"], r["change"], r["holders"]) for r in report[section]]

    def test_an_end_added_or_brought_forward_narrows(self) -> None:
        report = self.review(small(), small(ben=LATER))
        assert report["access_changed"] and report["weaker"] == []
        assert self.changes(report, "changed") == [
            ("ReadOnly", ["prod"], f"ben's access now ends at {LATER} (until:)", ["ben"])
        ]
        report = self.review(small(oncall_read=LATER), small(oncall_read=SOON))
        assert self.changes(report, "changed") == [
            ("ReadOnly", ["dev"], f"ann's access shortened: until {LATER} -> {SOON}", ["ann"])
        ]  # prod: ann keeps readers' unending grant, so only dev's end moved

    def test_an_end_removed_or_pushed_back_widens(self) -> None:
        report = self.review(small(oncall=SOON), small())
        assert self.changes(report, "weaker") == [
            ("Admin", ["prod"], f"ann's access no longer ends (was until {SOON})", ["ann"])
        ]
        report = self.review(small(oncall_read=SOON), small(oncall_read=LATER))
        assert self.changes(report, "weaker") == [
            ("ReadOnly", ["dev"], f"ann's access extended: until {SOON} -> {LATER}", ["ann"])
        ]

    def test_widening_expiry_changes_are_ranked_with_the_others(self, tmp_path: Path) -> None:
        """An end removed ranks before a longer session (both widen); the dangerous come first overall."""
        base = tmp_path / "base.yaml"
        base.write_text(variant(lambda d: d["users"]["carol"].__setitem__("until", "2099-01-01T00:00:00Z")))

        def change(data: Any) -> None:
            data["roles"]["ReadOnly"]["max_session_duration"] = 28800  # weaker, rank 5
            data["groups"]["auditors"]["grants"][0]["until"] = "2099-12-31T00:00:00Z"  # extended, rank 5

        head = tmp_path / "head.yaml"
        head.write_text(variant(change))
        result = runner.invoke(app, ["diff", "--base", str(base), "--config", str(head), "--format", "json"])
        assert result.exit_code == 3, result.output
        weaker = [r["change"] for r in json.loads(result.stdout)["weaker"]]
        assert weaker[:1] == ["carol's access no longer ends (was until 2099-01-01T00:00:00Z) (5 roles)"]  # one line
        assert "session 4 h -> 8 h" in weaker
        assert "dave's access extended: until 2098-12-31T00:00:00Z -> 2099-12-31T00:00:00Z" in weaker

    def test_gained_access_shows_its_end(self, tmp_path: Path) -> None:
        head = tmp_path / "accounts.yaml"
        head.write_text(variant(lambda d: d["users"]["erin"].update(groups=["auditors"])))
        result = runner.invoke(app, ["diff", "--base", str(EXAMPLE), "--config", str(head), "--format", "md"])
        assert result.exit_code == 3, result.output
        assert "| user | account | role | via | MFA | session | until |" in result.stdout
        assert "| erin | shop-prod (222222222222) | Auditor | auditors | **no** | 1 h | 2098-12-31T00:00:00Z |" in (
            result.stdout
        )


STRICT = """\
hub: {account_id: "111111111111", name: identity}
roles:
  Admin: {managed_policies: [AdministratorAccess], trust: strict}
accounts:
  - {name: prod, account_id: "222222222222", roles: [Admin]}
groups:
  admins: {grants: [{role: Admin, accounts: [prod]}]}
  incident: {grants: [{role: Admin, accounts: [prod], until: 2027-03-31T00:00:00Z}]}
users:
  ann: {groups: [admins]}
  dan: {groups: [incident]}
  eve: {groups: [admins], until: 2027-02-01T00:00:00Z}
"""


def test_a_strict_trust_admits_each_user_only_until_their_access_ends() -> None:
    """The hub grant ends at until:, and so does the strict trust's admission: a hub Allow from elsewhere (a hub
    administrator's sts:AssumeRole on *) cannot reopen the role for a user whose grant is over."""
    from switchrole.iam.policies import trust_policy

    org = loads(STRICT, "strict.yaml")
    statements = trust_policy(org, org.account("prod"), org.role_kinds["Admin"])["Statement"]
    admitted = {s["Sid"]: (s["Condition"]["ArnEquals"]["aws:PrincipalArn"], s["Condition"].get("DateLessThan"))
                for s in statements}  # fmt: skip
    assert admitted == {
        "AssumeFromHub": (["arn:aws:iam::111111111111:user/ann"], None),
        "AssumeFromHubUntil20270201T000000Z": (
            ["arn:aws:iam::111111111111:user/eve"],
            {"aws:CurrentTime": "2027-02-01T00:00:00Z"},
        ),
        "AssumeFromHubUntil20270331T000000Z": (
            ["arn:aws:iam::111111111111:user/dan"],
            {"aws:CurrentTime": "2027-03-31T00:00:00Z"},
        ),
    }
    assert all(s["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"} for s in statements)


def test_a_strict_trust_without_ends_keeps_its_single_statement() -> None:
    from switchrole.iam.policies import trust_policy

    org = loads(STRICT.replace(", until: 2027-03-31T00:00:00Z", "").replace(", until: 2027-02-01T00:00:00Z", ""))
    (statement,) = trust_policy(org, org.account("prod"), org.role_kinds["Admin"])["Statement"]
    assert statement["Sid"] == "AssumeFromHub" and "DateLessThan" not in statement["Condition"]


def test_stacksets_mode_warns_that_its_strict_trust_does_not_end() -> None:
    stacksets = 'deployment: {mode: stacksets, account_id: "999999999999", organizational_unit_ids: [r-exam]}\nhub:'
    org = loads(STRICT.replace("hub:", stacksets, 1), "strict.yaml")
    found = [w for w in warnings(org, NOW) if "StackSets" in w]
    assert found == [
        "roles.Admin: trust: strict in StackSets mode lists users in a parameter without their until: times; "
        "the hub grant ends on time, but the trust keeps admitting dan, eve until they leave the file"
    ]
