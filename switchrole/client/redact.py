"""Last-resort redaction of credential-shaped text on every output path.

The first line of defence is never to print an AWS answer's body or a botocore parser message at all
(:func:`switchrole.client.switch.classify` turns every failure into a one-line cause). This catches what a future
message might still carry, and only that (an ordinary word such as "token" stays readable):

- access key ids (``AKIA``/``ASIA`` and 12 or more capitals and digits);
- the value given to a credential key (``SecretAccessKey``, ``SessionToken``, ``SecurityToken``, their
  ``aws_secret_access_key``-style spellings), as ``key=value``, ``key: value``, ``"key": "value"`` or
  ``<Key>value``;
- secret access keys: runs of 40 or more base64 characters mixing capitals, small letters and digits;
- session tokens: runs of 100 or more base64 characters.

:class:`RedactingStream` puts it on a whole output stream (``smoke``, ``assume``, ``session`` wrap stderr, and
``smoke`` stdout too: see :func:`redacted_output`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

REDACTED = "[redacted]"

_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b")
_KEY = r"(?:aws_?)?(?:secret_?access_?key|session_?token|security_?token)|x-amz-security-token"
# the key, then a separator that makes what follows its value: = or : (quoted or not), or an XML element
_KEY_VALUE = re.compile(rf"(?i)(?<![A-Za-z0-9])({_KEY})(\"?\s*[:=]\s*\"?|>)([^\s\"'<>,;&}}\]\)]+)")
_BASE64_RUN = re.compile(r"[A-Za-z0-9/+=]{40,}")
TOKEN_LENGTH = 100  # a session token is hundreds of characters; no name or ARN part is a run this long


def _secret_like(match: re.Match[str]) -> str:
    """A long run with digits, capitals and small letters (a secret key), or a very long one (a token); not a
    path like ``role/a/B`` or a long role name without digits."""
    run = match.group(0)
    mixed = any(c.isdigit() for c in run) and any(c.isupper() for c in run) and any(c.islower() for c in run)
    return REDACTED if mixed or len(run) >= TOKEN_LENGTH else run


_known: set[str] = set()  # texts from the accounts file (role ARNs): never credentials, always shown


def never_redact(*texts: str) -> None:
    """Register texts that come from the accounts file, such as role ARNs, whose long mixed-case path and name
    would look like a secret key to the shape rules: :func:`redact` leaves them whole."""
    _known.update(t for t in texts if t)


def redact(text: str) -> str:
    """``text`` with credential-shaped parts replaced by ``[redacted]`` (texts from the file kept whole)."""
    kept: list[str] = []
    for known in sorted((k for k in _known if k in text), key=len, reverse=True):
        text = text.replace(known, f"\x00{len(kept)}\x00")  # no rule below matches a NUL-framed number
        kept.append(known)
    text = _KEY_ID.sub(REDACTED, text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _BASE64_RUN.sub(_secret_like, text)
    for n, known in enumerate(kept):
        text = text.replace(f"\x00{n}\x00", known)
    return text


class RedactingStream:
    """A text stream that redacts each line before it reaches ``target``. Text is held until its line ends,
    or until :meth:`flush`, so a credential written in pieces is still seen whole."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._pending = ""

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes streams with b"": this one takes text only
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._pending += text
        if "\n" in self._pending:
            done, _, self._pending = self._pending.rpartition("\n")
            self._emit(redact(done + "\n"))
        return len(text)

    def _emit(self, text: str) -> None:
        try:
            self._target.write(text)
        except UnicodeEncodeError:  # an ASCII terminal: "…" as \u2026 rather than no line at all
            encoding = getattr(self._target, "encoding", None) or "ascii"
            self._target.write(text.encode(encoding, "backslashreplace").decode(encoding))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self._emit(redact(pending))
        self._target.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, errors...: the target's
        # never the binary `buffer` under it: click writes there, past the redaction, when the encoding is ASCII
        if name.startswith("_") or name in ("buffer", "detach"):
            raise AttributeError(name)
        return getattr(self._target, name)


@contextmanager
def redacted_output(*, stdout: bool) -> Iterator[None]:
    """Redact every line written to stderr (and to stdout when ``stdout``) while the block runs: the last
    resort behind each command's own care. ``stdout=False`` for the commands whose stdout must carry
    credentials (the credential_process answer of ``assume`` and ``session``)."""
    saved_out, saved_err = sys.stdout, sys.stderr
    if not isinstance(saved_err, RedactingStream):  # nested (the console entry, then the command): wrapped once
        sys.stderr = RedactingStream(saved_err)
    if stdout and not isinstance(saved_out, RedactingStream):
        sys.stdout = RedactingStream(saved_out)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, RedactingStream) and stream not in (saved_out, saved_err):
                stream.flush()
        sys.stdout, sys.stderr = saved_out, saved_err
