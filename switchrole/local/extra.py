"""Is the embedded local AWS installed? It is switchrole's "local" extra (moto[server]), not a dependency.

Why an extra: moto[server] and what it pulls in (Flask, cryptography, docker, jsonschema, ...) is most of an
installation (documentation: Install), and only ``switchrole local demo`` runs it: validate, synth, assume,
profiles, diff, init and audit against AWS need none of it. moto is imported by the emulator's own process only
(:mod:`switchrole.local.server`), so without this check a missing extra would surface late, as a traceback in a
server log. The one check is here: a command that starts the emulator calls :func:`require` before any work,
and a person without the extra gets one line naming it.

Only the emulator needs the extra. ``switchrole local credentials``/``mfa-code``/``first-access``/``stop`` talk
HTTP to an emulator that is already running, and work without moto.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

EXTRA = "local"
# What the emulator's process imports beyond switchrole's own dependencies: moto, and its "server" extra's web
# stack (moto.moto_server imports flask and flask_cors; switchrole.local.server runs werkzeug).
MODULES = ("moto", "flask", "flask_cors", "werkzeug")
# A repository made by `switchrole init` installs the extra from its hashed lock, never from an index by name.
LOCAL_REQUIREMENTS = "requirements-local.txt"


class MissingExtra(Exception):
    """The emulator cannot start here; ``str(exc)`` is the one line that says how to install it."""


def missing_modules() -> list[str]:
    """The emulator's modules that cannot be imported (found without importing them)."""
    return [name for name in MODULES if find_spec(name) is None]


def install_hint(folder: Path) -> str:
    """How to install the extra: from the repository's hashed lock where there is one, else by the extra's name."""
    if (folder / LOCAL_REQUIREMENTS).is_file():
        return f"pip install --require-hashes -r {LOCAL_REQUIREMENTS}"
    return f"pip install 'switchrole[{EXTRA}]'"


def require(folder: Path | None = None) -> None:
    """Raise :class:`MissingExtra` unless the emulator's modules are importable (``folder``: where pip would run)."""
    missing = missing_modules()
    if missing:
        hint = install_hint(folder or Path.cwd())
        raise MissingExtra(
            f'switchrole: the local emulator needs the "{EXTRA}" extra (missing: {", ".join(missing)}): {hint}'
        )
