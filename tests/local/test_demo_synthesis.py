"""The demo's synthesis child (switchrole.local.synth_child): one process serves every round of a demo, a
round after it ended starts another, a failure is the demo's one-line failure with the child's own words, and
the demo's end lets it exit by itself."""

from __future__ import annotations

import io
import json
import os
import signal
from pathlib import Path

import pytest
from factories import example_data, load_data
from rich.console import Console

from switchrole.local.demo import Demo
from switchrole.local.demo_checks import DemoFailed

pytestmark = pytest.mark.slow  # a synthesis (jsii's kernel, the CDK's validator)


def stacks(assembly: Path) -> list[str]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    return sorted(k for k, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack")


def test_one_child_serves_every_round_and_a_new_one_follows_an_ended_one(tmp_path: Path) -> None:
    data = example_data()
    demo = Demo(load_data(data), console=Console(file=io.StringIO()), workdir=tmp_path)
    try:
        demo.synth(demo.org)
        child = demo.synthesizer
        assert child is not None and child.poll() is None and len(stacks(demo.assembly)) == 5
        data["accounts"].append({"name": "data-stage", "account_id": "777777777777", "roles": ["ReadOnly"]})
        demo.synth(load_data(data))  # the next round: an account added
        assert demo.synthesizer is child and child.poll() is None  # the same process, still serving
        assert len(stacks(demo.assembly)) == 6 and "SwitchRole-data-stage" in stacks(demo.assembly)

        os.killpg(child.pid, signal.SIGKILL)  # ended under it (as a signal meant for it alone would)
        child.wait()
        demo.synth(demo.org)
        assert demo.synthesizer is not child and len(stacks(demo.assembly)) == 5

        last = demo.synthesizer
        demo.end_synthesis()
        assert last is not None and last.returncode == 0 and demo.synthesizer is None  # it ended by itself
    finally:
        demo.stop()


def test_a_failed_synthesis_is_the_demos_failure_in_the_childs_words(tmp_path: Path) -> None:
    demo = Demo(load_data(example_data()), console=Console(file=io.StringIO()), workdir=tmp_path)
    demo.assembly.mkdir()
    (demo.assembly / "notes.txt").write_text("not a cloud assembly")  # synth refuses to replace such a folder
    try:
        with pytest.raises(DemoFailed) as failed:
            demo.synth(demo.org)
        assert str(failed.value).startswith("synthesis failed (exit 1):")
        assert "is not a cloud assembly" in str(failed.value)
    finally:
        demo.stop()
