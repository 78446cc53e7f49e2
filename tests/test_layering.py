"""Nothing outside carenet_desktop/ui imports Qt (DESIGN.md §1), checked two ways."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.layering import qt_imports_outside_ui

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "carenet_desktop"


def test_no_qt_import_outside_ui():
    assert qt_imports_outside_ui(PACKAGE) == []


def test_check_catches_a_qt_import_in_a_core_module(tmp_path):
    pkg = tmp_path / "carenet_desktop"
    (pkg / "ui").mkdir(parents=True)
    (pkg / "models").mkdir()
    (pkg / "ui" / "window.py").write_text("from PySide6.QtWidgets import QWidget\n")
    (pkg / "models" / "bad.py").write_text("import os\n\ndef f():\n    from PySide6 import QtCore\n")
    assert qt_imports_outside_ui(pkg) == ["models/bad.py:4 PySide6"]


def test_core_packages_import_without_qt():
    """Importing the core in a fresh interpreter must not load PySide6."""
    code = (
        "import sys; import carenet_desktop.models, carenet_desktop.metrics.catalogue, carenet_desktop.services, "
        "carenet_desktop.cli; "
        "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','shiboken6','pyqtgraph')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("lint-imports", path=str(Path(sys.executable).parent)) is None,
                    reason="import-linter not installed")
def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    result = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
