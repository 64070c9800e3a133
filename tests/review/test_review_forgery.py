"""Reviews that cannot be forged (issue 19): strings from the accounts file never steer the Markdown a reviewer
reads. A newline plus ``<!--`` inside an inline policy's Resource passed validation and, rendered by GitHub (the
job summary), hid every later line of the review: ``+ AdministratorAccess`` and the "Access gained" rows."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from factories import EXAMPLE, variant
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.infra.validate import load_checked
from switchrole.model.organisation import Organisation
from switchrole.review.access_diff import diff as access_diff

INJECTIONS = [
    "x\n<!--",  # the reported one: an HTML block that never closes
    "x\r\n<!-- ",
    "<!-- a comment that closes later -->",
    "x</td><script>alert(1)</script>",
    "x | y | z",  # a table cell separator
    "[click](javascript:alert(1)) ![i](http://x/y.png) **bold** _em_ \\* `tick` ``two``",
    "`",
    "x\u0085<!--",  # NEL: a C1 control character
]


def visible(markdown: str) -> tuple[str, list[str]]:
    """The text a CommonMark (+ GFM tables) renderer shows, and the types of any raw HTML tokens it found."""
    md = MarkdownIt("commonmark").enable("table")
    text, html = [], []

    def walk(tokens: list[Any]) -> None:
        for token in tokens:
            if token.type in ("html_block", "html_inline"):
                html.append(token.content)
            elif token.type in ("text", "code_inline", "code_block", "fence"):
                text.append(token.content)
            elif token.type in ("softbreak", "hardbreak"):
                text.append("\n")
            elif token.type in ("link_open", "image"):
                html.append(f"{token.type} {token.attrs}")
            if token.children:
                walk(token.children)
            if token.type.endswith("_close") or token.type == "inline":
                text.append("\n")

    walk(md.parse(markdown))
    return "".join(text), html


def _with_resource(org: Organisation, resource: str) -> Organisation:
    """``org`` whose Developer inline policy Fence has ``resource`` (built past validation, which refuses the
    control characters: the renderer must hold on its own)."""
    kind = org.role_kinds["Developer"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::after/*"},
        ],
    }
    kinds = {**org.role_kinds, "Developer": dataclasses.replace(kind, inline_policies={"Fence": policy})}
    return dataclasses.replace(org, role_kinds=kinds)


def _head(tmp_path: Path) -> Organisation:
    def change(data: Any) -> None:
        data["roles"]["ReadOnly"]["managed_policies"].append("AdministratorAccess")
        data["users"]["erin"]["groups"].append("readers")

    head = tmp_path / "accounts.yaml"
    head.write_text(variant(change))
    return load_checked(head)


@pytest.mark.parametrize("resource", INJECTIONS)
def test_the_review_shows_every_change_whatever_the_file_says(tmp_path: Path, resource: str) -> None:
    head = _with_resource(_head(tmp_path), resource)
    review = access_diff(load_checked(EXAMPLE), head, base_label="base", head_label="head").to_markdown()
    text, html = visible(review)
    assert html == [], review
    assert "+ AdministratorAccess" in text
    assert "Access gained (4)" in text
    for account in ("shop-prod", "shop-dev", "data-prod", "data-dev"):
        assert re.search(rf"erin\s+{account} \(", text), text  # a row of the gained table, its cells as text
    assert "arn:aws:s3:::after/*" in text  # the statement listed after the injected one
    printable = "".join(c if c.isprintable() else "" for c in resource.replace("\r", "").replace("\n", ""))
    assert printable.replace("\\", "") in text.replace("\\", "").replace("\ufffd", "")  # shown, not obeyed
    assert "\n7 changes listed: 0 destructive, 3 wider or weaker, 4 access gained" in text, text


def test_labels_and_names_are_quoted(tmp_path: Path) -> None:
    """The labels come from the command line (a file or a git revision): a crafted file name steers nothing."""
    head = _head(tmp_path)
    review = access_diff(load_checked(EXAMPLE), head, base_label="a`b\n<!--", head_label="<x>|y").to_markdown()
    text, html = visible(review)
    assert html == [] and "Access gained (4)" in text


def test_validate_refuses_control_characters_in_policy_strings(tmp_path: Path) -> None:
    """The file with the injection is refused at validate: one line naming the field, exit 2."""

    def change(data: Any) -> None:
        statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "x\n<!--"}
        data["roles"]["Developer"]["inline_policies"] = {"Fence": {"Version": "2012-10-17", "Statement": [statement]}}

    config = tmp_path / "accounts.yaml"
    config.write_text(variant(change))
    result = CliRunner().invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert "roles.Developer.inline_policies.Fence" in line and "Statement[0].Resource" in line, line
    assert "U+000A" in line and "control character" in line, line


@pytest.mark.parametrize("char", ["\t", "\r", "\x00", "\x1f", "\x7f", "\x85", "\x9f"])
def test_every_control_character_is_refused_in_a_policy_value(char: str) -> None:
    from switchrole.model.schema import _policy_document

    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"a{char}"}],
    }
    with pytest.raises(ValueError, match=f"U\\+{ord(char):04X}"):
        _policy_document(doc)


def test_the_matrix_and_links_markdown_say_how_many_rows_they_hold() -> None:
    from switchrole.review.matrix import records, to_markdown

    org = load_checked(EXAMPLE)
    rows = records(org)
    text, html = visible(to_markdown(rows))
    assert html == [] and text.rstrip().endswith(f"{len(rows)} switches for {len({r['user'] for r in rows})} users")
