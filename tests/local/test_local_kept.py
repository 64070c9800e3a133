"""A kept local AWS: how it is recorded, found and stopped (the full `--keep` run is in test_e2e_local.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from switchrole.local import demo_checks, demo_run
from switchrole.local.demo import Demo
from switchrole.local.kept import Kept, NotKept, admin_token, find
from switchrole.local.server import LocalAws
from switchrole.model.loading import loads

EXE = [sys.executable, "-m", "switchrole.cli"]
ORG = """\
hub: {account_id: "111111111111", name: identity, region: eu-west-1}
roles: {ReadOnly: {managed_policies: [ReadOnlyAccess]}}
accounts: [{name: app, account_id: "222222222222", roles: [ReadOnly]}]
groups: {readers: {grants: [{role: ReadOnly, accounts: "*"}]}}
users: {ana: {groups: [readers]}}
"""


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SWITCHROLE_")}, **extra}


def test_local_stop_ends_the_server_and_removes_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "switchrole-demo-x"
    folder.mkdir()
    aws = LocalAws().start()
    try:
        assert aws.process is not None
        kept = Kept(str(folder), aws.endpoint, aws.process.pid, str(tmp_path / "a.yaml"), "eu-west-1")
        env_file = kept.write().read_text()
        assert f"export AWS_ENDPOINT_URL={aws.endpoint}" in env_file
        assert "export AWS_REGION=eu-west-1" in env_file and "SECRET" not in env_file
        assert "export NPM_CONFIG_UPDATE_NOTIFIER=false" in env_file  # `npx cdk` asks no registry
        assert find(folder) == kept
        stop = subprocess.run([*EXE, "local", "stop"], env=_env(SWITCHROLE_LOCAL_DIR=str(folder)), text=True,
                              capture_output=True, timeout=60)  # fmt: skip
        assert stop.returncode == 0, stop.stderr
        assert f"stopped the local AWS at {aws.endpoint} (pid {aws.process.pid}); removed {folder}" in stop.stdout
        assert aws.process.wait(timeout=10) is not None
        assert not folder.exists()
    finally:
        aws.stop()
    again = subprocess.run([*EXE, "local", "stop", "--dir", str(folder)], capture_output=True, text=True, env=_env())
    assert (again.returncode, again.stderr) == (
        2, f"{folder}: no such folder (`switchrole local stop` removes it; start another with "
           "`switchrole local demo --keep`)\n"
    )  # fmt: skip


def test_what_is_not_a_kept_local_aws_is_said_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a stranger's run: `local stop --dir examples` named a Python exception, and after `local stop`
    the shell's $SWITCHROLE_LOCAL_DIR sent the person to source an env file that was gone with its folder."""
    examples = tmp_path / "examples"
    examples.mkdir()
    with pytest.raises(NotKept, match=r"/examples: not a kept local AWS \(no local-aws.json there\)$"):
        find(examples)
    (examples / "local-aws.json").write_text("[1, 2]")
    with pytest.raises(NotKept, match=r"its local-aws.json is not one switchrole wrote"):
        find(examples)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # no kept local AWS in it
    monkeypatch.delenv("SWITCHROLE_LOCAL_DIR", raising=False)
    with pytest.raises(NotKept, match=r"^the admin token is in a kept local AWS's folder: no kept local AWS found"):
        admin_token()  # `local credentials --endpoint URL` without a kept local AWS
    monkeypatch.setenv("SWITCHROLE_LOCAL_DIR", str(tmp_path / "stopped"))
    with pytest.raises(NotKept, match=r"/stopped: no such folder \(`switchrole local stop` removes it"):
        admin_token()


def test_stopping_a_server_that_is_gone_still_removes_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    folder.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    kept = Kept(str(folder), "http://127.0.0.1:9", gone.pid, "", "us-east-1")
    kept.write()
    assert kept.running() is False
    assert kept.stop() is False and not folder.exists()


def test_find_names_what_it_cannot_choose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHROLE_LOCAL_DIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(NotKept, match="no kept local AWS found"):
        find()
    for name in ("switchrole-demo-a", "switchrole-demo-b"):
        (tmp_path / name).mkdir()
        Kept(str(tmp_path / name), "http://127.0.0.1:9", 1, "", "us-east-1").write()
    with pytest.raises(NotKept, match=r"2 kept local AWS found .*: name one with --dir"):
        find()


