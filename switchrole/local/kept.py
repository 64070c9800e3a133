"""A kept-running local AWS (``switchrole local demo --keep``): what it records, how it is found and stopped.

The demo's work folder holds ``local-aws.env`` (sourced by a shell: endpoint,
region, the folder and the accounts file the emulator was deployed from) and
``local-aws.json`` (the same for switchrole itself, with the server's pid).
Credentials never go there: `switchrole local credentials` mints them into one
shell. ``local stop`` ends the server's process group and removes the folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import stat
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ENV_FILE, STATE_FILE = "local-aws.env", "local-aws.json"
TOKEN_FILE, TOKEN_HEADER = "admin-token", "X-Switchrole-Admin-Token"  # the emulator's admin API: see server.Guard
DIR_PREFIX = "switchrole-demo-"
DIR_VAR, CONFIG_VAR = "SWITCHROLE_LOCAL_DIR", "SWITCHROLE_LOCAL_CONFIG"
SERVER_MODULE = "switchrole.local.server"


# Why a kept local AWS's folder is gone, and what to do.
STOPPED = "`switchrole local stop` removes it; start another with `switchrole local demo --keep`"


class NotKept(LookupError):
    """No kept local AWS could be found (or several, and none was named)."""


OFFLINE_CLI_ENV = {
    "NPM_CONFIG_UPDATE_NOTIFIER": "false",
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true",
}


@dataclass(frozen=True)
class Kept:
    folder: str
    endpoint: str
    pid: int
    config: str  # the accounts file the emulator's stacks were deployed from (absolute)
    region: str

    @property
    def env_file(self) -> Path:
        return Path(self.folder) / ENV_FILE

    def write(self) -> Path:
        """Write both files; returns the env file to source."""
        exports = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            DIR_VAR: self.folder,
            CONFIG_VAR: self.config,
            "SWITCHROLE_LOCAL_PID": str(self.pid),
            # `npx cdk` against the emulator stays offline and quiet: no npm update check, no CDK
            # version check or telemetry, no Node 20 notice from the CDK CLI's AWS SDK.
            **OFFLINE_CLI_ENV,
        }
        lines = ["# switchrole's kept local AWS: `source` this file (no credentials here)"]
        lines += [f"export {name}={shlex.quote(value)}" for name, value in exports.items()]
        self.env_file.write_text("\n".join(lines) + "\n")
        (Path(self.folder) / STATE_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")
        return self.env_file

    @classmethod
    def read(cls, folder: Path) -> Kept:
        """The state in ``folder``, which must be a demo folder of this user's (``stop`` removes it and signals
        the pid it names: a folder planted in the shared temporary directory must not choose either)."""
        try:
            info = folder.lstat()
        except OSError:
            raise NotKept(f"{folder}: no such folder ({STOPPED})") from None
        try:
            data = json.loads((folder / STATE_FILE).read_text())
            kept = cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except FileNotFoundError:
            raise NotKept(f"{folder}: not a kept local AWS (no {STATE_FILE} there)") from None
        except (OSError, ValueError, KeyError, TypeError):
            raise NotKept(f"{folder}: not a kept local AWS (its {STATE_FILE} is not one switchrole wrote)") from None
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
            raise NotKept(f"{folder}: not a kept local AWS of yours (a symlink, or another user's folder)")
        if Path(kept.folder).resolve() != folder.resolve():
            raise NotKept(f"{folder}: its state names another folder ({kept.folder}); not stopping it")
        if type(kept.pid) is not int or kept.pid <= 1:
            raise NotKept(f"{folder}: its state names no valid process id")
        return kept

    def running(self) -> bool:
        """Is our server still that pid? (A pid can be reused once the server is gone.)"""
        if Path("/proc/self").exists():
            try:
                command = Path(f"/proc/{self.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                return False
            return SERVER_MODULE in command
        try:  # no /proc (macOS): the pid of a process of ours
            os.kill(self.pid, 0)
        except OSError:
            return False
        return True

    def stop(self, timeout: float = 10.0) -> bool:
        """End the server's process group and remove the folder; False if the server was already gone."""
        was_running = self.running()
        if was_running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.running() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.running():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)
        return was_running


def candidates() -> list[Path]:
    """Kept local AWS folders in the temporary directory, newest first."""
    found = [p.parent for p in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*/{STATE_FILE}")]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def find(folder: Path | None = None) -> Kept:
    """The kept local AWS: ``folder``, else ``$SWITCHROLE_LOCAL_DIR`` (set by sourcing its env file), else the
    only one in the temporary directory."""
    if folder is None and os.environ.get(DIR_VAR):
        folder = Path(os.environ[DIR_VAR])
    if folder is not None:
        return Kept.read(folder)
    found = candidates()
    if not found:
        raise NotKept("no kept local AWS found (start one with `switchrole local demo --keep`)")
    if len(found) > 1:
        listed = ", ".join(str(p) for p in found)
        raise NotKept(f"{len(found)} kept local AWS found ({listed}): name one with --dir")
    return Kept.read(found[0])


def admin_token() -> str:
    """The admin API token of the local AWS in ``$SWITCHROLE_LOCAL_DIR`` (set by sourcing its env file), else of
    the only kept one: a file of this user's, readable by this user alone, in its 0700 folder."""
    if os.environ.get(DIR_VAR):
        folder = Path(os.environ[DIR_VAR])
    else:
        try:
            folder = Path(find().folder)
        except NotKept as exc:  # an endpoint alone is not enough: the token is in the kept folder
            raise NotKept(f"the admin token is in a kept local AWS's folder: {exc}") from None
    path = folder / TOKEN_FILE
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise NotKept(f"{path}: not a token file of yours (a symlink, another user's, or readable by others)")
        return path.read_text().strip()
    except OSError:
        if not folder.exists():  # $SWITCHROLE_LOCAL_DIR of an env file sourced before `local stop`
            raise NotKept(f"{folder}: no such folder ({STOPPED})") from None
        raise NotKept(f"{folder}: no admin token there: source the demo's env file (local-aws.env)") from None
