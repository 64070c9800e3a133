"""Inputs a fuzzing pass found to crash, hang or exhaust memory: each is a clean exit 2 now, quickly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories import EXAMPLE
from ruamel.yaml import YAML
from typer.testing import CliRunner

from switchrole.cli.main import app
from switchrole.model import yaml_bounds
from switchrole.model.errors import ConfigError

runner = CliRunner()
TEXT = EXAMPLE.read_text()
INLINE = "    managed_policies: [ReadOnlyAccess]\n"


def with_policy(document: str) -> str:
    """The example with ReadOnly's inline policy written as ``document`` (YAML, indented under its name)."""
    body = "".join(f"        {line}\n" for line in document.splitlines())
    return TEXT.replace(INLINE, f"{INLINE}    inline_policies:\n      Extra:\n{body}", 1)


STATEMENT = "Statement: [{Effect: Deny, Action: 's3:*', Resource: '*'}]"
CASES = {
    "unquoted-date": with_policy(f"Version: 2012-10-17\n{STATEMENT}"),
    "sub-tag": with_policy("Version: '2012-10-17'\nStatement: [{Effect: Deny, Action: 's3:*', Resource: !Sub 'x'}]"),
    "binary": with_policy(f"Version: !!binary aGVsbG8=\n{STATEMENT}"),
    "set": with_policy("Version: '2012-10-17'\nStatement: !!set {a, b}"),
    "nan": with_policy("Version: '2012-10-17'\nStatement: [{Effect: Deny, Action: 's3:*', Resource: .nan}]"),
    "statement-5": with_policy("Version: '2012-10-17'\nStatement: 5"),
    "huge-integer": TEXT.replace("max_session_duration: 3600\n", f"max_session_duration: {'9' * 5000}\n", 1),
    "deep-nesting": TEXT + "extra: " + "[" * 300 + "]" * 300 + "\n",
    "complex-key": TEXT + "? {a: 1}\n: b\n",
    "yaml-1.3": "%YAML 1.3\n---\n" + TEXT,
    "self-alias": TEXT.replace("users:\n", "loop: &loop [*loop]\nusers:\n", 1),
    "alias-bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))
    + TEXT,
    "control-chars": TEXT.replace("Read-only view", "Read-only \x1b[31m view", 1),
    "bom-in-text": TEXT.replace("Read-only view", "Read-only \ufeff view", 1),
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "alias-bomb" else n for n in CASES])
def test_odd_yaml_is_a_clean_exit_2(tmp_path: Path, name: str) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(CASES[name])
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 2, (name, result.output, result.exception)
    assert isinstance(result.exception, SystemExit)  # not an exception escaping as a traceback
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith(str(config)) for line in lines), result.stderr
    assert all(len(line) < 1100 for line in lines)


def test_a_latin1_byte_is_named_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_bytes(TEXT.replace("Break-glass", "Br\xe9ak-glass").encode("latin-1"))
    result = runner.invoke(app, ["validate", "--config", str(config)])
    line = TEXT[: TEXT.index("Break-glass")].count("\n") + 1
    assert result.exit_code == 2 and "not UTF-8: byte 0xe9" in result.stderr and f":{line}:" in result.stderr


@pytest.mark.slow
def test_an_ordered_map_is_just_a_map(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(with_policy(f"!!omap\n- Version: '2012-10-17'\n- {STATEMENT}"))
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 0, result.output


def test_large_files_are_refused_before_reading(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT + "#" * 3_000_000 + "\n")
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 2 and "is 3,00" in result.stderr and "bytes; at most 2,000,000 are read" in result.stderr


@pytest.mark.slow
def test_a_huge_value_is_echoed_short(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT.replace("name: identity", f"name: {'x' * 1_500_000}", 1))
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 2 and len(result.stderr) < 2000 and "…" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
def test_only_regular_files_are_read(tmp_path: Path, kind: str) -> None:
    """A FIFO would block forever and /dev/zero never ends: refused before reading, for --config and --merge."""
    if kind == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    elif kind == "directory":
        path = tmp_path
    else:
        path = Path("/dev/zero")
    for args in (["validate", "--config", str(path)], ["profiles", "--user", "bob", "--config", str(EXAMPLE),
                                                        "--merge", str(path)]):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "switchrole.cli", *args], capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert result.returncode == 2, (args, result.stderr)
        assert "not a regular file" in result.stderr and "Traceback" not in result.stderr


WILDCARD = "Version: '2012-10-17'\nStatement: [{Effect: Allow, Action: 'iam:*', Resource: '*'}]"


