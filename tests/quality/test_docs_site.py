"""The documentation site (issue 21): README.md is a front page over the pages in docs/, which mkdocs builds with
--strict, so a broken link, a missing anchor or a page left out of the navigation fails here and in CI.

The reference that was README.md (1,575 lines at 2076c6d) and BENCHMARKS.md moved into docs/ whole; every heading
they had must still be a heading of README.md or of a page, in its old order within that page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# Every heading of README.md before the move (commit 2076c6d), in order.
README_HEADINGS = (
    "switchrole",
    "Two commands",
    "Validate, synthesize, deploy",
    "Install",
    "Use switchrole from your own repository",
    "Client settings, access review, onboarding, offboarding",
    "Profiles: one MFA code, then every role",
    "Setting up as a new engineer",
    "Links",
    "Access review",
    "Workflows",
    "Onboarding and offboarding",
    "Temporary access",
    "Smoke check: prove a switch works",
    "Audit the live estate",
    "Bootstrap: no door from the hub",
    "The embedded local AWS",
    "Living in a kept emulator",
    "What the emulator proves, and what it cannot",
    "The accounts file",
    "The contract, and its limits",
    "What `validate` guarantees about names, characters and lengths",
    "Rollout through CloudFormation StackSets",
    "Scale benchmark",
    "Design notes",
    "Layout",
)
# Every heading of BENCHMARKS.md before its content moved to docs/benchmarks.md, in order.
BENCHMARKS_HEADINGS = (
    "Benchmarks",
    "credential_process: a cached `switchrole assume` against starting Python",
    "Scale: synthesis at 10 to 5,000 target accounts",
    "Fuzzing: `switchrole validate` on mutated accounts files",
    "Rare YAML constructs in valid files (issue 20)",
    "Worst cases under 2 MB",
    "Access review size at 1,000 accounts (issue 20)",
    "Lifecycle: random edit sequences, each step checked, a sample deployed as chained updates",
    "Audit: 50 accounts on the emulator",
)
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def headings(text: str) -> list[str]:
    """The ATX headings of a Markdown text, outside fenced code blocks (whose `# comments` are not headings)."""
    found: list[str] = []
    fence = None
    for line in text.splitlines():
        opening = FENCE.match(line)
        if opening:
            fence = None if fence == opening.group(1) else fence or opening.group(1)
            continue
        match = None if fence else HEADING.match(line)
        if match:
            found.append(match.group(2))
    return found


def pages() -> dict[str, list[str]]:
    return {path.name: headings(path.read_text()) for path in sorted(DOCS.glob("*.md"))}


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` as `make docs` runs it, from this environment's pinned mkdocs."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def test_the_headings_parser_skips_code_blocks() -> None:
    text = "# Title\n\n```bash\n# a shell comment\n```\n\n  ```ini\n  # also code\n  ```\n## Section ##\n"
    assert headings(text) == ["Title", "Section"]


def test_every_old_heading_is_still_a_heading_in_its_old_order() -> None:
    """No section of the old README or BENCHMARKS.md is lost: each heading is somewhere, and the headings that
    share a page keep the order they had."""
    found = {"README.md": headings((ROOT / "README.md").read_text()), **pages()}
    for old in (README_HEADINGS, BENCHMARKS_HEADINGS):
        missing = [h for h in old if not any(h in page for page in found.values())]
        assert missing == []
        for name, page in found.items():
            positions = [old.index(h) for h in page if h in old]
            assert positions == sorted(positions), (name, page)


def test_the_readme_is_a_front_page_that_links_every_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    linked = {target.split("#")[0] for target in LINK.findall(readme)}
    assert sorted(f"docs/{name}" for name in pages() if f"docs/{name}" not in linked) == []


def test_the_readme_s_links_into_the_site_resolve() -> None:
    """mkdocs checks the pages' links; the README's own links into docs/ (anchors included) are checked here, with
    the anchors mkdocs gives headings."""
    readme = (ROOT / "README.md").read_text()
    targets = [t for t in LINK.findall(readme) if not t.startswith(("http:", "https:", "#"))]
    assert any("#" in t for t in targets)  # the check below has anchors to check
    for target in targets:
        path, _, anchor = target.partition("#")
        assert (ROOT / path).exists(), target
        if anchor:
            assert anchor in {slugify(h, "-") for h in headings((ROOT / path).read_text())}, target
    own = {slugify(h, "-") for h in headings(readme)}
    assert [t for t in LINK.findall(readme) if t.startswith("#") and t[1:] not in own] == []


def test_benchmarks_md_points_to_its_page() -> None:
    """BENCHMARKS.md stays where code and tests name it, as a pointer to the page that holds the figures."""
    pointer = (ROOT / "BENCHMARKS.md").read_text()
    assert "](docs/benchmarks.md)" in pointer and len(pointer.splitlines()) <= 5


def test_the_site_builds_strict(tmp_path: Path) -> None:
    result = build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    built = {p.parent.name for p in (tmp_path / "site").glob("*/index.html")}
    assert sorted(p.stem for p in DOCS.glob("*.md") if p.stem != "index" and p.stem not in built) == []
    assert (tmp_path / "site" / "scale.png").is_file()  # the benchmarks page's figure


def test_a_broken_link_an_unknown_anchor_or_a_page_outside_the_nav_fails_the_build(tmp_path: Path) -> None:
    """The strict build is what catches them: the same configuration, on a copy of the pages with each fault."""
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs")
    with (tmp_path / "docs" / "audit.md").open("a") as page:
        page.write("\nSee [the smoke check](smoke.md#no-such-section) and [the file](../accounts.yaml).\n")
    (tmp_path / "docs" / "orphan.md").write_text("# Orphan\n")
    result = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "does not contain an anchor '#no-such-section'" in output, output
    assert "'../accounts.yaml'" in output and "orphan.md" in output, output
