"""The importable library (model, iam, client) says what each public function and class is for."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "switchrole"
LIBRARY = ("model", "iam", "client")


def test_every_public_function_and_class_of_the_library_has_a_docstring() -> None:
    missing = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}"
        for package in LIBRARY
        for path in sorted((PACKAGE / package).glob("*.py"))
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_")
        if not ast.get_docstring(node)
    ]
    assert not missing, "\n".join(missing)


def test_every_module_says_why_it_exists() -> None:
    """The rationale docstring at the top of each module, packages included."""
    missing = [
        str(path.relative_to(PACKAGE.parent))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "scaffold/files" not in str(path)
        and path.stat().st_size
        and not ast.get_docstring(ast.parse(path.read_text()))
    ]
    assert not missing, "\n".join(missing)
