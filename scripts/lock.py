"""Write the hashed requirements files ``switchrole init`` puts into a new repository (the scaffold's lock).

Why: a repository made by ``switchrole init`` installs with ``pip install --require-hashes``, which needs every
distribution it installs, the dependencies of dependencies included, pinned to one version with the sha256 of
its files. Resolving and hashing when ``init`` runs would need the network and minutes; the lock is generated
here instead, from the pins switchrole is tested with, and shipped in the wheel as the scaffold's templates:

- ``switchrole/scaffold/files/requirements.txt``: switchrole's run-time dependencies (pyproject.toml's
  ``dependencies`` at requirements.txt's pins) and cfn-lint (requirements-dev.txt's pin: the scaffold's
  pull-request workflow lints with it), with their dependencies at constraints.txt's versions. ``init`` puts the
  line of the vendored switchrole wheel where the ``{{switchrole_wheel}}`` mark is;
- ``switchrole/scaffold/files/requirements-local.txt``: the "local" extra (moto[server]) and what it adds.

How: pip resolves the pins together (``pip install --dry-run --report``, which reads the metadata PyPI serves and
downloads no wheel), then, for every platform and Python version in TARGETS, again without dependencies, to learn
which wheel pip would install there and its sha256. Each requirement gets the hashes of all those wheels: pip on
any of those targets finds the one it needs (a newer glibc or macOS also accepts the older wheels locked here, and
pip prefers the file whose hash is allowed). Each target's dependency closure is evaluated with its own markers
(python_version, sys_platform, ...): a package only some targets need stops the script, as the lock carries no
markers. pip's configuration is ignored (``PIP_CONFIG_FILE=os.devnull``, the index named), so the hashes are those
of PyPI's files, not of a local mirror's. Only wheels are locked (``--only-binary :all:``): nothing is built, so no
unhashed build dependency runs, when a repository installs.

``tests/scaffold/test_lock.py`` checks offline that the lock holds exactly the closure of the pins at the versions
installed here. Run after changing a pin (it needs PyPI; a few minutes, mostly pip reading index pages):

    .venv/bin/python scripts/lock.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
FILES = ROOT / "switchrole" / "scaffold" / "files"
BASE, LOCAL = FILES / "requirements.txt", FILES / "requirements-local.txt"
INDEX = "https://pypi.org/simple/"
EXTRA = "local"
LINTER = "cfn-lint"  # the scaffold's pull-request workflow lints the synthesized templates with it
PYTHONS = ("3.11", "3.12", "3.13", "3.14")
OLDEST_GLIBC = 28  # manylinux_2_28: RHEL 8, Debian 10, Ubuntu 18.10 and later


def _manylinux(arch: str) -> list[str]:
    """The manylinux tags a glibc 2.OLDEST_GLIBC system accepts, best first, with the legacy aliases."""
    aliases = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags = []
    for minor in range(OLDEST_GLIBC, 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in aliases:
            tags.append(f"{aliases[minor]}_{arch}")
    return tags


# name -> (marker environment, the platform tags pip is given: it widens a macOS tag to the older macOS versions)
PLATFORMS: dict[str, tuple[dict[str, str], list[str]]] = {
    "Linux x86_64": ({"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
                     _manylinux("x86_64")),
    "Linux aarch64": ({"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"},
                      _manylinux("aarch64")),
    "macOS x86_64": ({"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "x86_64"},
                     ["macosx_11_0_x86_64"]),
    "macOS arm64": ({"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
                    ["macosx_11_0_arm64"]),
}  # fmt: skip
# cryptography (moto's) ships no Intel macOS wheel since its version 49: the local extra cannot be locked there.
LOCAL_PLATFORMS = ("Linux x86_64", "Linux aarch64", "macOS arm64")


def coverage(platforms: Iterable[str]) -> str:
    """The targets a lock file has hashes for, in words."""
    linux = [p.split()[1] for p in platforms if p.startswith("Linux")]
    macos = [p.split()[1] for p in platforms if p.startswith("macOS")]
    where = [f"Linux ({', '.join(linux)}; glibc 2.{OLDEST_GLIBC} or later)"] if linux else []
    where += [f"macOS 11 or later ({', '.join(macos)})"] if macos else []
    return f"CPython {PYTHONS[0]} to {PYTHONS[-1]} on {' and '.join(where)}"


def key(name: str) -> str:
    """A distribution's name as the lock writes it (PEP 503: lower case, runs of -_. as one -)."""
    return str(canonicalize_name(name))


def marker_environment(platform: str, python: str) -> dict[str, str]:
    """What a marker sees on ``platform`` under CPython ``python``."""
    return {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_version": f"{python}.0",
        "platform_release": "",
        "platform_version": "",
        **PLATFORMS[platform][0],
    }


