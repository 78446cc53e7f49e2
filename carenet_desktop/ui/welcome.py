"""First run: a welcome that explains the two ways in — try the demo network, or set up my practice — and
the set-up wizard (practice, first administrator, encryption passphrase, import from the EHR, in that order).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from ..models.database import Database
from ..models.encryption import KeyStore, key_store, passphrase_problem
from ..services.context import AuthenticatedUser, ServiceError
from ..services.practices import DEFAULT_NETWORK_NAME
from ..services.setup import PracticeSetup, network_problem, practice_problem, set_up_practice_store
from ..services.users import password_problem
from .forms import ERROR_STYLE
from .widgets import heading, paragraph

DEMO, SETUP = "demo", "setup"


def _choice(title: str, text: str, button: str, name: str) -> tuple[QFrame, QPushButton]:
    frame = QFrame()
    frame.setProperty("role", "card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(18, 14, 18, 14)
    layout.addWidget(heading(title, "cardTitle"))
    body = paragraph(text)
    body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    layout.addWidget(body, 1)
    push = QPushButton(button)
    push.setObjectName(name)
    push.setProperty("primary", True)
    layout.addWidget(push, 0, Qt.AlignmentFlag.AlignLeft)
    return frame, push


class WelcomeDialog(QDialog):
    """``choice`` is DEMO or SETUP once accepted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomeDialog")
        self.setWindowTitle("Welcome to CareNet Desktop")
        self.choice: str | None = None
        self.resize(760, 420)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)
        layout.addWidget(heading("Welcome to CareNet Desktop"))
        layout.addWidget(paragraph(
            "CareNet Desktop tracks how well your practice delivers the care the network agreed on: scorecards "
            "against the network and its targets, the children due for something, referrals and their follow-up, "
            "and the periodic report to the network office. How would you like to start?"))
        row = QHBoxLayout()
        row.setSpacing(14)
        demo, self.demo_button = _choice(
            "Try the demo network",
            "A made-up network of practices and children (no real patient is in it) to look around and "
            "practise safely. Building it takes a minute or two. This welcome comes back at each start "
            "until your practice is set up.",
            "Try the demo", "welcomeDemo")
        setup, self.setup_button = _choice(
            "Set up my practice",
            "Four short steps: 1. the practice's details; 2. the first administrator's account; 3. a passphrase "
            "that encrypts the database on this computer; 4. importing the export from your EHR.",
            "Set up my practice", "welcomeSetup")
        row.addWidget(demo, 1)
        row.addWidget(setup, 1)
        layout.addLayout(row, 1)
        self.demo_button.clicked.connect(lambda: self._choose(DEMO))
        self.setup_button.clicked.connect(lambda: self._choose(SETUP))

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()


def _error() -> QLabel:
    label = paragraph("")
    label.setStyleSheet(ERROR_STYLE)
    return label


