"""switchrole as a package (issue 20): its wheel's metadata, the emulator as the "local" extra, reachable docs.

What a person gets from ``pip install switchrole-<version>-py3-none-any.whl``: a licence, metadata, type hints, and
no emulator unless asked for; every ``docs/...`` its outputs name exists where they are read. The installed
user's path end to end is tests/e2e/test_install_e2e.py.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from importlib.metadata import Distribution, packages_distributions
from pathlib import Path

import pytest
from factories import ROOT
from packaging.markers import default_environment
from packaging.requirements import Requirement
from typer.testing import CliRunner

from scripts.lock import closure, key
from switchrole.cli.main import app
from switchrole.local import extra
from switchrole.scaffold import FILES
from switchrole.scaffold.wheel import FILE_NAME, WheelError, build, repack, running_wheel

runner = CliRunner()
PACKAGE = ROOT / "switchrole"
INFO = FILE_NAME.split("-py3")[0] + ".dist-info"


@pytest.fixture(scope="module")
def wheel() -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(running_wheel().data))


def test_the_wheel_says_what_it_is(wheel: zipfile.ZipFile) -> None:
    meta = HeaderParser().parsestr(wheel.read(f"{INFO}/METADATA").decode())
    assert meta["License-Expression"] == "Apache-2.0" and meta.get_all("License-File") == ["LICENSE"]
    assert wheel.read(f"{INFO}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
    assert (
        "Apache License" in (ROOT / "LICENSE").read_text()
        and "Copyright 2026 the switchrole authors" in (ROOT / "LICENSE").read_text()
    )
    assert meta["Author"] == "The switchrole authors"
    assert "Repository, https://github.com/switchrole/switchrole" in meta.get_all("Project-URL")
    assert {"Typing :: Typed", "Programming Language :: Python :: 3.11"} <= set(meta.get_all("Classifier"))
    assert "aws" in meta["Keywords"].split(",")
    assert not [c for c in meta.get_all("Classifier") if c.startswith("License ::")]  # the SPDX expression says it
    assert "switchrole/py.typed" in wheel.namelist()


def test_the_emulator_is_only_in_the_local_extra(wheel: zipfile.ZipFile) -> None:
    meta = HeaderParser().parsestr(wheel.read(f"{INFO}/METADATA").decode())
    requires = [Requirement(text) for text in meta.get_all("Requires-Dist")]
    assert meta.get_all("Provides-Extra") == ["local"]
    assert [str(r) for r in requires if r.marker is not None] == ['moto[server]<5.3,>=5.2.5; extra == "local"']
    assert not [r for r in requires if r.name == "moto" and r.marker is None]


def test_the_wheel_carries_what_init_writes(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    templates = {f"switchrole/scaffold/files/{name}" for name in FILES.values()}
    assert templates <= names, templates - names
    assert "switchrole/scaffold/files/docs/onboarding.md" in names


def test_a_source_build_is_reproducible() -> None:
    """The same source gives the same bytes (SOURCE_DATE_EPOCH fixed), so a vendored wheel can be rebuilt."""
    assert build(ROOT).data == running_wheel().data


def test_an_installed_wheel_packs_back_to_its_own_bytes(tmp_path: Path) -> None:
    """What `switchrole init` vendors from an installation is the wheel that was installed, byte for byte; an
    installed file changed since is refused, not vendored."""
    wheel = running_wheel()
    (tmp_path / wheel.name).write_bytes(wheel.data)
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-compile",
         "--disable-pip-version-check", "--target", str(tmp_path / "site"), str(tmp_path / wheel.name)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    dist = Distribution.at(tmp_path / "site" / INFO)
    assert repack(dist) == wheel
    (tmp_path / "site" / "switchrole" / "cli" / "main.py").write_text("# changed\n")
    with pytest.raises(WheelError, match=r"switchrole/cli/main\.py: differs from switchrole's installation record"):
        repack(dist)


def test_without_the_extra_the_demo_says_how_to_install_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = extra.find_spec
    monkeypatch.setattr(extra, "find_spec", lambda name: None if name in ("moto", "flask_cors") else real(name))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["local", "demo", "--config", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        'switchrole: the local emulator needs the "local" extra (missing: moto, flask_cors): '
        "pip install 'switchrole[local]'\n"
    )
    (tmp_path / "requirements-local.txt").write_text("-r requirements.txt\n")  # a repository made by init
    result = runner.invoke(app, ["local", "demo"])
    assert result.exit_code == 2
    assert result.stderr.endswith(": pip install --require-hashes -r requirements-local.txt\n")
    assert len(result.stderr.splitlines()) == 1


def test_with_the_extra_the_check_passes() -> None:
    assert extra.missing_modules() == []
    extra.require()


def _imports(path: Path) -> set[str]:
    """Top-level names of every absolute import in ``path``, at any depth (lazy imports in functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_emulator_imports_what_the_local_extra_installs() -> None:
    """Every module switchrole imports comes from its own dependencies (pyproject.toml's, and theirs), or is one
    of the emulator's (extra.MODULES, which the check looks for) and imported in switchrole/local/ only."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    environment: dict[str, str] = dict(default_environment())  # type: ignore[arg-type]

    def requires(name: str) -> list[str]:
        return Distribution.from_name(name).requires or []

    base = set(closure([Requirement(t) for t in project["dependencies"]], requires, environment))
    providers = packages_distributions()
    outside: dict[str, set[str]] = {}
    for path in [*PACKAGE.rglob("*.py"), ROOT / "app.py"]:
        for module in _imports(path) - set(sys.stdlib_module_names) - {"switchrole"}:
            if not {key(d) for d in providers.get(module, [])} & base:
                outside.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    assert set(outside) <= set(extra.MODULES), outside
    assert all(p.startswith("switchrole/local/") for paths in outside.values() for p in paths), outside
    assert "moto" in outside  # the scan sees the emulator's imports


DOC_REFERENCE = re.compile(r"(?<![\w/.-])docs/[\w./-]*[\w]")


def test_every_docs_reference_resolves_where_it_is_read() -> None:
    """Outputs, stack texts and the scaffold's files name docs/...: each is a file `switchrole init` writes into
    the repository where switchrole runs (and this checkout has), so the reference resolves for the person."""
    references: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*"):
        if path.is_file() and path.suffix not in (".pyc", ".whl") and "__pycache__" not in path.parts:
            for reference in DOC_REFERENCE.findall(path.read_text(encoding="utf-8")):
                references.setdefault(reference, set()).add(str(path.relative_to(ROOT)))
    assert "docs/onboarding.md" in references  # the scan finds the outputs' references
    assert {r: p for r, p in references.items() if r not in FILES} == {}
    assert [r for r in references if not (ROOT / r).is_file()] == []
    readme = (ROOT / "README.md").read_text()
    assert [r for r in DOC_REFERENCE.findall(readme) if not (ROOT / r).exists()] == []
