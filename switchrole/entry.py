"""The ``switchrole`` console script: a credential_process answer from the cache first, the CLI otherwise.

``switchrole assume``/``session`` run before every ``aws`` command of a generated profile, so their cached
answer must not wait for the CLI's imports (Typer, Rich, boto3, the organisation model): this module tries
:func:`switchrole.client.invocation.cached_answer` first, with the standard library alone, and hands
everything else (and every miss) to :func:`switchrole.cli.main.run` unchanged.
"""

from __future__ import annotations

import sys
from typing import Any

FAST = ("assume", "session")


def main(argv: list[str] | None = None) -> Any:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] and args[0] in FAST:
        from switchrole.client.invocation import cached_answer

        answer = cached_answer(args)
        if answer is not None:
            sys.stdout.write(answer + "\n")
            sys.stdout.flush()
            return 0
    from switchrole.cli.main import run

    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
