"""Set-up (issue 25): the wizard asks for the network's name, which heads the window; it says where a
remembered passphrase is kept (the OS keyring) and, on a computer without a keyring, says so at set-up (the
box disabled, with the reason) and at the next start, instead of silently forgetting it."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordSetError
from PySide6.QtWidgets import QWizard
from sqlalchemy import select

from carenet_desktop.models import AuditLog, Network, Practice
from carenet_desktop.models.database import open_database
from carenet_desktop.models.encryption import KEYRING_SERVICE, key_store, stored_passphrase
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.practices import DEFAULT_NETWORK_NAME
from carenet_desktop.ui.main_window import MainWindow
from carenet_desktop.ui.session import Session
from carenet_desktop.ui.signin import PassphraseDialog
from carenet_desktop.ui.welcome import SetupWizard
from tests.ui.test_welcome import PASSPHRASE, fill

NETWORK = "Riverside Children's Care Network"


class MemoryKeyring(KeyringBackend):
    """A keyring that works (a desktop with GNOME Keyring, the Windows Credential Manager ...)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


class RefusingKeyring(MemoryKeyring):
    """A keyring that is there but refuses (locked, or the user said no to its prompt)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("locked")


@pytest.fixture
def use_keyring(monkeypatch):  # type: ignore[no-untyped-def]
    """Install a keyring backend for one test (and the test machine's back afterwards)."""
    monkeypatch.delenv("CARENET_KEYRING", raising=False)
    monkeypatch.delenv("CARENET_DB_PASSPHRASE", raising=False)
    before = keyring.get_keyring()

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(before)


def _wizard(qtbot, path, *, network: str | None = None, remember: bool | None = None) -> SetupWizard:  # type: ignore[no-untyped-def]
    wizard = SetupWizard(path)
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.practice_page
    assert page.network.text() == DEFAULT_NETWORK_NAME  # a sensible default, never "Unnamed network"
    if network is not None:
        page.network.clear()
        qtbot.keyClicks(page.network, network)
    fill(qtbot, wizard, remember=remember)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert wizard.result() == wizard.DialogCode.Accepted
    return wizard


def test_the_network_is_named_at_set_up_and_heads_the_window(qtbot, tmp_path, use_keyring) -> None:  # type: ignore[no-untyped-def]
    use_keyring(fail.Keyring())
    wizard = _wizard(qtbot, tmp_path / "carenet.db", network=f"  {NETWORK} ")
    db = wizard.database
    with db.session() as s:
        network = s.scalars(select(Network)).one()
        assert network.name == NETWORK
        assert s.scalars(select(Practice)).one().network_id == network.id
        assert s.scalars(select(AuditLog).where(AuditLog.entity == "network", AuditLog.action == "create")).one()
    session = Session(ServiceContext(db, username="admin", user=wizard.user))
    window = MainWindow(session, remember_state=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.network_label.text() == NETWORK, timeout=20_000)
    assert window.windowTitle() == NETWORK
    window.grab().save("/tmp/setup-network-title.png")
    session.close()


def test_an_empty_network_name_keeps_the_wizard_on_its_first_page(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wizard = SetupWizard(tmp_path / "carenet.db")
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.practice_page
    qtbot.keyClicks(page.code, "north")
    qtbot.keyClicks(page.name, "Northside Pediatrics")
    nxt = wizard.button(QWizard.WizardButton.NextButton)
    assert nxt.isEnabled()
    page.network.clear()
    assert not nxt.isEnabled() and "network's name" in page.error.text()
    wizard.grab().save("/tmp/setup-practice.png")


def test_without_a_keyring_remember_is_disabled_with_the_reason_and_the_next_start_says_why(
        qtbot, tmp_path, use_keyring) -> None:  # type: ignore[no-untyped-def]
    use_keyring(fail.Keyring())  # a Linux desktop with no Secret Service running
    assert not key_store().available
    wizard = SetupWizard(tmp_path / "carenet.db")
    qtbot.addWidget(wizard)
    wizard.resize(720, 560)
    wizard.show()
    page = wizard.encryption_page
    assert not page.remember.isEnabled() and not page.remember.isChecked()
    assert "not possible" in page.remember_note.text() and "keyring" in page.remember_note.text()
    assert "each start" in page.remember_note.text()
    assert "keyring" in page.remember.toolTip()
    page.encrypt.setChecked(False)
    page.encrypt.setChecked(True)
    assert not page.remember.isEnabled()  # ticking encryption on again does not offer it either
    wizard.setStartId(2)
    wizard.restart()
    wizard.grab().save("/tmp/setup-encryption-no-keyring.png")

    dialog = PassphraseDialog(tmp_path / "carenet.db")  # the next start
    qtbot.addWidget(dialog)
    dialog.show()
    assert "cannot be remembered here" in dialog.intro.text() and "keyring" in dialog.intro.text()
    assert not dialog.remember.isEnabled()
    dialog.grab().save("/tmp/passphrase-no-keyring.png")


def test_with_a_keyring_the_passphrase_is_kept_there_and_the_next_start_does_not_ask(
        qtbot, tmp_path, use_keyring) -> None:  # type: ignore[no-untyped-def]
    store = use_keyring(MemoryKeyring())
    path = tmp_path / "carenet.db"
    wizard = SetupWizard(path)
    qtbot.addWidget(wizard)
    page = wizard.encryption_page
    assert page.remember.isEnabled() and page.remember.isChecked()  # on by default where it works
    assert "kept in the system keyring" in page.remember_note.text()
    wizard.close()
    wizard = _wizard(qtbot, path, remember=True)
    assert wizard.remembered and not wizard.remember_failed
    wizard.database.dispose()
    assert list(store.entries) == [(KEYRING_SERVICE, str(path.resolve()))]
    assert stored_passphrase(path) == PASSPHRASE
    open_database(path).dispose()  # opens without being given the passphrase: no question at the next start

    other = tmp_path / "other.db"  # a file whose passphrase was never remembered here: the dialog says so
    dialog = PassphraseDialog(other)
    qtbot.addWidget(dialog)
    assert "not kept in the system keyring" in dialog.intro.text()
    assert dialog.remember.isEnabled() and "system keyring" in dialog.remember.text()


def test_a_keyring_that_refuses_is_reported_after_set_up(qtbot, tmp_path, use_keyring) -> None:  # type: ignore[no-untyped-def]
    use_keyring(RefusingKeyring())
    wizard = _wizard(qtbot, tmp_path / "carenet.db", remember=True)
    assert not wizard.remembered and wizard.remember_failed  # the launcher tells the user
    wizard.database.dispose()
