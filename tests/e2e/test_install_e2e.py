"""A stranger's path (issue 20): install the wheel, scaffold a repository, follow its README, validate, synth.

Outside this checkout, in a temporary folder: switchrole's wheel (built as `switchrole init` builds it from a
checkout) is installed into a fresh virtual environment with the scaffold's hashed lock, without the "local"
extra, so moto cannot be imported there. From that installation, `switchrole init` writes a repository, whose
README's set-up block is then run exactly as written (bash, from the repository's folder): pip installs
switchrole from the vendored wheel, the dependencies from PyPI with their hashes, and npm the pinned CDK CLI.
A higher switchrole on a package index pip is pointed at must not be installed instead.

Both virtual environments and npm read and fill the project's caches (.cache/pip, .cache/npm), so a second run
downloads nothing. Marked e2e: a few minutes on a loaded 2-core machine, most of it pip unpacking aws-cdk-lib
twice and jsii starting.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from factories import ROOT

from switchrole import __version__
from switchrole.scaffold import VENDORED, requirements
from switchrole.scaffold.wheel import Wheel, build

pytestmark = pytest.mark.e2e
EMULATOR_MESSAGE = (
    'switchrole: the local emulator needs the "local" extra (missing: moto, flask, flask_cors, werkzeug): '
    "pip install 'switchrole[local]'"
)


@dataclass
class User:
    """A person's machine: a folder outside the checkout, its environment, switchrole installed from the wheel."""

    home: Path
    venv: Path
    wheel: Wheel
    env: dict[str, str]

    def run(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=cwd, env=env or self.env, capture_output=True, text=True, timeout=900)


def system_path() -> str:
    """PATH without this checkout's folders (its .venv/bin, which the Makefile puts first): node, npm, python3."""
    return os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not Path(p).resolve().is_relative_to(ROOT)
    )