def roots() -> tuple[list[Requirement], list[Requirement]]:
    """(the base file's requirements, the local extra's): pyproject.toml's names at the repository's pins."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {key(r.name): r for r in _requirements(ROOT / "requirements.txt")}
    dev = {key(r.name): r for r in _requirements(ROOT / "requirements-dev.txt")}

    def pinned(texts: Iterable[str], where: dict[str, Requirement]) -> list[Requirement]:
        result = []
        for text in texts:
            name = key(Requirement(text).name)
            if name not in where or not str(where[name].specifier).startswith("=="):
                sys.exit(f"lock: {text!r} has no == pin in requirements.txt")
            result.append(where[name])
        return result

    base = pinned(project["dependencies"], pins) + pinned([LINTER], dev)
    return base, pinned(project["optional-dependencies"][EXTRA], pins)


def _requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def closure(
    start: Iterable[Requirement], requires: Callable[[str], list[str]], environment: dict[str, str]
) -> dict[str, set[str]]:
    """Canonical name -> extras asked for, of ``start`` and everything it needs under ``environment``'s markers.

    ``requires(name)`` is the distribution's Requires-Dist. A dependency's marker is evaluated with ``extra`` set
    to each extra its parent was asked for (and to none), as pip does.
    """
    found: dict[str, set[str]] = {}
    todo = [(requirement, "") for requirement in start]
    while todo:
        requirement, context = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({**environment, "extra": context}):
            continue
        name = key(requirement.name)
        extras = {key(e) for e in requirement.extras}
        contexts = sorted(extras - found[name]) if name in found else ["", *sorted(extras)]
        found.setdefault(name, set()).update(extras)
        todo += [(Requirement(text), extra) for extra in contexts for text in requires(name)]
    return found


def _pip(arguments: list[str], cache: Path) -> list[dict[str, Any]]:
    """``pip install --dry-run --report`` with only PyPI (no configuration file, no PIP_* but network settings)."""
    keep = {"PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k in keep}
    env["PIP_CONFIG_FILE"] = os.devnull
    with tempfile.TemporaryDirectory() as temp:
        report = Path(temp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                   "--disable-pip-version-check", "--no-input", "--index-url", INDEX, "--cache-dir", str(cache),
                   "--only-binary", ":all:", "--report", str(report), *arguments]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"lock: pip failed ({' '.join(arguments[:6])} ...):\n{done.stderr[-3000:]}")
        installs: list[dict[str, Any]] = json.loads(report.read_text())["install"]
        return installs


def lock(cache: Path) -> tuple[str, str]:
    """The two files' text."""
    base, local = roots()
    resolved = _pip(["--constraint", str(ROOT / "constraints.txt"), *map(str, base + local)], cache)
    metadata = {key(item["metadata"]["name"]): item["metadata"] for item in resolved}
    versions = {name: str(m["version"]) for name, m in metadata.items()}
    # A package whose wheel here is pure Python has that one wheel everywhere (pip would pick a platform's own
    # wheel here if it had one for this platform): its hash serves every target. The others are asked per target.
    hashes = {key(i["metadata"]["name"]): {i["download_info"]["archive_info"]["hashes"]["sha256"]} for i in resolved}
    pure = {key(i["metadata"]["name"]) for i in resolved if i["download_info"]["url"].endswith("-none-any.whl")}

    def requires(name: str) -> list[str]:
        return list(metadata[name].get("requires_dist") or [])

    base_names = _needed(base, requires, PLATFORMS)
    local_names = _needed(base + local, requires, LOCAL_PLATFORMS) - base_names
    extras: dict[str, set[str]] = {}
    for platform in PLATFORMS:
        for name, asked in closure(base + local, requires, marker_environment(platform, PYTHONS[0])).items():
            extras.setdefault(name, set()).update(asked)
    for names, platforms in ((base_names, PLATFORMS), (local_names, LOCAL_PLATFORMS)):
        for name in sorted(names & pure):
            allowed = SpecifierSet(metadata[name].get("requires_python") or "")
            if not all(allowed.contains(python) for python in PYTHONS):
                sys.exit(f"lock: {name} {versions[name]} needs Python {allowed}")
        for platform in platforms:
            for python in PYTHONS:
                pins = [f"{name}=={versions[name]}" for name in sorted(names - pure)]
                where = [f"--platform={tag}" for tag in PLATFORMS[platform][1]]
                with tempfile.TemporaryDirectory() as target:  # pip takes platform options only with --target
                    options = ["--no-deps", "--target", target, *where, "--python-version", python]
                    for item in _pip([*options, "--implementation", "cp", *pins], cache):
                        hashes[key(item["metadata"]["name"])].add(
                            item["download_info"]["archive_info"]["hashes"]["sha256"]
                        )
                print(f"lock: {platform}, Python {python}: {len(pins)} platform wheels", file=sys.stderr)
    pin = {name: (versions[name], sorted(extras.get(name, ())), sorted(hashes[name])) for name in versions}
    options = ["--require-hashes", "--only-binary :all:", "{{switchrole_wheel}}"]
    return (
        render([*header(BASE_HEADER, coverage(PLATFORMS)), *options], pin, base_names),
        render([*header(LOCAL_HEADER, coverage(LOCAL_PLATFORMS)), "-r requirements.txt"], pin, local_names),
    )


