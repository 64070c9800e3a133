"""YAML constructs a held-out fuzzing pass found answered badly (issue 20): merge keys, ordered maps, complex keys,
control characters and duplicate keys. Each is one line naming the file, line and field, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import EXAMPLE
from typer.testing import CliRunner

from switchrole.cli.main import app

runner = CliRunner()
TEXT = EXAMPLE.read_text()
MFA = "mfa: {required: true, max_age_seconds: 3600}"  # defaults.mfa, on its own line
ERIN = "erin:  {groups: []}"


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def validate(tmp_path: Path, text: str) -> tuple[int, list[str], Path]:
    config = tmp_path / "accounts.yaml"
    config.write_text(text)
    result = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert isinstance(result.exception, SystemExit | None), result.exception  # never an exception escaping
    return result.exit_code, result.stderr.splitlines(), config


MERGE = "a YAML merge key (<<) is not allowed in an accounts file"
MERGES = {  # (text, the line written with <<, the field path named)
    "bad-value-merged": (
        TEXT.replace("defaults:\n", "base: &b {required: maybe}\ndefaults:\n", 1).replace(
            MFA, "mfa: {<<: *b, max_age_seconds: 3600}", 1
        ),
        "mfa: {<<: *b",
        "defaults.mfa['<<']",
    ),
    "valid-content-merged": (
        TEXT.replace(ERIN, "erin:  {<<: {groups: [readers]}}", 1),
        "erin:  {<<:",
        "users.erin['<<']",
    ),
    "scalar-merged": (TEXT.replace(MFA, "mfa: {<<: 5, max_age_seconds: 3600}", 1), "mfa: {<<: 5", "defaults.mfa['<<']"),
    "list-of-scalars-merged": (TEXT.replace(ERIN, "erin:  {<<: [1, 2]}", 1), "erin:  {<<:", "users.erin['<<']"),
    "alias-of-a-scalar-merged": (
        TEXT.replace("  name: identity\n", "  name: &n identity\n", 1).replace(ERIN, "erin:  {<<: *n}", 1),
        "erin:  {<<:",
        "users.erin['<<']",
    ),
    "own-map-merged": (TEXT.replace(ERIN, "erin: &c {<<: *c}", 1), "erin: &c", "users.erin['<<']"),
    "top-level": (TEXT.replace("defaults:\n", "<<: {foo: 1}\ndefaults:\n", 1), "<<: {foo", "['<<']"),
    "block-style": (
        TEXT.replace("  name: identity\n", "  <<: {name: identity}\n", 1),
        "  <<: {name: identity}",
        "hub['<<']",
    ),
}


@pytest.mark.parametrize("name", list(MERGES))
def test_a_merge_key_is_refused_at_its_line(tmp_path: Path, name: str) -> None:
    """A bad value inside a merged map was 'unexpected error: KeyError' (exit 1), a merged valid map was read
    silently: every merge key is refused now, one line, at the line that writes it."""
    text, written, path = MERGES[name]
    code, lines, config = validate(tmp_path, text)
    assert code == 2, lines
    assert lines == [f"{config}:{line_of(text, written)}: {path}: {MERGE}: write the keys out in this entry "
                     "(an alias of a whole value, key: *name, is fine)"]  # fmt: skip


def test_a_merge_key_as_a_value_is_refused_and_a_quoted_one_is_a_key(tmp_path: Path) -> None:
    """An anchored plain ``<<`` could be aliased as a key later and merge; a quoted ``'<<'`` is only text."""
    text = TEXT.replace("  name: identity\n", "  name: identity\n  x: <<\n", 1)
    code, lines, config = validate(tmp_path, text)
    assert code == 2 and lines == [f"{config}:{line_of(text, 'x: <<')}: hub.x: << is YAML's merge key, not a value: "
                                   "quote it ('<<') if you mean the text"]  # fmt: skip
    quoted = TEXT.replace("  name: identity\n", "  name: identity\n  '<<': x\n", 1)
    code, lines, config = validate(tmp_path, quoted)
    assert code == 2 and lines == [f"{config}:{line_of(quoted, chr(39) + '<<')}: hub['<<']: unknown key (expected "
                                   "one of: account_id, name, region, organization_id, alias, "
                                   "identity_center)"]  # fmt: skip


def test_an_alias_of_a_whole_value_is_still_read(tmp_path: Path) -> None:
    text = TEXT.replace('      - {role: Admin, accounts: "*"}', '      - {role: Admin, accounts: &all "*"}', 1)
    text = text.replace('      - {role: ReadOnly, accounts: "*"}', "      - {role: ReadOnly, accounts: *all}", 1)
    assert "*all" in text and "&all" in text
    code, lines, _ = validate(tmp_path, text)
    assert code == 0, lines


def test_a_bad_value_in_an_ordered_map_names_its_line_and_field(tmp_path: Path) -> None:
    """`!!omap` is read as a map; a problem inside one was 'unexpected error: TypeError' (exit 1)."""
    text = TEXT.replace(MFA, "mfa: !!omap\n    - max_age_seconds: 3600\n    - required: maybe", 1)
    code, lines, config = validate(tmp_path, text)
    assert code == 2
    (line,) = lines
    assert line.startswith(f"{config}:{line_of(text, 'required: maybe')}: defaults.mfa.required: "), line
    assert "maybe" in line


def test_an_unknown_key_in_an_ordered_map_names_its_line(tmp_path: Path) -> None:
    text = TEXT.replace(ERIN, "erin: !!omap [{groups: []}, {group: [readers]}]", 1)
    code, lines, config = validate(tmp_path, text)
    assert code == 2 and lines[0].startswith(f"{config}:{line_of(text, 'erin: !!omap')}: users.erin.group: "), lines


COMPLEX = {  # (text, the line of the key, the field path of the map holding it, what the key is)
    "explicit-list-key-at-the-top": (TEXT + "? [a, b]\n: x\n", "? [a, b]", "", "a list"),
    "flow-list-key": (TEXT.replace("defaults:\n", "x: {[a]: 1}\ndefaults:\n", 1), "x: {[a]", "x: ", "a list"),
    "explicit-list-key-in-roles": (
        TEXT.replace("  ReadOnly:\n", "  ? [a]\n  : 1\n  ReadOnly:\n", 1),
        "  ? [a]",
        "roles: ",
        "a list",
    ),
    "map-key": (TEXT.replace(ERIN, "? {a: 1}\n  : {groups: []}", 1), "? {a: 1}", "users: ", "a map"),
    "number-key": (TEXT.replace(ERIN, "1234: {groups: []}", 1), "1234:", "users: ", "the number 1234"),
}


@pytest.mark.parametrize("name", list(COMPLEX))
def test_a_key_that_is_not_a_string_is_said_in_words(tmp_path: Path, name: str) -> None:
    """Complex keys were reported as 'got CommentedKeySeq' (a parser class), the top-level one without a line."""
    text, written, path, what = COMPLEX[name]
    code, lines, config = validate(tmp_path, text)
    assert code == 2
    (line,) = lines
    assert line.startswith(f"{config}:{line_of(text, written)}: {path}a mapping key must be a plain string, not "
                           f"{what}"), line  # fmt: skip
    assert "Commented" not in line and "Key" not in line


@pytest.mark.parametrize("char", ["\x07", "\x1b", "\x7f", "\x9b", "\ufffe"])
def test_a_character_yaml_refuses_is_named_with_line_and_column(tmp_path: Path, char: str) -> None:
    """A control character was reported without a line: now file:line:column, and the character's code."""
    text = TEXT.replace("Break-glass administration", f"Break-glass {char}administration", 1)
    code, lines, config = validate(tmp_path, text)
    line = line_of(text, char)
    column = text.index(char) - text.rindex("\n", 0, text.index(char))
    kind = "character" if char == "\ufffe" else "control character"
    hexa = f"{ord(char):04X}"
    assert code == 2
    assert lines == [f"{config}:{line}:{column}: not valid YAML: {kind} U+{hexa}, which YAML does not allow in a "
                     f'file: delete it (in a double-quoted string, write it as the escape "\\u{hexa}")']  # fmt: skip


