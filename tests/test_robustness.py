"""Inputs a fuzzing pass found to crash, hang or exhaust memory: each is a clean exit 2 now, quickly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import EXAMPLE
from typer.testing import CliRunner

from switchrole.cli import app

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


@pytest.mark.parametrize("name", list(CASES))
def test_odd_yaml_is_a_clean_exit_2(tmp_path: Path, name: str) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(CASES[name])
    start = time.monotonic()
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert time.monotonic() - start < 10, name
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


def test_an_ordered_map_is_just_a_map(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(with_policy(f"!!omap\n- Version: '2012-10-17'\n- {STATEMENT}"))
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 0, result.output


def test_large_files_are_refused_before_reading(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT + "#" * 3_000_000 + "\n")
    start = time.monotonic()
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert time.monotonic() - start < 2
    assert result.exit_code == 2 and "at most 2,000,000 are read" in result.stderr


def test_a_huge_value_is_echoed_short(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(TEXT.replace("name: identity", f"name: {'x' * 1_500_000}", 1))
    result = runner.invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 2 and len(result.stderr) < 2000 and "…" in result.stderr


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
