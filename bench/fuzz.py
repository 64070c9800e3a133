"""Mutation fuzzing of `switchrole validate` (`make fuzz`): every input must end in exit 0 or exit 2, quickly.

Mutations start from the example accounts file and apply a few random edits each: lines deleted, duplicated,
swapped or cut, words replaced by random text, and snippets that broke earlier versions inserted (aliases and
alias bombs, self-referencing aliases and merge keys, YAML tags on scalars, maps and lists, dates, huge numbers,
deep nesting, control and look-alike characters, odd bytes, CDK token markers, lone surrogates). A share of the
inputs is also grown to a large or deep file under the 2 MB limit (long lists, many lines, anchors or aliases,
thousands of levels of nesting), which the parse must refuse within seconds.

Every input runs `validate --quick`; a sample also runs the full `validate` (synthesis and cdk-nag, in a scratch
folder): a share of the inputs `--quick` passes, and every Nth input whatever its answer. When the full validate
says OK, `synth` must too, writing templates that are valid JSON: a file that validates is a file that
synthesizes. Exit 2 must print only lines naming the file (one per problem), never a traceback.
The test suite runs a seeded Hypothesis campaign of a few hundred small inputs over the same mutations
(tests/model/test_fuzz.py); this campaign runs thousands and reports outcomes and the slowest inputs.

Then ``--constructs`` more inputs (bench/constructs.py): valid accounts files with YAML's rarer constructs at
random places (anchors and aliases, merge keys, !!omap, !!set, complex and duplicate keys, control characters,
tabs, byte-order marks), held to a stricter contract: exit 0, or exit 2 with every line naming the file and a
line, and no Python type, exception name or parser token name in any message.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLE = (ROOT / "accounts.yaml").read_text()
NASTY = (
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b]\n",
    "loop: &loop [*loop]\n",
    "loop: &m {a: *m}\n",
    "merge: &c {<<: *c}\n",
    "Version: 2012-10-17\n",
    "x: !Sub '${AWS::AccountId}'\n",
    "x: !!binary aGVsbG8=\n",
    "x: !!set {a, b}\n",
    "x: !!omap [{a: 1}]\n",
    "x: !!omap [{a: 1}, {a: 2}]\n",
    "x: !Foo {a: 1}\n",
    "x: !Foo [a]\n",
    "x: !!int abc\n",
    f"x: {'9' * 5000}\n",
    f"x: {'9' * 30}\n",
    "x: " + "[" * 200 + "]" * 200 + "\n",
    "? {a: 1}\n: b\n",
    "%YAML 1.3\n---\n",
    "x: .nan\n",
    "x: -1.8881545897087626e+289\n",
    "x: '${Token[TOKEN.99]}'\n",
    "x: ['#{Token[TOKEN.98]}']\n",
    'x: "s3:\\ud800"\n',
    "x: \x1b[31mred\x07\n",
    "x: \ufeff\u0431ob\n",
    "x: ２２２２２２２２２２２２\n",
    "x: 'mallory,x'\n",
    "x: /sw*/\n",
    "x: *undefined\n",
    "\t- tab\n",
    "x: 'unterminated\n",
)
WORDS = (
    "",
    "*",
    "-",
    "{}",
    "[]",
    "null",
    "true",
    "0",
    "012345678901",
    "''",
    '"',
    "&x",
    "*x",
    "!!str",
    "!Foo",
    "é",
    "\\",
    "'${Token[X.1]}'",
    "'-1.8881545897087626e+289'",
    '"\\udc00"',
    "99999999999999999999",
)
LIMIT = 1_990_000  # bytes: grown files stay just under the 2 MB read limit


def _sized(rng: random.Random, unit: int, room: int) -> int:
    """How many repetitions of ``unit`` bytes: log-uniform from 1,000 to what fills ``room``."""
    most = max(room // unit, 1_000)
    return int(1_000 * (most / 1_000) ** rng.random())


GROWERS: dict[str, Callable[[random.Random, int], str]] = {
    "flow list": lambda rng, room: "[" + ",".join(["0"] * _sized(rng, 2, room)) + "]",
    "block list": lambda rng, room: "\n" + "  - 0\n" * _sized(rng, 6, room),
    "map": lambda rng, room: "\n" + "".join(f"  k{i}: 0\n" for i in range(_sized(rng, 12, room))),
    "anchors": lambda rng, room: "\n" + "".join(f"  - &a{i} 0\n" for i in range(_sized(rng, 14, room))),
    "aliases": lambda rng, room: "&z [0, " + ", ".join(["*z"] * _sized(rng, 4, room)) + "]",
    "comments": lambda rng, room: "\n" + "#\n" * _sized(rng, 2, room) + "  - 0\n",
    "deep flow": lambda rng, room: "[" * (n := _sized(rng, 2, 10_000)) + "]" * n,
    "deep maps": lambda rng, room: "{a: " * (n := _sized(rng, 5, 20_000)) + "1" + "}" * n,
    "deep block": lambda rng, room: "".join("\n" + " " * (2 * i + 2) + "- " for i in range(_sized(rng, 2, 2_000))),
    "long words": lambda rng, room: "x " * _sized(rng, 2, room),
}


def grow(text: str, rng: random.Random) -> tuple[str, str]:
    """``text`` with one large or deep value added (as a new top-level key, or in place of a list), and its kind."""
    kind = rng.choice(list(GROWERS))
    blob = GROWERS[kind](rng, LIMIT - len(text.encode()) - 20)
    if rng.random() < 0.5 and "[ReadOnlyAccess]" in text and not blob.startswith("\n"):
        return text.replace("[ReadOnlyAccess]", blob, 1), kind
    return text + f"junk: {blob}\n", kind


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


def outcome(text: str, folder: Path, *args: str) -> tuple[int, str, float, float]:
    """(exit code, stderr, seconds, CPU seconds of this process) of `switchrole validate --quick` (or ``args``) on
    ``text``, run in this process (CPU time leaves out the machine's other work, and synthesis's Node child)."""
    from typer.testing import CliRunner

    from switchrole.cli.main import app

    path = folder / "accounts.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    start, cpu = time.monotonic(), time.process_time()
    result = CliRunner().invoke(app, [*(args or ("validate", "--quick")), "--config", str(path)])
    elapsed, cpu = time.monotonic() - start, time.process_time() - cpu
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return -1, f"{type(result.exception).__name__}: {result.exception}", elapsed, cpu
    return result.exit_code, result.stderr, elapsed, cpu


def broken(code: int, stderr: str, folder: Path) -> str | None:
    """What breaks the contract in one answer (exit 0 or 2, every stderr line naming the file), if anything."""
    if code not in (0, 2) or "Traceback" in stderr:
        return f"exit {code}: {stderr[:200]}"
    label = str(folder / "accounts.yaml")
    stray = [line for line in stderr.splitlines() if not line.startswith(label)]
    if stray or (code == 2 and not stderr.strip()):
        return f"exit {code} with {len(stray)} line(s) not naming the file: {(stray or [''])[0][:150]}"
    return None


def synth_agrees(text: str, folder: Path) -> tuple[str | None, float]:
    """After a full validate said OK: synth must succeed too and write templates that are valid JSON."""
    out = folder / "cdk.out"
    code, stderr, seconds, _ = outcome(text, folder, "synth", "--out", str(out))
    if code != 0:
        return f"validate said OK, synth exit {code}: {stderr[:200]}", seconds
    for template in out.glob("*.template.json"):
        try:
            json.loads(template.read_bytes().decode("utf-8"))
        except ValueError as exc:
            return f"validate said OK, synth wrote {template.name}, not JSON: {exc}", seconds
    return None, seconds


def worst_cases() -> dict[str, str]:
    """Files under 2 MB that were slowest to answer (the audit's, the largest each limit lets through) and, for
    scale, the benchmark's 5,000-account organisation."""
    from bench.organisations import organisation
    from tests.factories import dump

    top = EXAMPLE + "junk:\n"
    return {
        "950,000-value flow list (1.9 MB)": EXAMPLE + "junk: [" + ",".join(["0"] * 950_000) + "]\n",
        "480,000-line block list": top + "- 0\n" * 480_000,
        "60,000 anchors": top + "".join(f"- &a{i} 0\n" for i in range(60_000)),
        "5,000-deep [": EXAMPLE + "junk: " + "[" * 5_000 + "\n",
        "900,000 comment lines": "#\n" * 900_000 + EXAMPLE,
        "flow list of 99,000 values (at the limit)": EXAMPLE + "junk: [" + ",".join(["0"] * 99_000) + "]\n",
        "block list of 99,000 values": top + "- 0\n" * 99_000,
        "map of 49,000 keys": top + "".join(f"  k{i}: 0\n" for i in range(49_000)),
        "9,900 anchors, 89,000 values": top + "".join(f"- &a{i} 0\n" for i in range(9_900)) + "- 0\n" * 79_000,
        "99,000 comment lines": "#\n" * 99_000 + EXAMPLE,
        "1.9 MB plain scalar of words": EXAMPLE + "junk: " + "x " * 950_000 + "\n",
        "99,000 values and 1.6 MB of words": EXAMPLE
        + "junk: ["
        + ",".join(["0"] * 98_000)
        + "]\nmore: "
        + "x " * 800_000
        + "\n",
        "5,000 accounts (bench/organisations.py)": dump(organisation(5000)),
    }


def limits() -> None:
    """Each worst case through `switchrole validate --quick` in a process of its own: a markdown table."""
    import os
    import subprocess

    print("| input | size | exit | answer | wall | CPU | peak memory |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "accounts.yaml"
        for name, text in worst_cases().items():
            path.write_text(text)
            output = Path(scratch) / "output"
            start = time.monotonic()
            with output.open("w") as sink:
                child = subprocess.Popen(
                    [sys.executable, "-m", "switchrole.cli", "validate", "--quick", "--config", str(path)],
                    stdout=sink, stderr=sink,
                )  # fmt: skip
                _, status, usage = os.wait4(child.pid, 0)  # the child's own CPU time and peak memory
            child.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - start
            lines = output.read_text().strip().splitlines()
            answer = (lines[0].split(": ", 1)[-1] if lines else "")[:70].replace("|", "\\|")
            print(
                f"| {name} | {len(text.encode()) / 1e6:.2f} MB | {child.returncode} | {answer} ({len(lines)} line) "
                f"| {wall:.1f} s | {usage.ru_utime + usage.ru_stime:.1f} s | {usage.ru_maxrss / 1024:.0f} MiB |"
            )


def _constructs(inputs: int, seed: int, folder: Path, failures: list[str]) -> Counter[str]:
    """``inputs`` files with YAML's rarer constructs through `validate --quick`, held to the stricter contract."""
    from bench import constructs

    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    for n in range(inputs):
        case = constructs.case(rng)
        code, stderr, _, _ = outcome(case.text, folder)
        outcomes[{0: "exit 0", 2: "exit 2"}.get(code, f"crash ({code})")] += 1
        if problem := constructs.line_contract(code, stderr, str(folder / "accounts.yaml")):
            failures.append(f"construct input {n} ({'; '.join(case.edits)}): {problem}")
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--large", type=float, default=0.04, help="share of inputs grown large or deep")
    parser.add_argument("--full-share", type=float, default=0.25, help="share of --quick's OKs fully validated")
    parser.add_argument("--full-every", type=int, default=100, help="every Nth input is also fully validated")
    parser.add_argument("--max-cpu", type=float, default=8.0, help="CPU seconds a --quick answer may take")
    parser.add_argument("--constructs", type=int, default=1000, help="inputs with YAML's rarer constructs, after")
    parser.add_argument("--limits", action="store_true", help="time the worst cases instead (a markdown table)")
    args = parser.parse_args()
    if args.limits:
        return limits()
    rng = random.Random(args.seed)
    quick: Counter[str] = Counter()
    full: Counter[str] = Counter()
    grown: Counter[str] = Counter()
    slowest: list[tuple[float, str]] = []
    failures: list[str] = []
    slow_cpu = 0
    started = time.monotonic()

    def note(seconds: float, n: int, what: str, size: int, stderr: str) -> None:
        nonlocal slowest
        first = stderr.splitlines()[0].split(": ", 1)[-1][:80] if stderr.strip() else "OK"
        slowest = sorted([*slowest, (seconds, f"input {n} ({what}, {size / 1e6:.2f} MB): {first}")])[-5:]

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for n in range(args.inputs):
            text, what = mutate(EXAMPLE, rng, rng.randrange(1, 6)), "mutated"
            if rng.random() < args.large:
                text, what = grow(text, rng)
                grown[what] += 1
            size = len(text.encode("utf-8", errors="surrogatepass"))
            code, stderr, seconds, cpu = outcome(text, folder)
            quick[{0: "exit 0", 2: "exit 2"}.get(code, f"crash ({code})")] += 1
            note(seconds, n, f"{what}, --quick, {cpu:.1f} s CPU", size, stderr)
            if problem := broken(code, stderr, folder):
                failures.append(f"input {n} (--quick): {problem}")
            if cpu > args.max_cpu:
                failures.append(f"input {n} (--quick, {what}, {size / 1e6:.2f} MB): {cpu:.1f} s of CPU")
                slow_cpu += 1
            if (code == 0 and rng.random() < args.full_share) or (args.full_every and n % args.full_every == 0):
                code, stderr, seconds, _ = outcome(text, folder, "validate")
                full[{0: "exit 0", 2: "exit 2"}.get(code, f"crash ({code})")] += 1
                note(seconds, n, what + ", full", size, stderr)
                problem = broken(code, stderr, folder)
                if problem is None and code == 0:
                    problem, seconds = synth_agrees(text, folder)
                if problem:
                    failures.append(f"input {n} (full): {problem}")
        rare = _constructs(args.constructs, args.seed, folder, failures)
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.inputs} inputs and {args.constructs} with rare constructs (seed {args.seed}) in "
        f"{time.monotonic() - started:.0f} s, peak memory {mine:.0f} MiB"
    )
    print(f"  grown large or deep: {sum(grown.values())} ({', '.join(f'{k} {v}' for k, v in sorted(grown.items()))})")
    print(
        f"  validate --quick: {', '.join(f'{k}: {v}' for k, v in sorted(quick.items()))}; "
        f"over {args.max_cpu:g} s of CPU: {slow_cpu}"
    )
    print(f"  full validate (sample): {', '.join(f'{k}: {v}' for k, v in sorted(full.items()))}")
    print(f"  rare YAML constructs (bench/constructs.py): {', '.join(f'{k}: {v}' for k, v in sorted(rare.items()))}")
    print("slowest:")
    for seconds, what in reversed(slowest):
        print(f"  {seconds * 1000:.0f} ms  {what}")
    for failure in failures[:20]:
        print(f"FAILED {failure}")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
