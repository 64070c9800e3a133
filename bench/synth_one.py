"""One synthesis, in its own process so the parent can measure its time and memory (Python and Node)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bench.organisations import organisation
from switchrole.infra.assembly import synth
from switchrole.infra.validate import check
from switchrole.model.loading import from_data


def main() -> None:
    n, mode, out = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    start = time.perf_counter()
    org = from_data(organisation(n, mode=mode))
    problems = check(org)
    if problems:
        raise SystemExit("\n".join(p.render("generated") for p in problems[:5]))
    synth(org, out)
    print(json.dumps({"synth_seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
