"""``switchrole init DIR``: an organisation's own access repository, which pins switchrole instead of forking it.

The files are package data under ``files/`` read with importlib.resources, so an installed wheel scaffolds
exactly what a checkout does. Hidden names are stored visible (``github/``, ``gitignore``): globs and some
packaging tools skip dotfiles. Nothing is ever written over an existing file: if any target exists, nothing
is written at all.

The new repository installs switchrole from the running switchrole's own wheel, vendored into ``vendor/``
(:mod:`switchrole.scaffold.wheel`), and every dependency from the hashed lock files ``scripts/lock.py`` writes
into ``files/requirements*.txt``: ``pip install --require-hashes -r requirements.txt`` installs nothing whose
bytes were not known when switchrole was released, and asks no package index for switchrole itself.
"""

from __future__ import annotations

import contextlib
import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from switchrole import __version__
from switchrole.scaffold.wheel import FILE_NAME, WheelError, running_wheel

VERSION_MARK = "{{switchrole_version}}"  # replaced by the running switchrole's version
WHEEL_MARK = "{{switchrole_wheel}}"  # in requirements.txt: replaced by the vendored wheel's path and hash
VENDORED = f"vendor/{FILE_NAME}"  # the running switchrole's wheel, in the new repository

# path in the new repository -> template under files/
FILES: dict[str, str] = {
    "accounts.yaml": "accounts.yaml",
    "cdk.json": "cdk.json",
    "requirements.txt": "requirements.txt",
    "requirements-local.txt": "requirements-local.txt",
    "package.json": "package.json",
    "package-lock.json": "package-lock.json",
    "README.md": "README.md",
    ".gitignore": "gitignore",
    ".github/pull_request_template.md": "github/pull_request_template.md",
    ".github/CODEOWNERS": "github/CODEOWNERS",
    ".github/workflows/pull-request.yml": "github/workflows/pull-request.yml",
    ".github/workflows/deploy.yml": "github/workflows/deploy.yml",
    "deploy/github-deploy-role.yaml": "deploy/github-deploy-role.yaml",
    "docs/onboarding.md": "docs/onboarding.md",
}


class ScaffoldError(Exception):
    """Nothing was written; ``lines`` says why, one line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def template(name: str) -> str:
    """The text of template ``name`` (a key of FILES' values), with the version filled in."""
    resource: Traversable = files(__package__).joinpath("files")
    for part in name.split("/"):
        resource = resource.joinpath(part)
    return resource.read_text(encoding="utf-8").replace(VERSION_MARK, __version__)


def requirements(wheel_path: str, sha256: str) -> str:
    """requirements.txt installing switchrole from the wheel at ``wheel_path`` (relative to where pip runs)."""
    return template("requirements.txt").replace(WHEEL_MARK, f"{wheel_path} \\\n    --hash=sha256:{sha256}")


def conflicts(directory: Path) -> list[str]:
    """One line per target that exists already (a dangling symlink counts), or whose folder is not a folder."""
    if os.path.lexists(directory) and not directory.is_dir():
        return [f"{directory}: exists and is not a folder"]
    lines, blocked_folders = [], set()
    for relative in [*FILES, VENDORED]:
        target = directory / relative
        inside = [p for p in reversed(target.parents) if p.is_relative_to(directory) and p != directory]
        blocked = next((p for p in inside if _not_a_dir(p) or p.is_symlink()), None)
        if blocked is not None:
            if blocked not in blocked_folders:
                blocked_folders.add(blocked)
                what = (
                    "is a symlink (init writes into real folders only)" if blocked.is_symlink() else "is not a folder"
                )
                lines.append(f"{blocked}: exists and {what} (switchrole init needs {relative})")
        elif os.path.lexists(target):
            lines.append(f"{target}: exists; switchrole init overwrites nothing")
    return lines


def _not_a_dir(path: Path) -> bool:
    return os.path.lexists(path) and not path.is_dir()


def scaffold(directory: Path) -> list[Path]:
    """Write every file of FILES and the vendored wheel into ``directory`` (created if missing); their paths.

    Raises ScaffoldError, having written nothing, if any target exists. Files are created exclusively
    (O_EXCL), so one that appears meanwhile is not overwritten either: what was written is removed again.
    """
    problems = conflicts(directory)
    if problems:
        raise ScaffoldError(problems)
    try:
        wheel = running_wheel()
    except WheelError as exc:
        raise ScaffoldError([f"{exc}; nothing written"]) from None
    contents = {relative: template(name).encode() for relative, name in FILES.items()}  # all before writing any
    contents["requirements.txt"] = requirements(f"./{VENDORED}", wheel.sha256).encode()
    contents[VENDORED] = wheel.data
    created_files: list[Path] = []
    created_dirs: list[Path] = []
    try:
        for relative, data in contents.items():
            target = directory / relative
            for folder in reversed(target.parents):
                if not folder.exists():
                    folder.mkdir()
                    created_dirs.append(folder)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            created_files.append(target)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
    except OSError as exc:
        for path in created_files:
            path.unlink(missing_ok=True)
        for folder in reversed(created_dirs):
            with contextlib.suppress(OSError):
                folder.rmdir()
        where = exc.filename or directory
        raise ScaffoldError([f"{where}: {exc.strerror or exc}; nothing written"]) from None
    return created_files
