"""The scaffold's hashed lock (scripts/lock.py) stays in step with the pins switchrole is tested with.

Offline: the lock must hold exactly the dependency closure of the pins (pyproject.toml's dependencies at
requirements.txt's versions, cfn-lint, and for requirements-local.txt the "local" extra), at the versions installed
here, each with hashes, and nothing `--require-hashes` would let through unhashed. The hashes themselves are
checked by pip when tests/e2e/test_install_e2e.py installs from the lock. After changing a pin: scripts/lock.py.
"""

from __future__ import annotations

import re
from importlib.metadata import Distribution

from packaging.markers import default_environment

from scripts.lock import closure, key, locked, roots
from switchrole.scaffold import VENDORED, WHEEL_MARK, requirements, template

REGENERATE = "the lock is out of step with the pins: run .venv/bin/python scripts/lock.py"


def installed(name: str) -> Distribution:
    return Distribution.from_name(name)


def test_the_lock_is_the_closure_of_the_pins_at_the_installed_versions() -> None:
    base, local = roots()
    environment: dict[str, str] = dict(default_environment())  # type: ignore[arg-type]

    def requires(name: str) -> list[str]:
        return installed(name).requires or []

    base_closure = closure(base, requires, environment)
    local_closure = {n: e for n, e in closure(base + local, requires, environment).items() if n not in base_closure}
    for text, expected in (
        (template("requirements.txt"), base_closure),
        (template("requirements-local.txt"), local_closure),
    ):
        lock = locked(text)
        assert set(lock) == set(expected), REGENERATE
        assert {n: v for n, (v, _, _) in lock.items()} == {n: installed(n).version for n in expected}, REGENERATE
        assert {n: e for n, (_, e, _) in lock.items() if e} == {n: e for n, e in expected.items() if e}, REGENERATE
    assert "cfn-lint" in {key(r.name) for r in base} and [key(r.name) for r in local] == ["moto"]


def test_every_line_is_an_option_a_comment_or_a_hashed_pin() -> None:
    """Under --require-hashes an unhashed line would fail the install; a stray line would be an unpinned one."""
    pin = re.compile(r"[a-z0-9-]+(\[[a-z0-9,-]+\])?==\S+ \\")
    digest = re.compile(r"    --hash=sha256:[0-9a-f]{64}( \\)?")
    for name, options in (
        ("requirements.txt", ["--require-hashes", "--only-binary :all:", WHEEL_MARK]),
        ("requirements-local.txt", ["-r requirements.txt"]),
    ):
        lines = [line for line in template(name).splitlines() if not line.startswith("#")]
        assert lines[: len(options)] == options
        rest = lines[len(options) :]
        assert all(pin.fullmatch(line) or digest.fullmatch(line) for line in rest), name
        assert all(not rest[i].endswith("\\") for i in range(len(rest)) if i + 1 == len(rest) or pin.match(rest[i + 1]))
        assert all(hashes for _, _, hashes in locked(template(name)).values())


def test_the_wheel_line_takes_the_marks_place() -> None:
    text = requirements(f"./{VENDORED}", "ab" * 32)
    assert WHEEL_MARK not in text
    assert f"\n./{VENDORED} \\\n    --hash=sha256:{'ab' * 32}\n" in text


def test_names_are_written_as_the_lock_compares_them() -> None:
    assert key("ruamel.yaml") == "ruamel-yaml" and key("PyYAML") == "pyyaml"
