"""ruamel.yaml's parse errors in the words of the file's author, not of its parser.

The parser names its tokens (``expected <block end>, but found '<block mapping start>'``) and escapes a tab twice
(``found character '\\\\t'``); a held-out fuzzing pass found those in front of users. :func:`in_words` rewrites the
token names and the commonest messages; the rest of ruamel's wording stays (it is plain English already).
"""

from __future__ import annotations

TOKENS = {
    "<block end>": "the end of the indented block",
    "<block mapping start>": "a new map",
    "<block sequence start>": "a new list",
    "<scalar>": "a value",
    "<stream end>": "the end of the file",
    "<stream start>": "the start of the file",
    "<document start>": "a document start (---)",
    "<document end>": "a document end (...)",
    "<alias>": "an alias (*name)",
    "<anchor>": "an anchor (&name)",
    "<tag>": "a tag (!name)",
    "<directive>": "a directive (%...)",
    "<byte order mark>": "a byte-order mark",
    "<comment>": "a comment",
}
TAB = "found character '\\\\t' that cannot start any token"


def in_words(problem: str) -> str:
    """``problem`` (a ruamel parse error's first line) with the parser's token names said in words."""
    if problem.startswith(TAB) or problem.startswith(TAB.replace("\\\\", "\\")):
        return "a tab where YAML expects indentation or a value: indent with spaces"
    for token, words in TOKENS.items():
        problem = problem.replace(f"'{token}'", words).replace(token, words)
    problem = problem.replace("but found '?'", "but found a key")
    if problem.startswith("expected the end of the indented block"):
        problem += " (check this line's indentation)"
    return problem
