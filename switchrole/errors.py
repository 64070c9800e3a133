"""User-facing problems with a configuration, reported one line each.

Every check in switchrole (schema, cross references, IAM quotas) reports a
:class:`Problem` that names the field path, so a reviewer can find it in the
file; the CLI and the CDK app print them and exit with code 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """Render ``("accounts", 1, "account_id")`` as ``accounts[1].account_id``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "").replace("-", "").isalnum():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration, located by field path and line."""

    path: Path
    message: str
    line: int | None = None  # 1-based line in the source file, when known

    def render(self, source: str | None = None) -> str:
        where = ""
        if source is not None:
            where = f"{source}:{self.line}: " if self.line else f"{source}: "
        field = f"{format_path(self.path)}: " if self.path else ""
        return f"{where}{field}{self.message}"


@dataclass
class ConfigError(Exception):
    """Raised when a configuration cannot be used; carries every problem found."""

    problems: Sequence[Problem]
    source: str | None = None
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = [p.render(self.source) for p in self.problems]
        super().__init__("\n".join(self.lines))

    @classmethod
    def single(cls, path: Path, message: str, source: str | None = None, line: int | None = None) -> ConfigError:
        return cls([Problem(path, message, line)], source)

    def with_lines(self, locate: Callable[[Path], int | None]) -> ConfigError:
        """Fill in file lines for problems that do not know theirs yet."""
        located = [p if p.line else Problem(p.path, p.message, locate(p.path)) for p in self.problems]
        return ConfigError(located, self.source)


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Order problems by file line so the output reads top to bottom."""
    return sorted(problems, key=lambda p: (p.line or 0, format_path(p.path)))