def _environment(home: Path, venv: Path) -> dict[str, str]:
    """The test's environment with a home of its own, the new venv first on PATH, every cache in the project's."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    cache = ROOT / ".cache"
    env.update(
        HOME=str(home),
        PATH=f"{venv / 'bin'}{os.pathsep}{system_path()}",
        PIP_CACHE_DIR=str(cache / "pip"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        npm_config_cache=str(cache / "npm"),
        NPM_CONFIG_UPDATE_NOTIFIER="false",
        JSII_RUNTIME_PACKAGE_CACHE_ROOT=str(cache / "jsii"),
        CDK_HOME=str(cache / "cdk"),
        CDK_DISABLE_VERSION_CHECK="1",
        CDK_DISABLE_CLI_TELEMETRY="true",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED="true",
    )
    return env


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[User]:
    home = tmp_path_factory.mktemp("user")
    assert not home.resolve().is_relative_to(ROOT)
    wheel = build(ROOT)
    (home / "dist").mkdir()
    (home / "dist" / wheel.name).write_bytes(wheel.data)
    (home / "requirements.txt").write_text(requirements(str(home / "dist" / wheel.name), wheel.sha256))
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    user = User(home, venv, wheel, _environment(home, venv))
    installed = user.run(
        sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-compile",
        "--require-hashes", "-r", str(home / "requirements.txt"), cwd=home,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    yield user


def test_the_installation_is_the_wheel_without_the_emulator(user: User) -> None:
    found = user.run("python3", "-c", "import switchrole, sys; print(switchrole.__file__, sys.prefix)", cwd=user.home)
    module, prefix = found.stdout.split()
    assert Path(prefix) == user.venv and Path(module).is_relative_to(user.venv), found.stdout
    moto = user.run("python3", "-c", "import moto", cwd=user.home)
    assert moto.returncode == 1 and "No module named 'moto'" in moto.stderr
    check = user.run(sys.executable, "-m", "pip", "--python", str(user.venv / "bin" / "python"), "check", cwd=user.home)
    assert check.returncode == 0, check.stdout + check.stderr


def test_help_works_and_the_demo_names_the_extra_in_one_line(user: User) -> None:
    helped = user.run("switchrole", "--help", cwd=user.home)
    assert helped.returncode == 0 and "Usage: switchrole" in helped.stdout, helped.stderr
    demo = user.run("switchrole", "local", "demo", cwd=user.home)
    assert (demo.returncode, demo.stdout, demo.stderr) == (2, "", EMULATOR_MESSAGE + "\n")


def _evil_wheel(folder: Path) -> Path:
    """A higher-versioned switchrole, as a squatter would publish it: installing it prints EVIL on import."""
    info = "switchrole-99.0.0.dist-info"
    files = {
        "switchrole/__init__.py": b"print('EVIL')\n",
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: switchrole\nVersion: 99.0.0\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in {**files, f"{info}/RECORD": record.encode()}.items():
            archive.writestr(name, data)
    folder.mkdir()
    (folder / "switchrole-99.0.0-py3-none-any.whl").write_bytes(buffer.getvalue())
    return folder


@pytest.fixture(scope="module")
def repository(user: User) -> Path:
    """`switchrole init` from the installation, then the README's set-up block run as written."""
    initialised = user.run("switchrole", "init", "access", cwd=user.home)
    assert initialised.returncode == 0, initialised.stderr
    org = user.home / "access"
    block = (org / "README.md").read_text().split("## Set up\n", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert "pip install --require-hashes -r requirements.txt" in block
    squatter = _evil_wheel(user.home / "squatter")
    by_name = user.run(
        sys.executable, "-m", "pip", "--python", str(user.venv / "bin" / "python"), "install", "--dry-run",
        "--ignore-installed", "--no-index", "--find-links", str(squatter), "switchrole", cwd=user.home,
    )  # fmt: skip
    assert "Would install switchrole-99.0.0" in by_name.stdout, by_name.stderr  # what asking for the name gets
    env = dict(user.env)  # an index (here: find-links) that offers a higher switchrole must not be used for it
    env["PIP_FIND_LINKS"] = f"{squatter} {env.get('PIP_FIND_LINKS', '')}".strip()
    env["PATH"] = system_path()  # a fresh shell: only the README's own activation puts .venv/bin first
    # pip's bytecode step off (a setting of pip's, the README's commands unchanged): compiling aws-cdk-lib's
    # 200 MB of bindings is about 20 s of CPU, and Python compiles what it imports anyway. pip reads the variable
    # as the value of the option's destination, `compile` (pip/_internal/cli/parser.py): "0" turns it off.
    env["PIP_NO_COMPILE"] = "0"
    done = user.run("bash", "-c", f"set -euo pipefail\n{block}\ncommand -v switchrole", cwd=org, env=env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert done.stdout.strip().splitlines()[-1] == str(org / ".venv" / "bin" / "switchrole")
    assert "accounts.yaml: OK: 2 target accounts" in done.stdout, done.stdout
    return org


def test_init_vendors_the_installed_wheel_byte_for_byte(user: User, repository: Path) -> None:
    vendored = (repository / VENDORED).read_bytes()
    assert vendored == user.wheel.data  # packed back from the installation: the wheel that was installed
    digest = hashlib.sha256(vendored).hexdigest()
    assert f"\n./{VENDORED} \\\n    --hash=sha256:{digest}\n" in (repository / "requirements.txt").read_text()


def test_the_repository_installs_switchrole_from_its_vendored_wheel(repository: Path) -> None:
    python = repository / ".venv" / "bin" / "python"
    code = (
        "import json; from importlib.metadata import distribution as d; s = d('switchrole');"
        "print(json.dumps([s.version, json.loads(s.read_text('direct_url.json'))['url']]))"
    )
    found = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=repository, check=False)
    assert found.returncode == 0 and "EVIL" not in found.stdout, found.stdout + found.stderr
    version, url = json.loads(found.stdout)
    assert version == __version__ and url == (repository / VENDORED).as_uri()
    moto = subprocess.run([str(python), "-c", "import moto"], capture_output=True, text=True, check=False)
    assert moto.returncode == 1  # CI's installation: no emulator


def test_a_changed_vendored_wheel_is_refused(user: User, repository: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    (copy / "vendor").mkdir(parents=True)
    shutil.copy(repository / "requirements.txt", copy / "requirements.txt")
    wheel = bytearray((repository / VENDORED).read_bytes())
    wheel[-1] ^= 1  # the zip comment's length: still a wheel to pip's eyes, other bytes
    (copy / VENDORED).write_bytes(bytes(wheel))
    pip = repository / ".venv" / "bin" / "pip"
    refused = user.run(str(pip), "install", "--dry-run", "--require-hashes", "-r", "requirements.txt", cwd=copy)
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stderr and VENDORED.split("/")[1] in refused.stderr


def test_the_repository_synthesizes_with_its_own_installation(user: User, repository: Path) -> None:
    env = dict(user.env, PATH=f"{repository / '.venv' / 'bin'}{os.pathsep}{system_path()}")  # as activated
    synth = user.run("npx", "--no-install", "cdk", "synth", "--no-notices", "-q", cwd=repository, env=env)
    assert synth.returncode == 0, synth.stderr[-2000:]
    manifest = json.loads((repository / "cdk.out" / "manifest.json").read_text())
    stacks = sorted(k for k, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack")
    assert stacks == ["SwitchRole-Hub", "SwitchRole-dev", "SwitchRole-prod"]
    assert re.search(
        r'"Type": ?"AWS::IAM::Role"', (repository / "cdk.out" / "SwitchRole-prod.template.json").read_text()
    )
