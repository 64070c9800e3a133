"""The credential_process fast path: ``switchrole assume`` and ``session`` answered from the cache alone.

Every ``aws`` command with a generated profile starts ``switchrole assume``. Answering it the full way means
importing boto3 and Typer and resolving the hub profile's keys (about 2 s, every command) even when the role's
credentials are cached. So each answer the full path gives is also cached under the *invocation*: the command
and its options (all but the MFA code), every ``AWS_*`` variable of the environment but those that only shape
a client's output (:data:`PRESENTATION`; the AWS CLI sets ``AWS_DATA_PATH`` for the processes it starts), and
the bytes of the AWS config and credentials files. The same invocation in the same surroundings, while that
entry is good for at least 15 more minutes (:data:`~switchrole.client.cache.REFRESH_MARGIN`), gets the cached
answer at the cost of starting Python and reading two small files; anything different (another profile,
rotated keys in the credentials file, an edited config, another endpoint or aws-vault session in the
environment) misses and takes the full path, which checks everything again.

The parser below accepts only the forms the generated profiles use; anything else is left to the full command
line, which also reports its errors.

This module imports nothing but the standard library and :mod:`.cache` (a test keeps it so).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from switchrole.client.cache import CredentialCache

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

KIND = "answer"  # the cache entries this path reads (and the full path writes beside its own)
VALUES = {
    "assume": {
        "--role-arn": "role_arn",
        "--session-name": "session_name",
        "--hub-profile": "hub_profile",
        "--profile": "hub_profile",
        "--duration": "duration",
        "--external-id": "external_id",
        "--mfa-serial": "mfa_serial",
        "--mfa-max-age": "mfa_max_age",
        "--token-code": "token_code",
    },
    "session": {
        "--mfa-serial": "mfa_serial",
        "--hub-profile": "hub_profile",
        "--profile": "hub_profile",
        "--token-code": "token_code",
    },
}
FLAGS = {"assume": {"--source-identity": "source_identity"}, "session": {}}
REQUIRED = {"assume": ("role_arn", "session_name"), "session": ("mfa_serial",)}
NUMBERS = ("duration", "mfa_max_age")
# AWS_* variables that cannot choose credentials or an endpoint; any other one is part of the key (a variable
# unknown here only costs a miss)
PRESENTATION = frozenset(
    {"AWS_DATA_PATH", "AWS_PAGER", "AWS_DEFAULT_OUTPUT", "AWS_CLI_AUTO_PROMPT", "AWS_CLI_FILE_ENCODING"}
)


def parse(argv: Sequence[str]) -> dict[str, str | int | bool] | None:
    """``assume``/``session`` and their options as the full command line would read them; None for anything
    this small parser does not handle (the full command line then does)."""
    if not argv or argv[0] not in VALUES:
        return None
    command = argv[0]
    values, flags = VALUES[command], FLAGS[command]
    options: dict[str, str | int | bool] = {}
    rest = list(argv[1:])
    while rest:
        word = rest.pop(0)
        name, has_value, value = word.partition("=")
        if name in flags and not has_value:
            options[flags[name]] = True
            continue
        if name not in values or values[name] in options:
            return None
        if not has_value:
            if not rest or rest[0].startswith("-"):
                return None
            value = rest.pop(0)
        options[values[name]] = value
    for name in NUMBERS:
        if name in options:
            text = str(options[name])
            if not text.isdigit() or not text.isascii():
                return None
            options[name] = int(text)
    if any(not options.get(name) for name in REQUIRED[command]):
        return None
    return {"command": command, **options}


def invocation_key(options: Mapping[str, object], environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """What an answer depends on: the options (without the MFA code) and the surroundings that choose the hub
    credentials and the endpoint (``AWS_*`` variables, the AWS config and credentials files' bytes)."""
    env = os.environ if environ is None else environ
    # an option not given (None, or False for a flag) is left out; 0 is a value (`0 in (None, False)` is true)
    canonical = {
        name: value
        for name, value in options.items()
        if name != "token_code" and value is not None and value is not False
    }
    surroundings = hashlib.sha256()
    for name in sorted(name for name in env if name.startswith("AWS_") and name not in PRESENTATION):
        surroundings.update(f"{name}={env[name]}\0".encode())
    home = Path(env.get("HOME") or Path.home())
    for variable, default in (("AWS_CONFIG_FILE", "config"), ("AWS_SHARED_CREDENTIALS_FILE", "credentials")):
        path = Path(env[variable]).expanduser() if env.get(variable) else home / ".aws" / default
        surroundings.update(_file_bytes(path) + b"\0")
    return json.dumps(canonical, sort_keys=True), surroundings.hexdigest()


def _file_bytes(path: Path) -> bytes:
    """A regular file's bytes; a marker for a missing file or anything else (opened without blocking)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return b"absent"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"not a file"
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"file\0" + b"".join(chunks)
    except OSError:
        return b"unreadable"
    finally:
        os.close(fd)


def cached_answer(
    argv: Sequence[str], cache: CredentialCache | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The credential_process JSON for ``argv`` from the cache, or None (the full path must answer)."""
    options = parse(argv)
    if options is None:
        return None
    credentials = (cache or CredentialCache.default()).get(KIND, invocation_key(options, environ))
    return credentials.credential_process() if credentials is not None else None


def remember(
    options: Mapping[str, object],
    answer: object,
    cache: CredentialCache | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Cache the full path's ``answer`` (:class:`~switchrole.client.cache.TemporaryCredentials`) for the same
    invocation."""
    from switchrole.client.cache import TemporaryCredentials

    if isinstance(answer, TemporaryCredentials):
        (cache or CredentialCache.default()).put(KIND, invocation_key(options, environ), answer)
