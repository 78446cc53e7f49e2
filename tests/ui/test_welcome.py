"""First run: the welcome's two ways in, and the set-up wizard creating an encrypted practice store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from sqlalchemy import select

from carenet_desktop.models import Practice, ValueSetCode
from carenet_desktop.models.database import open_database
from carenet_desktop.services.users import authenticate
from carenet_desktop.ui.welcome import DEMO, SETUP, SetupWizard, WelcomeDialog

PASSPHRASE = "correct horse battery"
PASSWORD = "Kites-and-Crayons-42"


@pytest.mark.parametrize(("button", "choice"), [("demo_button", DEMO), ("setup_button", SETUP)])
def test_the_welcome_offers_the_demo_and_the_set_up(qtbot, button, choice):
    dialog = WelcomeDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(getattr(dialog, button), Qt.MouseButton.LeftButton)
    assert dialog.choice == choice and dialog.result() == dialog.DialogCode.Accepted


def fill(qtbot, wizard: SetupWizard, *, encrypt: bool = True, remember: bool | None = False) -> None:  # type: ignore[no-untyped-def]
    nxt = wizard.button(QWizard.WizardButton.NextButton)
    page = wizard.practice_page
    assert not nxt.isEnabled()
    qtbot.keyClicks(page.code, "north")
    qtbot.keyClicks(page.name, "Northside Pediatrics")
    qtbot.keyClicks(page.city, "Springfield")
    assert page.code.text() == "NORTH" and nxt.isEnabled()
    nxt.click()
    admin = wizard.admin_page
    qtbot.keyClicks(admin.password, PASSWORD)
    qtbot.keyClicks(admin.again, PASSWORD + "x")
    assert not nxt.isEnabled() and "differ" in admin.error.text()
    admin.again.clear()
    qtbot.keyClicks(admin.again, PASSWORD)
    assert nxt.isEnabled()
    nxt.click()
    enc = wizard.encryption_page
    assert enc.encrypt.isChecked()  # on by default
    assert not nxt.isEnabled()
    if encrypt:
        qtbot.keyClicks(enc.passphrase, "short")
        assert "at least" in enc.error.text()
        enc.passphrase.clear()
        qtbot.keyClicks(enc.passphrase, PASSPHRASE)
        qtbot.keyClicks(enc.again, PASSPHRASE)
        if remember is not None:
            enc.remember.setChecked(remember)  # not on the test machine's own keyring (None: as offered)
    else:
        enc.encrypt.setChecked(False)
    assert nxt.isEnabled()
    nxt.click()
    wizard.import_page.later.setChecked(True)


def test_set_up_creates_an_encrypted_store_with_the_practice_and_its_administrator(qtbot, tmp_path):
    path = tmp_path / "carenet.db"
    wizard = SetupWizard(path)
    qtbot.addWidget(wizard)
    wizard.show()
    fill(qtbot, wizard)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert wizard.result() == wizard.DialogCode.Accepted and not wizard.import_now
    assert wizard.user is not None and wizard.user.role == "network-admin"
    wizard.database.dispose()
    with pytest.raises(sqlite3.DatabaseError):  # a plain sqlite3 open cannot read it
        sqlite3.connect(path).execute("select count(*) from sqlite_master").fetchall()
    db = open_database(path, key=PASSPHRASE)
    with db.session() as s:
        practice = s.scalars(select(Practice)).one()
        assert (practice.code, practice.name, practice.city) == ("NORTH", "Northside Pediatrics", "Springfield")
        assert s.scalars(select(ValueSetCode).limit(1)).first() is not None  # the measures' codes are there
    assert authenticate(db, "admin", PASSWORD).username == "admin"
    db.dispose()


def test_set_up_without_encryption_when_the_user_unticks_it(qtbot, tmp_path):
    path = tmp_path / "plain.db"
    wizard = SetupWizard(path)
    qtbot.addWidget(wizard)
    wizard.show()
    fill(qtbot, wizard, encrypt=False)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    wizard.database.dispose()
    assert sqlite3.connect(path).execute("select code from practice").fetchall() == [("NORTH",)]


def test_an_existing_file_is_never_overwritten(qtbot, tmp_path):
    path = tmp_path / "carenet.db"
    path.write_bytes(b"somebody's data")
    wizard = SetupWizard(path)
    qtbot.addWidget(wizard)
    wizard.show()
    fill(qtbot, wizard)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert wizard.isVisible() and "already exists" in wizard.import_page.error.text()
    assert path.read_bytes() == b"somebody's data"


def test_first_run_is_when_no_database_is_named_and_none_exists(monkeypatch, tmp_path):
    from carenet_desktop.models.database import default_database_path
    from carenet_desktop.ui.launch import first_run

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("CARENET_DB", raising=False)
    assert first_run()
    default_database_path().parent.mkdir(parents=True, exist_ok=True)
    default_database_path().write_bytes(b"")
    assert not first_run()
    monkeypatch.setenv("CARENET_DB", str(tmp_path / "elsewhere.db"))
    assert not first_run()
    Path(default_database_path()).unlink()
    assert not first_run()  # a database named in CARENET_DB: no welcome
