"""The demo's table and summary say which row was not as expected in plain text: colour is lost in a CI log."""

from __future__ import annotations

import io
import json

from rich.console import Console

from switchrole.local.demo import Check, records, summary, table
from switchrole.smoke import SmokeReport, SmokeRequest

ROLE = "arn:aws:iam::222222222222:role/switchrole/Admin"


def checks() -> list[Check]:
    request = SmokeRequest(ROLE, "shop-prod-Admin", "alice")
    ok = Check("alice", request, True, "granted", report=SmokeReport(request, assumed_arn="arn:aws:sts::222222222222:assumed-role/Admin/alice"))
    wrong = Check("bob", request, False, "no grant", report=SmokeReport(request, assumed_arn="arn:aws:sts::222222222222:assumed-role/Admin/bob"))
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
