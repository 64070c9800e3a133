"""Valid accounts files with YAML's rarer constructs put at random places: the inputs of a held-out fuzzing pass.

bench/fuzz.py's line edits mostly break the YAML itself, so the parser answers before switchrole's own checks
see anything. These inputs stay well-formed where they can: an accounts file (the example, or the StackSets
one) is read into plain data, a few of its nodes are picked at random, and the file is written out again in
block style with one of these where a node was:

- an anchor on a node and an alias of it at a later one (a list where a name was expected, and so on);
- a merge key ``<<`` in a map: merging an anchored map, an inline map (its values sometimes wrong), a scalar,
  a list of scalars, or a list of aliases; and ``<<`` as a plain value;
- an ordered map ``!!omap [{k: v}, ...]`` in place of a map (sometimes with a key twice, or a wrong value),
  a set ``!!set {a, b}`` in place of any value;
- a complex key (``? [a, b]``, ``[a]:``, ``? {a: 1}``) or a key that is a number, added to a map;
- a key written twice in a map;

and then, on the text, a control character, a tab or a byte-order mark at a random character or line.
Every answer must be exit 0, or exit 2 with one line per problem naming the file and a line (tests/model/test_fuzz.py,
``make fuzz``).
"""

from __future__ import annotations

import datetime
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "accounts.yaml", ROOT / "examples" / "stacksets.yaml")
CONTROL = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0x85), 0x9B)]
_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# what a user must never read: Python types and exceptions, the parser's token names
PARSER_TERMS = re.compile(
    r"\b(Commented\w+|\w+Error|NoneType|ordereddict|TaggedScalar)\b|<(block|scalar|stream|document) "
)
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}


@dataclass
class Raw:
    """YAML written as it is (one line, flow style): an alias, a tagged value, a merge source, ..."""

    text: str


@dataclass
class Node:
    """A map (``entries``: key text and value, keys possibly repeated) or a list (``items``) being written out."""

    entries: list[tuple[str, Any]] | None = None
    items: list[Any] | None = None
    anchor: str | None = None


@dataclass
class Case:
    """One generated input: its text and what was done to it (for a failure's message)."""

    text: str
    edits: list[str] = field(default_factory=list)


def plain_data(path: Path) -> Any:
    """The accounts file as switchrole reads it: plain dicts, lists and scalars."""
    from switchrole.model.loading import parse_yaml, to_plain

    return to_plain(parse_yaml(path.read_text(), str(path)), str(path))


def tree(value: Any) -> Any:
    """Plain data -> :class:`Node` objects (scalars stay as they are)."""
    if isinstance(value, dict):
        return Node(entries=[(key_text(k), tree(v)) for k, v in value.items()])
    if isinstance(value, list):
        return Node(items=[tree(v) for v in value])
    return value


def key_text(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) and key.lower() not in _RESERVED else json.dumps(key)


def flow(value: Any) -> str:
    """One value in flow style (JSON's scalars are YAML's)."""
    prefix = f"&{value.anchor} " if isinstance(value, Node) and value.anchor else ""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Node) and value.entries is not None:
        return prefix + "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.entries) + "}"
    if isinstance(value, Node):
        return prefix + "[" + ", ".join(flow(v) for v in value.items or []) + "]"
    if isinstance(value, datetime.datetime):  # an unquoted `until:` timestamp, written back as one
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False)