@pytest.mark.parametrize("mode", ["stacks", "stacksets"])
def test_validate_gives_synths_answer_for_cdk_nag_findings(tmp_path: Path, mode: str) -> None:
    """An inline policy cdk-nag flags: validate said OK, then synth failed (in StackSets mode with a traceback)."""
    base = TEXT if mode == "stacks" else (EXAMPLE.parent / "examples" / "stacksets.yaml").read_text()
    body = "".join(f"        {line}\n" for line in WILDCARD.splitlines())
    config = tmp_path / "accounts.yaml"
    config.write_text(base.replace(INLINE, f"{INLINE}    inline_policies:\n      Wide:\n{body}", 1))
    quick = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert quick.exit_code == 0 and "--quick: synthesis not checked" in quick.stdout
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "cdk-nag finding AwsSolutions-IAM5[" in result.stderr and "is not acknowledged" in result.stderr
    synth = runner.invoke(app, ["synth", "--config", str(config), "--out", str(tmp_path / "cdk.out")])
    assert synth.exit_code == 2 and isinstance(synth.exception, SystemExit)
    assert not (tmp_path / "cdk.out").exists()


ERIN = "erin:  {groups: []}"
SELF_ALIASES = {
    "in-a-list": ("erin: &e {groups: [*e]}", "users.erin.groups[0]", "&e"),
    "as-a-time": ("erin: &e {groups: [], until: *e}", "users.erin.until", "&e"),
}


@pytest.mark.parametrize("name", list(SELF_ALIASES))
def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path, name: str) -> None:
    """ruamel constructs a recursive alias as None (a misleading 'got NoneType', or exit 0 for `until: *e`): each
    is refused by name, at its line."""
    entry, path, anchor = SELF_ALIASES[name]
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT.replace(ERIN, entry, 1))
    line = TEXT[: TEXT.index(ERIN)].count("\n") + 1
    result = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{config}:{line}: {path}: an alias inside its own anchor ({anchor}) is refused\n"


def test_a_description_aliasing_its_own_map_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT.replace("description: Break-glass administration", "description: &p {a: *p}", 1))
    result = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 2 and "roles.Admin.description.a: an alias inside its own anchor (&p)" in result.stderr


def test_an_alias_of_an_earlier_anchor_is_fine(tmp_path: Path) -> None:
    """Not every alias under an anchor of the same name is recursive: an anchor redefined inside is another node."""
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT.replace(ERIN, "erin: &e {groups: &e [readers], until: '2099-01-01T00:00:00Z'}\n  "
                                   "frank: {groups: *e}", 1))  # fmt: skip
    result = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 0, result.output


def test_an_ordered_map_with_a_key_twice_is_refused(tmp_path: Path) -> None:
    """ruamel's constructor asserts !!omap keys are distinct: it said 'not valid YAML: AssertionError'."""
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT.replace(ERIN, "erin: !!omap [{groups: []}, {groups: [readers]}]", 1))
    result = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 2
    assert "users.erin[1]: an ordered map (!!omap) lists the key 'groups' twice" in result.stderr


TAGGED = {
    "tagged-map": ("erin: !Foo {groups: []}", "users.erin", "!Foo"),
    "tagged-list": ("erin: {groups: !Foo []}", "users.erin.groups", "!Foo"),
    "set": ("erin: {groups: !!set {readers}}", "users.erin.groups", "!!set"),
    "non-specific": ("erin: {groups: [! readers]}", "users.erin.groups[0]", "!"),
    "int-on-a-word": ("erin: {groups: [!!int readers]}", "users.erin.groups[0]", "!!int"),
    "map-on-a-list": ("erin: {groups: !!map []}", "users.erin.groups", "!!map"),
}


@pytest.mark.parametrize("name", list(TAGGED))
def test_a_tag_on_a_map_or_list_is_refused_like_on_a_scalar(tmp_path: Path, name: str) -> None:
    """`!Foo {a: 1}` was accepted as a plain map, though a YAML tag is refused: only the core tags that say what the
    value already is (or !!str, making any scalar a string) are allowed."""
    entry, path, tag = TAGGED[name]
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT.replace(ERIN, entry, 1))
    result = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert f"{path}: YAML tag {tag} is not allowed here" in result.stderr


