"""The demo's synthesis, in a process of its own that serves every round: each Organisation the demo pickles onto
stdin is synthesized into the folder given as argument, with the same function as `switchrole synth`, and
answered with one line on stdout once written.

Why a child: importing aws_cdk starts jsii's kernel, a node process. In the demo's own process it would
outlive an interruption's cleanup (its temporary folders left behind, jsii's exit hook printing a
BrokenPipeError traceback); in a child, it is ended with the child's session like every CDK CLI run.
Why one for every round: a kernel's first synthesis costs about 5 s (loading aws-cdk-lib and compiling the
CDK's WebAssembly template validator), a later one under 1 s, and `--then` makes a synthesis per round.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

DONE = b"synthesized\n"


def main() -> int:
    from switchrole.infra.assembly import synth

    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # whatever else is printed goes to the log, not the answers
    while True:
        try:
            org = pickle.load(sys.stdin.buffer)  # from the demo that started this process, never from a file
        except EOFError:  # the demo is done with it
            return 0
        synth(org, Path(sys.argv[1]))  # a failure ends the process, its traceback in the log
        answers.write(DONE)
        answers.flush()


if __name__ == "__main__":
    sys.exit(main())
