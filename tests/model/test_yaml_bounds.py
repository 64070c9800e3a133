"""The fast pass (libyaml) and ruamel's composer refuse the same file at the same node, in the same words.

`prescan` exists so that a file past a limit is refused before the expensive parse; it is only right if it
refuses exactly what the composer would. The limits are made small here, so that every limit is met within a
few lines and the two passes can be compared on many shapes of YAML.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from switchrole.model import yaml_bounds
from switchrole.model.yaml_bounds import CheckingComposer, Refused, prescan


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_bounds, "MAX_NODES", 25)
    monkeypatch.setattr(yaml_bounds, "MAX_ANCHORS", 4)
    monkeypatch.setattr(yaml_bounds, "MAX_DEPTH", 5)


def composed(text: str) -> tuple[Any, ...] | None:
    yaml = YAML(typ="rt")
    yaml.Composer = CheckingComposer
    try:
        yaml.load(text)
    except Refused as exc:
        return exc.path, exc.message, exc.line
    except YAMLError:  # not a limit: the full parse says what is wrong, and prescan leaves it to it
        pass
    return None


def prescanned(text: str) -> tuple[Any, ...] | None:
    try:
        prescan(text)
    except Refused as exc:
        return exc.path, exc.message, exc.line
    return None


WRITTEN = {
    "within": "a: [1, 2]\nb: {c: d}\n",
    "flow-list": "a: b\nlist: [" + ", ".join(map(str, range(50))) + "]\n",
    "block-list": "top:\n  items:\n" + "".join(f"    - {i}\n" for i in range(50)),
    "block-map": "top:\n" + "".join(f"  k{i}: v\n" for i in range(30)),
    "deep-block": "a:\n  b:\n    c:\n      d:\n        e:\n          f: 1\n",
    "deep-flow": "a: [[[[[1]]]]]\n",
    "deep-list-in-map": "a:\n- b:\n  - c:\n    - 1\n",
    "anchors": "a: [&x1 1, &x2 2, &x3 3, &x4 4, &x5 5]\n",
    "anchored-maps": "a: &m1 {b: &m2 {c: 1}}\nd: &m3 [&m4 1, &m5 2]\n",
    "self-alias": "a: {b: [1, &s {c: [*s]}]}\n",
    "self-alias-as-key": "a: &k {? *k : 1}\n",
    "alias-of-a-scalar-as-key": "a: &k name\nb: {*k : [" + ", ".join(["1"] * 40) + "]}\n",
    "complex-key": "? [a, b]\n: [" + ", ".join(["1"] * 40) + "]\n",
    "merge-key": "base: &b {x: 1}\nderived:\n  <<: *b\n  y: [" + ", ".join(["2"] * 40) + "]\n",
    "redefined-anchor": "a: &r [1]\nb: &r [*r]\n",
    "aliases": "a: &z 0\nb: [" + ", ".join(["*z"] * 50) + "]\n",
    "undefined-alias": "a: *nowhere\nb: [" + ", ".join(["1"] * 50) + "]\n",
    "second-document": "a: 1\n---\nb: [" + ", ".join(["1"] * 50) + "]\n",
    "crlf": "a: b\r\nlist:\r\n" + "".join(f"- {i}\r\n" for i in range(50)),
    "quoted-keys": "\"a b\": {'c': [" + ", ".join(["1"] * 50) + "]}\n",
}


@pytest.mark.parametrize("name", list(WRITTEN))
def test_both_passes_refuse_alike(name: str) -> None:
    text = WRITTEN[name]
    assert prescanned(text) == composed(text)


def test_the_cases_meet_every_limit() -> None:
    """The written cases are not all within the limits: each limit is met by one of them."""
    messages = " ".join(str(composed(text)) for text in WRITTEN.values())
    for words in ("more than 25 values", "more than 4 YAML anchors", "nested more than 5", "alias inside its own"):
        assert words in messages


def random_yaml(rng: random.Random) -> str:
    """A random document in flow style, with anchors and aliases of anchors written before (some still open)."""
    anchors: list[str] = []

    def node(depth: int) -> str:
        roll = rng.random()
        if anchors and roll < 0.1:
            return f"*{rng.choice(anchors)}"
        prefix = ""
        if rng.random() < 0.15:
            anchors.append(f"a{len(anchors)}")
            prefix = f"&{anchors[-1]} "
        if depth > 7 or roll < 0.5:
            return prefix + rng.choice(["x", "1", "'q, r'", '"s: t"', "null", "y z"])
        if roll < 0.75:
            return prefix + "[" + ", ".join(node(depth + 1) for _ in range(rng.randint(0, 5))) + "]"
        items = []
        for i in range(rng.randint(0, 5)):
            key = f"k{i}" if rng.random() < 0.9 or not anchors else f"*{rng.choice(anchors)} "
            items.append(f"{key}: {node(depth + 1)}")
        return prefix + "{" + ", ".join(items) + "}"

    return "top: " + node(1) + "\n"


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_random_documents_are_refused_alike(seed: int) -> None:
    text = random_yaml(random.Random(seed))
    assert prescanned(text) == composed(text), text