def test_core_tags_that_name_the_values_own_kind_are_allowed(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    text = TEXT.replace(ERIN, "erin: !!map {groups: !!seq [!!str readers]}", 1)
    text = text.replace('account_id: "222222222222"', "account_id: !!str 222222222222", 1)
    config.write_text(text.replace("max_session_duration: 3600\n", "max_session_duration: !!int 3600\n", 1))
    result = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 0, result.output


ZEROS = 950_000
VALUES = "the file has more than 100,000 values as written"
LARGE = {  # each was answered after 9 to 78 s (and 1.3 GB) before the parse was bounded
    "flow-list": (TEXT + "junk: [" + ",".join(["0"] * ZEROS) + "]\n", f"junk[99782]: {VALUES}"),
    "block-list": (TEXT + "junk:\n" + "- 0\n" * 480_000, "the file has 480,070 lines; at most 100,000 are read"),
    "anchors": (
        TEXT + "junk:\n" + "".join(f"- &a{i} 0\n" for i in range(60_000)),
        "junk[10000]: the file has more than 10,000 YAML anchors",
    ),
    "deep-flow": (TEXT + "junk: " + "[" * 5000 + "\n", "nested more than 64 levels"),
    "deep-map": (TEXT + "junk: " + "{a: " * 900 + "\n", "junk" + ".a" * 62 + ": nested more than 64 levels"),
    "comments": ("#\n" * 900_000 + TEXT, "the file has 900,069 lines; at most 100,000 are read"),
    "aliases": (TEXT + "junk: [&z 0, " + ",".join(["*z"] * 600_000) + "]\n", f"junk[99782]: {VALUES}"),
    "self-alias": (
        TEXT + "junk: &z [" + ",".join(["*z"] * 600_000) + "]\n",
        "junk[0]: an alias inside its own anchor (&z)",
    ),
}


@pytest.mark.parametrize("name", list(LARGE))
def test_large_inputs_are_refused_before_the_expensive_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Each file under the size limit that goes past a limit is refused, with the limit named in one line, before
    ruamel's pure-Python composer sees a single node (it took 10 s of CPU for the flow list on a slow machine).
    How long that takes is a benchmark's figure (bench/fuzz.py --limits, BENCHMARKS.md), not a test's."""
    text, words = LARGE[name]
    assert len(text.encode()) <= 2_000_000
    config = tmp_path / "accounts.yaml"
    config.write_text(text)
    composed: list[object] = []
    original = yaml_bounds.CheckingComposer.compose_node

    def counting(self: yaml_bounds.CheckingComposer, parent: object, index: object) -> object:
        composed.append(index)
        return original(self, parent, index)

    monkeypatch.setattr(yaml_bounds.CheckingComposer, "compose_node", counting)
    result = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 2 and f"{config}:" in result.stderr and words in result.stderr, result.stderr[:300]
    assert len(result.stderr.splitlines()) == 1
    assert composed == []


@pytest.mark.slow
def test_the_limits_leave_room_for_5000_accounts() -> None:
    """The parse limits are well above what the benchmark's 5,000-account organisation is, written out."""
    from factories import dump

    from bench.organisations import organisation
    from switchrole.model.yaml_bounds import MAX_ANCHORS, MAX_LINES, MAX_NODES, CheckingComposer

    text = dump(organisation(5000))
    yaml = YAML(typ="rt")
    yaml.Composer = CheckingComposer
    yaml.load(text)
    assert yaml.composer.budget.nodes * 1.8 < MAX_NODES and text.count("\n") * 2.5 < MAX_LINES
    assert yaml.composer.budget.anchors * 100 < MAX_ANCHORS


READONLY = "Read-only view of the account for engineers and on-call"
SYNTH_CRASHES = {  # each validated (--quick: all of them; full validate: the surrogate), then synth failed or lied
    "string-token": (TEXT.replace(READONLY, "x ${Token[TOKEN.99]} y", 1), "'${Token[' is how CDK marks a token"),
    "list-token": (TEXT.replace("[ReadOnlyAccess]", "['#{Token[TOKEN.99]}']", 1), "'#{Token[' is how CDK marks"),
    "stringified-number-token": (TEXT.replace(READONLY, "x -1.8881545897087626e+289", 1), "how CDK marks a token"),
    "token-in-a-policy": (with_policy(STATEMENT.replace("'s3:*'", "'${Token[X.1]}'")), "how CDK marks a token"),
    "token-in-a-key": (TEXT.replace("name: identity", "name: identity\n  ${Token[X.1]}: x", 1), "how CDK marks"),
    "number-token": (
        with_policy(STATEMENT.replace("}]", ", Condition: {NumericLessThan: {'aws:x': -1.8881545897087626e+289}}}]")),
        "how CDK encodes a number token",
    ),
    "integer-past-2^53": (  # synth wrote null (and CDK's validation report on stderr)
        with_policy(STATEMENT.replace("}]", f", Condition: {{NumericLessThan: {{'aws:x': {'9' * 400}}}}}}}]")),
        "is not a number JSON can carry exactly",
    ),
    "lone-surrogate": (
        with_policy('Version: "2012-10-17"\nStatement: [{Effect: Deny, Action: "s3:\\ud800", Resource: "*"}]'),
        "not valid Unicode: a lone surrogate U+D800",
    ),
}


@pytest.mark.parametrize("name", list(SYNTH_CRASHES))
def test_what_synth_cannot_carry_is_refused_at_validate(tmp_path: Path, name: str) -> None:
    """CDK token markers made synth fail with 'unexpected error: RuntimeError: UnrecognizedTokenKey' after validate
    --quick said OK; a lone surrogate validated and synth wrote a template that is not valid JSON."""
    text, words = SYNTH_CRASHES[name]
    config = tmp_path / "accounts.yaml"
    config.write_text(text, encoding="utf-8", errors="surrogatepass")
    for args in (["validate", "--quick"], ["validate"], ["synth", "--out", str(tmp_path / "cdk.out")]):
        result = runner.invoke(app, [*args, "--config", str(config)])
        assert result.exit_code == 2, (args, result.output)
        assert words in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert not (tmp_path / "cdk.out").exists()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["validate", "synth"])
