"""Mutation fuzzing of `switchrole validate` (`make fuzz`): every input must end in exit 0 or exit 2, quickly.

Mutations start from the example accounts file and apply a few random edits each: lines deleted, duplicated,
swapped or cut, words replaced by random text, and snippets that broke earlier versions inserted (aliases and
alias bombs, YAML tags, dates, huge numbers, deep nesting, control and look-alike characters, odd bytes).
The test suite runs a seeded Hypothesis campaign of a few hundred inputs over the same mutations
(tests/test_fuzz.py); this campaign runs thousands and reports outcomes and the slowest inputs.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLE = (ROOT / "accounts.yaml").read_text()
NASTY = (
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b]\n",
    "loop: &loop [*loop]\n",
    "Version: 2012-10-17\n",
    "x: !Sub '${AWS::AccountId}'\n",
    "x: !!binary aGVsbG8=\n",
    "x: !!set {a, b}\n",
    "x: !!omap [{a: 1}]\n",
    f"x: {'9' * 5000}\n",
    "x: " + "[" * 200 + "]" * 200 + "\n",
    "? {a: 1}\n: b\n",
    "%YAML 1.3\n---\n",
    "x: .nan\n",
    "x: \x1b[31mred\x07\n",
    "x: \ufeff\u0431ob\n",
    "x: ２２２２２２２２２２２２\n",
    "x: 'mallory,x'\n",
    "x: /sw*/\n",
    "x: *undefined\n",
    "\t- tab\n",
    "x: 'unterminated\n",
)
WORDS = ("", "*", "-", "{}", "[]", "null", "true", "0", "012345678901", "''", '"', "&x", "*x", "!!str", "é", "\\")


def mutate(text: str, rng: random.Random, edits: int = 3) -> str:
    """``text`` with ``edits`` random edits."""
    lines = text.splitlines(keepends=True)
    for _ in range(edits):
        choice = rng.randrange(7)
        at = rng.randrange(len(lines) + 1) if lines else 0
        if choice == 0 and lines:
            del lines[min(at, len(lines) - 1)]
        elif choice == 1 and lines:
            lines.insert(at, lines[min(at, len(lines) - 1)])
        elif choice == 2 and len(lines) > 1:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif choice == 3 and lines:
            line = lines[min(at, len(lines) - 1)]
            lines[min(at, len(lines) - 1)] = line[: rng.randrange(len(line) + 1)] + "\n"
        elif choice == 4:
            lines.insert(at, rng.choice(NASTY))
        elif choice == 5 and lines:
            i = rng.randrange(len(lines))
            words = lines[i].split(" ")
            k = rng.randrange(len(words))
            words[k] = (
                rng.choice(WORDS) if rng.random() < 0.7 else "".join(chr(rng.randrange(1, 0x3000)) for _ in range(5))
            )
            lines[i] = " ".join(words)
        else:
            indent = " " * rng.choice((0, 2, 4, 6))
            lines.insert(at, f"{indent}{rng.choice(('roles', 'users', 'groups', 'hub', 'x'))}: {rng.choice(WORDS)}\n")
    return "".join(lines)


def outcome(text: str, folder: Path) -> tuple[int, str, float]:
    """(exit code, stderr, seconds) of `switchrole validate --quick` on ``text``, in this process."""
    from typer.testing import CliRunner

    from switchrole.cli import app

    path = folder / "accounts.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    start = time.monotonic()
    result = CliRunner().invoke(app, ["validate", "--quick", "--config", str(path)])
    elapsed = time.monotonic() - start
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return -1, f"{type(result.exception).__name__}: {result.exception}", elapsed
    return result.exit_code, result.stderr, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    slowest: list[tuple[float, str]] = []
    crashes: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        for n in range(args.inputs):
            text = mutate(EXAMPLE, rng, rng.randrange(1, 6))
            code, stderr, seconds = outcome(text, Path(scratch))
            outcomes[{0: "exit 0", 2: "exit 2"}.get(code, f"crash ({code})")] += 1
            slowest = sorted([*slowest, (seconds, f"input {n}: {stderr.splitlines()[0][:90] if stderr else 'OK'}")])[
                -3:
            ]
            if code not in (0, 2) or "Traceback" in stderr:
                crashes.append(f"input {n}: {stderr[:200]}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.inputs} inputs (seed {args.seed}) in {time.monotonic() - started:.0f} s, peak memory {peak:.0f} MiB")
    for kind, count in sorted(outcomes.items()):
        print(f"  {kind}: {count}")
    print("slowest:")
    for seconds, what in reversed(slowest):
        print(f"  {seconds * 1000:.0f} ms  {what}")
    for crash in crashes[:20]:
        print(f"CRASH {crash}")
    raise SystemExit(1 if crashes else 0)


if __name__ == "__main__":
    main()
