"""Who is at the keyboard: the sign-in, first-administrator, passphrase and idle-lock dialogs.

Passwords are checked by ``services.users`` (Argon2id, lock-out after repeated failures); these dialogs
only collect them and show the service's message. Nothing typed here is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ..models.database import Database
from ..models.encryption import KeyStore, key_store, passphrase_problem
from ..services.context import AuthenticatedUser, ServiceContext, ServiceError
from ..services.users import authenticate, create_user, password_problem
from .forms import ERROR_STYLE

#: minutes without keyboard or mouse input before the window locks (0: never)
DEFAULT_IDLE_MINUTES = 10


def _password_field(name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(name)
    return edit


class _Dialog(QDialog):
    def __init__(self, title: str, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.layout_ = QVBoxLayout(self)
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.layout_.addWidget(self.intro)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.error = QLabel("")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Sign-in message")
        self.error.hide()
        self.layout_.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setDefault(True)
        self.layout_.addWidget(self.buttons)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _submit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class SignInDialog(_Dialog):
    """User name and password; ``user`` is set when the service accepted them."""

    def __init__(self, db: Database, parent: QWidget | None = None, *, username: str = "",
                 locked: bool = False) -> None:
        intro = (f"The window was locked. Enter the password of {username} to go on." if locked else
                 f"Sign in to {db.display_name}.")
        super().__init__("Locked" if locked else "Sign in to CareNet Desktop", intro, parent)
        self.db = db
        self.user: AuthenticatedUser | None = None
        self.username = QLineEdit(username)
        self.username.setAccessibleName("User name")
        self.username.setReadOnly(locked)
        self.password = _password_field("Password")
        self.form.addRow("&User name:", self.username)
        self.form.addRow("&Password:", self.password)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Unlock" if locked else "Sign in")
        if locked:
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Sign out and quit")
        (self.password if username else self.username).setFocus()

    def _submit(self) -> None:
        name, password = self.username.text().strip(), self.password.text()
        if not name or not password:
            self.show_error("Enter your user name and password.")
            return
        try:
            self.user = authenticate(self.db, name, password)
        except ServiceError as exc:
            self.password.clear()
            self.password.setFocus()
            self.show_error(str(exc))
            return
        self.accept()


class FirstAdministratorDialog(_Dialog):
    """The first account of a new store: a network administrator who then creates the others."""

    def __init__(self, ctx: ServiceContext, parent: QWidget | None = None) -> None:
        super().__init__("Create the administrator",
                         "This database has no accounts yet. Create the administrator: this account "
                         "signs in first and creates the accounts of everyone else.", parent)
        self.ctx = ctx
        self.user: AuthenticatedUser | None = None
        self.username = QLineEdit("admin")
        self.username.setAccessibleName("User name")
        self.display = QLineEdit()
        self.display.setAccessibleName("Full name")
        self.password = _password_field("Password")
        self.again = _password_field("Password again")
        self.form.addRow("&User name:", self.username)
        self.form.addRow("&Full name:", self.display)
        self.form.addRow("&Password:", self.password)
        self.form.addRow("A&gain:", self.again)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create and sign in")

    def _submit(self) -> None:
        name, password = self.username.text().strip().lower(), self.password.text()
        if password != self.again.text():
            self.show_error("The two passwords differ.")
            return
        problem = password_problem(password, name)
        if problem:
            self.show_error(problem)
            return
        try:
            create_user(self.ctx, name, password, "network_admin", display_name=self.display.text())
            self.user = authenticate(self.ctx.db, name, password)
        except ServiceError as exc:
            self.show_error(str(exc))
            return
        self.accept()


def why_asked(store: KeyStore) -> str:
    """Why the passphrase is asked for at a start: no keyring here, or none kept in it for this file."""
    if not store.available:
        return f"It cannot be remembered here: {store.problem}, so it is asked for at each start."
    return (f"It is not kept in {store.name} for this file (it was not remembered on this computer, or the "
            "entry was removed): tick Remember to keep it there.")


class PassphraseDialog(_Dialog):
    """The passphrase of an encrypted store (``new``: choose one, typed twice)."""

    def __init__(self, path: Path, parent: QWidget | None = None, *, wrong: bool = False, new: bool = False) -> None:
        #: where "remember" keeps the passphrase (the OS keyring), or why it cannot here
        self.key_store = key_store()
        intro = (f"Choose the passphrase that encrypts {path.name}. Without it the data cannot be read, "
                 "not even by us: keep it safe." if new else f"{path.name} is encrypted. Enter its passphrase.")
        if not new:
            intro += " " + why_asked(self.key_store)
        super().__init__("Database passphrase", intro, parent)
        self.new = new
        self.passphrase = _password_field("Passphrase")
        self.form.addRow("&Passphrase:", self.passphrase)
        self.again = _password_field("Passphrase again")
        if new:
            self.form.addRow("A&gain:", self.again)
        where = f" (in {self.key_store.name})" if self.key_store.available else " (not possible here)"
        self.remember = QCheckBox(f"Remember on this computer{where}")
        self.remember.setAccessibleName("Remember the passphrase")
        self.remember.setEnabled(self.key_store.available)
        if not self.key_store.available:
            self.remember.setToolTip(f"Not available: {self.key_store.problem}.")
        self.layout_.insertWidget(2, self.remember)
        if wrong:
            self.show_error("That passphrase does not open this database.")

    @property
    def value(self) -> str:
        return self.passphrase.text()

    def _submit(self) -> None:
        if not self.value:
            self.show_error("Enter the passphrase.")
            return
        if self.new:
            if self.value != self.again.text():
                self.show_error("The two passphrases differ.")
                return
            problem = passphrase_problem(self.value)
            if problem:
                self.show_error(problem)
                return
        self.accept()


class IdleLock(QObject):
    """Locks the window after ``minutes`` without keyboard or mouse input: the content is hidden and the
    user's password is asked for again (or they sign out, which quits)."""

    INPUT_EVENTS = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                              QEvent.Type.Wheel, QEvent.Type.TouchBegin})

    def __init__(self, window: QWidget, db: Database, user: AuthenticatedUser, minutes: int,
                 on_sign_out: Callable[[], object]) -> None:
        super().__init__(window)
        self.window, self.db, self.user, self.on_sign_out = window, db, user, on_sign_out
        self.locked = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(1, minutes) * 60_000)
        self._timer.timeout.connect(self.lock)
        if minutes > 0:
            app = QApplication.instance()
            if app is not None:
                app.installEventFilter(self)
            self._timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if not self.locked and event.type() in self.INPUT_EVENTS:
            self._timer.start()  # restart the countdown
        return False

    def lock(self) -> None:
        if self.locked:
            return
        self.locked = True
        central = getattr(self.window, "centralWidget", lambda: None)()
        if central is not None:
            central.hide()
        dialog = SignInDialog(self.db, self.window, username=self.user.username, locked=True)
        dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
        self._dialog = dialog
        dialog.finished.connect(self._unlocked)
        dialog.open()

    def _unlocked(self, result: int) -> None:
        self.locked = False
        if result != QDialog.DialogCode.Accepted:
            self.on_sign_out()
            return
        central = getattr(self.window, "centralWidget", lambda: None)()
        if central is not None:
            central.show()
        self._timer.start()
