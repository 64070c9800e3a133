"""Last-resort redaction of credential-shaped text on every output path.

The first line of defence is never to print an AWS answer's body or a botocore parser message at all
(:func:`switchrole.smoke.classify` turns every failure into a one-line cause). This catches what a future
message might still carry: access key ids, the values of secret-key and session-token fields, and long
base64 runs such as session tokens.
"""

from __future__ import annotations

import re

MAX_ECHO = 60  # characters of a user's value that a message may quote

_PATTERNS = (
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b"),
    re.compile(r"(?i)(secret_?access_?key|session_?token|security_?token|token)(\W{1,4})([^\s<\"',}]+)"),
    re.compile(r"[A-Za-z0-9/+=]{40,}"),
)
REDACTED = "[redacted]"


def _secret_like(match: re.Match[str]) -> str:
    """A long run with digits, upper and lower case letters (a key or token), not a path like role/a/B."""
    run = match.group(0)
    mixed = any(c.isdigit() for c in run) and any(c.isupper() for c in run) and any(c.islower() for c in run)
    return REDACTED if mixed else run


def redact(text: str) -> str:
    text = _PATTERNS[0].sub(REDACTED, text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _PATTERNS[2].sub(_secret_like, text)


def short(value: object, limit: int = MAX_ECHO) -> str:
    """``repr`` of a user's value, cut to ``limit`` characters (a 50 MB value must not become a 50 MB message)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
