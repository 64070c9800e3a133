"""The running switchrole as a wheel file, which ``switchrole init`` vendors into the new repository.

Why vendor: the new repository must install exactly this switchrole, from a source it names, and never a
same-named package from a public index. Its requirements.txt names ``./vendor/<wheel>`` with the wheel's sha256,
so pip reads switchrole from that file and asks no index for it (and refuses the file if it changes).

Where the wheel comes from:

- switchrole installed from a wheel: the installed files are packed again, each checked first against the RECORD
  pip wrote when it installed them (a changed file is refused, not vendored). The scripts pip generated, the
  compiled ``.pyc`` files and pip's own markers (INSTALLER, REQUESTED, direct_url.json) are left out, as they were
  not in the wheel. The files are laid out as bdist_wheel lays them out, with fixed timestamps: an installation
  of a wheel built as below packs back to that wheel's very bytes (the tests check it), so the vendored file's
  sha256 is the one of the wheel that was installed.
- a checkout or an editable install (no installed files to pack): the wheel is built from the source
  (pyproject.toml, README.md, LICENSE and the package, copied to a temporary folder so that the build leaves
  nothing in the checkout), by the build backend pyproject.toml names, as installed in this environment (no
  download, no build isolation), with SOURCE_DATE_EPOCH fixed so that the bytes depend on the source only.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from importlib.metadata import Distribution, distributions
from pathlib import Path

import switchrole
from switchrole import __version__

NAME = "switchrole"
FILE_NAME = f"{NAME}-{__version__}-py3-none-any.whl"  # a pure-Python wheel: the only tag switchrole builds
SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE")  # besides the package: what the build reads
EPOCH = "315532800"  # 1980-01-01, the earliest time a zip file can hold: timestamps say nothing
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
NOT_IN_WHEELS = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}  # written by pip, or rewritten here


class WheelError(Exception):
    """No wheel could be made; ``str(exc)`` is one line saying why."""


@dataclass(frozen=True)
class Wheel:
    name: str  # the file name
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@functools.cache
def running_wheel() -> Wheel:
    """The wheel of the switchrole running now (packed from its installation, or built from its source)."""
    package = Path(switchrole.__file__).resolve().parent
    dist = _installed(package)
    wheel = repack(dist) if dist is not None else build(package.parent)
    if wheel.name != FILE_NAME:
        raise WheelError(f"switchrole's wheel is {wheel.name}, not {FILE_NAME}")
    return wheel


def _installed(package: Path) -> Distribution | None:
    """switchrole's installed wheel if ``package`` is its copy (not a checkout, an egg-info or an editable install)."""
    init = f"{NAME}/__init__.py"
    for dist in distributions(name=NAME):
        if dist.version != __version__ or dist.read_text("WHEEL") is None:
            continue
        if any(str(f) == init for f in dist.files or []) and Path(str(dist.locate_file(init))).resolve() == (
            package / "__init__.py"
        ):
            return dist
    return None


def repack(dist: Distribution) -> Wheel:
    """A wheel of the installed distribution's own files, each checked against its RECORD entry."""
    info = next((str(f).split("/")[0] for f in dist.files or [] if str(f).endswith(".dist-info/METADATA")), None)
    if info is None:
        raise WheelError("switchrole's installation has no .dist-info/METADATA in its RECORD")
    members: dict[str, bytes] = {}
    for entry in dist.files or []:
        path = str(entry)
        top, _, rest = path.partition("/")
        ours = top == NAME and "__pycache__/" not in path and not path.endswith(".pyc")
        if not ours and not (top == info and rest not in NOT_IN_WHEELS):
            continue
        where = dist.locate_file(entry)
        if entry.hash is None or entry.hash.mode != "sha256":
            raise WheelError(f"{where}: switchrole's installation record holds no sha256 of it; reinstall with pip")
        data = Path(str(where)).read_bytes()
        if entry.hash.value != _digest(data):
            raise WheelError(f"{where}: differs from switchrole's installation record; reinstall")
        members[path] = data
    tags = HeaderParser().parsestr(members[f"{info}/WHEEL"].decode()).get_all("Tag") or []
    name = _file_name(info, tags)
    return Wheel(name, _zip(members, info))


