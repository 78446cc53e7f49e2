"""The administration page as a network administrator uses it: accounts, the audit trail with its
chain check, backups; and what a clinician sees instead."""

from __future__ import annotations

from PySide6.QtWidgets import QDialogButtonBox

from carenet_desktop.models import AuditLog
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.users import authenticate, create_user
from carenet_desktop.ui.pages.administration import AdministrationPage, NewAccountDialog
from carenet_desktop.ui.session import Session

PASSWORD = "correct-horse-42"


def _page(qtbot, db_path, username: str) -> AdministrationPage:  # type: ignore[no-untyped-def]
    db = open_database(db_path)
    session = Session(ServiceContext(db, user=authenticate(db, username, PASSWORD)))
    page = AdministrationPage(session)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    page.activate()
    return page


def _wait_idle(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not page.session.tasks.active, timeout=10_000)


def test_accounts_audit_and_backups(qtbot, db_path, sample, tmp_path):  # type: ignore[no-untyped-def]
    db = open_database(db_path)
    create_user(ServiceContext(db), "admin", PASSWORD, "network_admin")
    db.dispose()
    page = _page(qtbot, db_path, "admin")
    _wait_idle(qtbot, page)
    assert [r["username"] for r in page.accounts.records()] == ["admin"]
    assert any(r["action"] == "login" for r in page.audit.records())

    code = sample.practices[0][0]
    dialog = NewAccountDialog(page.session.ctx, page)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.username, "dr-lee")
    dialog.role.setCurrentIndex(dialog.role.findData("clinician"))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert "at least" in dialog.error.text()  # no password yet
    qtbot.keyClicks(dialog.password, PASSWORD)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert "needs at least one practice" in dialog.error.text()
    qtbot.keyClicks(dialog.practices, code)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.result() == dialog.DialogCode.Accepted
    page.load_accounts()
    _wait_idle(qtbot, page)
    assert {r["username"]: r["practices"] for r in page.accounts.records()}["dr-lee"] == code

    page.verify_button.click()
    _wait_idle(qtbot, page)
    assert page.chain_label.text().startswith("Intact")
    with page.session.ctx.db.session() as s:  # someone edits the trail behind the application's back
        entry = s.get(AuditLog, 1)
        entry.summary = "nothing happened"
    page.verify_button.click()
    _wait_idle(qtbot, page)
    assert page.chain_label.text().startswith("BROKEN: first broken entry 1")

    page.tabs.setCurrentIndex(2)
    page.backup_button.click()
    _wait_idle(qtbot, page)
    assert len(page.backups.records()) == 1 and page.backups.records()[0]["reason"] == "manual"
    page.grab().save(str(tmp_path / "administration.png"))
    page.session.close()


def test_a_clinician_sees_why_not(qtbot, db_path, sample):  # type: ignore[no-untyped-def]
    db = open_database(db_path)
    create_user(ServiceContext(db), "admin", PASSWORD, "network_admin")
    admin = ServiceContext(db, user=authenticate(db, "admin", PASSWORD))
    create_user(admin, "dr-lee", PASSWORD, "clinician", [sample.practices[0][0]])
    db.dispose()
    page = _page(qtbot, db_path, "dr-lee")
    assert not page.allowed and not hasattr(page, "tabs")
    page.session.close()
