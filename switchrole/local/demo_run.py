"""Running the demo as `switchrole local demo` does: the rounds (`--then`), the report, and a kept emulator's
closing lines.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from rich.console import Console

from switchrole.local.authz import STRICT
from switchrole.local.demo import Demo
from switchrole.local.demo_checks import (
    Check,
    DemoFailed,
    Interruption,
)
from switchrole.local.demo_report import records, summary, table
from switchrole.local.kept import DIR_PREFIX, Kept
from switchrole.model.organisation import Organisation


def run_demo(
    org: Organisation,
    *,
    then: Sequence[Organisation] = (),
    keep: bool = False,
    mfa_reading: str = STRICT,
    console: Console | None = None,
    config_path: Path | None = None,
    then_path: Path | None = None,
    json_out: TextIO | None = None,
) -> int:
    """Run the demo (and, with ``then``, each change onto it in turn); 0 when every check behaved as expected, 130
    when interrupted (Ctrl-C or SIGTERM: everything it started is ended, its folder removed, one line printed).
    With ``json_out``, every round's table is written there as JSON at the end (``--format json``)."""
    console = console or Console(width=None if Console().is_terminal else 160)
    workdir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
    demo = Demo(org, console=console, workdir=workdir, mfa_reading=mfa_reading)
    started = time.monotonic()

    def work() -> int:
        rounds: list[tuple[str, list[Check]]] = []
        rounds.append((f"switchrole local demo: {org.source} on the embedded local AWS", demo.run()))
        console.print(table(rounds[-1][1], rounds[-1][0]))
        console.print(summary(rounds[-1][1]), markup=False, highlight=False)
        for changed in then:
            checks = demo.apply(changed)
            rounds.append((f"after deploying {changed.source} onto it (a CloudFormation update)", checks))
            console.print(table(checks, rounds[-1][0]))
            console.print(summary(checks), markup=False, highlight=False)
        demo.end_synthesis()  # no more rounds
        everything = [c for _, checks in rounds for c in checks]
        console.print(f"[dim]total {time.monotonic() - started:.1f} s[/dim]")
        if json_out is not None:
            document = {
                "as_expected": all(c.passed for c in everything),
                "rounds": [{"title": t, "summary": summary(cs), "checks": records(cs)} for t, cs in rounds],
            }
            json_out.write(json.dumps(document, indent=2) + "\n")
        if keep:
            kept = keep_running(demo, config=then_path or config_path)
            for line in kept_instructions(kept, demo.org):
                console.print(line, markup=False, highlight=False, soft_wrap=True)
        return 0 if all(c.passed for c in everything) else 1

    def finish(code: int | None, error: BaseException | None) -> int:
        """End what must end and say how it went; run again from the start if the first signal lands in it
        (every step can be repeated), then as an interruption."""
        # Ctrl-C or SIGTERM (or a child's pipe closed by a signal meant for it alone)
        interrupted = interruption.signum is not None or isinstance(error, (KeyboardInterrupt, BrokenPipeError))
        failed = isinstance(error, DemoFailed) and not interrupted
        kept = keep and code is not None and not interrupted
        if not kept:
            demo.stop()
        if not kept and not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        if interrupted:
            console.print("interrupted: the local AWS and every CDK CLI run were stopped, the work folder removed")
            return 130
        if failed:
            console.print(f"[red]demo failed:[/red] {error}", markup=True)
            console.print(f"[dim]the local AWS was stopped; its log and the CDK output are kept in {workdir}[/dim]")
            console.print(f"[dim](remove it when done: rm -rf {workdir})[/dim]")
            return 1
        if error is not None:
            raise error
        assert code is not None
        return code

    with Interruption() as interruption:
        code: int | None = None
        error: BaseException | None = None
        try:
            code = work()
        except BaseException as exc:  # finish() re-raises what is neither a failure nor an interruption
            error = exc
        try:
            return finish(code, error)
        except KeyboardInterrupt:  # the first signal, after the work: now the second (and last) time
            return finish(code, error)


def keep_running(demo: Demo, *, config: Path | None) -> Kept:
    """Record the running emulator in its work folder (see switchrole.local.kept)."""
    assert demo.aws.process is not None
    kept = Kept(
        folder=str(demo.workdir),
        endpoint=demo.aws.endpoint,
        pid=demo.aws.process.pid,
        config=str(config.resolve()) if config is not None else "",
        region=demo.org.hub.region,
    )
    kept.write()
    return kept


def kept_instructions(kept: Kept, org: Organisation) -> list[str]:
    """The exact lines the README promises, with this run's real paths and a real user of the file."""
    user = next(iter(org.users), "USER")
    return [
        f"local AWS kept running at {kept.endpoint} (pid {kept.pid}), files in {kept.folder}",
        f"  source {kept.env_file}",
        f'  eval "$(switchrole local credentials --user {user})"   # a key for {user}, in this shell only',
        f"  switchrole local mfa-code --user {user}                # {user}'s current MFA code",
        '  eval "$(switchrole local credentials --deployer)"      # the hub administrator: deploys the hub stack',
        '  eval "$(switchrole local credentials --account ID)"    # an account\'s own deployer, for its stack',
        "  switchrole local stop                                # stop it and remove its files",
    ]
