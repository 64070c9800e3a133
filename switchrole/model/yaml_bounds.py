"""How much YAML an accounts file may hold, checked before the expensive parse and again while composing.

ruamel.yaml's round-trip parser is pure Python: each node costs it about 40 microseconds, each comment line 9,
so a file under the 2 MB size limit written as one long flow list (``[0,0,0,...]``) kept it busy for 10 s (on a
slow machine) before the node limit was reached. Two passes check the same limits, in the same order:

- :func:`prescan` walks the parse events of libyaml (PyYAML's C parser, about 2 microseconds an event) and
  stops at the first node past a limit, so the worst file is refused in a fraction of a second. It checks only
  the limits; what it cannot read (an error, YAML libyaml does not know) it leaves to the full parse, which
  says what is wrong.
- :class:`CheckingComposer` is ruamel's composer checking each node as the parser hands it over: the same
  limits (for when libyaml is not there), plus the YAML tags switchrole refuses and ``!!omap`` shapes.

Both also refuse a YAML merge key (``<<``; why: :mod:`switchrole.model.yaml_merge`) where they meet it, so a file
with one answers the same whichever pass reads it first.

Both name the field path and line the same way (the composer's), so a refusal reads the same whichever pass
made it. The limits leave room for about 9,000 accounts (see ``tests/model/test_robustness.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.composer import Composer
from ruamel.yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from switchrole.model import yaml_merge
from switchrole.model.errors import Path
from switchrole.model.text import short

MAX_DEPTH = 64  # nesting of maps and lists (a policy document needs about 8)
# The benchmark's 5,000 accounts (bench/) are 54,000 nodes on 34,000 lines (block style), with no anchor.
MAX_LINES = 100_000
MAX_NODES = 100_000  # scalars, maps, lists and aliases as written (config.MAX_VALUES counts what aliases expand to)
MAX_ANCHORS = 10_000


class Refused(Exception):
    """A limit a file goes past, at a field path and file line."""

    def __init__(self, path: Path, message: str, line: int) -> None:
        super().__init__(message)
        self.path, self.message, self.line = path, message, line


def count_lines(text: str) -> int:
    """Lines as YAML counts them (every line break, a CR LF pair once)."""
    return sum(text.count(end) for end in ("\n", "\r", "\x85", "\u2028", "\u2029")) - text.count("\r\n")


@dataclass
class NodeBudget:
    """The per-node limits, in the order both passes meet them: the node count, an alias inside its own
    anchor, the depth, the anchor count."""

    nodes: int = 0
    anchors: int = 0

    def admit(self, *, alias_open: bool, depth: int, anchored: bool, alias: str | None = None) -> str | None:
        """Count one node; the refusal, if it goes past a limit. ``alias`` is an alias's anchor name (an alias
        is counted but has no depth or anchor of its own); ``alias_open`` says its anchor is still open."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            return f"the file has more than {MAX_NODES:,} values as written"
        if alias is not None:
            return f"an alias inside its own anchor (&{alias}) is refused" if alias_open else None
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels"
        if anchored:
            self.anchors += 1
            if self.anchors > MAX_ANCHORS:
                return f"the file has more than {MAX_ANCHORS:,} YAML anchors (&name)"
        return None


# --------------------------------------------------------------------------- the fast pass (libyaml)


@dataclass
class _Frame:
    """An open map or list in :func:`prescan`: its node id, how many children it has had, the last key."""

    ident: int
    mapping: bool
    children: int = 0
    key: Any = None

    def part(self) -> Any:
        """The path part of the next child: a list index, a map value's key, or None for a map key."""
        if not self.mapping:
            return self.children
        return self.key if self.children % 2 else None

    def done(self, key: Any) -> None:
        if self.mapping and self.children % 2 == 0:
            self.key = key
        self.children += 1


@dataclass
class _Walk:
    budget: NodeBudget = field(default_factory=NodeBudget)
    frames: list[_Frame] = field(default_factory=list)
    anchors: dict[str, tuple[int, Any]] = field(default_factory=dict)  # name -> (node id, key part it makes)
    path: list[Any] = field(default_factory=list)
    merge_keys: bool = False  # let merge keys through (MergeKeysComposer's prescan)


