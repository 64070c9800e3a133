"""A review that fits in one pull-request comment (issue 20): a 1,000-account change was 410,919 characters, six
times GitHub's 65,536. Small reviews are unchanged; large ones are grouped, then cut, never silently."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from factories import EXAMPLE, build, generated, variant
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.infra.validate import load_checked
from switchrole.model.organisation import Organisation
from switchrole.review.access_diff import AccessDiff, diff
from switchrole.review.fit import GITHUB_COMMENT_LIMIT, REVIEW_LIMIT

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ROLES = {
    "ReadOnly": {"managed_policies": ["ReadOnlyAccess"]},
    "Admin": {"managed_policies": ["AdministratorAccess"]},
}


def small_change(data: Any) -> None:
    data["roles"]["ReadOnly"]["managed_policies"].append("AdministratorAccess")
    data["roles"]["Admin"]["mfa"] = {"max_age_seconds": 600}
    data["users"]["erin"]["groups"].append("readers")
    data["users"].pop("carol")
    data["groups"]["shop-developers"]["grants"][1]["accounts"] = ["shop-dev"]


def test_a_small_review_is_unchanged(tmp_path: Path) -> None:
    """The example's review, as written before reviews could be grouped or cut (tests/golden/review-example.md
    was written by the code before this change; regenerate deliberately with SWITCHROLE_UPDATE_GOLDEN=1)."""
    head = tmp_path / "accounts.yaml"
    head.write_text(variant(small_change))
    review = diff(load_checked(EXAMPLE), load_checked(head), base_label="origin/main:accounts.yaml",
                  head_label="accounts.yaml")  # fmt: skip
    text = review.to_markdown()
    path = GOLDEN / "review-example.md"
    if os.environ.get("SWITCHROLE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()
    assert text == review.to_markdown(0) and "<details>" not in text


def organisation(users: dict[str, Any], grants: dict[str, Any], n: int = 1000) -> Organisation:
    return build(generated(n, grants=grants, users=users, roles=ROLES))


BASE_USERS = {f"user{i:02d}": {"groups": ["readers"]} for i in range(5)}
BASE_GRANTS = {"readers": [{"role": "ReadOnly", "accounts": "*"}]}


@pytest.fixture(scope="module")
def base() -> Organisation:
    return organisation(BASE_USERS, BASE_GRANTS)


def review(base: Organisation, head: Organisation) -> AccessDiff:
    return diff(base, head, base_label="origin/main:accounts.yaml", head_label="accounts.yaml")


def lines_of(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def test_a_new_reader_of_1000_accounts_is_one_grouped_row(base: Organisation) -> None:
    head = organisation({**BASE_USERS, "newbie": {"groups": ["readers"]}}, BASE_GRANTS)
    result = review(base, head)
    full, text = result.to_markdown(0), result.to_markdown()
    assert len(result.gained) == 1000 and len(full) > GITHUB_COMMENT_LIMIT  # it did not fit
    assert len(text) <= REVIEW_LIMIT < GITHUB_COMMENT_LIMIT
    lines = lines_of(text)
    assert lines[2].endswith("(the review ends with this line again)") and lines[-1] == result.counts()
    (row,) = [line for line in lines if line.startswith("| newbie |")]
    assert "| 1,000 accounts <details><summary>which</summary>acct-0001, acct-0002," in row
    assert "… and " in row and row.endswith("| ReadOnly | readers | yes | 1 h | - |")
    assert "Access gained (1,000, grouped)" in text and "cut to fit" not in text


def test_a_new_1000_account_file_is_reviewed_in_a_few_thousand_characters(base: Organisation) -> None:
    """The whole file is new (its base revision has none): 5,000 rows and 1,000 accounts added, 438,801
    characters as one row each; grouped, a few thousand, nothing cut."""
    result = diff(None, base, base_label="origin/main:accounts.yaml (absent)", head_label="accounts.yaml")
    full, text = result.to_markdown(0), result.to_markdown()
    assert len(full) > 6 * GITHUB_COMMENT_LIMIT and len(text) < 10_000 and "cut to fit" not in text
    lines = lines_of(text)
    assert [line for line in lines if line.startswith("| ")][1:] == [
        "| 5 users <details><summary>which</summary>user00, user01, user02, user03, user04</details> | "
        + next(line for line in lines if "1,000 accounts <details>" in line).split(" | ")[1]
        + " | ReadOnly | readers | yes | 1 h | - |"
    ]
    (added,) = [line for line in lines if line.startswith("- account added: ")]
    assert added.startswith("- account added: 1,000 accounts <details><summary>which</summary>acct-0001 "
                            "(200000000001) with ReadOnly, Admin; acct-0002 (200000000002)")  # fmt: skip
    assert lines[-1] == result.counts()


def own_admins(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``n`` new users, each granted Admin in an account of their own: no two rows can be grouped."""
    users = {**BASE_USERS, **{f"new{i:04d}": {"groups": [f"g{i:04d}"]} for i in range(1, n + 1)}}
    grants = {
        **BASE_GRANTS,
        **{f"g{i:04d}": [{"role": "Admin", "accounts": [f"acct-{i:04d}"]}] for i in range(1, n + 1)},
    }
    return users, grants


