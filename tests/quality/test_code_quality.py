"""ruff, mypy and the import contracts are part of the test suite: a lint failure is a test failure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["switchrole", "app.py", "tests", "scripts", "bench"]


def existing() -> list[str]:
    return [s for s in SOURCES if (ROOT / s).exists()]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check() -> None:
    result = run("ruff", "check", *existing())
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", *existing())
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = run("mypy", "switchrole", "app.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts() -> None:
    """One folder per concern, imports one way, and no CDK or emulator under the model, IAM or client code
    (pyproject.toml, [tool.importlinter])."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


MAX_MODULE_LINES = 600  # issue 21: small modules with one job
TOP_LEVEL_MODULES = {"__init__.py", "app.py", "entry.py"}  # everything else lives in a folder per concern


def test_no_module_is_past_600_lines_and_the_top_level_holds_only_entry_points() -> None:
    package = ROOT / "switchrole"
    long = {
        str(path.relative_to(ROOT)): lines
        for path in package.rglob("*.py")
        if "scaffold/files" not in str(path) and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
    assert {path.name for path in package.glob("*.py")} == TOP_LEVEL_MODULES
