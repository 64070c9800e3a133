"""Asking the person for an MFA code on their terminal, where they are, never on stdout.

A credential_process runs with its stdout read by the AWS CLI or SDK that started it (the credentials go
there) and its stderr captured and shown only on failure, so a prompt on either would never be seen. The
person's terminal is the process's controlling terminal, ``/dev/tty``: it is opened unbuffered for reading
and writing (``open("/dev/tty", "r+")`` fails on Linux, a terminal cannot seek), the prompt is written there,
echo is turned off while the code is typed (as ``getpass`` does) and the terminal's settings are restored
whatever happens, Ctrl-C included. A process without a controlling terminal (CI, cron, an IDE's run
button) gets one clear line saying how else to give the code, at once, instead of waiting.
"""

from __future__ import annotations

import os
import re

CODE = re.compile(r"[0-9]{6}")  # STS's TokenCode: the 6 digits of a TOTP device
ATTEMPTS = 3
MAX_LINE = 256
NO_TERMINAL = "there is no terminal to type an MFA code on: give --token-code or set SWITCHROLE_TOKEN_CODE"


class NoCode(Exception):
    """No MFA code could be had from the person; the message is one line saying why and what to do."""


def read_code(device: str | None = None, *, attempts: int = ATTEMPTS) -> str:
    """A 6-digit code typed at the controlling terminal, asked again (up to ``attempts`` times) when what was
    typed is not one; :class:`NoCode` when there is no terminal, or nothing usable was typed."""
    prompt = f"MFA code for {device}: " if device else "MFA code: "
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        raise NoCode(NO_TERMINAL) from None
    try:
        for _ in range(attempts):
            line = _read_hidden(fd, prompt)
            if line is None:
                raise NoCode("no MFA code was entered (the terminal closed its input)")
            code = "".join(line.split())  # "123 456", as some authenticator apps show it
            if CODE.fullmatch(code):
                return code
            os.write(fd, b"an MFA code is the 6 digits your device shows now\n")
        raise NoCode(f"no 6-digit MFA code was entered ({attempts} tries)")
    finally:
        os.close(fd)


def _read_hidden(fd: int, prompt: str) -> str | None:
    """One line from the terminal ``fd`` with echo off; None at end of input."""
    try:
        import termios
    except ImportError:  # not a POSIX system: the code is echoed
        termios = None  # type: ignore[assignment]
    saved = None
    if termios is not None:
        try:
            saved = termios.tcgetattr(fd)
        except termios.error:
            raise NoCode(NO_TERMINAL) from None
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO  # lflags
    os.write(fd, prompt.encode())
    if saved is not None:
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
    try:
        data = b""
        while not data.endswith(b"\n") and len(data) < MAX_LINE:
            chunk = os.read(fd, MAX_LINE)
            if not chunk:
                break
            data += chunk
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
            os.write(fd, b"\n")  # the Enter the person typed was not echoed
    if not data:
        return None
    return data.decode("utf-8", errors="replace")
