"""The steps between "open this database" and the main window: passphrase, integrity check (with an offer
to restore the newest sound backup), sign-in or the first administrator, the scheduled backup.

SQLite's ``quick_check`` reads every page of the file: about 8 s per GB on a workstation disk. A file up to
``CHECK_BEFORE_START_BYTES`` is checked before the window opens; a larger one (a network office's combined
store, the 250,000-patient demo) is checked on a worker while the window is already usable, and a damaged
file then gets the same offer to restore, with the window closed first.

Headless runs (``--screenshot``) never show a dialog: an encrypted store takes ``$CARENET_DB_PASSPHRASE``,
a store with accounts ``$CARENET_USER`` / ``$CARENET_PASSWORD``, and anything missing is an error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from ..models.database import (
    Database,
    DatabaseError,
    PassphraseRequired,
    open_database,
    resolve_url,
    sqlite_path,
)
from ..models.durability import BackupFile, CheckInterrupted, integrity_problems, list_backups
from ..models.encryption import is_encrypted_file, remember_passphrase
from ..services.context import AuthenticatedUser, Cancelled, Progress, ServiceContext, ServiceError
from ..services.store_safety import backup_if_due, restore_backup
from ..services.users import authenticate, has_users
from .signin import FirstAdministratorDialog, PassphraseDialog, SignInDialog
from .tasks import Task, TaskRunner

log = logging.getLogger(__name__)

#: Larger files are checked for damage after the window opens (see the module docstring).
CHECK_BEFORE_START_BYTES = 256 * 1024 * 1024
#: ... this long after it opens: the first screen reads the store and its saved results meanwhile, and a
#: check reading the whole file beside them would slow the start it was moved out of
CHECK_AFTER_START_MS = 15_000


class StartCancelled(Exception):
    """The user closed a start-up dialog: quit quietly."""


@dataclass
class DeferredCheck:
    """A store file still to be checked for damage, with the key that opens it."""

    path: Path
    key: str | None


def open_store(target: str | None, *, headless: bool) -> Database:
    """Open the store, asking for the passphrase of an encrypted file and checking the file for damage."""
    database, deferred = open_store_deferring_check(target, headless=headless, defer_large=False)
    assert deferred is None
    return database


def open_store_deferring_check(target: str | None, *, headless: bool,
                               defer_large: bool = True) -> tuple[Database, DeferredCheck | None]:
    """Like :func:`open_store`, but a file larger than ``CHECK_BEFORE_START_BYTES`` is returned unchecked
    with a :class:`DeferredCheck` for :func:`check_in_background`."""
    path = sqlite_path(resolve_url(target))
    defer = (defer_large and path is not None and path.exists()
             and path.stat().st_size > CHECK_BEFORE_START_BYTES)
    if path is not None and path.exists() and not is_encrypted_file(path) and not defer:
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
    if path is not None and key is not None and not defer:
        _check(path, key, headless=headless)
    deferred = DeferredCheck(path, key) if defer and path is not None else None
    return open_database(target, key=key), deferred


def check_in_background(tasks: TaskRunner, check: DeferredCheck, window: QWidget,
                        on_restore: Callable[[BackupFile], None]) -> Task:
    """Check the file on an idle-priority thread; when it is damaged, say so and offer the newest sound
    backup.

    ``on_restore(backup)`` is called when the user accepts: it must close the window and the store before
    the file is replaced (the restore itself is :func:`restore_after_close`).
    """
    def work(progress: Progress) -> tuple[list[str], BackupFile | None]:
        try:  # closing the window stops the check at once rather than waiting for the whole file
            problems = integrity_problems(check.path, quick=True, key=check.key,
                                          should_stop=lambda: progress.cancelled)
        except CheckInterrupted:
            raise Cancelled() from None
        return (problems, _newest_sound_backup(check.path, check.key)) if problems else ([], None)

    def finished(result: tuple[list[str], BackupFile | None]) -> None:
        problems, sound = result
        if not problems:
            log.info("Integrity check after start: sound")
            return
        log.error("Integrity check failed: %d problem(s)", len(problems))
        message = _damage_message(check.path, problems) + " Stop entering data until it is repaired."
        if sound is None:
            QMessageBox.critical(window, "The database is damaged", message + "\n\nNo sound backup was found: "
                                 "ask your network administrator for help before you go on.")
        elif _restore_wanted(window, message, sound, "Close CareNet and restore"):
            on_restore(sound)

    return tasks.run(work, label="Checking the database for damage", idle=True, on_finished=finished)


def restore_after_close(check: DeferredCheck, backup: BackupFile) -> None:
    """Put ``backup`` in place of the damaged file (the store is closed) and say what happened."""
    try:
        restore_backup(check.path, backup.path, key=check.key, username="desktop")
    except (ServiceError, DatabaseError) as exc:
        QMessageBox.critical(None, "The restore failed", f"The restore failed: {exc}")
        return
    QMessageBox.information(None, "Backup restored",
                            f"The backup taken {backup.taken_at:%Y-%m-%d %H:%M} is in place. Start CareNet again "
                            "to go on working.")


def _check(path: Path, key: str | None, *, headless: bool) -> None:
    problems = integrity_problems(path, quick=True, key=key)
    if problems:
        log.error("Integrity check failed: %d problem(s)", len(problems))
        _offer_restore(path, problems, key, headless=headless)


def _newest_sound_backup(path: Path, key: str | None) -> BackupFile | None:
    return next((b for b in list_backups(path) if not integrity_problems(b.path, key=key)), None)


def _damage_message(path: Path, problems: list[str]) -> str:
    return f"The database {path.name} is damaged (SQLite's integrity check found: {'; '.join(problems[:3])})."


def _restore_wanted(parent: QWidget | None, message: str, sound: BackupFile, action: str) -> bool:
    """Ask whether to ``action`` ("Restore" / "Close CareNet and restore") the newest sound backup."""
    answer = QMessageBox.warning(
        parent, "The database is damaged",
        f"{message}\n\n{action} the newest sound backup, taken {sound.taken_at:%Y-%m-%d %H:%M}? "
        "The damaged file is kept beside it, not deleted. Changes made after that backup are lost.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Yes)
    return answer == QMessageBox.StandardButton.Yes


def _offer_restore(path: Path, problems: list[str], key: str | None, *, headless: bool) -> None:
    sound = _newest_sound_backup(path, key)
    message = _damage_message(path, problems)
    if headless or sound is None:
        hint = " Restore a backup with: carenet restore --latest" if sound else " No sound backup was found."
        raise DatabaseError(message + hint)
    if not _restore_wanted(None, message, sound, "Restore"):
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
