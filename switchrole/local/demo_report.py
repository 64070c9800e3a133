"""The demo's report: the table (plain text when a row is not as expected), the summary line and the JSON records."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from switchrole.local.demo_checks import (
    NOT_AS_EXPECTED,
    Check,
)


def table(checks: list[Check], title: str = "switchrole local demo: switches on the embedded local AWS") -> Table:
    result = Table(title=title)
    for column in ("who", "role", "expected", "result", "proof"):
        result.add_column(column, overflow="fold")
    for c in checks:
        report = c.report
        assert report is not None
        outcome = ("switched" if report.ok else "refused") + ("" if c.passed else f" {NOT_AS_EXPECTED}")
        colour = "green" if c.passed else "red"
        if report.ok and report.assumed_arn:
            account, identity = report.assumed_arn.split(":")[4], report.assumed_arn.split(":")[5]
            proof = f"{identity} in {account}; lists {len(report.buckets)} buckets"
        else:
            proof = report.failure or ""
        result.add_row(
            c.who,
            c.request.label,
            expected(c),
            f"[{colour}]{outcome}[/{colour}]",
            proof,
        )
    return result


def expected(check: Check) -> str:
    return ("switch" if check.expect_ok else "refuse") + f" ({check.why})"


def summary(checks: list[Check]) -> str:
    """One line; it names every row that was not as expected (colour alone is lost in a CI log)."""
    passed = sum(c.passed for c in checks)
    switched = sum(1 for c in checks if c.passed and c.expect_ok)
    refused = sum(1 for c in checks if c.passed and not c.expect_ok)
    line = f"{passed}/{len(checks)} checks as expected: {switched} switches succeeded, {refused} refusals held"
    failed = [f"{c.who} {c.request.label} {expected(c)}" for c in checks if not c.passed]
    return line + (f"; {NOT_AS_EXPECTED}: " + "; ".join(failed) if failed else "")


def records(checks: list[Check]) -> list[dict[str, Any]]:
    """The table's rows as data (``--format json``)."""
    rows = []
    for c in checks:
        report = c.report
        rows.append(
            {
                "who": c.who,
                "role": c.request.label,
                "role_arn": c.request.role_arn,
                "expected": "switch" if c.expect_ok else "refuse",
                "why": c.why,
                "result": "missing" if report is None else "switched" if report.ok else "refused",
                "as_expected": c.passed,
                "assumed_arn": report.assumed_arn if report is not None and report.ok else None,
                "failure": None if report is None else report.failure,
            }
        )
    return rows
