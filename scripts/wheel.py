"""Write switchrole's wheel into a folder: the same bytes ``switchrole init`` vendors from this checkout.

Why a script rather than ``pip wheel .``: the wheel is built by switchrole.scaffold.wheel, from a copy of the
source with SOURCE_DATE_EPOCH fixed, so that the same source always gives the same sha256 (``pip wheel .`` stamps
file times and leaves build/ behind), and what is handed out is what a repository made from this checkout pins.

    .venv/bin/python scripts/wheel.py dist      # or: make wheel
"""

from __future__ import annotations

import sys
from pathlib import Path

from switchrole.scaffold.wheel import WheelError, running_wheel


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: scripts/wheel.py DIR", file=sys.stderr)
        return 2
    try:
        wheel = running_wheel()
    except WheelError as exc:
        print(exc, file=sys.stderr)
        return 2
    target = Path(argv[0]) / wheel.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(wheel.data)
    print(f"wrote {target} (sha256 {wheel.sha256})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
