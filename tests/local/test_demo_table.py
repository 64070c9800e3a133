"""The demo's rows: which row was not as expected, in plain text (colour is lost in a CI log), and what each
refusal row expects."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from switchrole.client.switch import SmokeRequest
from switchrole.live.smoke import SmokeReport
from switchrole.local.demo import Demo
from switchrole.local.demo_checks import HUB_ADMIN, NO_GRANT, Check, Identity
from switchrole.local.demo_report import records, summary, table
from switchrole.model.expiry import utc_now
from switchrole.model.organisation import Organisation

ROLE = "arn:aws:iam::222222222222:role/switchrole/Admin"


def checks() -> list[Check]:
    request = SmokeRequest(ROLE, "shop-prod-Admin", "alice")
    assumed = "arn:aws:sts::222222222222:assumed-role/Admin/"
    ok = Check("alice", request, True, "granted", report=SmokeReport(request, assumed_arn=assumed + "alice"))
    wrong = Check("bob", request, False, "no grant", report=SmokeReport(request, assumed_arn=assumed + "bob"))
    return [ok, wrong]


def test_a_row_not_as_expected_is_marked_in_plain_text_and_named_in_the_summary() -> None:
    rows = checks()
    out = io.StringIO()
    Console(file=out, width=200, no_color=True, color_system=None).print(table(rows))
    printed = out.getvalue()
    assert "✗ NOT AS EXPECTED" in printed and printed.count("NOT AS EXPECTED") == 1
    assert summary(rows) == (
        "1/2 checks as expected: 1 switches succeeded, 0 refusals held; ✗ NOT AS EXPECTED: bob shop-prod-Admin "
        "refuse (no grant)"
    )


def test_the_json_rows_say_which_row_failed() -> None:
    data = json.loads(json.dumps(records(checks())))
    assert [(r["who"], r["expected"], r["result"], r["as_expected"]) for r in data] == [
        ("alice", "switch", "switched", True),
        ("bob", "refuse", "switched", False),
    ]


def unstarted_demo(org: Organisation, workdir: Path) -> Demo:
    """A demo whose rows can be built without the emulator: every identity of the file (and the demo's own)
    with an MFA seed, no session."""
    demo = Demo(org, console=Console(file=io.StringIO()), workdir=workdir)
    seed = "JBSWY3DPEHPK3PXP"
    demo.identities = {u: Identity(u, None, seed) for u in [*org.users, HUB_ADMIN, NO_GRANT]}  # type: ignore[arg-type]
    return demo


TWO_PRODS = """\
hub: {account_id: "111111111111", name: identity}
roles:
  Admin: {managed_policies: [AdministratorAccess], trust: strict}
accounts:
  - {name: prod1, account_id: "222222222222", roles: [Admin]}
  - {name: prod2, account_id: "333333333333", roles: [Admin]}
groups:
  admins: {grants: [{role: Admin, accounts: [prod1]}]}
users:
  alice: {groups: [admins]}
"""


def test_a_refusal_row_on_a_role_that_admits_nobody_expects_its_trusts_deny(tmp_path: Path) -> None:
    """Found by the lifecycle campaign: "Admin granted in other accounts only" picked prod2's Admin, which admits
    nobody, and expected the hub's refusal; its trust's explicit Deny refuses first (the row failed)."""
    from switchrole.local.authz import TRUST_DENY
    from switchrole.model.loading import loads

    org = loads(TWO_PRODS, "two.yaml")
    demo = unstarted_demo(org, tmp_path)
    (row,) = [c for c in demo.expectations.refusals(org, utc_now()) if c.why == "Admin granted in other accounts only"]
    assert (row.who, row.request.label, row.because) == ("alice", "prod2-Admin", TRUST_DENY)


BEFORE = """\
hub: {account_id: "111111111111", name: identity}
roles:
  Admin: {managed_policies: [AdministratorAccess], trust: strict}
  ReadOnly: {managed_policies: [ReadOnlyAccess]}
accounts:
  - {name: prod1, account_id: "222222222222", roles: [Admin]}
  - {name: prod2, account_id: "333333333333", roles: [Admin, ReadOnly]}
groups:
  admins: {grants: [{role: Admin, accounts: [prod1]}]}
  readers: {grants: [{role: ReadOnly, accounts: [prod2]}]}
users:
  alice: {groups: [admins]}
  bob: {groups: [readers]}
  carol: {groups: [admins]}
"""
AFTER = (  # ReadOnly leaves prod2 (and its grant), carol leaves
    BEFORE.replace("roles: [Admin, ReadOnly]}", "roles: [Admin]}")
    .replace("  readers: {grants: [{role: ReadOnly, accounts: [prod2]}]}\n", "")
    .replace("  bob: {groups: [readers]}\n", "  bob: {groups: []}\n")
    .replace("  carol: {groups: [admins]}\n", "")
)


def test_access_removed_rows_expect_the_refusal_that_really_happens(tmp_path: Path) -> None:
    """Found by the lifecycle campaign: a kind removed from an account deletes the role there, so its switch is
    refused for that (the emulator says "the role does not exist"; AWS a plain AccessDenied), not by the hub; a
    user leaving is refused by the hub (no Allow any more)."""
    from switchrole.local.authz import NO_IDENTITY_ALLOW, NO_SUCH_ROLE
    from switchrole.model.loading import loads

    old, new = loads(BEFORE, "before.yaml"), loads(AFTER, "after.yaml")
    demo = unstarted_demo(old, tmp_path)
    rows = {(c.who, c.request.label): c.because for c in demo.expectations.removed(old, new)}
    assert rows == {
        ("bob", "prod2-ReadOnly"): NO_SUCH_ROLE,
        ("carol", "prod1-Admin"): NO_IDENTITY_ALLOW.format(action="sts:AssumeRole"),
    }


def test_permission_set_rows_only_with_identity_center(tmp_path: Path) -> None:
    """The demo's Identity Center rows need its stand-in, which provisions only for a file with
    hub.identity_center: the example (without) gets none, the Identity Center example gets its sets' rows."""
    from factories import EXAMPLE, ROOT

    from switchrole.infra.validate import load_checked
    from switchrole.local import demo_identity_center

    plain = load_checked(EXAMPLE)
    assert demo_identity_center.checks(plain, utc_now()) == []
    assert not any(c.who.startswith("permission set") for c in unstarted_demo(plain, tmp_path).checks(plain))
    federated = load_checked(ROOT / "examples" / "identity-center.yaml")
    who = {c.who for c in demo_identity_center.checks(federated, utc_now())}
    assert who == {"permission set SRE", "permission set Developers", demo_identity_center.ADMIN_GRANTEE}


def test_the_demo_shows_the_same_refusal_rows_in_every_run() -> None:
    """Found by a stranger's run: the "granted in other accounts only" row was picked from a set, so two runs
    of the example showed different rows (string hashing differs per process). The first in file order now."""
    import os
    import subprocess
    import sys

    from factories import EXAMPLE

    program = (
        "import sys; from switchrole.infra.validate import load_checked; "
        "from switchrole.local.demo_expectations import Expectations; from switchrole.model.expiry import utc_now; "
        "u, a, k = Expectations.granted_elsewhere(load_checked(__import__('pathlib').Path(sys.argv[1])), utc_now()); "
        "print(u, a.name, k)"
    )
    picked = {
        subprocess.run(
            [sys.executable, "-c", program, str(EXAMPLE)],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        for seed in range(4)
    }
    assert picked == {"bob data-prod ReadOnly\n"}
