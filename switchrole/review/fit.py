"""An access review that fits in one pull-request comment, without ever cutting what widens access silently.

GitHub refuses a comment over 65,536 characters; the review of a change to a 1,000-account organisation was
410,919 (one row per user, account and role: a new reader of every account is 1,000 rows). When the review as
:meth:`AccessDiff.to_markdown` writes it is longer than the limit (:data:`REVIEW_LIMIT` by default), it is
written again, in three steps, each only when the one before does not fit:

1. As it is: a review that fits is unchanged, row for row.
2. Grouped: access rows that differ only by user or account become one row naming how many users and accounts
   it stands for, the names in a collapsed ``<details>`` list (at most about :data:`LIST_CHARS` characters of
   them, then how many more); a role change's long account and holder lists are collapsed the same way, and
   so are many structure lines of one kind (``account added: ...`` for each of 1,000 new accounts). The
   section counts stay those of the rows, so the first and last lines still say what the review holds.
3. Cut: sections keep their order on the page, but the room goes first to what widens access (wider
   permissions and weaker conditions, then access gained), then to destructive changes, then to access lost,
   narrower changes and the accounts, users and groups added. A section that lost rows says how many, right
   where they would be; if anything that widens access did not fit, a warning says so at the top, before the
   first section. The last line repeats the counts, says what was cut, and how to see everything: the same
   ``switchrole diff`` without a limit (``--max-chars 0``), or ``--format json``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from switchrole.model.markdown import code, escape

if TYPE_CHECKING:
    from switchrole.review.access_diff import AccessDiff

GITHUB_COMMENT_LIMIT = 65_536  # characters GitHub accepts in an issue or pull-request comment
REVIEW_LIMIT = 64_000  # the default cap: under GitHub's, with room for a workflow's own line or two around it
LIST_CHARS = 2_000  # names shown in one collapsed list before "… and N more"
INLINE_NAMES = 3  # lists up to this long are written out in the row; longer ones are collapsed
MIN_LIMIT = 2_000  # a smaller limit leaves no room for the counts, the warning and the last line


@dataclass
class Section:
    """One section of the review: its title, its items (one line each) and the rows each stands for."""

    name: str  # how the last line names it: "access lost"
    title: str
    items: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    widening: bool = False
    priority: int = 9  # lower: room first
    table_head: tuple[str, ...] = ()  # a table's header and rule, written only above a row
    shown: int = 0  # items that fit

    def cost(self, shown: int) -> int:
        """Characters the section takes with its first ``shown`` items: none without one (its count is in the
        last line, and in the warning when it widens access)."""
        return len("\n".join(self._lines(shown))) + 1 if shown else 0

    def lines(self) -> list[str]:
        return self._lines(self.shown) if self.shown else []

    def _lines(self, shown: int) -> list[str]:
        out = [self.title, "", *self.table_head, *self.items[:shown]]
        missing = sum(self.rows[shown:])
        if missing:
            what = f"{missing:,} more {'row' if missing == 1 else 'rows'}"
            if len(self.items) - shown != missing:
                what += f" ({len(self.items) - shown:,} {'groups' if self.table_head else 'lines'})"
            out += ["", f"*… and {what} not shown here: the last line says where to see them.*"]
        return [*out, ""]

    @property
    def missing(self) -> int:
        return sum(self.rows[self.shown :])


def names(values: Sequence[str], what: str, sep: str = ", ") -> str:
    """``values`` for a table cell or a list item: written out when few, else a count and a collapsed list."""
    if len(values) <= INLINE_NAMES:
        return escape(sep.join(values), table=True)
    shown: list[str] = []
    size = 0
    for value in values:
        if size + len(value) > LIST_CHARS and shown:
            break
        shown.append(value)
        size += len(value) + 2
    rest = len(values) - len(shown)
    listed = escape(sep.join(shown), table=True) + (f" … and {rest:,} more" if rest else "")
    return f"{len(values):,} {what} <details><summary>which</summary>{listed}</details>"


def _access_sections(
    diff: AccessDiff, hours: Callable[[int], str], until: Callable[[dict[str, Any]], str]
) -> list[Section]:
    """Access gained and access lost, grouped: one row per role, groups, conditions and set of accounts."""
    sections = []
    for name, title, rows, widening, priority in (
        ("access gained", "Access gained", diff.gained, True, 1),
        ("access lost", "Access lost", diff.lost, False, 3),
    ):
        by_user: dict[tuple[Any, ...], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            key = (r["role"], tuple(r["groups"]), r["mfa_required"], r["max_session_duration"], until(r))
            by_user[key][r["user"]].append(r["account"])
        groups: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for key, per_user in by_user.items():
            for user, accounts in per_user.items():
                groups[(*key, tuple(accounts))].append(user)
        ids = {r["account"]: r["account_id"] for r in rows}
        section = Section(
            name,
            f"### {title} ({len(rows):,}, grouped)",
            widening=widening,
            priority=priority,
            table_head=("| users | accounts | role | via | MFA | session | until |", "|---|---|---|---|---|---|---|"),
        )
        for (role, via, mfa, session, ends, accounts), users in sorted(
            groups.items(), key=lambda item: (item[0][0], item[1][0], item[0][5][0])
        ):
            where = (
                escape(", ".join(f"{a} ({ids[a]})" for a in accounts), table=True)
                if len(accounts) <= INLINE_NAMES
                else names(accounts, "accounts")
            )
            section.items.append(
                f"| {names(users, 'users')} | {where} | {escape(role, table=True)} | "
                f"{escape(', '.join(via), table=True)} | {'yes' if mfa else '**no**'} | {hours(session)} | {ends} |"
            )
            section.rows.append(len(users) * len(accounts))
        sections.append(section)
    return sections


def role_change_line(change: dict[str, Any]) -> str:
    """A role change with its accounts and holders collapsed when long (access_diff's line otherwise)."""
    accounts, holders = change["accounts"], change["holders"]
    where = escape(accounts[0]) if len(accounts) == 1 else names(accounts, "accounts")
    held = f"; held by {names(holders, 'users')}" if holders else "; granted to nobody"
    return f"**{escape(change['role'])}**: {escape(change['change'])} in {where}{held}"


def sections(diff: AccessDiff, hours: Callable[[int], str], until: Callable[[dict[str, Any]], str]) -> list[Section]:
    """The review's sections, grouped, in page order."""
    gained, lost = _access_sections(diff, hours, until)
    destructive = Section("destructive", "### :warning: Destructive changes", priority=2)
    destructive.items = [f"- {escape(line)}" for line in diff.destructive]
    weaker = Section("wider or weaker", "### :warning: Wider permissions and weaker conditions", widening=True)
    weaker.priority = 0
    weaker.items = [f"- {role_change_line(c)}" for c in diff.weaker]
    changed = Section("narrower or other role changes", "### Narrower permissions and other role changes")
    changed.priority = 4
    changed.items = [f"- {role_change_line(c)}" for c in diff.changed]
    structure = Section("accounts, role kinds, groups and users", "### Accounts, role kinds, groups and users")
    structure.priority = 5
    for section in (destructive, weaker, changed):
        section.rows = [1] * len(section.items)
    for line, rows in _grouped_structure(diff.structure):
        structure.items.append(line)
        structure.rows.append(rows)
    return [destructive, weaker, gained, lost, changed, structure]


GROUPED_STRUCTURE = {  # the kinds of structure line collapsed when many, and what they count
    "account added": "accounts",
    "user added": "users",
    "group added": "groups",
    "role kind added": "role kinds",
    "role kind removed": "role kinds",
}


def _grouped_structure(lines: Sequence[str]) -> list[tuple[str, int]]:
    """Structure lines as list items: the many of one kind ("account added: ...") collapsed into one."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        kind, _, what = line.partition(": ")
        if kind in GROUPED_STRUCTURE:
            by_kind[kind].append(what)
    items: list[tuple[str, int]] = []
    for line in lines:
        kind, _, what = line.partition(": ")
        if kind not in by_kind or len(by_kind[kind]) <= INLINE_NAMES:
            items.append((f"- {escape(line)}", 1))
        elif what == by_kind[kind][0]:  # the first of its kind stands for all of them
            items.append(
                (f"- {escape(kind)}: {names(by_kind[kind], GROUPED_STRUCTURE[kind], '; ')}", len(by_kind[kind]))
            )
    return items


def fit(
    diff: AccessDiff,
    limit: int,
    *,
    hours: Callable[[int], str],
    until: Callable[[dict[str, Any]], str],
    everything: str,
) -> str:
    """The review grouped, and cut if it must be, in at most ``limit`` characters (see the module's words).
    ``everything`` says how to see the whole review (a command, in words). Below :data:`MIN_LIMIT`, or with
    labels thousands of characters long, even the frame (title, counts, warning, last line) may not fit: it is
    returned whole then, longer than ``limit``, never cut in the middle of a line."""
    parts = sections(diff, hours, until)
    title = f"## switchrole access review: {code(diff.base_label)} -> {code(diff.head_label)}"
    counts = diff.counts()
    for part in parts:
        part.shown = len(part.items)
    page = _page(title, counts, parts, {}, everything)
    if len(page) <= limit:
        return page
    budget = limit - len(_page(title, counts, [], _everything_cut(parts), everything))
    for _ in range(8):  # the frame's size depends a little on what is cut (its counts): a few passes settle it
        _share(parts, budget)
        page = _page(title, counts, parts, _cut(parts), everything)
        if len(page) <= limit:
            return page
        budget -= len(page) - limit
    for part in parts:
        part.shown = 0
    return _page(title, counts, parts, _cut(parts), everything)


def _share(parts: list[Section], budget: int) -> None:
    """Give each section a prefix of its items, widening sections first, then by priority."""
    used = 0
    for part in parts:
        part.shown = 0
    for part in sorted(parts, key=lambda p: p.priority):
        while part.shown < len(part.items):
            more = part.cost(part.shown + 1) - part.cost(part.shown)
            if used + more > budget:
                break
            used += more
            part.shown += 1


def _everything_cut(parts: list[Section]) -> dict[str, tuple[int, int]]:
    """What the frame says when no row is shown: its longest form."""
    return {p.name: (sum(p.rows), sum(p.rows)) for p in parts if p.items}


def _cut(parts: list[Section]) -> dict[str, tuple[int, int]]:
    """Per section name: (rows not shown, rows in all), for the sections that lost some."""
    return {p.name: (p.missing, sum(p.rows)) for p in parts if p.missing}


def _page(title: str, counts: str, parts: list[Section], cut: dict[str, tuple[int, int]], everything: str) -> str:
    """The Markdown: title, counts, an optional warning, the sections, and the last line."""
    first = counts + (
        " (cut to fit a comment: see the last line)" if cut else " (the review ends with this line again)"
    )
    out = [title, "", first, ""]
    out += ["_Rows that differ only by user or account are grouped to fit a pull-request comment._", ""]
    widening = {name: n for name, n in cut.items() if name in ("wider or weaker", "access gained")}
    if widening:
        missing = sum(n for n, _ in widening.values())
        total = sum(t for _, t in widening.values())
        out += [
            f"> :rotating_light: **This change widens access more than one comment can show: {missing:,} of "
            f"{total:,} widening rows are not shown here.** Do not approve it from this comment: see {everything}.",
            "",
        ]
    for part in parts:
        out += part.lines()
    if cut:
        lost = "; ".join(f"{name}: {n:,} of {total:,} rows" for name, (n, total) in cut.items())
        out.append(f"{counts}; cut to fit a comment, not shown here: {lost}; everything: {everything}")
    else:
        out.append(counts)
    return "\n".join([*out, ""])
