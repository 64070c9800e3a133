"""The CLI follows the conventions of a Typer/Rich tool: help, -h, completion, choices, empty results, outputs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
import typer.core
from factories import EXAMPLE
from rich.console import Console
from typer.main import get_command
from typer.testing import CliRunner

from switchrole.cli import local_commands
from switchrole.cli.main import app
from switchrole.local.authz import MFA_READINGS
from switchrole.model.loading import load
from switchrole.review.matrix import records, to_table

runner = CliRunner()


def commands(group: Any = None, prefix: str = "") -> list[tuple[str, Any]]:
    """Every command of the CLI, with its full name ("local demo")."""
    found = []
    for name, command in getattr(group or get_command(app), "commands", {}).items():
        full = f"{prefix} {name}".strip()
        found += commands(command, full) if hasattr(command, "commands") else [(full, command)]
    return found


def test_every_option_of_every_command_has_help() -> None:
    missing = [
        f"{name} {param.opts[0]}"
        for name, command in commands()
        for param in command.params
        if param.param_type_name == "option" and not (param.help or "").strip()
    ]
    assert len(commands()) >= 16
    assert missing == []


@pytest.mark.parametrize("name", ["", "assume", "matrix", "local demo", "onboard"])
def test_help_reads_like_a_conventional_cli(name: str) -> None:
    """Flags show no value; values show TEXT/INTEGER/PATH, their choices or their metavar; -h works everywhere."""
    result = runner.invoke(app, [*name.split(), "-h"], terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "Usage: switchrole" in result.output
    assert not re.search(r"<(bool|str|int|path|list\[str\])>", result.output), result.output
    if name == "assume":
        assert re.search(r"--source-identity\s+Set SourceIdentity", result.output)
        assert re.search(r"--role-arn\s+TEXT", result.output)
        assert re.search(r"--duration\s+INTEGER", result.output)
    if name == "matrix":
        assert re.search(r"--format\s+-f\s+\[table\|md\|json\]", result.output)
    if name == "onboard":
        assert re.search(r"--grant\s+GROUP:ROLE", result.output)
    if name == "":
        assert "--install-completion" in result.output and "-h" in result.output


def test_the_help_renderer_is_where_typer_has_it() -> None:
    """help_style replaces one method of Typer's: fail loudly when an upgrade moves it."""
    assert typer.core.TyperOption.display_type_rich.__module__ == "switchrole.cli.help_style"


def test_mfa_readings_are_the_emulator_s() -> None:
    annotation = get_args(get_type_hints(local_commands.local_demo, include_extras=True)["mfa_reading"])[0]
    assert get_args(annotation) == MFA_READINGS


