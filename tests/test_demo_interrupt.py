"""Interrupting `switchrole local demo`: one line, nothing left running, nothing left on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent


def marked(marker: str) -> list[int]:
    """Processes whose environment carries ``marker`` (everything the demo started inherits it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_demo_alone_stops_everything_it_started(tmp_path: Path, signum: int) -> None:
    marker = f"SWITCHROLE_INTERRUPT_TEST={os.getpid()}-{signum}"
    env = {**os.environ, "TMPDIR": str(tmp_path), marker.split("=")[0]: marker.split("=")[1]}
    demo = subprocess.Popen(
        [sys.executable, "-m", "switchrole.cli", "local", "demo"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert demo.stdout is not None
    for line in demo.stdout:  # wait until `cdk bootstrap` runs (node processes of its own)
        if "started the local AWS" in line:
            break
    time.sleep(2)
    demo.send_signal(signum)  # to the demo's PID alone, not its process group
    out, err = demo.communicate(timeout=60)
    assert demo.returncode == 130, out + err
    assert "interrupted:" in out and "Traceback" not in out + err, out + err
    assert not list(tmp_path.glob("switchrole-demo-*"))
    deadline = time.monotonic() + 10
    while marked(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert marked(marker) == []
