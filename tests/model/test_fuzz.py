"""Seeded Hypothesis campaigns over mutated accounts files: exit 0 or exit 2 only, no traceback.

Two kinds of input: random line edits of the example (bench/fuzz.py), and valid accounts files with YAML's
rarer constructs put at random places (anchors, merge keys, !!omap, !!set, complex and duplicate keys, control
characters, tabs, byte-order marks: bench/constructs.py), whose every problem must name its file line.
`make fuzz` runs a longer campaign of both (bench/fuzz.py; figures in BENCHMARKS.md).
"""

from __future__ import annotations

import random
import resource
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import constructs
from bench.fuzz import EXAMPLE, mutate, outcome


@pytest.mark.slow
@settings(
    max_examples=300,
    derandomize=True,  # the same inputs on every run: a failure here is reproducible
    deadline=None,  # how long an input takes is bench/fuzz.py's figure: a loaded machine must not fail the test
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), edits=st.integers(min_value=1, max_value=5))
def test_mutated_files_end_in_exit_0_or_2(tmp_path: Path, seed: int, edits: int) -> None:
    text = mutate(EXAMPLE, random.Random(seed), edits)
    code, stderr, _, _ = outcome(text, tmp_path)
    assert code in (0, 2), stderr
    assert "Traceback" not in stderr
    if code == 2:
        assert stderr.strip() and all(len(line) <= 1000 for line in stderr.splitlines())


@pytest.mark.parametrize("source", constructs.SOURCES, ids=lambda p: p.name)
def test_the_construct_generator_starts_from_valid_files(tmp_path: Path, source: Path) -> None:
    """Written out again without an edit, each source validates: every refusal below is the edit's."""
    code, stderr, _, _ = outcome(constructs.write(constructs.tree(constructs.plain_data(source))), tmp_path)
    assert code == 0, stderr


@pytest.mark.slow
@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_rare_yaml_constructs_end_in_exit_0_or_one_located_line_per_problem(tmp_path: Path, seed: int) -> None:
    """Merge keys and !!omap values were 'unexpected error' (exit 1), a control character had no line, a
    complex key was 'got CommentedKeySeq': now exit 0, or exit 2 with each line `<file>:<line>: ...`, and never
    a Python type, an exception's name or the parser's token names."""
    case = constructs.case(random.Random(seed))
    code, stderr, _, _ = outcome(case.text, tmp_path)
    problem = constructs.line_contract(code, stderr, str(tmp_path / "accounts.yaml"))
    assert problem is None, (case.edits, problem)


@pytest.mark.slow
def test_the_campaign_stayed_within_memory() -> None:
    """After the campaign above (same process): no input blew the memory up (the alias bomb took 1.2 GB)."""
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 < 3000  # MiB, jsii's Node child excluded
