"""Temporary credentials and their private on-disk cache, importable without boto3.

Credentials are cached so that one MFA code serves every role until the session expires: files of mode 0600
in a 0700 directory under the user's cache directory (``$SWITCHROLE_CACHE_DIR``, else
``$XDG_CACHE_HOME/switchrole``, else ``~/.cache/switchrole``), like the AWS CLI's own cache; never in the
repository, never printed.

A cache entry is only ever a convenience: anything that is not exactly what switchrole wrote (another JSON
value, an ``Expiration`` without a UTC offset, a FIFO or a device, a file of another user or with loose
permissions) is ignored, as if absent, and replaced by the next answer; reading never blocks (files are
opened with ``O_NONBLOCK``). This module stays light on purpose: the credential_process fast path
(:mod:`switchrole.entry`) answers from it without importing boto3, ``dataclasses`` or ``typing``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    import boto3

REFRESH_MARGIN = 900  # never hand out credentials that expire within 15 minutes (botocore refreshes below that)
MAX_ENTRY_BYTES = 64_000


class TemporaryCredentials:
    """An STS answer: keys, token, expiry and (for MFA sessions) when the code was used. Immutable; its repr
    never shows the secret or the token."""

    __slots__ = ("access_key_id", "expiration", "mfa_authenticated_at", "secret_access_key", "session_token")

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    mfa_authenticated_at: datetime | None

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        session_token: str,
        expiration: datetime,
        mfa_authenticated_at: datetime | None = None,
    ) -> None:
        for name, value in (
            ("access_key_id", access_key_id),
            ("secret_access_key", secret_access_key),
            ("session_token", session_token),
            ("expiration", expiration),
            ("mfa_authenticated_at", mfa_authenticated_at),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TemporaryCredentials) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"TemporaryCredentials(access_key_id={self.access_key_id!r}, expiration={self.expiration!r})"

    @classmethod
    def from_sts(cls, credentials: dict[str, Any], mfa_at: datetime | None = None) -> TemporaryCredentials:
        """From an STS response's ``Credentials`` (and when its MFA code was given, if it was)."""
        return cls(
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
            credentials["Expiration"],
            mfa_at,
        )

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        """Whether these credentials expire within ``seconds`` of ``now``."""
        return self.expiration <= (now or datetime.now(UTC)) + timedelta(seconds=seconds)

    def mfa_age(self, now: datetime | None = None) -> float | None:
        """Seconds since the MFA code behind these credentials was given; None without MFA."""
        if self.mfa_authenticated_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.mfa_authenticated_at).total_seconds()

    def boto_session(self, region: str | None) -> boto3.Session:
        """A boto3 session signing with these credentials in ``region``."""
        from switchrole.client.boto import session as boto3_session

        return boto3_session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            region_name=region,
        )

    def _fields(self) -> dict[str, str]:
        """The credentials in STS's field names, shared by the credential_process answer and the cache file."""
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": self.expiration.isoformat(),
        }

    def credential_process(self) -> str:
        """The JSON an AWS CLI/SDK ``credential_process`` must print on stdout."""
        return json.dumps({"Version": 1, **self._fields()})

    def to_json(self) -> str:
        """The cache file's content (read back by :meth:`from_json`)."""
        at = self.mfa_authenticated_at
        return json.dumps({**self._fields(), "MfaAuthenticatedAt": at.isoformat() if at else None})

    @classmethod
    def from_json(cls, text: str) -> TemporaryCredentials:
        """What :meth:`to_json` wrote; ValueError for anything else (the cache then ignores the file)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a cache entry is a JSON object")
        fields = [data.get(name) for name in ("AccessKeyId", "SecretAccessKey", "SessionToken")]
        if not all(isinstance(value, str) and value for value in fields):
            raise ValueError("a cache entry has its keys and token as strings")
        at = data.get("MfaAuthenticatedAt")
        if at is not None and not isinstance(at, str):
            raise ValueError("MfaAuthenticatedAt is a timestamp")
        key, secret, token = (str(value) for value in fields)
        return cls(key, secret, token, _aware(data.get("Expiration")), _aware(at) if at else None)


def _aware(value: object) -> datetime:
    """An ISO 8601 timestamp with its UTC offset (one without would compare with nothing)."""
    if not isinstance(value, str):
        raise ValueError("a timestamp is a string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timestamp carries its UTC offset")
    return moment


class CredentialCache:
    """Temporary credentials in files of mode 0600; ``CredentialCache(None)`` caches nothing.

    The directory must be a real directory (not a symlink) owned by the user with mode 0700; files are
    opened without following symlinks and without blocking, and used only when they are regular files, the
    user's, and 0600. When the cache cannot be used, switchrole works without it (one line on stderr says
    why) rather than failing after an MFA code was spent.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @classmethod
    def default(cls) -> CredentialCache:
        """The cache in :func:`default_cache_directory`."""
        return cls(default_cache_directory())

    def _path(self, kind: str, key: Sequence[str]) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.sha256("\0".join([kind, *key]).encode()).hexdigest()[:40]
        return self.directory / f"{kind}-{digest}.json"

    def _private_directory(self, create: bool) -> bool:
        """Is the directory ours alone (creating it 0700 when asked)?"""
        assert self.directory is not None
        try:
            if create:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(self.directory)
        except OSError:
            return False
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return False
        if stat.S_IMODE(info.st_mode) != 0o700:
            try:
                os.chmod(self.directory, 0o700)
            except OSError:
                return False
        return True

    def get(self, kind: str, key: Sequence[str]) -> TemporaryCredentials | None:
        """A cached entry that is still good for a while; expired, unreadable, malformed or loosely permitted
        entries are ignored (and removed when expired or malformed, so the next answer replaces them)."""
        path = self._path(kind, key)
        if path is None or not self._private_directory(create=False):
            return None
        try:  # O_NONBLOCK: a FIFO planted under the entry's name must not hold the command up
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != 0o600 or info.st_uid != os.getuid():
                return None
            text = os.read(fd, MAX_ENTRY_BYTES).decode("utf-8")
            credentials = TemporaryCredentials.from_json(text)
        except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            self.delete(kind, key)
            return None
        finally:
            os.close(fd)
        if credentials.expires_within(REFRESH_MARGIN):
            self.delete(kind, key)
            return None
        return credentials

    def put(self, kind: str, key: Sequence[str], credentials: TemporaryCredentials) -> None:
        """Cache ``credentials`` under ``kind`` and ``key`` (mode 0600, written atomically); a warning, not a
        failure, when it cannot."""
        import tempfile

        path = self._path(kind, key)
        if path is None:
            return
        if not self._private_directory(create=True):
            _warn(f"not caching credentials: {path.parent} is not a private directory of yours (mode 0700)")
            return
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates it 0600
        except OSError as exc:
            _warn(f"not caching credentials in {path.parent}: {exc.strerror or exc}")
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(credentials.to_json())
            os.replace(tmp, path)  # replaces whatever held the name (a FIFO, a malformed entry) atomically
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            _warn(f"not caching credentials in {path.parent}: {exc.strerror or exc}")

    def delete(self, kind: str, key: Sequence[str]) -> None:
        """Forget the entry under ``kind`` and ``key``, if there is one."""
        path = self._path(kind, key)
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()

    def clear(self) -> int:
        """Forget every cached session and role credential; the number of entries removed."""
        if self.directory is None or not self._private_directory(create=False):
            return 0
        removed = 0
        for path in self.directory.glob("*.json"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed


def _warn(message: str) -> None:
    print(f"switchrole: {message}", file=sys.stderr)


def default_cache_directory() -> Path:
    """``$SWITCHROLE_CACHE_DIR``, else ``$XDG_CACHE_HOME/switchrole``, else ``~/.cache/switchrole``."""
    if os.environ.get("SWITCHROLE_CACHE_DIR"):
        return Path(os.environ["SWITCHROLE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "switchrole"