def prescan(text: str, *, merge_keys: bool = False) -> None:
    """Raise :class:`Refused` at the first node of the first document past a limit (or at a merge key, unless
    ``merge_keys``), reading ``text`` with libyaml; return quietly when it is within the limits or libyaml
    cannot read it (the full parse judges)."""
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency; the composer still checks every limit
        return
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:  # pragma: no cover - PyYAML built without libyaml
        return
    walk = _Walk(merge_keys=merge_keys)
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.DocumentEndEvent):
                return
            if isinstance(event, yaml.CollectionEndEvent):
                walk.frames.pop()
                walk.path.pop()
                if walk.frames:
                    walk.frames[-1].done("?")
            elif isinstance(event, yaml.NodeEvent):
                _node(walk, event, yaml)
    except yaml.MarkedYAMLError as exc:
        # libyaml stops at 1,000 levels while it scans ahead, before handing over a single event of them
        if exc.problem == "exceeded maximum nesting depth" and exc.problem_mark is not None:
            raise Refused((), f"nested more than {MAX_DEPTH} levels", exc.problem_mark.line + 1) from None
    except (yaml.YAMLError, _Unreadable):
        return


class _Unreadable(Exception):
    """What the composer would stop at before any limit: left to the full parse to name."""


def _node(walk: _Walk, event: Any, yaml: Any) -> None:
    parent = walk.frames[-1] if walk.frames else None
    part = parent.part() if parent is not None else None
    ident = walk.budget.nodes
    alias = event.anchor if isinstance(event, yaml.AliasEvent) else None
    target = walk.anchors.get(alias) if alias is not None else None
    if alias is not None and target is None:
        raise _Unreadable  # an alias of no anchor: the composer stops there, and the full parse says so
    refusal = walk.budget.admit(
        alias=alias,
        alias_open=target is not None and any(frame.ident == target[0] for frame in walk.frames),
        depth=len(walk.frames) + 1,
        anchored=alias is None and event.anchor is not None,
    )
    where = tuple(p for p in (*walk.path, part) if p is not None)
    if refusal is not None:
        raise Refused(where, refusal, event.start_mark.line + 1)
    scalar = isinstance(event, yaml.ScalarEvent)
    if scalar and not walk.merge_keys and yaml_merge.is_merge(event.value, event.implicit):
        as_key = parent is not None and parent.mapping and part is None
        extra = (yaml_merge.MERGE,) if as_key else ()
        raise Refused((*where, *extra), yaml_merge.refusal(as_key=as_key), event.start_mark.line + 1)
    if alias is None and event.anchor is not None:
        walk.anchors[event.anchor] = (ident, str(event.value) if scalar else "?")
    if isinstance(event, yaml.CollectionStartEvent):
        walk.frames.append(_Frame(ident, isinstance(event, yaml.MappingStartEvent)))
        walk.path.append(part)
    elif parent is not None:
        parent.done(str(event.value) if scalar else target[1] if target is not None else "?")


# --------------------------------------------------------------------------- the composer (ruamel)


_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null")}
_COLLECTION_TAGS = {SequenceNode: {f"{_CORE}seq", f"{_CORE}omap"}, MappingNode: {f"{_CORE}map"}}


