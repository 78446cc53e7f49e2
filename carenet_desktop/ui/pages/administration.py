"""Administration: accounts, the audit trail (with its chain check) and backups, for network administrators.

Everything goes through the services, which check the role again; this page only hides what the
signed-in user may not use and says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...codes import ROLE_LABELS
from ...services.audit_export import export_audit, recent_audit, verify_audit
from ...services.changes import Area, declared
from ...services.context import ServiceContext, ServiceError
from ...services.permissions import can
from ...services.store_safety import backups, take_backup
from ...services.users import create_user, list_users, password_problem, set_active
from ...wording import count
from ..forms import ERROR_STYLE
from ..itemmodels.records import RecordColumn, RecordTableModel
from ..session import Session
from ..widgets import heading, list_table, paragraph
from .base import Page

AUDIT_ACTIONS = ("", "create", "update", "delete", "view", "export", "import", "undo", "login", "login-failed",
                 "login-locked", "backup", "restore")


def _cols(*spec: tuple[str, str, str]) -> list[RecordColumn]:
    return [RecordColumn(title, tip, lambda r, k=key: "" if r.get(k) is None else str(r[k]))  # type: ignore[misc]
            for title, key, tip in spec]


def _table(model: RecordTableModel, name: str, label: str) -> QTableView:
    """A list table whose columns fit their content after each load; the last column takes the rest."""
    view = list_table(model, name, label)
    view.horizontalHeader().setStretchLastSection(True)
    model.modelReset.connect(view.resizeColumnsToContents)
    return view


class NewAccountDialog(QDialog):
    """User name, role, practices and a first password; the service's message shows beside the form."""

    def __init__(self, ctx: ServiceContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("New account")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.username = QLineEdit()
        self.username.setAccessibleName("User name")
        self.role = QComboBox()
        self.role.setAccessibleName("Role")
        for key, label in ROLE_LABELS.items():
            self.role.addItem(label, key)
        self.practices = QLineEdit()
        self.practices.setAccessibleName("Practices")
        self.practices.setPlaceholderText("practice codes, e.g. P001, P002")
        self.practices.setToolTip("The practices this person works for (not needed for administrators and analysts)")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("First password")
        form.addRow("&User name:", self.username)
        form.addRow("&Role:", self.role)
        form.addRow("&Practices:", self.practices)
        form.addRow("First &password:", self.password)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create account")
        buttons.accepted.connect(self._submit)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout.addWidget(buttons)

    def _submit(self) -> None:
        name = self.username.text().strip().lower()
        problem = password_problem(self.password.text(), name)
        try:
            if problem:
                raise ServiceError(problem)
            codes = [c.strip() for c in self.practices.text().replace(";", ",").split(",") if c.strip()]
            create_user(self.ctx, name, self.password.text(), str(self.role.currentData()), codes)
        except ServiceError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.accept()


class AdministrationPage(Page):
    page_id = "administration"
    requires = "users.manage"
    title = "Administration"
    icon_name = "administration"
    tooltip = "Accounts, the audit trail and backups (network administrators)"
    watches = frozenset({Area.USERS})

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(12)
        layout.addWidget(heading(self.title))
        ctx = session.ctx
        self.allowed = can(ctx, "users.manage")
        if not self.allowed:
            layout.addWidget(paragraph("Only network administrators manage accounts, read the audit trail and "
                                       "take backups. Ask yours if you need access to another practice."))
            layout.addStretch(1)
            return
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Administration sections")
        layout.addWidget(self.tabs, 1)
        self.tabs.addTab(self._accounts_tab(), "Accounts")
        self.tabs.addTab(self._audit_tab(), "Audit trail")
        self.tabs.addTab(self._backups_tab(), "Backups")

    # --- accounts ---------------------------------------------------------------------------------------
    def _accounts_tab(self) -> QWidget:
        tab = QWidget()
        v = QVBoxLayout(tab)
        bar = QHBoxLayout()
        self.add_account = QPushButton("New account…")
        self.add_account.clicked.connect(self.new_account)
        self.toggle_account = QPushButton("Disable / enable")
        self.toggle_account.setToolTip("Disabled accounts cannot sign in; their history stays in the audit trail")
        self.toggle_account.clicked.connect(self.toggle_selected)
        bar.addWidget(self.add_account)
        bar.addWidget(self.toggle_account)
        bar.addStretch(1)
        v.addLayout(bar)
        self.accounts = RecordTableModel(_cols(("User", "username", "Sign-in name"), ("Role", "role", "What they may do"),
                                               ("Practices", "practices", "Practices granted"),
                                               ("State", "state", "Active or disabled"),
                                               ("Last sign-in", "last_login", "UTC")), self)
        self.accounts_view = _table(self.accounts, "accountsTable", "Accounts")
        v.addWidget(self.accounts_view)
        return tab

    def new_account(self) -> None:
        if NewAccountDialog(self.session.ctx, self).exec() == QDialog.DialogCode.Accepted:
            self.session.notify(declared(create_user))  # the accounts list reloads

    def toggle_selected(self) -> None:
        rows = self.accounts_view.selectionModel().selectedRows() if self.accounts_view.selectionModel() else []
        if not rows:
            self.status_message.emit("Select an account first.")
            return
        record = self.accounts.record(rows[0].row())
        try:
            set_active(self.session.ctx, record["username"], record["state"] != "active")
        except ServiceError as exc:
            QMessageBox.warning(self, "Account not changed", str(exc))
            return
        self.session.notify(declared(set_active))  # the accounts list reloads

    def load_accounts(self) -> None:
        def fetch(_progress: Any) -> list[dict[str, Any]]:
            return [{"username": u.username, "role": ROLE_LABELS.get(u.role, u.role),
                     "practices": ", ".join(u.practice_codes) or "all",
                     "state": "active" if u.active else "disabled",
                     "last_login": f"{u.last_login:%Y-%m-%d %H:%M}" if u.last_login else "never"}
                    for u in list_users(self.session.ctx)]

        self.run_latest(fetch, slot="accounts", label="Loading accounts", on_finished=self.accounts.set_records,
                        on_failed=self.status_message.emit)

    # --- audit trail ------------------------------------------------------------------------------------
    def _audit_tab(self) -> QWidget:
        tab = QWidget()
        v = QVBoxLayout(tab)
        bar = QHBoxLayout()
        self.audit_user = QLineEdit()
        self.audit_user.setPlaceholderText("user")
        self.audit_user.setAccessibleName("Filter by user")
        self.audit_user.returnPressed.connect(self.load_audit)
        self.audit_action = QComboBox()
        self.audit_action.setAccessibleName("Filter by action")
        for action in AUDIT_ACTIONS:
            self.audit_action.addItem(action or "every action", action)
        self.audit_action.currentIndexChanged.connect(self.load_audit)
        self.verify_button = QPushButton("Verify the chain")
        self.verify_button.setToolTip("Recompute every entry's hash: an edited or removed entry is found")
        self.verify_button.clicked.connect(self.verify)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.export)
        for w in (QLabel("Show"), self.audit_user, self.audit_action):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.verify_button)
        bar.addWidget(self.export_button)
        v.addLayout(bar)
        self.chain_label = QLabel("")
        self.chain_label.setWordWrap(True)
        self.chain_label.setAccessibleName("Audit chain state")
        v.addWidget(self.chain_label)
        self.audit = RecordTableModel(_cols(("When (UTC)", "at", ""), ("User", "username", ""),
                                            ("Action", "action", ""), ("What", "entity", ""),
                                            ("Id", "entity_id", ""), ("Summary", "summary", "")), self)
        self.audit_view = _table(self.audit, "auditTable", "Audit trail")
        self.audit_view.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # newest first
        v.addWidget(self.audit_view)
        return tab

    def load_audit(self) -> None:
        user, action = self.audit_user.text().strip() or None, self.audit_action.currentData() or None

        def fetch(_progress: Any) -> list[dict[str, Any]]:
            rows = recent_audit(self.session.ctx, username=user, action=action)
            for r in rows:
                r["at"] = f"{r['at']:%Y-%m-%d %H:%M:%S}"
            return rows

        self.run_latest(fetch, slot="audit", label="Loading the audit trail", on_finished=self.audit.set_records,
                        on_failed=self.status_message.emit)

    def verify(self) -> None:
        def done(report: Any) -> None:
            if report.intact:
                self.chain_label.setText(f"Intact: {count(report.entries, 'entry', 'entries')}, every hash and link verified.")
                self.chain_label.setStyleSheet("color: #067647;")
            else:
                where = f"first broken entry {report.broken[0]}" if report.broken else report.end_problem
                self.chain_label.setText(f"BROKEN: {where}. Entries were changed or removed outside the application.")
                self.chain_label.setStyleSheet(ERROR_STYLE)

        self.session.tasks.run(lambda _p: verify_audit(self.session.ctx), label="Verifying the audit chain",
                               on_finished=done, on_failed=self.status_message.emit)

    def export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the audit trail", "audit.csv", "CSV (*.csv);;JSON lines (*.jsonl)")
        if not path:
            return
        self.session.tasks.run(lambda _p: export_audit(self.session.ctx, Path(path)), label="Exporting the audit trail",
                               on_finished=lambda n: self.status_message.emit(f"Wrote {n:,} audit entries to {path}"),
                               on_failed=lambda m: QMessageBox.warning(self, "Export failed", m))

    # --- backups ----------------------------------------------------------------------------------------
    def _backups_tab(self) -> QWidget:
        tab = QWidget()
        v = QVBoxLayout(tab)
        v.addWidget(paragraph("A backup is taken before every upgrade and once a day while the application runs; "
                              "the newest 10 are kept beside the database. To go back to one, close the "
                              "application and run  carenet restore --latest  (or name the file)."))
        bar = QHBoxLayout()
        self.backup_button = QPushButton("Back up now")
        self.backup_button.clicked.connect(self.backup_now)
        bar.addWidget(self.backup_button)
        bar.addStretch(1)
        v.addLayout(bar)
        self.backups = RecordTableModel(_cols(("Taken", "taken", ""), ("Why", "reason", ""), ("Size", "size", ""),
                                              ("File", "file", "")), self)
        v.addWidget(_table(self.backups, "backupsTable", "Backups"))
        return tab

    def load_backups(self) -> None:
        path = self.session.ctx.db.path
        rows = [] if path is None else [{"taken": f"{b.taken_at:%Y-%m-%d %H:%M}", "reason": b.reason,
                                         "size": f"{b.size / 1e6:.1f} MB", "file": b.path.name} for b in backups(path)]
        self.backups.set_records(rows)

    def backup_now(self) -> None:
        self.backup_button.setEnabled(False)

        def done(copy: Any) -> None:
            self.backup_button.setEnabled(True)
            self.status_message.emit(f"Backup written and checked: {copy.name}")
            self.load_backups()

        def failed(message: str) -> None:
            self.backup_button.setEnabled(True)
            QMessageBox.warning(self, "Backup failed", message)

        self.session.tasks.run(lambda _p: take_backup(self.session.ctx), label="Backing up", write=True,
                               on_finished=done, on_failed=failed)

    def load(self) -> None:
        if not self.allowed:
            return
        self.load_accounts()
        self.load_audit()
        self.load_backups()
