"""The integrity check of a large store runs after the window opens; damage found then is said plainly and
the newest sound backup is offered, restored once the store is closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from carenet_desktop.models.database import open_database
from carenet_desktop.models.durability import integrity_problems, list_backups
from carenet_desktop.ui import startup
from carenet_desktop.ui.tasks import TaskRunner


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for start in range(4096 * 2, len(data) - 4096, 4096 * 2):
        data[start:start + 4096] = b"\x5a" * 4096
    path.write_bytes(bytes(data))


def _answer_next_message_box(button: QMessageBox.StandardButton, seen: list[str]) -> None:
    """Click ``button`` of the next modal message box, as a user would, and keep its text."""
    def poll() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(20, poll)


def _sound_store_with_backup(db_path: Path) -> None:
    db = open_database(db_path)
    db.backup()
    with db.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()


def test_only_a_large_file_is_checked_after_start(qapp, db_path, monkeypatch):
    database, deferred = startup.open_store_deferring_check(str(db_path), headless=False)
    database.dispose()
    assert deferred is None  # a small file: checked before the window, as before
    monkeypatch.setattr(startup, "CHECK_BEFORE_START_BYTES", db_path.stat().st_size - 1)
    database, deferred = startup.open_store_deferring_check(str(db_path), headless=False)
    database.dispose()
    assert deferred is not None and deferred.path == db_path
    database, deferred = startup.open_store_deferring_check(str(db_path), headless=False, defer_large=False)
    database.dispose()
    assert deferred is None


def test_damage_found_after_start_offers_the_backup_and_restores_it(qtbot, db_path, monkeypatch):
    _sound_store_with_backup(db_path)
    monkeypatch.setattr(startup, "CHECK_BEFORE_START_BYTES", 0)
    database, deferred = startup.open_store_deferring_check(str(db_path), headless=False)
    assert deferred is not None
    database.dispose()
    _damage(db_path)  # the damage the check is there to find
    assert integrity_problems(db_path, quick=True)

    window = QWidget()
    qtbot.addWidget(window)
    runner = TaskRunner()
    chosen = []
    seen: list[str] = []
    _answer_next_message_box(QMessageBox.StandardButton.Yes, seen)
    startup.check_in_background(runner, deferred, window, on_restore=chosen.append)
    qtbot.waitUntil(lambda: bool(chosen), timeout=20_000)
    assert "is damaged" in seen[0] and "restore the newest sound backup" in seen[0]
    assert chosen[0].path == list_backups(db_path)[0].path

    _answer_next_message_box(QMessageBox.StandardButton.Ok, seen)
    startup.restore_after_close(deferred, chosen[0])
    assert "is in place" in seen[1]
    assert integrity_problems(db_path) == []
    assert runner.shutdown()


def test_a_sound_file_checked_after_start_says_nothing(qtbot, db_path, monkeypatch):
    monkeypatch.setattr(startup, "CHECK_BEFORE_START_BYTES", 0)
    database, deferred = startup.open_store_deferring_check(str(db_path), headless=False)
    database.dispose()
    assert deferred is not None
    window = QWidget()
    qtbot.addWidget(window)
    runner = TaskRunner()
    chosen = []
    task = startup.check_in_background(runner, deferred, window, on_restore=chosen.append)
    qtbot.waitUntil(lambda: task.is_done, timeout=20_000)
    assert QApplication.activeModalWidget() is None and not chosen
    assert runner.shutdown()


def test_closing_the_window_stops_a_running_check_without_calling_it_damage(tmp_path, monkeypatch):
    import sqlite3

    from carenet_desktop.models import durability
    from carenet_desktop.models.durability import CheckInterrupted

    monkeypatch.setattr(durability, "CHECK_POLL_STEPS", 10_000)  # a small file: poll sooner

    path = tmp_path / "large.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    con.executemany("INSERT INTO t (v) VALUES (?)", ((f"value {i}" * 5,) for i in range(50_000)))
    con.commit()
    con.close()
    assert integrity_problems(path, quick=True, should_stop=lambda: False) == []
    with pytest.raises(CheckInterrupted):
        integrity_problems(path, quick=True, should_stop=lambda: True)