def test_a_failed_demo_says_where_its_files_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the emulator started keeps the log and CDK output for the user, and says where."""

    def fails(self: Demo) -> list[demo_checks.Check]:
        raise demo_checks.DemoFailed("cdk deploy --all failed (exit 1)")

    monkeypatch.setattr(Demo, "run", fails)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        code = demo_run.run_demo(loads(ORG), keep=True, console=Console(file=stream, width=300))
    printed = out.read_text()
    (folder,) = tmp_path.glob("switchrole-demo-*")
    assert code == 1
    assert f"its log and the CDK output are kept in {folder}" in printed and f"rm -rf {folder}" in printed


def test_the_closing_lines_are_the_readme_s(tmp_path: Path) -> None:
    """The docs' "Living in a kept emulator" (docs/emulator.md, once the README's) shows the lines the demo prints
    (paths and user aside)."""
    kept = Kept(str(tmp_path), "http://127.0.0.1:5000", 42, "/x/accounts.yaml", "eu-west-1")
    page = (Path(__file__).resolve().parents[2] / "docs" / "emulator.md").read_text()
    section = page.split("\n## Living in a kept emulator\n")[1].split("\n## ")[0]
    for line in demo_run.kept_instructions(kept, loads(ORG))[1:]:
        command = line.split("#")[0].strip().replace(str(tmp_path), "/tmp/switchrole-demo-XXXX").replace("ana", "alice")
        assert command in section, command


def test_a_planted_state_file_cannot_choose_what_stop_removes_or_signals(tmp_path: Path) -> None:
    """/tmp is shared: a state file naming another folder, or pid 0/1 (every process of the group, init), is
    refused before anything is removed or signalled."""
    victim = tmp_path / "victim"
    victim.mkdir()
    planted = tmp_path / "switchrole-demo-planted"
    planted.mkdir()
    Kept(str(victim), "http://127.0.0.1:9", 12345, "", "us-east-1").write()  # writes into victim/
    (planted / "local-aws.json").write_text((victim / "local-aws.json").read_text())
    with pytest.raises(NotKept, match="names another folder"):
        find(planted)
    for pid in (0, 1, True, "12"):
        Kept(str(planted), "http://127.0.0.1:9", pid, "", "us-east-1").write()  # type: ignore[arg-type]
        with pytest.raises(NotKept, match="no valid process id"):
            find(planted)
    link = tmp_path / "switchrole-demo-link"
    link.symlink_to(victim)
    with pytest.raises(NotKept, match="not a kept local AWS of yours"):
        find(link)
    assert victim.exists() and planted.exists()


def test_the_admin_api_answers_only_this_runs_token_on_a_local_host_without_cors(tmp_path: Path) -> None:
    """Issue 19: keys and MFA codes for anyone, and moto's own reset-auth, answered any local user and (through
    a CORS header reflecting any origin, no Host check) any web page in a local browser."""
    import http.client
    import stat as stat_module

    from switchrole.local.kept import TOKEN_HEADER
    from switchrole.local.server import LocalAws

    token_file = tmp_path / "admin-token"
    with LocalAws(token_file=token_file, tmpdir=tmp_path) as aws:
        assert stat_module.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert token == aws.admin_token and len(token) >= 32

        def call(method: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
            connection = http.client.HTTPConnection("127.0.0.1", aws.port, timeout=10)
            connection.request(method, path, body=b"inf" if method == "POST" else None, headers=headers)
            return connection.getresponse()

        codes = "/moto-api/switchrole/mfa-code?account=111111111111&user=alice"
        page = {"Origin": "http://evil.example"}
        assert call("GET", codes, page).status == 403  # no token: a web page, or another local user
        assert call("GET", codes, {**page, TOKEN_HEADER: "x" * 43}).status == 403
        assert call("GET", codes, {TOKEN_HEADER: token, "Host": "evil.example"}).status == 403  # DNS rebinding
        assert call("POST", "/moto-api/reset-auth", page).status == 403  # authorization stays as it is
        answered = call("GET", codes, {**page, TOKEN_HEADER: token})
        assert answered.status == 404  # past the guard: alice is not in this empty emulator
        assert not [h for h in answered.getheaders() if h[0].lower().startswith("access-control-")]
        assert call("GET", "/moto-api/", {TOKEN_HEADER: token, "Host": f"localhost:{aws.port}"}).status == 200
