"""Writing the files people keep (their AWS config, the accounts file) without ever losing a byte of them.

Edits are read-modify-replace: under an exclusive lock (a second `profiles --merge` waits instead of
overwriting the first one's block), through symlinks (the link stays, its target changes), never splitting
hard links (refused), keeping the mode, the owner and the line endings, and replacing the file in one
rename, so a crash leaves the old file or the new one, never half of either.

A rename needs only the folder to be writable, not the file: it would replace a file its owner made read-only
(mode 0444), and a file of another user (as root, or in a shared folder), which then became the caller's. So a
file whose mode lacks its owner's write bit is refused, and a personal file (``personal=True``: the AWS config
``profiles --merge`` edits) is replaced only for its owner. Files of a repository (the accounts file, the
bootstrap template) may belong to another user, as in a container running as root over a checkout: for them
only the mode counts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


class FileWriteError(Exception):
    """The file cannot be written safely; the message is one line for the user."""


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock for editing ``path``. It is taken on the folder that holds the file: the file itself
    is replaced by each edit (so it cannot carry the lock), and a lock file beside it would stay behind."""
    folder = Path(os.path.realpath(path)).parent
    if not folder.is_dir():
        raise FileWriteError(f"{path}: the folder {folder} does not exist")
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise FileWriteError(f"{path}: cannot lock it for editing: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def line_ending(text: str) -> str:
    """The file's line ending: CRLF when every line ends so, CR alone when no line ends in LF (classic Mac
    OS; Python and the AWS CLI read such a file line by line), LF otherwise."""
    if "\r\n" in text and text.count("\r\n") == text.count("\n"):
        return "\r\n"
    if "\r" in text and "\n" not in text:
        return "\r"
    return "\n"


def as_lf(text: str) -> str:
    """``text`` with LF line endings, to edit line by line: CRLF becomes LF, and so does CR in a file whose
    lines all end in CR alone (elsewhere a lone CR is part of a line and stays)."""
    return text.replace("\r", "\n") if line_ending(text) == "\r" else text.replace("\r\n", "\n")


def with_line_ending(text: str, ending: str) -> str:
    """``text`` with every line ending made ``ending``."""
    unified = as_lf(text)
    return unified.replace("\n", ending) if ending != "\n" else unified


def refusal(path: Path, info: os.stat_result, *, personal: bool) -> str | None:
    """Why ``path`` (whose target's status is ``info``) may not be replaced, if it may not: another user's
    personal file, or a file its owner made read-only."""
    me = os.geteuid()
    if personal and info.st_uid != me:
        return (
            f"{path}: belongs to {_user(info.st_uid)} and you are {_user(me)}: switchrole replaces only your "
            "own AWS config (run it as that user, or merge into a copy)"
        )
    if not info.st_mode & stat.S_IWUSR:
        return (
            f"{path}: read-only (mode {stat.S_IMODE(info.st_mode):04o}): switchrole does not replace a file its "
            f"owner made read-only (chmod u+w {path} first, if it should change)"
        )
    return None


def _user(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def check_replaceable(path: Path, *, personal: bool = False) -> os.stat_result | None:
    """The status of ``path``'s target (None: it does not exist yet); :class:`FileWriteError` when it may not
    be replaced (:func:`refusal`). ``profiles --merge`` asks before reading, so the answer does not depend on
    whether the merge would change anything."""
    target = Path(os.path.realpath(path))
    try:
        info = os.stat(target) if target.exists() else None
    except OSError as exc:
        raise FileWriteError(f"{path}: {exc.strerror or exc}") from None
    if info is not None and (why := refusal(path, info, personal=personal)):
        raise FileWriteError(why)
    return info


def replace_text(path: Path, text: str, *, personal: bool = False) -> None:
    """Replace ``path`` (its symlink target) with ``text`` in one step, keeping mode and owner; refused for a
    read-only file and, when ``personal``, a file of another user (:func:`refusal`)."""
    target = Path(os.path.realpath(path))
    info = check_replaceable(path, personal=personal)
    if info is not None and info.st_nlink > 1:
        raise FileWriteError(
            f"{path} has {info.st_nlink} hard links; replacing it would split them (edit it by hand, or remove "
            "the other links)"
        )
    if not target.parent.is_dir():
        raise FileWriteError(f"{path}: the folder {target.parent} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise FileWriteError(f"{path}: cannot write in {target.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, (info.st_mode & 0o7777) if info else 0o600)
        if info is not None and (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
            with contextlib.suppress(PermissionError):  # root keeps the owner; others cannot change it anyway
                os.chown(tmp, info.st_uid, info.st_gid)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise FileWriteError(f"{path}: cannot write it: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
