"""The edit transaction of `onboard` and `offboard`: read the accounts file under its lock, edit the text, check
the result as `validate` does, then replace the file (or, with --dry-run, only show the change).

Why one transaction: an edit is only written when the whole edited file passes every check (schema, references,
IAM quotas, templates), and the lock is held from the read to the rename, so two edits never lose one another's
change. A refusal is :class:`EditRefused`, one line per problem, and nothing was written: the command prints the
lines and exits 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from switchrole.model.errors import ConfigError, Problem, edited_label
from switchrole.model.organisation import Organisation
from switchrole.review.writes import FileWriteError, line_ending, locked, replace_text, with_line_ending


class EditRefused(Exception):
    """Nothing was written; ``lines`` say why, one per problem."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Edit:
    """The accounts file being edited: its path and its text as read under the lock."""

    config: Path
    text: str

    def checked(self, edited: str) -> Organisation:
        """The edited text's organisation, with every check `validate` makes; :class:`EditRefused` when any
        fails (located in the edited text, which was never written: the lines say so)."""
        from switchrole.infra.validate import check
        from switchrole.model.loading import loads

        label = edited_label(str(self.config))
        try:
            org = loads(edited, str(self.config))
        except ConfigError as exc:  # lines of a text never written would point nowhere
            raise EditRefused(exc.unlocated(label).lines) from None
        if problems := check(org):
            raise EditRefused([Problem(p.path, p.message).render(label) for p in problems])
        return org

    def write_or_diff(self, edited: str, *, dry_run: bool, what: str) -> str | None:
        """Replace the file with ``edited`` in its own line endings (None), or with ``dry_run`` write nothing and
        return the unified diff, the edited side labelled ``what``."""
        edited = with_line_ending(edited, line_ending(self.text))  # a CRLF file stays CRLF
        if dry_run:
            before, after = self.text.splitlines(keepends=True), edited.splitlines(keepends=True)
            return "".join(difflib.unified_diff(before, after, str(self.config), f"{self.config} ({what})"))
        try:
            replace_text(self.config, edited)
        except FileWriteError as exc:
            raise EditRefused([str(exc)]) from None
        return None


@contextmanager
def editing(config: Path) -> Iterator[Edit]:
    """Hold ``config``'s edit lock from reading it to replacing it; the :class:`Edit` to work on. A file that
    cannot be locked or read is :class:`EditRefused`."""
    from switchrole.model.loading import read_text

    try:
        with locked(config):
            try:
                text = read_text(config)
            except ConfigError as exc:
                raise EditRefused(exc.lines) from None
            yield Edit(config, text)
    except FileWriteError as exc:
        raise EditRefused([str(exc)]) from None
