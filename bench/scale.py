"""Scale benchmark (`make bench`): synthesis time and memory, assembly size and IAM headroom at N target accounts.

For N = 10, 100, 1,000 and 5,000 target accounts (3 role kinds each, 5 groups, 200 users, mixed grants) and
both deployment modes (one CDK stack per account; CloudFormation StackSets), it measures in one run:
wall time and peak memory of the synthesis (the Python process and its Node child, summed), the cloud
assembly's size, the largest generated policy of each kind against its IAM quota, and the same for the
naive baseline of one explicit-role-ARN policy per group. Prints a table and writes bench/results/scale.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.organisations import organisation  # noqa: E402
from switchrole.iam.policies import (  # noqa: E402
    GROUP_MANAGED_POLICIES,
    MANAGED_POLICY_CHARS,
    document,
    grant_policies,
    policy_chars,
    trust_policy,
)
from switchrole.model.loading import from_data  # noqa: E402
from switchrole.model.organisation import Organisation  # noqa: E402

SIZES = (10, 100, 1000, 5000)
MODES = ("stacks", "stacksets")
TEMPLATE_BODY_LIMIT = 51_200


def tree_rss(root: int) -> int:
    """Resident memory (bytes) of ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    members, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in members]
        members.update(children)
        frontier.extend(children)
    return sum(rss.get(p, 0) for p in members)


def run_synth(n: int, mode: str, out: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.synth_one", str(n), mode, str(out)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(process.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"synth of {n} accounts ({mode}) failed:\n{stderr[-2000:]}")
    return {"wall_seconds": wall, "peak_bytes": peak, **json.loads(stdout.strip().splitlines()[-1])}


def naive_policy(org: Organisation, group: str) -> dict[str, Any]:
    """The common pattern this project replaces: one policy per group listing every granted role ARN."""
    statements = [
        {
            "Effect": "Allow",
            "Action": list(org.role_kinds[role].assume_actions),
            "Resource": [org.role_kinds[role].arn(a.account_id) for a in accounts],
        }
        for role, accounts in org.group_access(group).items()
    ]
    return document(statements)


def policy_stats(org: Organisation) -> dict[str, Any]:
    grant_sizes = {g: [policy_chars(d) for d in grant_policies(org, g)] for g in org.groups}
    trust = max(policy_chars(trust_policy(org, a, org.role_kinds[k])) for a in org.accounts for k in a.role_keys)
    naive = max(policy_chars(naive_policy(org, g)) for g in org.groups)
    return {
        "largest_grant_policy": max(max(s) for s in grant_sizes.values()),
        "most_policies_per_group": max(
            len(s) + (1 if org.group_requires_mfa(g) else 0) for g, s in grant_sizes.items()
        ),
        "largest_trust_policy": trust,
        "naive_largest_policy": naive,
    }


def assembly_stats(out: Path) -> dict[str, Any]:
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    bodies = []
    for template in out.glob("*.template.json"):
        for resource in json.loads(template.read_text()).get("Resources", {}).values():
            if resource["Type"] == "AWS::CloudFormation::StackSet":
                bodies.append(len(resource["Properties"]["TemplateBody"].encode()))
    return {
        "assembly_bytes": size,
        "stacks": len(list(out.glob("*.template.json"))),
        "largest_template_body": max(bodies, default=0),
    }


def headroom(used: float, limit: float) -> str:
    return (
        f"{used:,.0f}/{limit:,.0f} ({100 * (1 - used / limit):.0f}% free)"
        if used <= limit
        else f"{used:,.0f}/{limit:,.0f} OVER"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=MODES)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for mode in args.modes:
        for n in args.sizes:
            org = from_data(organisation(n, mode=mode))
            with tempfile.TemporaryDirectory(prefix=f"bench-{n}-") as tmp:
                out = Path(tmp) / "cdk.out"
                measured = run_synth(n, mode, out)
                row = {"n": n, "mode": mode, **measured, **assembly_stats(out), **policy_stats(org)}
                shutil.rmtree(out, ignore_errors=True)
            rows.append(row)
            print(
                f"  {mode:9} N={n:5}: {row['wall_seconds']:6.1f} s, {row['peak_bytes'] / 2**20:6.0f} MiB",
                file=sys.stderr,
            )
    (args.out / "scale.json").write_text(json.dumps(rows, indent=2))
    print(table(rows))
    plot(rows, args.out / "scale.png")
    print(f"\nwrote {args.out / 'scale.json'} and {args.out / 'scale.png'}")


def table(rows: list[dict[str, Any]]) -> str:
    header = (
        "| mode | N | stacks | synth wall | peak memory (Py+Node) | assembly | largest grant policy | "
        "policies/group | largest trust policy | StackSet template | naive explicit-ARN policy |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['n']:,} | {r['stacks']:,} | {r['wall_seconds']:.1f} s | "
            f"{r['peak_bytes'] / 2**20:,.0f} MiB | "
            f"{r['assembly_bytes'] / 2**20:,.1f} MiB | {headroom(r['largest_grant_policy'], MANAGED_POLICY_CHARS)} | "
            f"{r['most_policies_per_group']}/{GROUP_MANAGED_POLICIES} | {headroom(r['largest_trust_policy'], 2048)} | "
            + (headroom(r["largest_template_body"], TEMPLATE_BODY_LIMIT) if r["largest_template_body"] else "-")
            + f" | {headroom(r['naive_largest_policy'], MANAGED_POLICY_CHARS)} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for mode in dict.fromkeys(r["mode"] for r in rows):
        points = sorted((r for r in rows if r["mode"] == mode), key=lambda r: r["n"])
        ns = [r["n"] for r in points]
        time_axis.plot(ns, [r["wall_seconds"] for r in points], marker="o", label=mode)
        memory_axis.plot(ns, [r["peak_bytes"] / 2**20 for r in points], marker="o", label=mode)
    for axis, label in ((time_axis, "synth wall time (s)"), (memory_axis, "peak memory, Python + Node (MiB)")):
        axis.set_xscale("log")
        axis.set_xlabel("target accounts (N)")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle("switchrole synthesis at scale (3 role kinds per account, 5 groups, 200 users)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
