"""The ``switchrole`` command line: each command is a thin layer over library functions.

Exit codes: 0 success, 1 a check failed, 2 bad usage or configuration (one
line per problem, naming the field path and the file line). The commands live in one module per concern
(``*_commands``); this module registers them in the order ``switchrole --help`` lists them and holds the
console entry, :func:`run`.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from switchrole.cli import client_commands, infra_commands, live_commands, local_commands, review_commands
from switchrole.cli.common import app
from switchrole.model.exits import EXIT_FAILED

app.command()(infra_commands.validate)
app.command()(infra_commands.synth)
app.command("bootstrap-template")(infra_commands.bootstrap_template)
app.command()(review_commands.matrix)
app.command()(live_commands.smoke)
app.command()(client_commands.profiles)
app.command()(client_commands.links)
app.command()(client_commands.assume)
app.command()(client_commands.session)
app.command()(client_commands.logout)
app.command()(review_commands.diff)
app.command()(review_commands.onboard)
app.command()(review_commands.offboard)
app.command("init")(infra_commands.init_repository)
app.command()(live_commands.audit)
app.add_typer(local_commands.local_app, name="local")


def run(argv: list[str] | None = None) -> Any:
    """Console-script entry point: never a traceback for the user (``SWITCHROLE_DEBUG=1`` shows it), and
    nothing credential-shaped in the one line printed instead."""
    import os
    from contextlib import nullcontext

    from switchrole.client.redact import redact, redacted_output

    args = argv if argv is not None else sys.argv[1:]
    command = next((arg for arg in args if not arg.startswith("-")), "")
    # the commands that call AWS: every line redacted, the usage errors of the argument parser included
    # (stdout too for smoke; assume and session print the credential_process answer there)
    redacted = redacted_output(stdout=command == "smoke") if command in REDACTED_COMMANDS else nullcontext()
    with redacted:
        try:
            return app(args=args, prog_name="switchrole")
        except Exception as exc:
            if os.environ.get("SWITCHROLE_DEBUG"):
                raise
            reason = redact(str(exc).splitlines()[0])[:200] if str(exc) else ""  # redacted, then cut
            typer.echo(
                f"switchrole: unexpected error: {type(exc).__name__}: {reason} (SWITCHROLE_DEBUG=1 shows more)",
                err=True,
            )
            return EXIT_FAILED


REDACTED_COMMANDS = ("smoke", "assume", "session")


if __name__ == "__main__":
    raise SystemExit(run())
