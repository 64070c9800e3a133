"""The demo's synthesis, in a process of its own: an Organisation (pickled by the demo, on stdin) synthesized
into the folder given as argument, with the same function as `switchrole synth`.

Why a child: importing aws_cdk starts jsii's kernel, a node process. In the demo's own process it would
outlive an interruption's cleanup (its temporary folders left behind, jsii's exit hook printing a
BrokenPipeError traceback); in a child, it is ended with the child's session like every CDK CLI run.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path


def main() -> int:
    from switchrole.infra.assembly import synth

    org = pickle.load(sys.stdin.buffer)  # from the demo that started this process, never from a file
    synth(org, Path(sys.argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
