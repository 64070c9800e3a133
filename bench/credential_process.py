"""credential_process benchmark (`make bench`): a cached `switchrole assume` against starting Python at all.

Every `aws` command with a generated profile runs `switchrole assume` first, so its cost is paid per command.
This measures, side by side in one run (alternating, so machine load falls on both alike), the wall time of
`python -c pass` and of the real console script answering a cached role from the fast path
(:mod:`switchrole.client.invocation`), both with the same interpreter, and the full path's time on a miss
answered from the role cache (boto3 and the CLI imported, no AWS call). Prints medians and ratios; the goal
is a hit at most 4x `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from switchrole.client.cache import CredentialCache, TemporaryCredentials  # noqa: E402
from switchrole.client.invocation import parse, remember  # noqa: E402

ARGV = ["assume", "--role-arn", "arn:aws:iam::222222222222:role/switchrole/Admin", "--session-name", "ana",
        "--hub-profile", "hub", "--duration", "3600", "--mfa-serial", "arn:aws:iam::111111111111:mfa/ana",
        "--mfa-max-age", "900"]  # fmt: skip
GOAL = 4.0


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def seed_role_cache(env: dict[str, str], cache: CredentialCache, credentials: TemporaryCredentials) -> None:
    """The full path's own role cache entry for ARGV, so that the full path, too, answers without AWS."""
    code = (
        "import sys; from switchrole.live.smoke import assume_role_params; "
        "from switchrole.client.sessions import source_session, role_cache_key; "
        "params = assume_role_params(sys.argv[1], 'ana', 3600, None); "
        "print('\\0'.join(role_cache_key(source_session('hub'), {**params, 'SourceIdentity': False}, None)))"
    )
    key = subprocess.run([sys.executable, "-c", code, ARGV[2]], env=env, capture_output=True, text=True, check=True)
    cache.put("role", tuple(key.stdout.rstrip("\n").split("\0")), credentials)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    script = str(Path(sys.executable).parent / "switchrole")
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        (home / "credentials").write_text("[hub]\naws_access_key_id = AKIAHUB\naws_secret_access_key = s\n")
        (home / "config").write_text("[profile hub]\nregion = eu-west-1\n")
        env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "SWITCHROLE_"))}
        env |= {
            "HOME": scratch,
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing is sent anywhere: every answer is cached
            "SWITCHROLE_CACHE_DIR": str(home / "cache"),
        }
        cache = CredentialCache(home / "cache")
        credentials = TemporaryCredentials("ASIAROLE", "s", "t", datetime.now(UTC) + timedelta(hours=1))
        options = parse(ARGV)
        assert options is not None
        remember(options, credentials, cache, env)
        seed_role_cache(env, cache, credentials)
        python, hit = [], []
        for _ in range(args.runs):
            python.append(timed([sys.executable, "-c", "pass"], env))
            hit.append(timed([script, *ARGV], env))
        full_path = [sys.executable, "-m", "switchrole.cli.main", *ARGV]  # the Typer CLI itself, never the fast path
        full = [timed(full_path, env) for _ in range(max(3, args.runs // 10))]
    base, fast, slow = statistics.median(python), statistics.median(hit), statistics.median(full)
    print(f"python -c pass                      {base * 1000:7.1f} ms (median of {len(python)})")
    print(f"switchrole assume, cached (fast)    {fast * 1000:7.1f} ms  {fast / base:4.1f}x  (goal <= {GOAL:.0f}x)")
    print(f"switchrole assume, full CLI path    {slow * 1000:7.1f} ms  {slow / base:4.1f}x  (median of {len(full)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