@pytest.mark.parametrize(
    "args",
    [["matrix", "--format", "xml"], ["links", "--user", "bob", "--format", "pdf"], ["diff", "--base", "x", "-f", "x"]],
)
def test_enumerated_options_are_checked_by_the_parser(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--config", str(EXAMPLE)])
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.output


def _valid(fmt: str, stdout: str) -> bool:
    """Is ``stdout`` a document of ``fmt`` holding no role: what a reader of a redirected file accepts?"""
    import configparser

    if fmt == "profiles":  # at most the hub MFA session (of a user whose every switch ended): no role
        parser = configparser.RawConfigParser(strict=True, interpolation=None)
        parser.read_string(stdout)
        return " assume " not in stdout and len(parser.sections()) <= 1
    if fmt == "html":
        return stdout.startswith("<!doctype html>") and stdout.rstrip().endswith("</html>") and "<li" not in stdout
    if fmt == "json":
        return stdout.strip() == "[]"
    if fmt in ("md", "matrix-md"):  # the header and its rule, no row
        return stdout.startswith("| ") and sum(line.startswith("|") for line in stdout.splitlines()) == 2
    return stdout.strip() == ""


EMPTY_OUTPUTS = [
    (["profiles", "--command", "switchrole"], "profiles"),
    (["links"], "text"),
    (["links", "--format", "md"], "md"),
    (["links", "--format", "html"], "html"),
    (["matrix", "--format", "md"], "matrix-md"),
    (["matrix", "--format", "json"], "json"),
]


@pytest.mark.parametrize(("args", "fmt"), EMPTY_OUTPUTS, ids=[f for _, f in EMPTY_OUTPUTS])
def test_a_user_without_roles_gets_a_valid_empty_output_and_a_note_on_stderr(args: list[str], fmt: str) -> None:
    """`links`, `matrix` printed 'erin has no roles' on stdout (exit 0): redirected, that line became the AESR
    config, the HTML page or the Markdown. stdout is now the format's empty document, the note goes to stderr,
    and the exit code stays 0 (a script writing every user's config goes on; a merge removes stale profiles)."""
    result = runner.invoke(app, [*args, "--user", "erin", "--config", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert _valid(fmt, result.stdout), result.stdout
    assert "no role" not in result.stdout
    assert (
        result.stderr
        == "note: erin has no role to switch into (no group of theirs grants one); the output lists none\n"
    )


def test_a_user_whose_every_switch_ended_is_told_so(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(
        EXAMPLE.read_text().replace("erin:  {groups: []}", "erin:  {groups: [readers], until: 2020-01-01T00:00:00Z}", 1)
    )
    for args, fmt in EMPTY_OUTPUTS[:4]:
        result = runner.invoke(app, [*args, "--user", "erin", "--config", str(config)])
        assert result.exit_code == 0 and _valid(fmt, result.stdout), (args, result.output)
        assert result.stderr == (
            "note: erin has no role to switch into (every switch of theirs has ended (until:)); the output lists none\n"
        )


@pytest.mark.parametrize("user", ["erin", "frank"])
def test_an_extend_switch_roles_config_without_a_role_is_refused(tmp_path: Path, user: str) -> None:
    """The extension refuses to save a configuration without a target (its base profile alone reads as a target
    without a role name), so nothing is printed: `> file` leaves no configuration that looks usable."""
    config = tmp_path / "accounts.yaml"
    ended = "erin:  {groups: []}\n  frank: {groups: [readers], until: 2020-01-01T00:00:00Z}"
    config.write_text(EXAMPLE.read_text().replace("erin:  {groups: []}", ended, 1))
    result = runner.invoke(app, ["links", "--user", user, "--format", "extend-switch-roles", "--config", str(config)])
    why = "no group of theirs grants one" if user == "erin" else "every switch of theirs has ended (until:)"
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        f"{user} has no role to switch into ({why}): AWS Extend Switch Roles would refuse a configuration without "
        "a role; nothing printed\n"
    )


def test_merging_an_empty_block_removes_the_profiles_a_user_no_longer_has(tmp_path: Path) -> None:
    aws_config = tmp_path / "config"
    aws_config.write_text("[default]\nregion = eu-west-1\n")
    text = EXAMPLE.read_text()
    config = tmp_path / "accounts.yaml"
    config.write_text(text.replace("erin:  {groups: []}", "erin:  {groups: [readers]}", 1))
    merge = ["profiles", "--user", "erin", "--command", "switchrole", "--merge", str(aws_config)]
    assert runner.invoke(app, [*merge, "--config", str(config)]).exit_code == 0
    assert "[profile shop-prod-ReadOnly]" in aws_config.read_text()
    config.write_text(text)  # erin leaves readers
    result = runner.invoke(app, [*merge, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "[profile" not in aws_config.read_text() and aws_config.read_text().startswith("[default]\n")
    assert result.stderr.splitlines()[-1] == (
        "note: erin has no role to switch into (no group of theirs grants one); the block lists none"
    ), result.stderr


def test_matrix_json_of_a_user_without_roles_is_an_empty_list() -> None:
    result = runner.invoke(app, ["matrix", "--user", "erin", "--format", "json", "--config", str(EXAMPLE)])
    assert result.exit_code == 0 and result.stdout.strip() == "[]"


def test_matrix_terminal_table_groups_by_user_and_never_cuts_names() -> None:
    org = load(EXAMPLE)
    console = Console(width=80, record=True, color_system="truecolor")
    console.print(to_table(org, records(org)))
    text = console.export_text(clear=False)
    for account in ("shop-prod", "shop-dev", "data-prod", "data-dev"):
        assert account in text
    assert text.count("alice") == 1  # named once, its rows grouped under it
    assert "22 switches for 4 users" in text
    html = console.export_html(inline_styles=True)
    assert "#d13212" in html and "#2ea043" in html  # prod red, dev green, like the console links


def test_matrix_defaults_to_markdown_when_not_a_terminal() -> None:
    result = runner.invoke(app, ["matrix", "--config", str(EXAMPLE)])
    assert result.exit_code == 0 and result.stdout.startswith("| user | group |")


def test_extend_switch_roles_refuses_a_user_with_no_console_role() -> None:
    """dave's only role needs an external id: the extension would refuse `[identity]` alone ("role_name is
    required"), so nothing is printed and the reason is given."""
    result = runner.invoke(app, ["links", "--user", "dave", "-f", "extend-switch-roles", "--config", str(EXAMPLE)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no role the console can switch into" in result.stderr


def test_extend_switch_roles_names_the_hub_alias() -> None:
    result = runner.invoke(app, ["links", "--user", "alice", "-f", "extend-switch-roles", "--config", str(EXAMPLE)])
    assert "[identity]\naws_account_id = 111111111111\naws_account_alias = acme-identity\n" in result.stdout


@pytest.mark.parametrize("alias", ["ab", "Acme", "acme--id", "-acme", "acme-", "a" * 64])
def test_hub_alias_must_be_an_iam_account_alias(tmp_path: Path, alias: str) -> None:
    config = tmp_path / "a.yaml"
    config.write_text(EXAMPLE.read_text().replace("alias: acme-identity", f'alias: "{alias}"'))
    result = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 2 and "hub.alias" in result.stderr and "IAM account alias" in result.stderr


def test_profiles_merge_reports_added_removed_and_unchanged(tmp_path: Path) -> None:
    aws_config = tmp_path / "config"
    merge = ["profiles", "--user", "carol", "--merge", str(aws_config), "--command", "switchrole"]
    first = runner.invoke(app, [*merge, "--config", str(EXAMPLE)])
    assert first.exit_code == 0, first.output
    assert re.search(r"switchrole profiles for carol: (\d+) added \(written\)", first.stderr)
    again = runner.invoke(app, [*merge, "--config", str(EXAMPLE)])
    assert re.search(r"carol: \d+ unchanged \(unchanged, nothing written\)", again.stderr), again.stderr
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(
        EXAMPLE.read_text().replace("carol: {groups: [data-developers, readers]}", "carol: {groups: [readers]}")
    )
    shrunk = runner.invoke(app, [*merge, "--config", str(smaller)])
    assert re.search(r"carol: 1 removed, \d+ unchanged \(updated\)", shrunk.stderr), shrunk.stderr


def test_a_second_user_on_the_same_aws_config_gets_the_real_reason(tmp_path: Path) -> None:
    aws_config = tmp_path / "config"
    for user, code in (("alice", 0), ("carol", 2)):
        result = runner.invoke(app, ["profiles", "--user", user, "--merge", str(aws_config), "--config", str(EXAMPLE)])
        assert result.exit_code == code, result.output
    assert "is in switchrole's block for alice" in result.stderr
    assert "AWS_CONFIG_FILE" in result.stderr  # the way out
    assert "outside switchrole's block" not in result.stderr


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.yaml"
    shutil.copy(EXAMPLE, path)
    return path


def test_onboard_roles_and_grant_are_both_repeatable_or_comma_lists(config: Path) -> None:
    args = ["onboard", "--name", "shop-stg", "--account-id", "444444444444", "--config", str(config), "--dry-run"]
    grants = ["shop-developers:ReadOnly", "shop-developers:Developer"]
    repeated = runner.invoke(
        app, [*args, "--roles", "ReadOnly", "--roles", "Developer", "--grant", grants[0], "--grant", grants[1]]
    )
    commas = runner.invoke(app, [*args, "--roles", "ReadOnly,Developer", "--grant", ",".join(grants)])
    assert repeated.exit_code == commas.exit_code == 0, repeated.output + commas.output
    assert repeated.stdout == commas.stdout and "roles: [ReadOnly, Developer]" in commas.stdout


def test_onboard_names_the_star_groups_that_reach_the_new_account(config: Path) -> None:
    result = runner.invoke(
        app, ["onboard", "--name", "shop-stg", "--account-id", "444444444444", "--roles", "ReadOnly,Admin",
              "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert 'platform-admins (Admin), readers (ReadOnly) reach shop-stg too, through accounts: "*"' in result.stderr


def test_onboard_never_cites_lines_of_a_file_it_did_not_write(config: Path) -> None:
    result = runner.invoke(
        app, ["onboard", "--name", "shop-stg", "--account-id", "444444444444", "--roles", "ReadOnly,Root",
              "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "(as edited; nothing was written)" in result.stderr
    assert not re.search(rf"{re.escape(str(config))}:\d+:", result.stderr), result.stderr


def test_every_command_summary_is_one_line() -> None:
    """The command list shows each docstring's first paragraph: a line break inside it breaks the listing."""
    long = [name for name, command in commands() if "\n" in (command.help or "").strip().split("\n\n")[0]]
    assert long == []


def test_the_audit_defaults_are_the_audit_module_s() -> None:
    """The cli states them as literals (importing the audit package would load boto3 for every command)."""
    from switchrole.live.audit.findings import DEFAULT_MAX_KEY_AGE, WORKERS

    defaults = {p.name: p.default for _, c in commands() if c.name == "audit" for p in c.params}
    assert (defaults["max_key_age"], defaults["workers"]) == (DEFAULT_MAX_KEY_AGE, WORKERS)


def test_endpoint_options_take_both_spellings() -> None:
    for name in ("audit", "local credentials", "local mfa-code"):
        command = dict(commands())[name]
        (option,) = [p for p in command.params if "--endpoint" in p.opts]
        assert set(option.opts) >= {"--endpoint", "--endpoint-url"}, name


def test_every_command_is_its_options_and_a_run_that_returns_the_exit_code() -> None:
    """The Typer function only declares the options: its body builds the command's Options and exits with the code
    its run function returns (smoke and audit, in modules of their own, load the file first)."""
    import ast
    import inspect
    import textwrap

    for name, command in commands():
        function = command.callback.__wrapped__ if hasattr(command.callback, "__wrapped__") else command.callback
        body = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0].body  # type: ignore[attr-defined]
        statements = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        last = statements[-1]
        assert isinstance(last, ast.Raise) and "typer.Exit(" in ast.unparse(last), name
        source = ast.unparse(ast.Module(body=statements, type_ignores=[]))
        assert re.search(r"\brun(_\w+)?\(", source) and "Options(" in source, (name, source)
        if name not in ("smoke", "audit"):
            assert len(statements) <= 2, (name, source)


@pytest.mark.parametrize(
    ("run", "options", "line"),
    [
        ("infra_commands.run_validate", lambda tmp: {"config": tmp / "missing.yaml"}, "missing.yaml"),
        ("review_commands.run_matrix", lambda tmp: {"config": EXAMPLE, "user": "nobody"}, "--user: no user 'nobody'"),
        ("client_commands.run_links", lambda tmp: {"user": None, "permission_set": None, "config": EXAMPLE}, "give"),
        ("local_commands.run_local_stop", lambda tmp: {"folder": tmp / "none"}, ""),
    ],
)
def test_a_run_called_from_python_returns_a_refusal_as_its_exit_code(
    run: str, options: Any, line: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib

    module_name, function_name = run.split(".")
    module = importlib.import_module(f"switchrole.cli.{module_name}")
    function = getattr(module, function_name)
    options_type = get_type_hints(function.__wrapped__)["options"]
    assert function(options_type(**options(tmp_path))) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert line in captured.err and captured.err.strip()
