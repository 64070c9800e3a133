"""The importable library (model, iam, client) says what each public function and class is for."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "switchrole"
LIBRARY = ("model", "iam", "client")


# Methods that implement another library's protocol: their meaning is that protocol's (ruamel.yaml's composer and
# constructor, a text stream's write/writelines/flush).
PROTOCOL_METHODS = {"compose_node", "construct_yaml_omap", "refuse", "write", "writelines", "flush"}


def public(nodes: list[ast.stmt]) -> list[ast.FunctionDef | ast.ClassDef]:
    return [n for n in nodes if isinstance(n, ast.FunctionDef | ast.ClassDef) and not n.name.startswith("_")]


def test_every_public_function_class_and_method_of_the_library_has_a_docstring() -> None:
    missing = []
    for package in LIBRARY:
        for path in sorted((PACKAGE / package).glob("*.py")):
            for node in public(ast.parse(path.read_text()).body):
                methods = public(node.body) if isinstance(node, ast.ClassDef) else []
                for item in [node, *(m for m in methods if m.name not in PROTOCOL_METHODS)]:
                    if not ast.get_docstring(item):
                        missing.append(f"{path.relative_to(PACKAGE.parent)}:{item.lineno} {item.name}")
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