def test_widening_rows_that_do_not_fit_are_announced_first_and_counted(base: Organisation) -> None:
    """1,000 distinct grants of Admin: even grouped, more than a comment holds. Every widening row shown or
    counted, the warning before the first section, lower sections give way first, the last line says it all."""
    users, grants = own_admins(1000)
    result = review(base, organisation(users, grants))
    text = result.to_markdown()
    assert len(text) <= REVIEW_LIMIT
    lines = lines_of(text)
    warning = next(i for i, line in enumerate(lines) if line.startswith("> :rotating_light:"))
    assert warning < next(i for i, line in enumerate(lines) if line.startswith("### "))
    shown = [line for line in lines if re.match(r"\| new\d{4} \|", line)]
    missing = int(re.search(r"([\d,]+) of 1,000 widening rows are not shown", lines[warning])[1].replace(",", ""))
    assert len(shown) + missing == 1000 and 0 < missing < 1000
    assert next(line for line in lines if line.startswith("*… and ")) == (
        f"*… and {missing:,} more rows not shown here: the last line says where to see them.*"
    )
    assert lines[2].endswith("(cut to fit a comment: see the last line)")
    assert lines[-1].startswith(result.counts() + "; cut to fit a comment, not shown here: ")
    assert f"access gained: {missing:,} of 1,000 rows" in lines[-1]
    assert "### Accounts, role kinds, groups and users" not in lines  # no room: its 2,000 lines only counted
    assert "accounts, role kinds, groups and users: 2,000 of 2,000 rows" in lines[-1]
    assert "switchrole diff --max-chars 0" in lines[-1]


def test_what_does_not_widen_is_cut_after_what_does(base: Organisation) -> None:
    """990 accounts leave the file (990 destructive lines of ~200 characters) while 300 users gain Admin: every
    widening row is shown, the destructive lines give way and are counted, and no warning is raised."""
    users, grants = own_admins(300)
    head = build({**generated(1000, grants=grants, users=users, roles=ROLES), "accounts": generated(
        1000, roles=ROLES)["accounts"][:300]})  # fmt: skip
    result = review(base, head)
    assert len(result.destructive) >= 700
    text = result.to_markdown()
    lines = lines_of(text)
    assert len(text) <= REVIEW_LIMIT and ":rotating_light:" not in text
    assert len([line for line in lines if re.match(r"\| new\d{4} \|", line)]) == 300
    assert re.search(r"destructive: [\d,]+ of [\d,]+ rows", lines[-1]), lines[-1]


def test_a_limit_of_0_writes_every_row(base: Organisation) -> None:
    users, grants = own_admins(1000)
    text = review(base, organisation(users, grants)).to_markdown(0)
    assert len(text) > GITHUB_COMMENT_LIMIT and "cut to fit" not in text and "grouped" not in text


def test_the_cli_names_the_command_that_shows_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`switchrole diff` caps its Markdown by default and says how to see all of it (--max-chars 0)."""
    from switchrole.infra import replacement

    monkeypatch.setattr(replacement, "update_problems", lambda *args, **kwargs: [])  # no synthesis: not this test's

    def many_changes(data: Any) -> None:
        small_change(data)
        for i in range(40):  # 40 users added: 200 rows, too many for 2,000 characters even grouped
            data["users"][f"reader{i:02d}"] = {"groups": ["readers"]}

    head = tmp_path / "accounts.yaml"
    head.write_text(variant(many_changes))
    args = ["diff", "--base", str(EXAMPLE), "--config", str(head)]
    capped = CliRunner().invoke(app, [*args, "--max-chars", "2000"])
    assert capped.exit_code == 3, capped.output
    assert len(capped.stdout) <= 2000
    last = lines_of(capped.stdout)[-1]
    assert f"everything: `switchrole diff --base {EXAMPLE} --config {head} --max-chars 0` (or --format json)" in last
    too_small = CliRunner().invoke(app, [*args, "--max-chars", "1999"])
    assert too_small.exit_code == 2 and too_small.stdout == ""
    assert too_small.stderr == "--max-chars: at least 2,000 (the counts and what was cut need room), or 0: no limit\n"
    whole = CliRunner().invoke(app, [*args, "--max-chars", "0"])
    assert whole.exit_code == 3 and "cut to fit" not in whole.stdout and "grouped" not in whole.stdout
    assert len(whole.stdout) > 10_000 and lines_of(whole.stdout)[-1].startswith("213 changes listed")


@pytest.mark.parametrize("resource", ["x\n<!--", "x</td><script>alert(1)</script>", "x | y | z", "`"])
def test_a_grouped_review_holds_no_html_but_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resource: str
) -> None:
    """Grouping adds <details> lists: the only raw HTML in the review; what the file says is still text."""
    from test_review_forgery import _head, _with_resource, visible

    from switchrole.review import fit as review_fit

    monkeypatch.setattr(review_fit, "INLINE_NAMES", 1)  # collapse every list of two names or more
    head = _with_resource(_head(tmp_path), resource)
    review = diff(load_checked(EXAMPLE), head, base_label="base", head_label="head")
    text = review.to_markdown(len(review.to_markdown(0)) - 1)  # one character too many: grouped (and cut)
    shown, html = visible(text)
    assert "<details>" in html and set(html) <= {"<details>", "<summary>", "</summary>", "</details>"}
    assert "s3:GetObject" in shown and "Do not approve it from this comment" in shown
