"""Console display names (``<account>-<role kind>``) fitted to the console's 64 characters.

Pure text rules, low in the house: ``config`` refuses files whose fitted names would meet, and ``console`` writes
them into links.
"""

from __future__ import annotations

MAX_DISPLAY_NAME = 64  # the console refuses longer display names (AWS Extend Switch Roles cuts them to 64)
ELLIPSIS = "…"
MIN_KEY_CHARS = 32  # a long role kind key keeps at least this much of a cut name (the account the rest)


def shorten(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: its start and its end around "…" (environment words such
    as ``prod`` tend to sit at either end of a name)."""
    if len(text) <= width:
        return text
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + ELLIPSIS + text[len(text) - tail :]


def fit_display_name(account_name: str, key: str) -> str:
    """``<account>-<role kind>`` in the console's 64 characters. A name that is too long loses the middle of
    its account part and keeps its role part whole (a long key keeps at least :data:`MIN_KEY_CHARS`), so the
    roles of one account keep apart. Two long names alike at both ends could still meet:
    :func:`switchrole.model.references.check_references` refuses such a file."""
    full = f"{account_name}-{key}"
    if len(full) <= MAX_DISPLAY_NAME:
        return full
    room = MAX_DISPLAY_NAME - 1  # without the hyphen
    key_chars = min(len(key), max(MIN_KEY_CHARS, room - len(account_name)))
    return f"{shorten(account_name, room - key_chars)}-{shorten(key, key_chars)}"


def portable_display_key(key: str) -> str:
    """The role part of a StackSets link's ``<account id>-<role kind>``: 12 digits and a hyphen come first."""
    return shorten(key, MAX_DISPLAY_NAME - 13)
