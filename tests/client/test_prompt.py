"""The MFA prompt in a real pseudo-terminal: on the terminal (never stdout), echo off, asked again, restored.

Each test runs a small Python program under pexpect, whose pseudo-terminal is the program's controlling
terminal, exactly as a person's terminal is for a credential_process the AWS CLI started.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pexpect

from switchrole.client.prompt import NO_TERMINAL

PROGRAM = """
import sys, termios
from switchrole.client.prompt import NoCode, read_code
try:
    code = read_code("arn:aws:iam::111111111111:mfa/ana")
    print("code=" + code)
except NoCode as exc:
    print("nocode: " + str(exc))
except KeyboardInterrupt:
    print("interrupted")
finally:
    with open("/dev/tty", "rb") as tty:
        echo = termios.tcgetattr(tty.fileno())[3] & termios.ECHO
    print("echo=" + ("on" if echo else "off"), file=sys.stderr)
"""


def spawn(tmp_path: Path) -> pexpect.spawn:
    """The program, its stdout to a file: what appears on the terminal is what the person sees."""
    script = tmp_path / "ask.py"
    script.write_text(PROGRAM)
    command = f"{sys.executable} {script} > {tmp_path / 'stdout'}"
    return pexpect.spawn("/bin/sh", ["-c", command], encoding="utf-8", timeout=30, cwd=str(Path.cwd()))


def asked(child: pexpect.spawn, prompt: str = "MFA code for") -> None:
    """The prompt is shown and the terminal's echo is off: only then is the answer typed. The program writes the
    prompt, then sets the terminal with TCSAFLUSH, which drops what was typed in between (on a loaded machine a
    keystroke sent at once could land there, and the test would wait for an answer that was dropped)."""
    child.expect_exact(prompt)
    assert child.waitnoecho(timeout=30)


def test_the_code_is_asked_on_the_terminal_with_echo_off_and_never_reaches_stdout(tmp_path: Path) -> None:
    child = spawn(tmp_path)
    asked(child, "MFA code for arn:aws:iam::111111111111:mfa/ana: ")
    child.sendline("493817")
    child.expect_exact("echo=on")  # the terminal's echo is back afterwards
    child.expect(pexpect.EOF)
    assert "493817" not in (child.before or "")  # not echoed while typed
    child.close()
    assert child.exitstatus == 0
    assert (tmp_path / "stdout").read_text() == "code=493817\n"  # the prompt never went to stdout


def test_what_is_not_a_code_is_asked_again_and_spaces_are_dropped(tmp_path: Path) -> None:
    child = spawn(tmp_path)
    asked(child)
    child.sendline("12ab")
    child.expect_exact("an MFA code is the 6 digits your device shows now")
    asked(child)
    child.sendline("123 456")
    child.expect(pexpect.EOF)
    child.close()
    assert (tmp_path / "stdout").read_text() == "code=123456\n"


def test_three_wrong_answers_end_with_one_line(tmp_path: Path) -> None:
    child = spawn(tmp_path)
    for _ in range(3):
        asked(child)
        child.sendline("x")
    child.expect(pexpect.EOF)
    child.close()
    assert (tmp_path / "stdout").read_text() == "nocode: no 6-digit MFA code was entered (3 tries)\n"


def test_end_of_input_and_ctrl_c_restore_the_terminal(tmp_path: Path) -> None:
    child = spawn(tmp_path)
    asked(child)
    child.sendeof()
    child.expect_exact("echo=on")
    child.expect(pexpect.EOF)
    assert (tmp_path / "stdout").read_text() == "nocode: no MFA code was entered (the terminal closed its input)\n"

    child = spawn(tmp_path)
    asked(child)
    child.sendintr()
    child.expect_exact("echo=on")
    child.expect(pexpect.EOF)
    assert (tmp_path / "stdout").read_text() == "interrupted\n"


def test_without_a_terminal_one_line_says_how_to_give_the_code(tmp_path: Path) -> None:
    """No controlling terminal (a new session, as under CI or cron): NoCode at once, nothing read from stdin."""
    script = tmp_path / "ask.py"
    script.write_text(PROGRAM.split("finally:")[0])
    done = subprocess.run(
        [sys.executable, str(script)], input="123456\n", capture_output=True, text=True, start_new_session=True,
        timeout=60,
    )  # fmt: skip
    assert done.stdout == f"nocode: {NO_TERMINAL}\n"
