"""User-facing problems with a configuration, reported one line each.

Every check in switchrole (schema, cross references, IAM quotas) reports a
:class:`Problem` that names the field path, so a reviewer can find it in the
file; the CLI and the CDK app print them and exit with code 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

Path = tuple[str | int, ...]


MAX_PART = 60  # a key from the file is echoed at most this long in a field path
MAX_LINE = 1000  # and a whole problem line at most this long


def format_path(path: Path) -> str:
    """Render ``("accounts", 1, "account_id")`` as ``accounts[1].account_id``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif len(part) <= MAX_PART and part.isascii() and part.replace("_", "").replace("-", "").isalnum():
            out += f".{part}" if out else part
        else:
            text = repr(part) if len(part) <= MAX_PART else repr(part[: MAX_PART - 1]) + "…"
            out += f"[{text}]"
    return out


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration, located by field path and line (and column, for a character)."""

    path: Path
    message: str
    line: int | None = None  # 1-based line in the source file, when known
    column: int | None = None  # 1-based column, for a problem with one character (a control character)

    def render(self, source: str | None = None) -> str:
        """One line: ``source:line:column: field.path: message`` (each part only when known)."""
        where = ""
        if source is not None:
            at = f":{self.line}:{self.column}" if self.line and self.column else f":{self.line}" if self.line else ""
            where = f"{source}{at}: "
        field = f"{format_path(self.path)}: " if self.path else ""
        line = f"{where}{field}{self.message}"
        return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


MAX_PROBLEMS = 200  # lines of one error; the rest are counted


@dataclass
class ConfigError(Exception):
    """Raised when a configuration cannot be used; carries every problem found."""

    problems: Sequence[Problem]
    source: str | None = None
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = [p.render(self.source) for p in self.problems[:MAX_PROBLEMS]]
        if len(self.problems) > MAX_PROBLEMS:  # a 99,000-item junk list would print 99,000 lines
            more = len(self.problems) - MAX_PROBLEMS
            where = self.source or "the file"
            self.lines.append(f"{where}: … and {more:,} more problems (fix these, then validate again)")
        super().__init__("\n".join(self.lines))

    @classmethod
    def single(
        cls, path: Path, message: str, source: str | None = None, line: int | None = None, column: int | None = None
    ) -> ConfigError:
        """A ConfigError of one problem."""
        return cls([Problem(path, message, line, column)], source)

    def unlocated(self, source: str) -> ConfigError:
        """The same problems without line numbers, under another label: for a text that was never written
        (an edit refused), whose lines the user cannot open."""
        return ConfigError([Problem(p.path, p.message) for p in self.problems], source)

    def with_lines(self, locate: Callable[[Path], int | None]) -> ConfigError:
        """Fill in file lines for problems that do not know theirs yet."""
        located = [p if p.line else Problem(p.path, p.message, locate(p.path)) for p in self.problems]
        return ConfigError(located, self.source)


def edited_label(source: str) -> str:
    """How problems in an edit that was refused name their file: its lines exist nowhere the user can open."""
    return f"{source} (as edited; nothing was written)"


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Order problems by file line so the output reads top to bottom."""
    return sorted(problems, key=lambda p: (p.line or 0, format_path(p.path)))