def test_a_control_character_in_a_comment_is_located_too(tmp_path: Path) -> None:
    text = TEXT.replace("# joined this week", "# joined \x0c this week", 1)
    code, lines, config = validate(tmp_path, text)
    assert code == 2 and lines[0].startswith(f"{config}:{line_of(text, chr(12))}:"), lines


def test_a_duplicate_key_names_its_field(tmp_path: Path) -> None:
    text = TEXT.replace("  name: identity\n", "  name: identity\n  name: other\n", 1)
    code, lines, config = validate(tmp_path, text)
    assert code == 2
    assert lines == [f"{config}:{line_of(text, 'name: other')}: hub.name: the key 'name' is written twice in this "
                     f"map (first on line {line_of(text, 'name: identity')}): delete one"]  # fmt: skip


def test_a_tab_is_named_in_words(tmp_path: Path) -> None:
    text = TEXT.replace("  name: identity\n", "\tname: identity\n", 1)
    code, lines, config = validate(tmp_path, text)
    assert code == 2
    assert lines == [f"{config}:{line_of(text, chr(9))}:1: not valid YAML: a tab where YAML expects indentation or "
                     "a value: indent with spaces"]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("hub:\n  a: 1\n b: 2\n", "3:2: not valid YAML: expected the end of the indented block, but found a new map "
         "(check this line's indentation)"),
        ("hub:\n  - b\n  c: d\n", "3:3: not valid YAML: expected the end of the indented block, but found a key "
         "(check this line's indentation)"),
        ("hub: {a: 1\n", "2:1: not valid YAML: expected ',' or '}', but got the end of the file"),
    ],
)  # fmt: skip
def test_parse_errors_name_no_parser_token(tmp_path: Path, text: str, words: str) -> None:
    """ruamel's words were `expected <block end>, but found '<block mapping start>'`."""
    code, lines, config = validate(tmp_path, text)
    assert code == 2 and lines == [f"{config}:{words}"]


def test_a_base_revision_with_merge_keys_is_still_reviewed(tmp_path: Path) -> None:
    """An earlier switchrole accepted merge keys: the pull request writing them out must still get its review,
    from a file or a git revision as the base."""
    import subprocess

    from switchrole.model.errors import ConfigError
    from switchrole.model.loading import loads
    from switchrole.review.access_diff import load_base

    merged = TEXT.replace(ERIN, "erin:  {<<: {groups: [readers]}}", 1)
    with pytest.raises(ConfigError, match="merge key"):
        loads(merged)
    base = tmp_path / "base.yaml"
    base.write_text(merged)
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT)
    org, label = load_base(str(base), config)
    assert org is not None and org.users["erin"].groups == ("readers",) and label == str(base)
    config.write_text(merged)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "accounts.yaml"], check=True)
    subprocess.run([*git, "commit", "-qm", "merge keys"], check=True)
    config.write_text(TEXT)
    org, label = load_base("HEAD", config)
    assert org is not None and org.users["erin"].groups == ("readers",) and label == "HEAD:accounts.yaml"