def _password(name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(name)
    return edit


class _Page(QWizardPage):
    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.form = QFormLayout(self)
        self.error = _error()

    def finish_form(self) -> None:
        self.form.addRow(self.error)
        for edit in self.findChildren(QLineEdit):
            edit.textChanged.connect(lambda _t: self.completeChanged.emit())

    def problem(self) -> str | None:  # override
        return None

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        problem = self.problem()
        self.error.setText(problem or "")
        return problem is None


class PracticeDetailsPage(_Page):
    def __init__(self) -> None:
        super().__init__("1. Your practice", "How the practice is named in reports and in the network.")
        self.code = QLineEdit()
        self.code.setObjectName("setupCode")
        self.code.setAccessibleName("Practice code")
        self.code.setPlaceholderText("e.g. NORTH")
        self.code.setMaxLength(16)
        self.code.textEdited.connect(lambda t: self.code.setText(t.upper()))
        self.name = QLineEdit()
        self.name.setObjectName("setupName")
        self.name.setAccessibleName("Practice name")
        self.city = QLineEdit()
        self.city.setObjectName("setupCity")
        self.city.setAccessibleName("City")
        self.network = QLineEdit(DEFAULT_NETWORK_NAME)
        self.network.setObjectName("setupNetwork")
        self.network.setAccessibleName("Network name")
        self.network.setMaxLength(200)
        self.network.setToolTip("The care network the practice belongs to: its name heads the window and the "
                                "reports")
        self.form.addRow("Practice &code:", self.code)
        self.form.addRow("Practice &name:", self.name)
        self.form.addRow("C&ity:", self.city)
        self.form.addRow("Ne&twork name:", self.network)
        self.form.addRow(paragraph("The code is the one the network office gave the practice; it names the "
                                   "practice in the packages you send. The network's name heads the window "
                                   "and the reports."))
        self.finish_form()

    def problem(self) -> str | None:
        if not self.code.text() and not self.name.text():
            return ""  # nothing typed yet: no message, but not complete either
        return practice_problem(self.code.text().strip(), self.name.text()) or network_problem(self.network.text())


class AdministratorPage(_Page):
    def __init__(self) -> None:
        super().__init__("2. The first administrator",
                         "This account signs in first and creates the accounts of everyone else.")
        self.username = QLineEdit("admin")
        self.username.setObjectName("setupUser")
        self.username.setAccessibleName("User name")
        self.display = QLineEdit()
        self.display.setObjectName("setupFullName")
        self.display.setAccessibleName("Full name")
        self.password = _password("Password")
        self.password.setObjectName("setupPassword")
        self.again = _password("Password again")
        self.again.setObjectName("setupPasswordAgain")
        self.form.addRow("&User name:", self.username)
        self.form.addRow("&Full name:", self.display)
        self.form.addRow("&Password:", self.password)
        self.form.addRow("A&gain:", self.again)
        self.finish_form()

    def problem(self) -> str | None:
        if not self.username.text().strip():
            return "Choose a user name."
        if not self.password.text():
            return ""
        problem = password_problem(self.password.text(), self.username.text().strip().lower())
        if problem:
            return problem
        if self.password.text() != self.again.text():
            return "The two passwords differ."
        return None


class EncryptionPage(_Page):
    def __init__(self) -> None:
        super().__init__("3. Encryption",
                         "The database holds children's health records: encrypted, a lost or stolen computer "
                         "or backup cannot be read without the passphrase.")
        self.encrypt = QCheckBox("Encrypt the database (recommended)")
        self.encrypt.setObjectName("setupEncrypt")
        self.encrypt.setChecked(True)
        self.passphrase = _password("Passphrase")
        self.passphrase.setObjectName("setupPassphrase")
        self.again = _password("Passphrase again")
        self.again.setObjectName("setupPassphraseAgain")
        #: where "remember" keeps the passphrase: the operating system's keyring, when there is one
        self.key_store: KeyStore = key_store()
        self.remember = QCheckBox("Remember it on this computer")
        self.remember.setObjectName("setupRemember")
        self.remember.setChecked(self.key_store.available)
        self.remember.setEnabled(self.key_store.available)
        self.remember_note = paragraph(remember_note(self.key_store))
        self.remember_note.setObjectName("setupRememberNote")
        self.remember_note.setAccessibleName("Where the passphrase is kept")
        if not self.key_store.available:
            self.remember.setText("Remember it on this computer (not possible here)")
            self.remember.setToolTip(f"Not available: {self.key_store.problem}.")
            self.remember_note.setStyleSheet("color: #8a4b08;")
        self.form.addRow(self.encrypt)
        self.form.addRow("Pass&phrase:", self.passphrase)
        self.form.addRow("A&gain:", self.again)
        self.form.addRow(self.remember)
        self.form.addRow(self.remember_note)
        self.form.addRow(paragraph("Keep the passphrase with the practice's other passwords: if it is lost, the "
                                   "data cannot be recovered, not even by the network office."))
        self.encrypt.toggled.connect(self._toggled)
        self.finish_form()

    def _toggled(self, on: bool) -> None:
        for widget in (self.passphrase, self.again):
            widget.setEnabled(on)
        self.remember.setEnabled(on and self.key_store.available)
        self.completeChanged.emit()

    def problem(self) -> str | None:
        if not self.encrypt.isChecked():
            return None
        if not self.passphrase.text():
            return ""
        problem = passphrase_problem(self.passphrase.text())
        if problem:
            return problem
        if self.passphrase.text() != self.again.text():
            return "The two passphrases differ."
        return None

    def value(self) -> str | None:
        return self.passphrase.text() if self.encrypt.isChecked() else None


def remember_note(store: KeyStore) -> str:
    """What "Remember it on this computer" does here, or why it cannot."""
    if store.available:
        return (f"Remembered, it is kept in {store.name}, which your account on this computer unlocks: CareNet "
                "Desktop then opens without asking. Not remembered, you type it at each start.")
    return (f"Remembering is not possible: {store.problem}. You will type the passphrase at each start.")


class ImportChoicePage(_Page):
    def __init__(self, path: Path) -> None:
        super().__init__("4. Your EHR's data",
                         "Scorecards need the practice's patients and visits: the export your EHR makes (CSV "
                         "or Excel), or FHIR files.")
        self.now = QRadioButton("Open the import wizard as soon as the window opens")
        self.now.setObjectName("setupImportNow")
        self.now.setChecked(True)
        self.later = QRadioButton("Later (Imports in the left-hand list)")
        self.later.setObjectName("setupImportLater")
        self.form.addRow(self.now)
        self.form.addRow(self.later)
        self.form.addRow(paragraph(f"The database will be created at {path}."))
        self.setFinalPage(True)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Create the practice database")
        self.finish_form()


class SetupWizard(QWizard):
    """On accept: ``database`` (open), ``user`` (the administrator, signed in) and ``import_now``."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setupWizard")
        self.setWindowTitle("Set up my practice")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.resize(720, 520)
        self.path = path
        self.database: Database | None = None
        self.user: AuthenticatedUser | None = None
        self.import_now = False
        self.remembered = False
        #: "remember" was ticked but the keyring refused the passphrase (the next start asks for it)
        self.remember_failed = False
        self.practice_page = PracticeDetailsPage()
        self.admin_page = AdministratorPage()
        self.encryption_page = EncryptionPage()
        self.import_page = ImportChoicePage(path)
        for page in (self.practice_page, self.admin_page, self.encryption_page, self.import_page):
            self.addPage(page)

    def setup(self) -> PracticeSetup:
        p, a, e = self.practice_page, self.admin_page, self.encryption_page
        return PracticeSetup(self.path, p.code.text().strip(), p.name.text().strip(), p.city.text().strip(),
                             a.username.text().strip().lower(), a.password.text(), a.display.text().strip(),
                             e.value(), e.remember.isEnabled() and e.remember.isChecked(),
                             " ".join(p.network.text().split()))

    def accept(self) -> None:
        """Create the store (a few seconds: the measure code catalogue is loaded); stay open on failure."""
        try:
            self.database, self.user, self.remembered = set_up_practice_store(self.setup())
        except ServiceError as exc:
            self.import_page.error.setText(str(exc))
            return
        self.import_now = self.import_page.now.isChecked()
        wanted = self.setup()
        self.remember_failed = bool(wanted.passphrase and wanted.remember_passphrase and not self.remembered)
        super().accept()
