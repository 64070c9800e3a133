"""Writing people's files: concurrent merges lose nothing, a replace keeps what it replaces, failures are one line."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from factories import EXAMPLE
from typer.testing import CliRunner

from switchrole.cli.main import app

runner = CliRunner()
EXE = [sys.executable, "-m", "switchrole.cli"]


def merge(config: Path, user: str, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, "profiles", "--user", user, "--config", str(config), "--merge", str(target), "--command", "switchrole"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.slow
def test_concurrent_merges_for_different_users_keep_both_blocks(tmp_path: Path) -> None:
    """Two users' merges into one file at the same time (bob and dave share no profile name): both blocks
    survive every round (without the lock, one read-modify-replace overwrote the other now and then)."""
    for round_ in range(6):
        target = tmp_path / f"config-{round_}"
        target.write_text("[default]\nregion = eu-west-1\n")
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda user, t=target: merge(EXAMPLE, user, t), ["bob", "dave"]))
        assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
        text = target.read_text()
        assert ">>> switchrole profiles for bob" in text and ">>> switchrole profiles for dave" in text, text


def test_a_replace_keeps_symlinks_mode_and_line_endings(tmp_path: Path) -> None:
    real = tmp_path / "real-config"
    real.write_bytes(b"[default]\r\nregion = eu-west-1\r\n")
    real.chmod(0o640)
    link = tmp_path / "config"
    link.symlink_to(real)
    result = merge(EXAMPLE, "bob", link)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)  # the link stays, its target changed
    data = real.read_bytes()
    assert b"switchrole profiles for bob" in data and data.count(b"\n") == data.count(b"\r\n")  # CRLF kept
    assert real.stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_repository_file_of_another_user_keeps_its_owner(tmp_path: Path) -> None:
    """A container running as root over a checkout owned by the host's user: the accounts file and the
    bootstrap template may be edited there, and stay the checkout owner's."""
    from switchrole.review.writes import replace_text

    config = tmp_path / "accounts.yaml"
    config.write_text("old\n")
    os.chown(config, 1234, 1234)
    replace_text(config, "new\n")
    assert config.read_text() == "new\n" and (config.stat().st_uid, config.stat().st_gid) == (1234, 1234)


AWS_CONFIG = b"[default]\nregion = eu-west-1\n"


def test_merging_into_a_read_only_file_is_refused(tmp_path: Path) -> None:
    """`profiles --merge` rewrote a 0444 file (a rename needs only the folder to be writable)."""
    config = tmp_path / "config"
    config.write_bytes(AWS_CONFIG)
    config.chmod(0o444)
    before = config.stat()
    result = merge(EXAMPLE, "bob", config)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"{config}: read-only (mode 0444): switchrole does not replace a file its owner made read-only "
        f"(chmod u+w {config} first, if it should change)\n"
    )
    assert result.stdout == "" and config.read_bytes() == AWS_CONFIG
    assert (config.stat().st_ino, config.stat().st_mode) == (before.st_ino, before.st_mode)  # not even replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]  # no temporary file left


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
@pytest.mark.parametrize("mode", [0o644, 0o666])
def test_merging_into_another_users_file_is_refused(tmp_path: Path, mode: int) -> None:
    """`profiles --merge` took over a config of another user; as root it kept the owner but still wrote into a
    file that is not the caller's (sudo with the wrong HOME). Refused, whatever the mode lets root do."""
    import pwd

    config = tmp_path / "config"
    config.write_bytes(AWS_CONFIG)
    config.chmod(mode)
    os.chown(config, 65534, 65534)
    link = tmp_path / "link"
    link.symlink_to(config)  # through a symlink, the target's owner counts
    for target in (config, link):
        result = merge(EXAMPLE, "bob", target)
        assert result.returncode == 2, result.stderr
        try:
            owner = f"{pwd.getpwuid(65534).pw_name} (uid 65534)"
        except KeyError:
            owner = "uid 65534"
        me = f"{pwd.getpwuid(0).pw_name} (uid 0)"
        assert result.stderr == (
            f"{target}: belongs to {owner} and you are {me}: switchrole replaces only your own AWS config "
            "(run it as that user, or merge into a copy)\n"
        )
        assert config.read_bytes() == AWS_CONFIG and config.stat().st_uid == 65534


