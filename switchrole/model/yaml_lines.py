"""Where a value of a parsed accounts file was written: the file line of a field path, for every problem.

ruamel's round-trip types record the line of each map key and list item, with two gaps switchrole met:

- an ordered map (``!!omap [{a: 1}, {b: 2}]``, which switchrole reads as a map) records no key lines: naming a
  field in one crashed with a TypeError. :class:`LocatingConstructor` records them, from the nodes it builds
  the map of.
- a key it has no line for (a merged key, before merge keys were refused) crashed with a KeyError.
  :func:`locate_line` falls back to the line of the map or list that holds the key, so a problem is always
  reported, with the nearest line known.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedOrderedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.nodes import MappingNode

from switchrole.model.errors import Path


class LocatingConstructor(RoundTripConstructor):
    """ruamel's round-trip constructor, recording each ``!!omap`` key's line as it does a map's."""

    def construct_yaml_omap(self, node: Any) -> Iterator[CommentedOrderedMap]:
        built = super().construct_yaml_omap(node)
        omap = next(built)
        yield omap
        for _ in built:  # the rest of ruamel's two-step construction fills the map
            pass
        # the composer has checked the shape: a list of one-key maps, each key once (yaml_bounds._check_omap)
        for item, key in zip(node.value, list(omap), strict=False):
            if isinstance(item, MappingNode) and len(item.value) == 1:
                key_node, value_node = item.value[0]
                start, value = key_node.start_mark, value_node.start_mark
                omap._yaml_set_kv_line_col(key, [start.line, start.column, value.line, value.column])


LocatingConstructor.add_constructor("tag:yaml.org,2002:omap", LocatingConstructor.construct_yaml_omap)


def locate_line(root: Any, path: Path) -> int | None:
    """1-based line of the deepest node of ``path`` that exists in the parsed file (at worst the line of the
    map or list holding the first part it has no line for)."""
    node, line = root, None
    for part in path:
        if isinstance(node, CommentedMap) and part in node:
            line = _line(node, lambda lc, k=part: lc.key(k)) or line
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = _line(node, lambda lc, i=part: lc.item(i)) or line
            node = node[part]
        else:
            break
    return line


def _line(container: Any, where: Any) -> int | None:
    """The 1-based line ``where(container.lc)`` names, else the container's own line, else None."""
    try:
        return int(where(container.lc)[0]) + 1
    except (KeyError, TypeError, IndexError):
        own = getattr(container.lc, "line", None)
        return own + 1 if isinstance(own, int) else None
