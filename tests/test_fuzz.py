"""A seeded Hypothesis campaign over mutated accounts files: exit 0 or exit 2 only, no traceback.

`make fuzz` runs a longer campaign of the same mutations (bench/fuzz.py; figures in BENCHMARKS.md).
"""

from __future__ import annotations

import random
import resource
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz import EXAMPLE, mutate, outcome


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


def test_the_campaign_stayed_within_memory() -> None:
    """After the campaign above (same process): no input blew the memory up (the alias bomb took 1.2 GB)."""
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 < 3000  # MiB, jsii's Node child excluded