def test_cdk_nag_findings_are_one_line_each_and_nothing_else(tmp_path: Path, command: str) -> None:
    """CDK printed its own validation report (about 20 lines for one finding) before switchrole's lines whenever
    it ran as a process (under pytest it keeps quiet: the environment is cleaned of pytest's variables here)."""
    body = "".join(f"        {line}\n" for line in WILDCARD.splitlines())
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT.replace(INLINE, f"{INLINE}    inline_policies:\n      Wide:\n{body}", 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    args = ["--out", str(tmp_path / "cdk.out")] if command == "synth" else []
    result = subprocess.run(
        [sys.executable, "-m", "switchrole.cli", command, "--config", str(config), *args],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 8, result.stderr  # IAM5 on Action and on Resource, in each of the 4 accounts' ReadOnly
    assert all("cdk-nag finding AwsSolutions-IAM5[" in line for line in lines), result.stderr
    assert not (tmp_path / "cdk.out").exists()


def test_a_failed_cloudformation_validation_is_one_line_per_finding(tmp_path: Path) -> None:
    """CDK's built-in template validation fails synthesis on an error (it printed a block of warnings before)."""
    from switchrole.infra.nag import findings

    report = tmp_path / "validation-report.json"
    violation = {
        "ruleName": "E3510",
        "description": "Policies.0.PolicyDocument.Statement.0.Condition: null is not of type 'number'",
        "severity": "error",
        "violatingConstructs": [{"constructPath": "SwitchRole-a/ReadOnly/Resource"}],
    }
    report.write_text(
        json.dumps({"pluginReports": [
            {"pluginName": "AwsSolutions", "conclusion": "success", "violations": []},
            {"pluginName": "CloudFormation Validate", "conclusion": "failure", "violations": [violation]},
        ]})
    )  # fmt: skip
    assert findings(report) == [
        "SwitchRole-a/ReadOnly/Resource: CloudFormation would refuse this template: "
        "Policies.0.PolicyDocument.Statement.0.Condition: null is not of type 'number' (CloudFormation Validate E3510)"
    ]


def test_a_file_with_policy_problems_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate parsed a file twice when the generated policies had problems (to name their lines): twice the
    time of the largest step for a large file."""
    from switchrole.infra import validate

    parses: list[int] = []
    real = YAML.load
    monkeypatch.setattr(YAML, "load", lambda self, stream: parses.append(1) or real(self, stream))
    values = ", ".join(f"v{i:05d}" for i in range(2000))
    config = tmp_path / "accounts.yaml"
    condition = f", Condition: {{StringEquals: {{'aws:x': [{values}]}}}}}}]"
    config.write_text(with_policy("Version: '2012-10-17'\n" + STATEMENT.replace("}]", condition)))
    with pytest.raises(ConfigError, match="inline policies total"):
        validate.load_checked(config)
    assert len(parses) == 1


def test_a_flood_of_problems_is_cut_to_a_readable_count(tmp_path: Path) -> None:
    """A junk list of 99,000 items printed 99,000 problem lines: the first 200 are shown, the rest counted."""
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT.replace("accounts:\n", "accounts:\n" + "  - 7\n" * 300, 1))
    result = runner.invoke(app, ["validate", "--quick", "--config", str(config)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 201 and lines[0].startswith(f"{config}:")
    assert lines[-1].endswith(": … and 100 more problems (fix these, then validate again)")
