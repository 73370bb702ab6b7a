"""Which `cdc_ops` modules a Lambda needs: its handler's imports, followed through every module
they reach (imports at module level and inside functions alike), read from the source with `ast`.

Never followed: `cdc_ops.tools` (the operator tooling; the composition root imports the local
stack's adapters from it only for env=local, and a Lambda runs in aws) and imports under
`if TYPE_CHECKING:`, which never run. modulefinder (standard library) was not used: it runs no
code either but follows every import into third-party packages and cannot be told to skip a block.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "cdc_ops"
NEVER_SHIPPED = "cdc_ops.tools"


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST, root: Path) -> set[str]:
    """The cdc_ops modules one source file imports (a `from pkg import name` counts `pkg.name`
    when that is a module)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if _module_file(root, candidate) is not None:
                    found.add(candidate)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {
        m
        for m in found
        if (m == PACKAGE or m.startswith(PACKAGE + "."))
        and not (m == NEVER_SHIPPED or m.startswith(NEVER_SHIPPED + "."))
    }


def cdc_ops_closure(entry_files: Iterable[Path], root: Path) -> list[Path]:
    """The cdc_ops source files the entry files need, with every package's __init__.py on the
    way, relative to `root` (the project's directory)."""
    needed: set[str] = set()
    pending = [ast.parse(p.read_text(), str(p)) for p in entry_files]
    while pending:
        for module in _imported(pending.pop(), root):
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                name = ".".join(parts[:depth])
                path = _module_file(root, name)
                if name in needed or path is None:
                    continue
                needed.add(name)
                pending.append(ast.parse(path.read_text(), str(path)))
    files = {_module_file(root, m) for m in needed}
    return sorted(p.relative_to(root) for p in files if p is not None)
