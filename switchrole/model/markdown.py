"""Markdown that strings from the accounts file cannot steer.

A review is only as good as its rendering: a newline plus ``<!--`` in an inline policy's Resource once hid every
later line of the review GitHub renders. Two tools, for CommonMark and GitHub's tables:

- :func:`code` puts free-form text (policy actions and resources, labels) in an inline code span whose fence is
  longer than any backtick run inside it: nothing inside a code span is Markdown or HTML.
- :func:`escape` backslash-escapes the characters that start Markdown or HTML inline (``\\ ` * _ [ ] < > & | ~``)
  in a line whose code spans (switchrole's own and :func:`code`'s) are kept as they are.

Both replace control characters (U+0000 to U+001F, U+007F to U+009F: newlines among them, which could start a
block) with U+FFFD, so one string is one line whatever it holds (``validate`` refuses them in policy strings).
"""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
REPLACEMENT = "\ufffd"
_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~])")
_TICKS = re.compile(r"`+")


def one_line(text: str) -> str:
    """``text`` on one line: control characters and line breaks replaced, so a name cannot break a table row."""
    return CONTROL.sub(REPLACEMENT, text)


def code(text: str) -> str:
    """``text`` as an inline code span that shows it verbatim (control characters replaced)."""
    text = one_line(text)
    if not text.strip(" "):
        text = text or " "
        return f"`{text}`"  # all spaces: CommonMark keeps them as they are
    fence = "`" * (max((len(run) for run in _TICKS.findall(text)), default=0) + 1)
    # CommonMark strips one space at each end when both ends have one: pad so that exactly the padding goes
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def escape(line: str, *, table: bool = False) -> str:
    """``line`` with every Markdown-special character outside its code spans backslash-escaped. In a table cell
    (``table``) a ``|`` inside a code span is escaped too: GitHub and markdown-it split cells before code spans."""
    line = one_line(line)
    out: list[str] = []
    i = 0
    while i < len(line):
        run = _TICKS.match(line, i)
        if run is None:
            out.append(_SPECIAL.sub(r"\\\1", line[i]))
            i += 1
            continue
        closing = next((m for m in _TICKS.finditer(line, run.end()) if len(m.group()) == len(run.group())), None)
        if closing is None:  # an unmatched fence is text
            out.append("\\`" * len(run.group()))
            i = run.end()
            continue
        span = line[i : closing.end()]
        out.append(span.replace("|", "\\|") if table else span)
        i = closing.end()
    return "".join(out)
