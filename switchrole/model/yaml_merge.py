"""YAML merge keys (``<<: *base``) are refused in an accounts file, clearly, at the line that writes one.

ruamel.yaml reads them, so switchrole could support them; it refuses them instead, for a file whose every line
is an access decision someone reviews:

- A merge key is not YAML 1.2 (the version ruamel reads and the one most editors and linters assume): it is a
  YAML 1.1 type that some readers apply and others read as a plain key named ``<<``. A reviewer's tool and
  switchrole could then see different access in the same file.
- What a merging entry holds is written elsewhere, and which value wins is a rule the diff does not show (the
  entry's own keys win over merged ones, an earlier merged map over a later one): a one-line edit of the base
  map changes every entry merging it, including keys the entry seems to override.
- switchrole's own edits (``onboard``, ``offboard``) change the entry they find; a merged value lives in the
  base map, shared by every entry that merges it.
- Line numbers: a merged key has no line of its own in the merging entry (ruamel records none; the first
  attempt to name one crashed switchrole with a KeyError).

The base revision ``switchrole diff`` compares with is the exception: an earlier switchrole accepted it, and
the pull request that writes its merge keys out must still get its review (``merge_keys=True``).

An alias of a whole value (``groups: *oncall``) stays allowed: it is YAML 1.2, every reader reads it alike, and
the value it stands for is exactly the anchored one. Both of switchrole's passes over the YAML refuse a merge key
the same way (:mod:`switchrole.model.yaml_bounds`): a plain ``<<`` key, or a plain ``<<`` anywhere (an anchored ``<<``
could be aliased as a key later); a quoted ``'<<'`` is an ordinary string.
"""

from __future__ import annotations

from typing import Any

MERGE = "<<"


def is_merge(value: Any, implicit: Any) -> bool:
    """Is this scalar event a merge key: ``<<`` written plain (``implicit[0]``: no tag, no quotes)?"""
    return value == MERGE and bool(implicit and implicit[0])


def refusal(*, as_key: bool) -> str:
    """What is wrong, for the file's author (one line, no parser terms)."""
    if as_key:
        return (
            "a YAML merge key (<<) is not allowed in an accounts file: write the keys out in this entry (an alias "
            "of a whole value, key: *name, is fine)"
        )
    return "<< is YAML's merge key, not a value: quote it ('<<') if you mean the text"