def test_onboard_refuses_a_read_only_accounts_file(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_text(EXAMPLE.read_text())
    config.chmod(0o444)
    args = ["onboard", "--name", "shop-stg", "--account-id", "444444444444", "--roles", "ReadOnly"]
    result = runner.invoke(app, [*args, "--config", str(config)])
    assert result.exit_code == 2 and "read-only (mode 0444)" in result.stderr, result.output
    assert config.read_text() == EXAMPLE.read_text()


@pytest.mark.slow
def test_a_cr_only_file_keeps_its_line_endings(tmp_path: Path) -> None:
    """Classic Mac OS line endings (CR alone, which the AWS CLI reads): the merged block ends its lines in CR
    too, and a second merge finds the block again instead of adding another."""
    config = tmp_path / "config"
    config.write_bytes(b"[default]\rregion = eu-west-1\r")
    first = merge(EXAMPLE, "bob", config)
    assert first.returncode == 0 and "(updated)" in first.stderr, first.stderr
    data = config.read_bytes()
    assert b"\n" not in data and data.startswith(b"[default]\rregion = eu-west-1\r\r# >>> switchrole profiles for bob")
    again = merge(EXAMPLE, "bob", config)
    assert again.returncode == 0 and "(unchanged, nothing written)" in again.stderr, again.stderr
    assert config.read_bytes() == data and data.count(b">>> switchrole profiles for bob") == 1


def test_hard_links_are_not_split(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\n")
    os.link(config, tmp_path / "other-name")
    result = merge(EXAMPLE, "bob", config)
    assert result.returncode == 2 and "2 hard links" in result.stderr
    assert config.read_text() == "[default]\n"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("This is my notebook, not an INI file.\n", "not an AWS config file"),
        ('{"profiles": []}\n', "not an AWS config file"),
        ("[default]\nregion = x\x00\n", "NUL"),
    ],
)
def test_merging_into_something_the_aws_cli_could_not_read_is_refused(tmp_path: Path, content: str, words: str) -> None:
    config = tmp_path / "config"
    config.write_text(content)
    result = merge(EXAMPLE, "bob", config)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr
    assert config.read_text() == content


def test_failed_writes_are_one_line(tmp_path: Path) -> None:
    missing = merge(EXAMPLE, "bob", tmp_path / "no-such-folder" / "config")
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    utf16 = tmp_path / "utf16"
    utf16.write_text("[default]\n", encoding="utf-16")
    result = merge(EXAMPLE, "bob", utf16)
    assert result.returncode == 2 and "not UTF-8" in result.stderr
    out_file = tmp_path / "cdk.out"
    out_file.write_text("not a folder")
    synth = runner.invoke(app, ["synth", "--config", str(EXAMPLE), "--out", str(out_file)])
    assert synth.exit_code == 2 and "is a file, not a folder" in synth.stderr
    assert out_file.read_text() == "not a folder"


@pytest.mark.parametrize("where", ["under-a-file", "deep-under-a-file", "proc"])
def test_synth_out_where_no_folder_can_be_made_is_one_line(tmp_path: Path, where: str) -> None:
    """`--out <file>/sub` was "unexpected error: FileExistsError", `--out /proc/sys/x` FileNotFoundError."""
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    out = {"under-a-file": afile / "sub", "deep-under-a-file": afile / "a" / "b", "proc": Path("/proc/sys/cdkout")}
    if where == "proc" and not Path("/proc/sys").is_dir():
        pytest.skip("no /proc/sys here")
    before = sorted(tmp_path.rglob("*"))
    result = runner.invoke(app, ["synth", "--config", str(EXAMPLE), "--out", str(out[where])])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (result.output, result.exception)
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"--out {out[where]}: "), line
    assert ("afile is not a folder" if where != "proc" else "cannot write the cloud assembly there") in line
    assert sorted(tmp_path.rglob("*")) == before and afile.read_text() == "not a folder"  # nothing written


def test_onboard_keeps_crlf_line_endings(tmp_path: Path) -> None:
    config = tmp_path / "accounts.yaml"
    config.write_bytes(EXAMPLE.read_text().replace("\n", "\r\n").encode())
    args = [
        "onboard",
        "--name",
        "shop-stg",
        "--account-id",
        "444444444444",
        "--roles",
        "ReadOnly",
        "--config",
        str(config),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = config.read_bytes()
    assert b"shop-stg" in data and data.count(b"\n") == data.count(b"\r\n")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--role-arn", "garbage", "--session-name", "alice"], "is not an IAM role ARN"),
        (
            ["--role-arn", "arn:aws:iam::222222222222:role/x", "--session-name", "alice", "--duration", "100"],
            "--duration",
        ),
        (
            ["--role-arn", "arn:aws:iam::222222222222:role/x", "--session-name", "alice", "--token-code", "1"],
            "6 digits",
        ),
        (["--role-arn", "arn:aws:iam::222222222222:role/x", "--session-name", "a"], "--session-name"),
    ],
)
def test_assume_checks_its_arguments_before_calling_aws(args: list[str], words: str) -> None:
    result = runner.invoke(app, ["assume", *args])
    assert result.exit_code == 2 and words in result.stderr
    assert isinstance(result.exception, SystemExit)