def _file_name(info: str, tags: list[str]) -> str:
    """``name-version-py-abi-platform.whl`` from the dist-info folder and the WHEEL file's tags."""
    parts = [tag.split("-") for tag in tags]
    if not parts or any(len(p) != 3 for p in parts):
        raise WheelError(f"switchrole's WHEEL file has no usable tags: {tags}")
    compressed = "-".join(".".join(sorted({p[i] for p in parts})) for i in range(3))
    return f"{info.removesuffix('.dist-info')}-{compressed}.whl"


def _digest(data: bytes) -> str:
    """RECORD's form of a sha256: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _zip(members: dict[str, bytes], info: str) -> bytes:
    """The wheel's bytes, laid out as setuptools' bdist_wheel writes them (so that packing an installed wheel gives
    back the bytes a reproducible build of it had): the package's files in directory-walk order, the metadata's
    sub-folders (licenses/), the metadata files sorted, then RECORD; fixed timestamps, deflated, mode 0644
    (RECORD: 0664)."""
    order = sorted(members, key=lambda path: _walk_key(path, info))
    record = "".join(f"{p},sha256={_digest(members[p])},{len(members[p])}\n" for p in order) + f"{info}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in [*((p, members[p]) for p in order), (f"{info}/RECORD", record.encode())]:
            member = zipfile.ZipInfo(path, ZIP_TIME)
            member.external_attr = (0o100664 if path.endswith("/RECORD") else 0o100644) << 16  # as bdist_wheel
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, data)
    return buffer.getvalue()


def _walk_key(path: str, info: str) -> tuple[int, list[tuple[int, str]]]:
    """os.walk order with sorted names (a folder's files before its sub-folders); the metadata folder's own files
    last (bdist_wheel defers them)."""
    *folders, name = path.split("/")
    deferred = folders == [info]
    return int(deferred), [(1, folder) for folder in folders] + [(0, name)]


def build(source: Path) -> Wheel:
    """Build the wheel of the checkout at ``source`` with the build backend installed here (no download)."""
    pyproject = source / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise WheelError(
            f"{pyproject}: switchrole is neither installed from a wheel nor in its checkout ({exc})"
        ) from None
    if project.get("project", {}).get("name") != NAME:
        raise WheelError(f"{pyproject}: not switchrole's; switchrole is neither installed from a wheel nor here")
    backend = str(project.get("build-system", {}).get("build-backend", "setuptools.build_meta:__legacy__"))
    with tempfile.TemporaryDirectory(prefix="switchrole-wheel-") as temp:
        copy, out = Path(temp) / "source", Path(temp) / "dist"
        copy.mkdir()
        out.mkdir()
        for name in SOURCE_FILES:
            shutil.copy2(source / name, copy / name)
        shutil.copytree(source / NAME, copy / NAME, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        module, _, attribute = backend.partition(":")
        code = (
            f"import importlib, sys\nbackend = importlib.import_module({module!r})\n"
            + (f"backend = getattr(backend, {attribute!r})\n" if attribute else "")
            + "print(backend.build_wheel(sys.argv[1]))\n"
        )
        env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONDONTWRITEBYTECODE": "1"}
        built = subprocess.run(
            [sys.executable, "-c", code, str(out)], cwd=copy, env=env, capture_output=True, text=True, check=False
        )
        if built.returncode != 0:
            last = (built.stderr.strip().splitlines() or ["no output"])[-1]
            raise WheelError(f"building switchrole's wheel from {source} with {backend} failed: {last}")
        name = built.stdout.strip().splitlines()[-1]
        return Wheel(name, (out / name).read_bytes())
