"""Every background load of a screen goes through the one latest-request-wins helper (issue 19, item 4).

A screen that starts a load with ``session.tasks.run`` directly has to write its own cancel-and-restart,
and a late result of an older request can then replace a newer one (the scorecard showed the old year
under the new year's title). This test reads the source of every page and of the import wizard: a direct
``tasks.run`` is allowed only where the work is a user's action (a file written, a backup) or is guarded
otherwise, each named below with the reason. Everything else must use ``Page.run_latest`` or a
``LatestTasks`` of its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import carenet_desktop.ui as ui_package
from tests.source_trees import parse_file

UI = Path(ui_package.__file__).resolve().parent
SCREENS = sorted((UI / "pages").glob("*.py")) + [UI / "import_wizard.py", UI / "import_jobs.py"]

#: (module, function) -> why a direct run is not a load that a newer request can supersede
ACTIONS = {
    ("patients", "_fetch_page"): "the next page of rows of one search, tagged with its generation "
                                 "(a row page of an older search is dropped by the model)",
    ("care_gaps", "export"): "writes the file the user chose",
    ("administration", "verify"): "a check the user asked for",
    ("administration", "export"): "writes the file the user chose",
    ("administration", "backup_now"): "a backup (a write)",
    ("reports", "create_report"): "writes the PDF the user chose",
    ("huddle", "print_sheet"): "writes the PDF the user chose",
}


def _direct_runs(path: Path) -> list[tuple[str, str]]:
    """(module, enclosing function) of each ``<x>.tasks.run(...)`` / ``<x>.runner.run(...)`` call."""
    tree = parse_file(path)
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and child.func.attr == "run"
                    and isinstance(child.func.value, ast.Attribute) and child.func.value.attr in {"tasks", "runner"}):
                found.append((path.stem, function))
            visit(child, name)

    visit(tree, "<module>")
    return found


def test_every_screen_loads_through_latest_tasks() -> None:
    direct = {run for path in SCREENS for run in _direct_runs(path)}
    unexplained = sorted(direct - set(ACTIONS))
    assert not unexplained, (f"background work started without LatestTasks in {unexplained}: use Page.run_latest "
                             "(or name the user action in ACTIONS with the reason)")
    assert set(ACTIONS) <= direct, f"stale entries: {sorted(set(ACTIONS) - direct)}"


def test_the_scan_sees_a_direct_run(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("class P:\n    def reload(self):\n        def done(r):\n            pass\n"
                     "        self.session.tasks.run(load, label='x', on_finished=done)\n", encoding="utf-8")
    assert _direct_runs(probe) == [("probe", "reload")]
