"""The Qt boundary: which modules import PySide6/shiboken6/pyqtgraph outside ``carenet_desktop/ui``."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.source_trees import parse_file

QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")


def qt_imports_outside_ui(package_root: Path) -> list[str]:
    """``path:line module`` for every Qt import in a module that is not under ``ui/``."""
    found: list[str] = []
    for path in sorted(package_root.rglob("*.py")):
        rel = path.relative_to(package_root)
        if rel.parts[0] == "ui":
            continue
        tree = parse_file(path)
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in QT_MODULES:
                    found.append(f"{rel}:{node.lineno} {name}")
    return found
