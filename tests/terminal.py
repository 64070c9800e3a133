"""Driving the real binaries (switchrole's console script, the AWS CLI) in a pseudo-terminal, as a person does.

The pseudo-terminal is the child's controlling terminal, so a prompt on ``/dev/tty`` appears in what the
terminal shows; a command's stdout can be sent to a file instead, to check that nothing but its answer
went there.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import pexpect

SWITCHROLE = str(Path(sys.executable).parent / "switchrole")  # the console script a person runs
AWS = str(Path(sys.executable).parent / "aws")


def in_terminal(
    argv: Sequence[str],
    env: dict[str, str],
    *,
    answers: Sequence[tuple[str, str]] = (),
    stdout_to: Path | None = None,
    timeout: float = 120,
) -> tuple[int, str]:
    """Run ``argv`` in a pseudo-terminal, waiting for each prompt of ``answers`` and typing its answer; the
    exit status and everything the terminal showed (``\\r\\n`` made ``\\n``)."""
    if stdout_to is not None:
        child = pexpect.spawn("/bin/sh", ["-c", f"{shlex.join(argv)} > {shlex.quote(str(stdout_to))}"], env=env,
                              encoding="utf-8", timeout=timeout)  # fmt: skip
    else:
        child = pexpect.spawn(argv[0], list(argv[1:]), env=env, encoding="utf-8", timeout=timeout)
    shown = []
    for prompt, answer in answers:
        child.expect_exact(prompt)
        shown.append(f"{child.before}{child.after}")
        # every prompt here is an MFA code's, read with echo off: the terminal is set with TCSAFLUSH after the
        # prompt is written, so an answer typed before that is dropped (a hang on a loaded machine)
        assert child.waitnoecho(timeout=timeout), prompt
        child.sendline(answer)
    child.expect(pexpect.EOF)
    shown.append(child.before or "")
    child.close()
    status = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
    return status, "".join(shown).replace("\r\n", "\n")
