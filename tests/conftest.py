"""Shared fixtures: the example organisation, synthesized once per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchrole.local.kept import OFFLINE_CLI_ENV

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "accounts.yaml"

# Keep jsii/CDK caches out of the user's home and the CLIs offline.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(ROOT / ".cache" / "jsii"))
os.environ.setdefault("CDK_HOME", str(ROOT / ".cache" / "cdk"))
for name, value in OFFLINE_CLI_ENV.items():  # the settings the demo and a kept emulator's env file use
    os.environ.setdefault(name, value)
# Nothing may reach a real AWS address: clients without an explicit endpoint go to a closed local port.
os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

from aws_cdk.assertions import Template  # noqa: E402

from switchrole.infra.validate import load_checked  # noqa: E402
from switchrole.model.organisation import Organisation  # noqa: E402


@pytest.fixture(scope="session")
def example_org() -> Organisation:
    return load_checked(EXAMPLE)


@pytest.fixture(scope="session")
def example_assembly_dir(tmp_path_factory: pytest.TempPathFactory, example_org: Organisation) -> Path:
    """The example's cloud assembly, synthesized once (jsii start-up costs ~2.5 s per synth)."""
    from switchrole.infra.assembly import synth

    out = tmp_path_factory.mktemp("assembly") / "cdk.out"
    synth(example_org, out)
    return out


@pytest.fixture(scope="session")
def templates(example_assembly_dir: Path) -> dict[str, Template]:
    """Stack name -> assertions Template, read from the synthesized assembly."""
    import json

    result = {}
    for path in sorted(example_assembly_dir.glob("*.template.json")):
        result[path.name.removesuffix(".template.json")] = Template.from_json(json.loads(path.read_text()))
    return result


@pytest.fixture(autouse=True)
def _aws_environment_unchanged() -> Iterator[None]:
    """A test that sets AWS_*/SWITCHROLE_* variables without monkeypatch would change them for every later test
    (an AWS_PROFILE left behind made 54 later tests fail): each test must leave them as it found them."""
    before = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "SWITCHROLE_"))}
    yield
    after = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "SWITCHROLE_"))}
    changed = sorted({k for k in before.keys() | after.keys() if before.get(k) != after.get(k)})  # names only
    assert not changed, f"the test changed {', '.join(changed)} for every later test: use monkeypatch.setenv"


# --- Running on every core (pytest-xdist; `make test` passes -n, --dist loadfile and --no-loadscope-reorder) ---
# loadfile: a module's tests run on one worker, in order, so a module-scoped deployment is made once and the
# tests that read what an earlier one left (test_audit_e2e, the fuzz campaign's memory) still see it.
# (--dist loadgroup would split modules finer, but its xdist_group marks are lost under pytest 9: the group is
# appended to item._nodeid, which pytest 9 no longer reads.) The end-to-end modules go first, longest first: a
# worker starts each at once while the others take everything else, so the run ends when its longest module does.
LONGEST_FIRST = [
    "tests/e2e/test_routine_changes_e2e.py",
    "tests/e2e/test_install_e2e.py",
    "tests/e2e/test_identity_center_e2e.py",
    "tests/e2e/test_e2e_local.py",
    "tests/e2e/test_audit_e2e.py",
    "tests/local/test_demo_interrupt.py",
]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, every worker orders the work the same way: the modules above, then the modules with tests
    marked slow, then the rest, each in its usual order (a module is one unit of work, placed where its first
    test is)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        if path in LONGEST_FIRST:
            return LONGEST_FIRST.index(path)
        return len(LONGEST_FIRST) + (0 if item.get_closest_marker("slow") else 1)

    items.sort(key=rank)  # stable: the collection order within each rank
