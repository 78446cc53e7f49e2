"""Sign-in at start, the first administrator, the idle lock and the passphrase dialog, driven as a user
would (typing, clicking) on a real store."""

from __future__ import annotations

import sys
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMainWindow, QWidget

from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.users import create_user, has_users
from carenet_desktop.ui import launch
from carenet_desktop.ui.signin import FirstAdministratorDialog, IdleLock, PassphraseDialog, SignInDialog

PASSWORD = "correct-horse-42"


@pytest.fixture(autouse=True)
def keep_exception_hooks(monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)


@pytest.fixture
def with_admin(database):
    create_user(ServiceContext(database), "admin", PASSWORD, "network_admin")
    return database


def _ok(dialog) -> None:
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_sign_in_refuses_a_wrong_password_then_accepts_the_right_one(qtbot, with_admin):
    dialog = SignInDialog(with_admin)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.username, "admin")
    qtbot.keyClicks(dialog.password, "wrong-password-1")
    _ok(dialog)
    assert dialog.user is None and not dialog.error.isHidden()
    assert "Wrong user name or password" in dialog.error.text()
    assert dialog.password.text() == ""  # cleared for the next try
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.user is not None and dialog.user.role == "network-admin"


def test_first_administrator_is_created_with_a_sound_password(qtbot, database):
    dialog = FirstAdministratorDialog(ServiceContext(database))
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.password, "short")
    qtbot.keyClicks(dialog.again, "short")
    _ok(dialog)
    assert not has_users(database) and "at least" in dialog.error.text()
    dialog.password.clear()
    dialog.again.clear()
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClicks(dialog.again, PASSWORD + "x")
    _ok(dialog)
    assert "differ" in dialog.error.text() and not has_users(database)
    dialog.again.clear()
    qtbot.keyClicks(dialog.again, PASSWORD)
    _ok(dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert has_users(database) and dialog.user is not None and dialog.user.username == "admin"


def test_idle_lock_hides_the_window_until_the_password_is_given(qtbot, with_admin):
    from carenet_desktop.services.users import authenticate

    user = authenticate(with_admin, "admin", PASSWORD)
    window = QMainWindow()
    content = QWidget()
    window.setCentralWidget(content)
    qtbot.addWidget(window)
    window.show()
    signed_out: list[bool] = []
    lock = IdleLock(window, with_admin, user, 1, on_sign_out=lambda: signed_out.append(True))
    lock._timer.setInterval(50)  # a minute is long for a test
    lock._timer.start()
    qtbot.waitUntil(lambda: lock.locked, timeout=3000)
    assert content.isHidden()
    dialog = lock._dialog
    assert dialog.username.text() == "admin" and dialog.username.isReadOnly()
    qtbot.keyClicks(dialog.password, "wrong-password-1")
    _ok(dialog)
    assert lock.locked and content.isHidden()
    qtbot.keyClicks(dialog.password, PASSWORD)
    _ok(dialog)
    assert not lock.locked and not content.isHidden() and not signed_out


def test_idle_lock_sign_out_closes(qtbot, with_admin):
    from carenet_desktop.services.users import authenticate

    window = QMainWindow()
    window.setCentralWidget(QWidget())
    qtbot.addWidget(window)
    signed_out: list[bool] = []
    lock = IdleLock(window, with_admin, authenticate(with_admin, "admin", PASSWORD), 10,
                    on_sign_out=lambda: signed_out.append(True))
    lock.lock()
    lock._dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert signed_out == [True]


def test_new_passphrase_must_be_long_and_typed_twice(qtbot, tmp_path):
    dialog = PassphraseDialog(tmp_path / "practice.db", new=True)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.passphrase, "short")
    qtbot.keyClicks(dialog.again, "short")
    _ok(dialog)
    assert "at least" in dialog.error.text() and dialog.result() != QDialog.DialogCode.Accepted
    dialog.passphrase.clear()
    dialog.again.clear()
    qtbot.keyClicks(dialog.passphrase, "a long passphrase 42")
    qtbot.keyClicks(dialog.again, "a long passphrase 42")
    _ok(dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.value == "a long passphrase 42"


def test_headless_start_on_a_store_with_accounts_needs_credentials(qapp, db_path, tmp_path, monkeypatch):
    from carenet_desktop.models.database import open_database

    db = open_database(db_path)
    create_user(ServiceContext(db), "admin", PASSWORD, "network_admin")
    db.dispose()
    monkeypatch.delenv("CARENET_USER", raising=False)
    monkeypatch.delenv("CARENET_PASSWORD", raising=False)
    out = tmp_path / "shot.png"
    with pytest.raises(launch.LaunchError, match="CARENET_USER"):
        launch.run_gui(str(db_path), screenshot=out)
    monkeypatch.setenv("CARENET_USER", "admin")
    monkeypatch.setenv("CARENET_PASSWORD", "wrong-password-1")
    with pytest.raises(launch.LaunchError, match="Wrong user name or password"):
        launch.run_gui(str(db_path), screenshot=out)
    assert not out.exists()
    monkeypatch.setenv("CARENET_PASSWORD", PASSWORD)
    assert launch.run_gui(str(db_path), screenshot=out) == 0
    assert out.stat().st_size > 0


def test_the_sign_in_window_can_be_pictured_for_the_start_up_check(qapp, db_path, tmp_path):
    from PySide6.QtGui import QImage

    from carenet_desktop.models.database import open_database

    out = tmp_path / "sign-in.png"
    with pytest.raises(launch.LaunchError, match="no user accounts"):
        launch.run_gui(str(db_path), sign_in_screenshot=out)
    db = open_database(db_path)
    create_user(ServiceContext(db), "admin", PASSWORD, "network_admin")
    db.dispose()
    assert launch.run_gui(str(db_path), sign_in_screenshot=out) == 0
    image = QImage(str(out))
    assert not image.isNull() and image.width() > 200 and image.height() > 100


def test_headless_start_on_a_damaged_store_says_how_to_restore(qapp, db_path, tmp_path):
    from carenet_desktop.models.database import open_database

    db = open_database(db_path)
    db.backup()
    with db.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    data = bytearray(db_path.read_bytes())
    for start in range(4096 * 2, len(data) - 4096, 4096 * 2):
        data[start:start + 4096] = b"\x5a" * 4096
    db_path.write_bytes(bytes(data))
    with pytest.raises(launch.LaunchError, match="damaged.*carenet restore --latest"):
        launch.run_gui(str(db_path), screenshot=tmp_path / "shot.png")
