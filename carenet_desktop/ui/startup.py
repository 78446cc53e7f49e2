"""The steps between "open this database" and the main window: passphrase, integrity check (with an offer
to restore the newest sound backup), sign-in or the first administrator, the scheduled backup.

Headless runs (``--screenshot``) never show a dialog: an encrypted store takes ``$CARENET_DB_PASSPHRASE``,
a store with accounts ``$CARENET_USER`` / ``$CARENET_PASSWORD``, and anything missing is an error.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtWidgets import QDialog, QMessageBox

from ..models.database import (
    Database,
    DatabaseError,
    PassphraseRequired,
    open_database,
    resolve_url,
    sqlite_path,
)
from ..models.durability import integrity_problems, list_backups
from ..models.encryption import is_encrypted_file, remember_passphrase
from ..services.context import AuthenticatedUser, ServiceContext, ServiceError
from ..services.store_safety import backup_if_due, restore_backup
from ..services.users import authenticate, has_users
from .signin import FirstAdministratorDialog, PassphraseDialog, SignInDialog

log = logging.getLogger(__name__)


class StartCancelled(Exception):
    """The user closed a start-up dialog: quit quietly."""


def open_store(target: str | None, *, headless: bool) -> Database:
    """Open the store, asking for the passphrase of an encrypted file and checking the file for damage."""
    path = sqlite_path(resolve_url(target))
    if path is not None and path.exists() and not is_encrypted_file(path):
        _check(path, None, headless=headless)  # before anything else touches a damaged file
    key: str | None = None
    wrong = False
    while True:
        try:
            probe = open_database(target, migrate=False, key=key)
            break
        except PassphraseRequired as exc:
            if headless:
                raise
            dialog = PassphraseDialog(exc.path, wrong=exc.wrong or wrong)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                raise StartCancelled() from None
            key, wrong = dialog.value, True
            if dialog.remember.isChecked() and not remember_passphrase(exc.path, key):
                QMessageBox.information(None, "Passphrase not remembered",
                                        "This computer has no system keyring; you will be asked again next time.")
    key = probe.key
    probe.dispose()
    if path is not None and key is not None:
        _check(path, key, headless=headless)
    return open_database(target, key=key)


def _check(path: Path, key: str | None, *, headless: bool) -> None:
    problems = integrity_problems(path, quick=True, key=key)
    if problems:
        log.error("Integrity check failed: %d problem(s)", len(problems))
        _offer_restore(path, problems, key, headless=headless)


def _offer_restore(path: Path, problems: list[str], key: str | None, *, headless: bool) -> None:
    sound = next((b for b in list_backups(path) if not integrity_problems(b.path, key=key)), None)
    message = (f"The database {path.name} is damaged (SQLite's integrity check found: "
               f"{'; '.join(problems[:3])}).")
    if headless or sound is None:
        hint = " Restore a backup with: carenet restore --latest" if sound else " No sound backup was found."
        raise DatabaseError(message + hint)
    answer = QMessageBox.warning(
        None, "The database is damaged",
        f"{message}\n\nRestore the newest sound backup, taken {sound.taken_at:%Y-%m-%d %H:%M}? "
        "The damaged file is kept beside it, not deleted. Changes made after that backup are lost.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
    if answer != QMessageBox.StandardButton.Yes:
        raise StartCancelled()
    try:
        restore_backup(path, sound.path, key=key, username="desktop")
    except (ServiceError, DatabaseError) as exc:
        raise DatabaseError(f"The restore failed: {exc}") from None


def sign_in(db: Database, *, headless: bool, demo: bool) -> AuthenticatedUser | None:
    """The signed-in user; None for a store without accounts (the demo, scripts)."""
    if has_users(db):
        if headless:
            name, password = os.environ.get("CARENET_USER"), os.environ.get("CARENET_PASSWORD")
            if not name or password is None:
                raise ServiceError("This database has user accounts: set CARENET_USER and CARENET_PASSWORD.")
            return authenticate(db, name, password)
        dialog = SignInDialog(db)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            raise StartCancelled()
        return dialog.user
    if headless or demo:
        return None  # the demo network is synthetic; a new practice store gets its administrator first
    first = FirstAdministratorDialog(ServiceContext(db, username="setup"))
    if first.exec() != QDialog.DialogCode.Accepted:
        raise StartCancelled()
    return first.user


def scheduled_backup(ctx: ServiceContext) -> Path | None:
    """Run off the GUI thread after start: a backup when the newest is a day old."""
    try:
        return backup_if_due(ctx)
    except (OSError, DatabaseError) as exc:
        log.warning("Scheduled backup failed: %s", type(exc).__name__)
        return None
