"""The demo's signal handling on its own, in a child Python: the first signal interrupts, later ones are ignored,
even once the cleanup is over and the process is on its way out with 130."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import os, signal, sys
    from switchrole.local.demo_checks import Interruption

    with Interruption() as interruption:
        try:
            if {interrupt}:
                os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C, during the work
        except KeyboardInterrupt:
            os.kill(os.getpid(), signal.SIGTERM)  # a second one, during the cleanup
            print("interrupted", flush=True)
    os.kill(os.getpid(), signal.SIGINT)  # one more, after the cleanup, before the exit
    sys.exit(130 if interruption.signum else 0)
    """
)


def run(interrupt: bool) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM.format(interrupt=interrupt)], capture_output=True, text=True, timeout=60
    )


def test_signals_after_an_interruption_do_not_change_its_exit_status() -> None:
    done = run(interrupt=True)
    assert (done.returncode, done.stdout, done.stderr) == (130, "interrupted\n", "")


def test_without_an_interruption_the_previous_handlers_are_back() -> None:
    done = run(interrupt=False)  # Python's own SIGINT handler again: KeyboardInterrupt, then death by SIGINT
    assert done.returncode == -2
    assert "KeyboardInterrupt" in done.stderr
