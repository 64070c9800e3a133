"""Audit benchmark: ``switchrole audit`` of N deployed target accounts on the embedded local AWS.

Deploys the scale benchmark's organisation (N target accounts with ReadOnly, Developer and Admin, 5 groups,
200 users) plus an ``Auditor`` role kind (SecurityAudit, ``audit: true``) in every account, with the demo's
machinery: the real CDK CLI bootstraps (a few accounts at a time) and deploys every stack onto a moto server,
every hub user gets an access key and an MFA device, then authorization is switched on. The hub administrator
then audits, as `switchrole audit` does: an MFA session, the synthesis of the expected state, and the reads
(the hub, and every account through its Auditor role), with 1 and with 8 accounts read at once. The audit of
the clean deployment must find nothing. Prints a table and writes bench/results/audit.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import botocore.client  # noqa: E402
from rich.console import Console  # noqa: E402

from bench.organisations import organisation  # noqa: E402
from switchrole.client.sessions import CredentialCache  # noqa: E402
from switchrole.live import audit  # noqa: E402
from switchrole.local.demo import Demo  # noqa: E402
from switchrole.local.demo_checks import HUB_ADMIN  # noqa: E402
from switchrole.model.loading import from_data  # noqa: E402
from switchrole.model.organisation import Organisation  # noqa: E402


def bench_org(n: int) -> Organisation:
    data = organisation(n, organization_id=None)
    data["roles"] = {**data["roles"], "Auditor": {"managed_policies": ["SecurityAudit"], "audit": True}}
    for account in data["accounts"]:
        account["roles"].append("Auditor")
    return from_data(data, f"bench-{n}")


def deploy(demo: Demo, bootstrap_at_once: int) -> dict[str, float]:
    """Demo.deploy with the bootstraps bounded (N node processes at once would not fit 2 cores)."""
    from switchrole.infra.assembly import synth

    org, timings = demo.org, {}
    accounts = [org.hub.account_id, *(a.account_id for a in org.accounts)]
    start = time.perf_counter()
    synth(org, demo.assembly)
    demo.aws.start()
    timings["synth and start"] = time.perf_counter() - start
    start = time.perf_counter()
    for first in range(0, len(accounts), bootstrap_at_once):
        batch = accounts[first : first + bootstrap_at_once]
        demo.wait(
            [
                (f"cdk bootstrap {a}", demo.cdk(demo.setup_session(a), "bootstrap", *demo.bootstrap_args(a)))
                for a in batch
            ]
        )
    timings["bootstrap"] = time.perf_counter() - start
    start = time.perf_counter()
    hub = demo.setup_session(org.hub.account_id)
    demo.wait(
        [("cdk deploy --all", demo.cdk(hub, "deploy", "--all", "--require-approval", "never", "--concurrency", "8"))]
    )
    timings["deploy"] = time.perf_counter() - start
    demo.identities = demo.create_identities([*org.users, HUB_ADMIN])
    demo.aws.enforce_authorization()
    return timings


def measure(demo: Demo, workers: int) -> dict[str, Any]:
    org, admin = demo.org, demo.identities[HUB_ADMIN]
    calls: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation: str, params: Any) -> Any:
        calls[f"{self.meta.service_model.service_name}:{operation}"] += 1
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        auditor = audit.connect(
            org,
            admin.session,
            mfa_serial=org.hub.mfa_serial(HUB_ADMIN),
            token=admin.token,
            cache=CredentialCache(None),
            endpoint_url=demo.aws.endpoint,
        )
        connected = time.perf_counter()
        state = audit.expected(org)
        synthesized = time.perf_counter()
        report = audit.run(org, auditor, state, workers=workers)
        done = time.perf_counter()
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
    if report.exit_code != 0:
        lines = [f"{f.kind} {f.account} {f.subject}: {f.detail}" for f in report.findings[:10]]
        lines += [f"{r.name}: {r.error}" for r in report.unreadable[:10]]
        raise SystemExit("the clean deployment did not audit clean:\n" + "\n".join(lines))
    return {
        "workers": workers,
        "accounts": len(org.accounts),
        "users": len(org.users),
        "mfa_session_seconds": connected - start,
        "synth_seconds": synthesized - connected,
        "read_seconds": done - synthesized,
        "total_seconds": done - start,
        "api_calls": sum(calls.values()),
        "writes": sorted(c for c in calls if not c.split(":")[1].startswith(("Get", "List", "AssumeRole"))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--bootstrap-at-once", type=int, default=6)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    workdir = Path(tempfile.mkdtemp(prefix="switchrole-bench-audit-"))
    demo = Demo(bench_org(args.accounts), console=Console(stderr=True), workdir=workdir)
    try:
        setup = deploy(demo, args.bootstrap_at_once)
        print(f"deployed {args.accounts} accounts: " + ", ".join(f"{k} {v:.0f} s" for k, v in setup.items()))
        rows = [measure(demo, workers) for workers in (8, 1, 8)]  # the first run warms jsii up
    finally:
        demo.stop()
    print("| accounts | users | accounts read at once | MFA session | synthesis | reads | total | API calls |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows[1:]:
        print(
            f"| {row['accounts']} | {row['users']} | {row['workers']} | {row['mfa_session_seconds']:.1f} s "
            f"| {row['synth_seconds']:.1f} s | {row['read_seconds']:.1f} s | {row['total_seconds']:.1f} s "
            f"| {row['api_calls']:,} |"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "audit.json").write_text(json.dumps({"setup": setup, "runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