def block(value: Node, indent: int) -> list[str]:
    """A map or list in block style, ``indent`` spaces in."""
    pad = " " * indent
    lines: list[str] = []
    if value.entries is not None:
        for key, item in value.entries:
            if key.startswith("?"):  # an explicit (complex) key
                lines += [f"{pad}{key}", f"{pad}: {flow(item)}"]
            elif _nested(item):
                lines += [f"{pad}{key}:{_anchor(item)}", *block(item, indent + 2)]
            else:
                lines.append(f"{pad}{key}: {flow(item)}")
        return lines
    for item in value.items or []:
        if _nested(item):
            inner = block(item, indent + 2)
            if item.anchor:
                lines += [f"{pad}-{_anchor(item)}", *inner]
            else:
                lines += [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
        else:
            lines.append(f"{pad}- {flow(item)}")
    return lines


def _nested(value: Any) -> bool:
    return isinstance(value, Node) and bool(value.entries if value.entries is not None else value.items)


def _anchor(value: Node) -> str:
    return f" &{value.anchor}" if value.anchor else ""


def write(root: Node) -> str:
    return "\n".join(block(root, 0)) + "\n"


# --------------------------------------------------------------------------- picking places


def places(root: Node) -> list[tuple[Node, int, tuple[int, ...]]]:
    """Every value below ``root`` in document order: (its container, its index there, the path of indexes)."""
    found: list[tuple[Node, int, tuple[int, ...]]] = []

    def walk(node: Node, path: tuple[int, ...]) -> None:
        children = [v for _, v in node.entries] if node.entries is not None else node.items or []
        for i, child in enumerate(children):
            found.append((node, i, (*path, i)))
            if isinstance(child, Node):
                walk(child, (*path, i))

    walk(root, ())
    return found


def get(container: Node, i: int) -> Any:
    return container.entries[i][1] if container.entries is not None else (container.items or [])[i]


def put(container: Node, i: int, value: Any) -> None:
    if container.entries is not None:
        container.entries[i] = (container.entries[i][0], value)
    elif container.items is not None:
        container.items[i] = value


def maps(root: Node) -> list[Node]:
    return [root, *[v for c, i, _ in places(root) if isinstance(v := get(c, i), Node) and v.entries is not None]]


JUNK = ("maybe", "-1", "[]", "{}", "null", '"*"', "99999999999999999", "[readers, nobody]", "{x: 1}")


class Mutator:
    """Edits one tree in place, each edit at a random place."""

    def __init__(self, root: Node, rng: random.Random) -> None:
        self.root, self.rng, self.anchors = root, rng, 0

    def anchor(self, node: Any, container: Node, i: int) -> str:
        """An anchor name on ``node`` (a scalar is wrapped so that it can carry one)."""
        if isinstance(node, Node):
            node.anchor = node.anchor or f"a{self.anchors}"
            self.anchors += 1
            return node.anchor
        name = f"a{self.anchors}"
        self.anchors += 1
        put(container, i, Raw(f"&{name} {flow(node)}"))
        return name

    def earlier_anchor(self, before: tuple[int, ...], want_map: bool | None = None) -> str | None:
        """An anchor on a node written before ``before`` and not holding it, or None."""
        candidates = [
            (c, i)
            for c, i, path in places(self.root)
            if path < before
            and before[: len(path)] != path
            and not isinstance(get(c, i), Raw)
            and (want_map is None or (isinstance(get(c, i), Node) and get(c, i).entries is not None) == want_map)
        ]
        if not candidates:
            return None
        container, i = self.rng.choice(candidates)
        return self.anchor(get(container, i), container, i)

    def alias(self) -> str:
        spots = places(self.root)
        container, i, path = self.rng.choice(spots)
        name = self.earlier_anchor(path)
        if name is None:
            return "alias: none"
        put(container, i, Raw(f"*{name}"))
        return f"alias *{name} at {path}"

    def merge(self) -> str:
        spots = [(c, i, p) for c, i, p in places(self.root) if isinstance(get(c, i), Node) and get(c, i).entries]
        container, i, path = self.rng.choice(spots) if spots else (self.root, 0, ())
        target = get(container, i) if spots else self.root
        roll = self.rng.randrange(6)
        if roll == 0 and (name := self.earlier_anchor(path, want_map=True)):
            source = f"*{name}"
        elif roll == 1:
            entries = list(target.entries or [])[:2]
            if entries and self.rng.random() < 0.6:
                k = self.rng.randrange(len(entries))
                entries[k] = (entries[k][0], Raw(self.rng.choice(JUNK)))
            source = flow(Node(entries=entries))
        elif roll == 2 and (name := self.earlier_anchor(path, want_map=False)):
            source = f"*{name}"
        elif roll == 3:
            source = self.rng.choice(("5", "x", "[1, 2]", "[]", "null"))
        elif roll == 4 and (name := self.earlier_anchor(path)):
            source = f"[*{name}]"
        else:
            put(container, i, Raw("<<")) if spots else None
            return f"<< as a value at {path}"
        assert target.entries is not None
        target.entries.insert(self.rng.randrange(len(target.entries) + 1), ("<<", Raw(source)))
        return f"merge {source} into {path}"

    def ordered_map(self) -> str:
        spots = [(c, i, p) for c, i, p in places(self.root) if isinstance(get(c, i), Node) and get(c, i).entries]
        if not spots:
            return "omap: none"
        container, i, path = self.rng.choice(spots)
        entries = list(get(container, i).entries)
        if self.rng.random() < 0.3:
            entries.append(self.rng.choice(entries))
        if self.rng.random() < 0.3:
            k = self.rng.randrange(len(entries))
            entries[k] = (entries[k][0], Raw(self.rng.choice(JUNK)))
        put(container, i, Raw("!!omap [" + ", ".join(f"{{{k}: {flow(v)}}}" for k, v in entries) + "]"))
        return f"!!omap at {path}"

    def tagged_set(self) -> str:
        container, i, path = self.rng.choice(places(self.root))
        put(container, i, Raw(self.rng.choice(("!!set {a, b}", "!!set {}", "!!set {readers}"))))
        return f"!!set at {path}"

    def odd_key(self) -> str:
        target = self.rng.choice(maps(self.root))
        assert target.entries is not None
        key = self.rng.choice(("? [a, b]", "[a]", "? {a: 1}", "? []", "1234", "true", "null", "2026-01-01", '"<<"'))
        target.entries.insert(self.rng.randrange(len(target.entries) + 1), (key, Raw(self.rng.choice(JUNK))))
        return f"key {key}"

    def duplicate_key(self) -> str:
        target = self.rng.choice([m for m in maps(self.root) if m.entries])
        assert target.entries is not None
        key, value = self.rng.choice(target.entries)
        twin = value if self.rng.random() < 0.5 else Raw(self.rng.choice(JUNK))
        target.entries.insert(self.rng.randrange(len(target.entries) + 1), (key, twin))
        return f"key {key} twice"


TREE_EDITS = ("alias", "merge", "ordered_map", "tagged_set", "odd_key", "duplicate_key")


def text_edit(text: str, rng: random.Random) -> tuple[str, str]:
    """A control character, a tab or a byte-order mark at a random character or line of ``text``."""
    roll = rng.randrange(4)
    if roll == 0:
        at, char = rng.randrange(len(text) + 1), rng.choice(CONTROL)
        return text[:at] + char + text[at:], f"U+{ord(char):04X} at character {at}"
    if roll == 1:
        lines = text.split("\n")
        k = rng.randrange(len(lines))
        line = lines[k]
        if rng.random() < 0.5:
            lines[k] = "\t" + line.lstrip(" ")
        else:
            lines[k] = line.replace(": ", ":\t", 1) if ": " in line else line.replace("- ", "-\t", 1)
        return "\n".join(lines), f"tab on line {k + 1}"
    at = 0 if roll == 2 else rng.randrange(len(text) + 1)
    return text[:at] + "\ufeff" + text[at:], f"BOM at character {at}"


def case(rng: random.Random, *, edits: int | None = None) -> Case:
    """One input: a source file with ``edits`` (1-3 by default) edits, tree edits first, then perhaps a text one."""
    root = tree(plain_data(rng.choice(SOURCES)))
    mutator = Mutator(root, rng)
    done = []
    for _ in range(edits if edits is not None else rng.randint(1, 3)):
        done.append(getattr(mutator, rng.choice(TREE_EDITS))())
    text = write(root)
    if rng.random() < 0.35:
        text, what = text_edit(text, rng)
        done.append(what)
    return Case(text, done)


def line_contract(code: int, stderr: str, label: str) -> str | None:
    """What breaks the contract, if anything: exit 0, or exit 2 with each line naming the file and a line."""
    if code not in (0, 2) or "Traceback" in stderr or "unexpected error" in stderr:
        return f"exit {code}: {stderr[:300]}"
    lines = stderr.splitlines()
    internal = PARSER_TERMS.search(stderr)
    if internal:
        return f"exit {code}, parser terms in a message ({internal.group()}): {stderr[:300]}"
    if code == 2 and not lines:
        return "exit 2 without a word"
    # exit 2: each problem at its file line; exit 0: warnings, each naming the file
    named = re.compile(rf"{re.escape(label)}:\d+(:\d+)?: \S" if code == 2 else rf"{re.escape(label)}: \S")
    stray = [line for line in lines if not named.match(line)]
    return f"exit {code}, a line without file:line: {stray[0][:300]}" if stray else None
