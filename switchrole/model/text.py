"""A value of the accounts file, quoted in a message: cut short, and said in words (never a Python type name).

Messages quote what the person wrote so they can find it, but a 50 MB value must not become a 50 MB message
and "got NoneType None" reads like a crash: :func:`short` cuts, :func:`described` says what YAML read.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MAX_ECHO = 60  # characters of a user's value that a message may quote


def short(value: object, limit: int = MAX_ECHO) -> str:
    """``repr`` of a user's value, cut to ``limit`` characters (a 50 MB value must not become a 50 MB message)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def described(value: object) -> str:
    """A scalar of the file as YAML reads it, for a message: ``the number 12``, ``the boolean true``,
    ``nothing (null)``, a quoted string (never a Python type name: "got NoneType None" read like a crash)."""
    import datetime

    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {short(str(value))[1:-1]}"
    if isinstance(value, datetime.date):
        return f"the date {short(str(value))[1:-1]}"
    if isinstance(value, bytes):
        return "binary data"
    return short(value)


def suggest(word: str, choices: Iterable[str] | None) -> str:
    """`` (did you mean 'x'?)`` for a near miss, else the choices, for a message about an unknown name."""
    choices = list(choices or [])
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (expected one of: {', '.join(choices)})" if choices else ""
