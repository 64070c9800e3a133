"""A normal month of an organisation, deployed as chained CloudFormation updates on the local AWS.

`switchrole local demo --config A --then B --then C ...`, the way a person rehearses changes, with every
routine edit issue 18 found failing: a user's and a grant's `until:` moved; an account added in another region
while a group crosses a grant-policy boundary up, then down; a kind renamed with its IAM name kept; the last
holders of a strict role and an already-expired user offboarded with `switchrole offboard`. Every round must be
as expected (the JSON table says so row by row). Run under the lenient MFA reading and with --keep, the kept
emulator is then used exactly as the demo's closing lines say (the module test_e2e_local covers the strict
reading).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import EXAMPLE, dump, example_data, rename_kind

from switchrole.iam.policies import grant_policies
from switchrole.infra.validate import load_checked

pytestmark = pytest.mark.e2e
EXE = [sys.executable, "-m", "switchrole.cli"]
NEW_ACCOUNT = {"name": "data-stage", "account_id": "777777777777", "region": "eu-central-1"}
KINDS = ["ReadOnly", "Developer", "Admin", "Auditor"]


def chain(folder: Path) -> list[Path]:
    """The files of the month, in order (each one a routine edit of the one before)."""
    data = example_data()
    oncall = [  # a grant per role and account, each ending at its own time: a statement each, one policy
        {"role": role, "accounts": [account["name"]], "until": f"2099-01-{i:02d}T00:00:00Z"}
        for i, (account, role) in enumerate(((a, r) for a in data["accounts"] for r in a["roles"]), start=1)
    ]
    data["groups"]["oncall"] = {"grants": oncall}
    before_stage = len(oncall)
    data["users"]["fay"] = {"groups": ["oncall"]}
    data["users"]["kim"] = {"groups": ["readers"], "until": "2020-01-01T00:00:00Z"}  # left long ago
    files: list[tuple[str, Any]] = [("a-start", dump(data))]
    data["users"]["bob"]["until"] = "2099-09-30T00:00:00Z"
    data["groups"]["auditors"]["grants"][0]["until"] = "2097-12-31T00:00:00Z"
    files.append(("b-until-moved", dump(data)))
    data["accounts"].append({**NEW_ACCOUNT, "roles": KINDS})
    data["groups"]["oncall"]["grants"] += [
        {"role": role, "accounts": ["data-stage"], "until": f"2099-02-{i:02d}T00:00:00Z"}
        for i, role in enumerate(KINDS, start=1)
    ]
    files.append(("c-account-added-group-crosses-up", dump(data)))
    data["groups"]["oncall"]["grants"] = data["groups"]["oncall"]["grants"][:before_stage]
    files.append(("d-group-crosses-down", dump(data)))
    rename_kind(data, "Developer", "Engineer")
    files.append(("e-kind-renamed", dump(data)))
    paths = []
    for name, text in files:
        paths.append(folder / f"{name}.yaml")
        paths[-1].write_text(text)
    last = folder / "f-offboarded.yaml"
    last.write_text(files[-1][1])
    for user in ("alice", "fay", "kim"):  # alice and fay hold Admin (strict) last; kim expired in 2020
        subprocess.run([*EXE, "offboard", "--user", user, "--config", str(last)], check=True, capture_output=True)
    return [*paths, last]


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Path], Any, str, Path | None]]:
    folder = tmp_path_factory.mktemp("month")
    files = chain(folder)
    thens = [arg for path in files[1:] for arg in ("--then", str(path))]
    result = subprocess.run(
        [*EXE, "local", "demo", "--config", str(files[0]), *thens, "--mfa-reading", "lenient", "--keep",
         "--format", "json"],
        capture_output=True, text=True, timeout=900, cwd=EXAMPLE.parent,
    )  # fmt: skip
    env_file = re.search(r"^  source (\S+local-aws\.env)$", result.stderr, re.MULTILINE)
    kept = Path(env_file.group(1)).parent if env_file else None
    try:
        assert result.returncode == 0, result.stderr[-4000:]
        yield files, json.loads(result.stdout), result.stderr, kept
    finally:
        if kept is not None:
            subprocess.run([*EXE, "local", "stop", "--dir", str(kept)], capture_output=True, timeout=60)


def rows(report: Any, round_: int, why: str) -> list[dict[str, Any]]:
    return [c for c in report["rounds"][round_]["checks"] if c["why"] == why]


def test_the_scenario_is_what_it_says(month: tuple[list[Path], Any, str, Path | None]) -> None:
    """Preconditions: the group really crosses a grant-policy boundary up, then down."""
    files = month[0]
    counts = [len(grant_policies(load_checked(path), "oncall")) for path in files[1:4]]
    assert counts == [1, 2, 1]


def test_every_round_is_as_expected(month: tuple[list[Path], Any, str, Path | None]) -> None:
    _, report, stderr, _ = month
    assert report["as_expected"] is True
    assert len(report["rounds"]) == 6
    for round_ in report["rounds"]:
        assert all(check["as_expected"] for check in round_["checks"]), round_["summary"]
        assert (
            re.match(r"(\d+)/\1 checks as expected", round_["summary"]) and "NOT AS EXPECTED" not in round_["summary"]
        )
    assert "bootstrapped 1 added account(s)" in stderr
    assert rows(report, 0, "mfa_serial form: lenient reading")[0]["result"] == "switched"


def test_each_routine_change_behaves(month: tuple[list[Path], Any, str, Path | None]) -> None:
    _, report, _, _ = month
    granted = [{(c["who"], c["role"]) for c in rows(report, i, "granted")} for i in range(6)]
    assert ("bob", "shop-dev-Developer") in granted[1]  # his end moved, still switching
    assert {("fay", f"data-stage-{kind}") for kind in KINDS} <= granted[2]  # the new account, eu-central-1
    assert {c["role"] for c in rows(report, 3, "access removed")} == {f"data-stage-{kind}" for kind in KINDS}
    assert ("bob", "shop-dev-Engineer") in granted[4] and not rows(report, 4, "access removed")  # a rename only
    nobody = rows(report, 5, "admits nobody")
    assert [(c["who"], c["role"].split("-")[-1], c["result"]) for c in nobody] == [
        ("switchrole-demo-hub-admin", "Admin", "refused")
    ]
    removed = {c["who"] for c in rows(report, 5, "access removed")}
    assert removed == {"alice", "fay", "kim"} and all(
        c["result"] == "refused" for c in rows(report, 5, "access removed")
    )


def test_an_account_onboarded_on_the_kept_emulator_as_the_printed_steps_say(
    month: tuple[list[Path], Any, str, Path | None], tmp_path: Path
) -> None:
    """`switchrole onboard`, then its printed steps in bash, each exactly as printed (deploys with
    --require-approval never added: no terminal answers it): the template, the bootstrap and the new account's
    deploy from its first access (OrganizationAccountAccessRole), the hub's deploy by the hub administrator, and
    the smoke check for a user the new grant reaches. The hub administrator cannot deploy into the new account:
    its bootstrap admits only the account's own deployer roles (issue 19)."""
    files, _, _, kept = month
    assert kept is not None
    for name in ("cdk.json", "app.py"):  # a checkout of the organisation's repository, without its cdk.out
        (tmp_path / name).write_text((EXAMPLE.parent / name).read_text())
    (tmp_path / "node_modules").symlink_to(EXAMPLE.parent / "node_modules")
    (tmp_path / "accounts.yaml").write_text(files[-1].read_text())  # `cdk bootstrap` synthesizes it too
    switchrole = f"{sys.executable} -m switchrole.cli.main"
    script = f"""set -euo pipefail
    source {kept / "local-aws.env"}
    {switchrole} onboard --name data-qa --account-id 888888888888 --roles ReadOnly --grant readers:ReadOnly \\
        --region us-west-2 > steps.txt
    step() {{ grep -E "^ +$1" steps.txt | sed -e 's/^ *//' -e 's/<user>/carol/' -e 's|^switchrole|{switchrole}|'; }}
    eval "$({switchrole} local credentials --account 888888888888)"
    eval "$(step 'switchrole bootstrap-template')"
    eval "$(step 'npx cdk bootstrap')"
    eval "$(step 'npx cdk deploy SwitchRole-data-qa') --require-approval never"
    eval "$({switchrole} local credentials --deployer --config accounts.yaml)"
    if eval "$(step 'npx cdk deploy SwitchRole-data-qa') --require-approval never" > refused.txt 2>&1; then
        echo "the hub administrator deployed into the new account" >&2; exit 1
    fi
    eval "$(step 'npx cdk deploy SwitchRole-Hub') --require-approval never"
    eval "$({switchrole} local credentials --user carol --config accounts.yaml)"
    code=$({switchrole} local mfa-code --user carol --config accounts.yaml)
    eval "$(step 'switchrole smoke') --json --token-code $code" > smoke.json
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_", "CDK_"))}
    env |= {"HOME": str(tmp_path), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    steps = (tmp_path / "steps.txt").read_text()
    assert "npx cdk bootstrap aws://888888888888/us-west-2 --template bootstrap-template.json" in steps
    assert "cdk-hnb659fds-deploy-role-888888888888-us-west-2" in (tmp_path / "refused.txt").read_text()
    reports = json.loads((tmp_path / "smoke.json").read_text())
    switched = {r["label"] for r in reports if r["ok"]}
    assert "data-qa-ReadOnly" in switched and all(r["ok"] for r in reports), reports


def test_the_kept_emulator_works_as_its_closing_lines_say(
    month: tuple[list[Path], Any, str, Path | None], tmp_path: Path
) -> None:
    """The printed lines run in bash, in a folder without accounts.yaml: the recorded config is used."""
    files, _, stderr, kept = month
    assert kept is not None
    env_file = str(kept / "local-aws.env")
    switchrole = f"{sys.executable} -m switchrole.cli.main"
    lines = [line.split("#")[0].strip() for line in stderr.splitlines()[-6:]]
    user = lines[1].split("--user ")[1].rstrip(')"') if "--user" in lines[1] else ""
    assert lines[0] == f"source {env_file}"
    assert lines[1] == f'eval "$(switchrole local credentials --user {user})"', lines
    assert lines[2] == f"switchrole local mfa-code --user {user}"
    assert lines[4] == 'eval "$(switchrole local credentials --account ID)"'
    assert lines[5] == "switchrole local stop"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SWITCHROLE_"))}
    script = f"""set -e
    source {env_file}
    test "$SWITCHROLE_LOCAL_CONFIG" = "{files[-1].resolve()}"
    for i in 1 2 3; do eval "$({switchrole} local credentials --user {user})"; echo "key=$AWS_ACCESS_KEY_ID"; done
    {switchrole} local mfa-code --user {user}
    aws sts get-caller-identity --output text --query Arn
    """
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    keys = [line.removeprefix("key=") for line in run.stdout.splitlines() if line.startswith("key=")]
    assert len(set(keys)) == 3  # three uses, three keys: the oldest switchrole key is rotated out each time
    code, arn = run.stdout.splitlines()[3:5]
    assert re.fullmatch(r"\d{6}", code)
    assert arn.endswith(f":user/{user}"), arn
    stop = subprocess.run([*EXE, "local", "stop", "--dir", str(kept)], capture_output=True, text=True)
    assert stop.returncode == 0 and "stopped the local AWS" in stop.stdout, stop.stderr
    assert not kept.exists()
