"""Interrupting `switchrole local demo`: one line, nothing left running, nothing left on disk."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


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


def start_demo(tmpdir: Path, marker: str) -> subprocess.Popen[str]:
    """The demo with ``tmpdir`` as its TMPDIR (the user's temporary folder), in a process group of its own."""
    env = {**os.environ, "TMPDIR": str(tmpdir), marker.split("=")[0]: marker.split("=")[1]}
    return subprocess.Popen(
        [sys.executable, "-m", "switchrole.cli", "local", "demo"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def wait_for_bootstrap(tmpdir: Path, demo: subprocess.Popen[str]) -> None:
    """Until `cdk bootstrap` has written its template to a cdk-bootstrap* folder (it removes it when done; so
    does the demo, when it ends it first), anywhere under ``tmpdir``: jsii's kernel runs too by then."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and demo.poll() is None:
        with contextlib.suppress(OSError):  # folders come and go while we look
            if any(tmpdir.rglob("cdk-bootstrap*")):
                return
        time.sleep(0.05)
    demo.kill()
    pytest.fail(f"`cdk bootstrap` never started: {demo.communicate()}")


def assert_stopped_cleanly(demo: subprocess.Popen[str], tmpdir: Path, marker: str) -> None:
    out, err = demo.communicate(timeout=60)
    assert demo.returncode == 130, out + err
    # one line after the progress lines (✓ ...), nothing on stderr (no traceback of jsii's exit hook)
    assert [line for line in out.splitlines() if not line.startswith("✓ ")] == [
        "interrupted: the local AWS and every CDK CLI run were stopped, the work folder removed"
    ], out + err
    assert err == "", err
    # nothing left in the user's TMPDIR: neither the demo's folder nor jsii-kernel-*, cdk-bootstrap*, tmp*
    assert sorted(p.name for p in tmpdir.iterdir()) == []
    deadline = time.monotonic() + 10
    while marked(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert marked(marker) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_demo_alone_stops_everything_it_started(tmp_path: Path, signum: int) -> None:
    marker = f"SWITCHROLE_INTERRUPT_TEST={os.getpid()}-{signum}"
    demo = start_demo(tmp_path, marker)
    assert demo.stdout is not None
    for line in demo.stdout:  # wait until `cdk bootstrap` runs (node processes of its own)
        if "started the local AWS" in line:
            break
    time.sleep(2)
    demo.send_signal(signum)  # to the demo's PID alone, not its process group
    assert_stopped_cleanly(demo, tmp_path, marker)


def test_a_double_ctrl_c_still_stops_everything_once(tmp_path: Path) -> None:
    """A terminal's Ctrl-C goes to the whole process group (jsii's node too), and impatient users press it
    twice: the second lands in the cleanup the first started, which must finish all the same. Sent while
    `cdk bootstrap` has its template in a temporary folder, which the CLI leaves when it is ended."""
    marker = f"SWITCHROLE_INTERRUPT_TEST={os.getpid()}-double"
    demo = start_demo(tmp_path, marker)
    wait_for_bootstrap(tmp_path, demo)
    os.killpg(demo.pid, signal.SIGINT)
    time.sleep(0.4)
    with contextlib.suppress(ProcessLookupError):  # done already
        os.killpg(demo.pid, signal.SIGINT)
    assert_stopped_cleanly(demo, tmp_path, marker)