def _needed(start: list[Requirement], requires: Callable[[str], list[str]], platforms: Iterable[str]) -> set[str]:
    """The closure of ``start``, the same on every target (else the lock would need markers: stop)."""
    found: set[str] | None = None
    for platform in platforms:
        for python in PYTHONS:
            needed = set(closure(start, requires, marker_environment(platform, python)))
            if found is not None and needed != found:
                sys.exit(f"lock: {platform} Python {python} needs {sorted(needed ^ found)} unlike other targets")
            found = needed
    return found or set()


BASE_HEADER = (
    "switchrole {{switchrole_version}} and everything it runs with, each file pinned by its sha256.",
    "From this folder (the wheel's path is relative to it):  pip install --require-hashes -r requirements.txt",
    "switchrole comes from the wheel `switchrole init` vendored into vendor/: no package index is asked for it. The"
    " other lines are switchrole's run-time dependencies and cfn-lint (the pull-request workflow lints the templates"
    " with it), at the versions switchrole was tested with, as PyPI serves them (a mirror of PyPI serves the same"
    " bytes). Wheels only, so nothing is built while installing; hashes for {coverage}.",
    'Written by switchrole\'s scripts/lock.py. Upgrading: README.md, "Upgrade switchrole".',
)
LOCAL_HEADER = (
    "switchrole's \"local\" extra, the emulator `switchrole local demo` runs (moto's server), hashed like"
    " requirements.txt, which it installs too.",
    "From this folder:  pip install --require-hashes -r requirements-local.txt",
    "The workflows install requirements.txt only: CI and deploys need none of this. Wheels only; hashes for"
    " {coverage}. Written by switchrole's scripts/lock.py.",
)


def header(paragraphs: Iterable[str], coverage: str) -> list[str]:
    """Comment lines of at most 120 characters, one paragraph (or command) after the other."""
    lines = []
    for paragraph in paragraphs:
        lines += textwrap.wrap(paragraph.replace("{coverage}", coverage), 118, break_on_hyphens=False)
    return [f"# {line}" for line in lines]


def render(head: list[str], pins: dict[str, tuple[str, list[str], list[str]]], names: Iterable[str]) -> str:
    """A requirements file: ``head`` (comments and options), then each of ``names`` pinned with its hashes."""
    lines = list(head)
    for name in sorted(names):
        version, extras, digests = pins[name]
        extra = f"[{','.join(extras)}]" if extras else ""
        lines.append(f"{name}{extra}=={version} \\")
        lines += [f"    --hash=sha256:{digest} \\" for digest in digests]
        lines[-1] = lines[-1].removesuffix(" \\")
    return "\n".join(lines) + "\n"


PIN = re.compile(r"^(?P<name>[a-z0-9-]+)(\[(?P<extras>[a-z0-9,-]+)\])?==(?P<version>\S+) \\$")


def locked(text: str) -> dict[str, tuple[str, set[str], set[str]]]:
    """Canonical name -> (version, extras, sha256 digests) of a lock file's text."""
    result: dict[str, tuple[str, set[str], set[str]]] = {}
    name = ""
    for line in text.splitlines():
        if match := PIN.match(line):
            name = match["name"]
            result[name] = (match["version"], set(filter(None, (match["extras"] or "").split(","))), set())
        elif line.startswith("    --hash=sha256:") and name:
            result[name][2].add(line.split(":", 1)[1].removesuffix(" \\"))
    return result


def main() -> None:
    cache = Path(os.environ.get("PIP_CACHE_DIR") or ROOT / ".cache" / "pip")
    base, local = lock(cache)
    BASE.write_text(base)
    LOCAL.write_text(local)
    print(f"wrote {BASE.relative_to(ROOT)} ({len(locked(base))} packages) and {LOCAL.relative_to(ROOT)} "
          f"({len(locked(local))} packages)")  # fmt: skip


if __name__ == "__main__":
    main()
