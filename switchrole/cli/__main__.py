"""``python -m switchrole.cli``: the Typer command line itself (the console script, :mod:`switchrole.entry`,
answers cached credential_process calls before it)."""

from switchrole.cli.main import run

raise SystemExit(run())
