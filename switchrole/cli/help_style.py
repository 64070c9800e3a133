"""Help that reads like a conventional Click/Typer CLI: flags show no value, values show what they take.

Typer 0.29 renders every option's Python type (``<bool>`` for flags, as if they
took a value; ``<str>``, ``<list[str]>``). Click's convention, which most CLIs
follow, is a flag alone, ``--user TEXT``, ``--format [json|md]``, and an
explicit metavar (``--grant GROUP``) when one is given. Typer offers no
setting for it, so :func:`install` replaces the one method that renders the
type column; ``tests/cli/test_cli_conventions.py`` fails if a Typer upgrade moves
it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer.core

NAMES: dict[Any, str] = {
    str: "TEXT",
    int: "INTEGER",
    float: "FLOAT",
    bool: "BOOLEAN",
    Path: "PATH",
    datetime: "DATETIME",
}


def metavar(option: Any, ctx: Any) -> str | None:
    """What the help shows after an option: nothing for a flag, else its metavar, its choices or its type."""
    if option.is_flag:
        return None
    if option.metavar is not None:
        return str(option.metavar)
    described = option.type_descriptor
    if described.is_choice:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in described.choices or ()) + "]"
    if described.is_path:
        return "PATH"
    annotation = described.annotation
    inner = getattr(annotation, "__args__", (annotation,))[0] if described.is_list else annotation
    return NAMES.get(inner, "TEXT")


def install() -> None:
    typer.core.TyperOption.display_type_rich = metavar  # type: ignore[method-assign,assignment]