class CheckingComposer(Composer):
    """ruamel's composer, checking each node as the parser hands it over, before anything is constructed: so
    the parse stops at the first node past a limit (:data:`MAX_NODES`, :data:`MAX_ANCHORS`, :data:`MAX_DEPTH`),
    an alias inside its own anchor is refused (ruamel would construct it as None), so is a merge key ``<<``
    (:mod:`switchrole.model.yaml_merge`), and so is a YAML tag other than the core ones that say what the value
    already is (``!!str`` on any scalar, ``!!int`` on an integer, ``!!map`` on a map, ``!!seq`` or ``!!omap`` on
    a list, ...)."""

    merge_keys = False  # MergeKeysComposer: a base revision written before merge keys were refused

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False  # legal YAML (the later anchor wins); a Python warning would be a stray line
        self.budget = NodeBudget()
        self.open: list[Any] = []  # the nodes being composed, outermost first
        self.path: list[Any] = []  # and the field path to the node being composed

    def refuse(self, message: str, mark: Any, *more: Any) -> Refused:
        path = tuple(p for p in self.path if p is not None)
        return Refused((*path, *more), message, mark.line + 1)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if isinstance(index, ScalarNode):
            part: Any = str(index.value)
        elif isinstance(index, int) or index is None:
            part = index if parent is not None else None
        else:
            part = "?"  # a value under a complex key: refused later, as a key that is not a string
        self.path.append(part)
        self.open.append(parent)
        try:
            return self._checked_node(parent, index)
        finally:
            self.path.pop()
            self.open.pop()

    def _checked_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        alias = event.anchor if isinstance(event, AliasEvent) else None
        target = self.anchors.get(alias) if alias is not None else None
        refusal = self.budget.admit(
            alias=alias,
            alias_open=target is not None and any(target is node for node in self.open),
            depth=len(self.open),
            anchored=alias is None and event.anchor is not None,
        )
        if refusal is not None:
            raise self.refuse(refusal, event.start_mark)
        if alias is not None:
            return super().compose_node(parent, index)
        if not self.merge_keys and isinstance(event, ScalarEvent) and yaml_merge.is_merge(event.value, event.implicit):
            as_key = parent is not None and index is None
            extra = (yaml_merge.MERGE,) if as_key else ()
            raise self.refuse(yaml_merge.refusal(as_key=as_key), event.start_mark, *extra)
        tagged = isinstance(event, ScalarEvent | SequenceStartEvent | MappingStartEvent) and event.ctag is not None
        if tagged:
            self._check_tag(event)
        node = super().compose_node(parent, index)
        if tagged and str(node.tag) == f"{_CORE}omap":
            self._check_omap(node)
        return node

    def compose_mapping_node(self, anchor: Any) -> Any:
        """A map, with each key once: YAML refuses a key written twice, and here the refusal names the field."""
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], Any] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode):
                continue
            first = seen.setdefault((str(key.tag), str(key.value)), key)
            if first is not key:
                raise self.refuse(
                    f"the key {short(key.value)} is written twice in this map (first on line "
                    f"{first.start_mark.line + 1}): delete one",
                    key.start_mark,
                    str(key.value),
                )
        return node

    def _check_tag(self, event: Any) -> None:
        tag, written = str(event.ctag), f"{event.ctag.handle or ''}{event.ctag.suffix}"
        if isinstance(event, ScalarEvent):
            plain = str(self.resolver.resolve(ScalarNode, event.value, (True, False)))
            allowed = tag == f"{_CORE}str" or (tag in _SCALAR_TAGS and tag == plain)
        else:
            allowed = tag in _COLLECTION_TAGS[SequenceNode if isinstance(event, SequenceStartEvent) else MappingNode]
        if not allowed:
            raise self.refuse(
                f"YAML tag {short(written, 40)[1:-1]} is not allowed here: only plain values (strings, numbers, "
                "booleans, lists and maps) and the core tags that name their own kind (!!str, !!int, !!map, ...)",
                event.start_mark,
            )

    def _check_omap(self, node: Any) -> None:
        """``!!omap``: a list of one-key maps, each key once (ruamel's constructor asserts it)."""
        seen: set[Any] = set()
        for i, item in enumerate(node.value):
            if not (
                isinstance(item, MappingNode) and len(item.value) == 1 and isinstance(item.value[0][0], ScalarNode)
            ):
                raise self.refuse("an ordered map (!!omap) is a list of one-key maps", item.start_mark, i)
            key = item.value[0][0].value
            if key in seen:
                raise self.refuse(f"an ordered map (!!omap) lists the key {short(key)} twice", item.start_mark, i)
            seen.add(key)


class MergeKeysComposer(CheckingComposer):
    """:class:`CheckingComposer` letting merge keys through: for the base revision of ``switchrole diff``, which
    an earlier switchrole accepted (its review must still run in the pull request that writes them out)."""

    merge_keys = True
