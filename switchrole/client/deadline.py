"""The overall deadline of a command that calls AWS (``smoke``, ``assume``, ``session``).

botocore's timeouts bound each connect and each read, not a whole call: an endpoint that sends a byte every
few seconds keeps a read alive for ever, and a profile's credential_process that never exits is waited for
for ever. So each of these commands runs under one deadline: ``SWITCHROLE_DEADLINE`` seconds (default
:data:`DEFAULT_SECONDS`; ``smoke --all`` has that much per switch each worker makes in turn). Time spent
waiting for the person to type an MFA code does not count. When the deadline passes, the command prints one
line saying so (naming the profile whose credential_process is still running, if one is), stops that
process, and exits with code 1 at once: a thread stuck in a read cannot be interrupted, so nothing else
would end it.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from switchrole.model.exits import EXIT_FAILED

DEFAULT_SECONDS = 90.0  # a single switch makes at most 6 AWS calls; one call that never answers ends in ~60 s
VARIABLE = "SWITCHROLE_DEADLINE"


class DeadlineError(Exception):
    """``SWITCHROLE_DEADLINE`` is not a number of seconds; the message is one line for the user."""


def configured_seconds() -> float:
    """``$SWITCHROLE_DEADLINE``, else :data:`DEFAULT_SECONDS`; :class:`DeadlineError` for anything but a
    number of seconds above 0."""
    text = os.environ.get(VARIABLE, "").strip()
    if not text:
        return DEFAULT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise DeadlineError(f"{VARIABLE}: {text[:20]!r} is not a number of seconds above 0")
    return seconds


class Deadline:
    """A watcher thread that ends the process with one line when ``seconds`` times ``rounds`` (less any
    pauses) have passed."""

    def __init__(self, seconds: float, label: str, prefix: str = "", rounds: int = 1) -> None:
        self.seconds, self.rounds, self.label, self.prefix = seconds, max(1, rounds), label, prefix
        self._end = time.monotonic() + seconds * self.rounds
        self._paused = 0
        self._done = False
        self.expired = False  # set (under the lock) before any credential_process is stopped
        self._lock = threading.Condition()
        self._processes: list[tuple[subprocess.Popen[bytes], str]] = []
        self._thread = threading.Thread(target=self._watch, name="switchrole-deadline", daemon=True)

    def start(self) -> Deadline:
        """Start the clock: when it runs out, one line on stderr, the tracked processes stopped, exit 1."""
        self._thread.start()
        return self

    def finish(self) -> None:
        """Stop the clock: the work finished in time."""
        with self._lock:
            self._done = True
            self._lock.notify_all()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the clock while the person types (an MFA code)."""
        with self._lock:
            self._paused += 1
            started = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._paused -= 1
                self._end += time.monotonic() - started
                self._lock.notify_all()

    def remaining(self) -> float:
        """Seconds left (the clock stands while paused)."""
        with self._lock:
            return self._end - time.monotonic()

    def track(self, process: subprocess.Popen[bytes], profile: str) -> None:
        """Stop ``process`` (a profile's credential_process) if the deadline passes while it runs."""
        with self._lock:
            self._processes = [(p, name) for p, name in self._processes if p.poll() is None]
            self._processes.append((process, profile))

    def _watch(self) -> None:
        with self._lock:
            while not self._done:
                left = self._end - time.monotonic()
                if self._paused:
                    self._lock.wait()
                elif left > 0:
                    self._lock.wait(left)
                else:
                    self._expire()  # never returns

    def cause(self) -> str:
        """The one line saying which limit passed (and which credential_process was still running)."""
        running = [name for process, name in self._processes if process.poll() is None]
        limit = f"{self.seconds:g} s ({VARIABLE})"
        if self.rounds > 1:
            each = f"{self.seconds:g} s for each of {self.rounds} switches per worker"
            limit = f"{self.seconds * self.rounds:g} s ({VARIABLE}: {each})"
        if running:
            return f"profile {running[0]}: its credential_process did not finish within {limit}; stopped it"
        return f"{self.label}: no result within {limit}: an AWS endpoint answers too slowly or not at all"

    def _expire(self) -> None:
        """One line on stderr, the credential_process still running (if any) stopped, exit 1 at once."""
        self.expired = True
        line = self.prefix + self.cause()
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):
                stream.flush()
        with suppress(OSError, ValueError):
            if sys.stderr.isatty():  # a progress bar may be on the line, and the cursor hidden
                sys.stderr.write("\r\x1b[2K\x1b[?25h")
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        for process, _ in self._processes:
            if process.poll() is None:
                for pid in descendants(process.pid):  # a wrapper's helpers too (not a process group of its own:
                    with suppress(OSError):  # the process may prompt on /dev/tty, as a foreground job)
                        os.kill(pid, signal.SIGKILL)
                with suppress(OSError, subprocess.TimeoutExpired):
                    process.kill()
                    process.wait(timeout=2)
        os._exit(EXIT_FAILED)


def descendants(pid: int) -> list[int]:
    """The processes started by ``pid`` and by them, deepest last (Linux's /proc; elsewhere none are found)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            with suppress(OSError):
                pending += [int(child) for child in children.read_text().split()]
        if parent != pid:
            found.append(parent)
    return found


_current: Deadline | None = None


@contextmanager
def running(seconds: float, label: str, prefix: str = "", rounds: int = 1) -> Iterator[Deadline]:
    """Run the block under a deadline of ``seconds`` (for each of ``rounds``); ``label`` names the command in
    the line printed when it passes, after ``prefix``."""
    global _current
    deadline = Deadline(seconds, label, prefix, rounds).start()
    previous, _current = _current, deadline
    try:
        yield deadline
    finally:
        deadline.finish()
        _current = previous


@contextmanager
def paused() -> Iterator[None]:
    """Stop the current deadline's clock (if any) while the person types."""
    if _current is None:
        yield
        return
    with _current.paused():
        yield


class _Tracked(subprocess.Popen):  # type: ignore[type-arg]
    """A credential_process the deadline stops; once it has, whoever waited for it waits on (the deadline's
    thread is ending the process) instead of reporting the stopped process as a failure of its own."""

    deadline: Deadline | None = None

    def communicate(self, *args: Any, **kwargs: Any) -> Any:
        answer = super().communicate(*args, **kwargs)
        if self.deadline is not None and self.deadline.expired:
            threading.Event().wait()
        return answer


def tracked_popen(profile: str) -> Callable[..., subprocess.Popen[bytes]]:
    """A ``Popen`` for botocore's credential_process provider: the process is stopped if the deadline passes."""

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process = _Tracked(*args, **kwargs)
        process.deadline = _current
        if _current is not None:
            _current.track(process, profile)
        return process

    return popen
