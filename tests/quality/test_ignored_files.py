"""What git ignores, here and in a scaffolded repository: cdk.context.json is committed, as the CDK guide says."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GITIGNORES = [ROOT / ".gitignore", ROOT / "switchrole" / "scaffold" / "files" / "gitignore"]


def ignored(gitignore: Path, name: str) -> bool:
    """Does a pattern of ``gitignore`` (no negations in these files) match the top-level file ``name``?"""
    patterns = [line.strip() for line in gitignore.read_text().splitlines()]
    return any(fnmatch.fnmatch(name, p.lstrip("/")) for p in patterns if p and not p.startswith(("#", "!")))


@pytest.mark.parametrize("gitignore", GITIGNORES, ids=["project", "scaffold"])
def test_cdk_context_is_committed_and_the_build_outputs_are_not(gitignore: Path) -> None:
    """cdk.context.json was ignored: context lookups would then differ between a laptop's synth and CI's."""
    assert not ignored(gitignore, "cdk.context.json")
    assert "cdk.context.json" in gitignore.read_text()  # the comment saying why
    assert ignored(gitignore, ".venv/") and ignored(gitignore, "cdk.out/")
