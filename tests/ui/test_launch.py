"""Starting the window on the demo database: built first (terminal or dialog progress), partial files removed."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QPushButton

import carenet_desktop.demo as demo_package
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import Progress, ServiceContext, ServiceError
from carenet_desktop.services.practices import list_practices
from carenet_desktop.ui import launch


@pytest.fixture
def fake_demo(monkeypatch, sample):
    """Stand-in for ``ensure_demo_database``: fills the file with the sample network, reporting progress."""
    calls: list[str] = []

    def ensure_demo_database(path, progress: Progress | None = None):
        calls.append(str(path))
        db = open_database(path)
        try:
            if progress is not None:
                progress.report(0.5, "Writing practices")
            sample.fill(db)
            if progress is not None:
                progress.report(1.0, "Done")
        finally:
            db.dispose()
        return path

    monkeypatch.setattr(demo_package, "ensure_demo_database", ensure_demo_database, raising=False)
    return calls


@pytest.fixture(autouse=True)
def keep_exception_hooks(monkeypatch):
    """run_gui installs the application's error handler; put pytest-qt's hooks back afterwards."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)


def test_demo_is_built_before_the_screenshot_with_terminal_progress(qapp, tmp_path, fake_demo, sample):
    demo_path = tmp_path / "data" / "demo.db"
    demo_path.parent.mkdir()
    out = tmp_path / "demo.png"
    reported: list[tuple[float, str]] = []
    code = launch.run_gui(None, demo_path=demo_path, screenshot=out,
                          terminal_progress=lambda f, m: reported.append((f, m)))
    assert code == 0
    assert fake_demo == [str(demo_path)]
    assert ("Writing practices" in m for _, m in reported)
    assert reported[-1][0] == 1.0
    assert out.stat().st_size > 0
    db = open_database(demo_path)
    try:
        assert {p.code for p in list_practices(ServiceContext(db))} == {p[0] for p in sample.practices}
    finally:
        db.dispose()
    # second start: the existing demo is opened, not rebuilt
    assert launch.run_gui(None, demo_path=demo_path, screenshot=out) == 0
    assert len(fake_demo) == 1


def test_failed_demo_build_leaves_no_partial_database(qapp, tmp_path, monkeypatch):
    def broken(path, progress=None):
        open_database(path).dispose()  # a file exists...
        raise ServiceError("Out of disk space.")  # ...then the build fails

    monkeypatch.setattr(demo_package, "ensure_demo_database", broken, raising=False)
    demo_path = tmp_path / "demo.db"
    with pytest.raises(ServiceError):
        launch.run_gui(None, demo_path=demo_path, screenshot=tmp_path / "x.png")
    assert not demo_path.exists()


def test_dialog_build_runs_off_the_gui_thread(qtbot, tmp_path, fake_demo):
    demo_path = tmp_path / "demo.db"
    assert launch._build_demo_with_dialog(demo_path) is True
    assert demo_path.exists() and fake_demo == [str(demo_path)]


def test_dialog_build_can_be_cancelled(qtbot, tmp_path, monkeypatch):
    def slow(path, progress=None):
        open_database(path).dispose()
        for i in range(6000):  # a minute of work: a cancel that works ends it long before
            progress.report(i / 6000, "Generating patients")
            time.sleep(0.01)

    monkeypatch.setattr(demo_package, "ensure_demo_database", slow, raising=False)

    def press_cancel() -> None:
        dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog) and w.isVisible()]
        assert dialogs, "no progress dialog shown"
        button = next(b for b in dialogs[0].findChildren(QPushButton) if b.text() == "Cancel")
        button.click()  # as the user does

    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(press_cancel)
    timer.start(300)
    started = time.monotonic()
    demo_path = tmp_path / "demo.db"
    assert launch._build_demo_with_dialog(demo_path) is False
    assert time.monotonic() - started < 30  # the build stopped early (it runs 60 s if the cancel is lost)
    assert not demo_path.exists()


def test_dialog_build_failure_is_shown(qtbot, tmp_path, monkeypatch):
    def broken(path, progress=None):
        raise ServiceError("The demo settings are missing.")

    shown: list[str] = []
    monkeypatch.setattr(demo_package, "ensure_demo_database", broken, raising=False)
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))
    assert launch._build_demo_with_dialog(tmp_path / "demo.db") is False
    assert shown == ["The demo settings are missing."]
