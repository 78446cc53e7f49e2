"""Helpers shared by the command modules: opening the store, signing in, a terminal progress bar."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from ..models.database import Database, PassphraseRequired, open_database, resolve_url, sqlite_path
from ..models.encryption import PASSPHRASE_ENV, passphrase_problem
from ..services.context import Progress, ServiceContext, ServiceError
from ..services.users import authenticate, has_users

USER_ENV = "CARENET_USER"
#: the progress bars whose terminal line is open (drawn, not yet ended)
_OPEN_BARS: list[TerminalProgress] = []
PASSWORD_ENV = "CARENET_PASSWORD"
#: ``1``: new stores made from the command line are plain, as with ``--no-encryption`` (scripts, the tests)
NO_ENCRYPTION_ENV = "CARENET_NO_ENCRYPTION"
#: where ``main`` leaves the context signed in before the command
SIGNED_IN_ATTR = "signed_in_context"


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


#: the stores a command opened, closed when it ends (``close_opened``)
_opened: list[Database] = []
#: id of each opened store -> its (history, journal version) when it was opened: did the command write?
_state_at_open: dict[int, tuple[str, int] | None] = {}
log = logging.getLogger(__name__)


def _journal_state(db: Database) -> tuple[str, int] | None:
    """The store's (history, journal version); None if it cannot be read (then no snapshot is kept)."""
    from ..models.changes import store_state

    try:
        with db.session() as s:
            return store_state(s)
    except Exception:  # noqa: BLE001 - a store the command could not read: nothing to keep current for it
        return None


def _remember(db: Database) -> Database:
    _opened.append(db)
    _state_at_open[id(db)] = _journal_state(db)
    return db


def open_cli_database(args: argparse.Namespace, *, migrate: bool = True) -> Database:
    """Open ``--db``; an encrypted file asks for its passphrase at the terminal (once) when none is stored."""
    target = getattr(args, "db", None)
    force = bool(getattr(args, "allow_network_share", False))
    new_key = _new_store_passphrase(args, target)
    if new_key is not None:
        db = open_database(target, migrate=migrate, key=new_key, allow_network_share=force)
        return _remember(db)
    try:
        db = open_database(target, migrate=migrate, allow_network_share=force)
    except PassphraseRequired as exc:
        if exc.wrong or not _interactive():
            raise
        key = getpass.getpass(f"Passphrase for {exc.path.name}: ")
        db = open_database(target, migrate=migrate, key=key, allow_network_share=force)
    return _remember(db)


def _new_store_passphrase(args: argparse.Namespace, target: str | None) -> str | None:
    """The passphrase of a store this command is about to create: new stores are encrypted, as in the set-up
    wizard, unless ``--no-encryption`` (or ``$CARENET_NO_ENCRYPTION=1``). None: not a new SQLite file, or
    plain by choice."""
    path = sqlite_path(resolve_url(target))
    if path is None or (path.exists() and path.stat().st_size > 0):
        return None
    if getattr(args, "no_encryption", False) or os.environ.get(NO_ENCRYPTION_ENV) == "1":
        return None
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase is None:
        if not _interactive():
            raise ServiceError(f"{path.name} is new and will be encrypted: give its passphrase in ${PASSPHRASE_ENV} "
                               "or at a terminal, or pass --no-encryption for a plain file.")
        passphrase = getpass.getpass(f"New passphrase for {path.name}: ")
        if getpass.getpass("Again: ") != passphrase:
            raise ServiceError("The two passphrases differ.")
    problem = passphrase_problem(passphrase)
    if problem:
        raise ServiceError(problem)
    return passphrase


def close_opened(*, keep_snapshots: bool = True) -> None:
    """Close every store the command opened. A connection left open after its command (several commands
    run in one process: the tests, a script) would hold SQLite's file locks while other processes (the
    compute workers) open and close the same file, and SQLite then reports "disk I/O error".

    ``keep_snapshots`` (a command that ended well): first bring the frames snapshot of each store the
    command wrote to (its journal moved since it was opened) up to date (``snapshot_keeper``), so the next
    start reads it warm; the command's output is out already. A command that wrote nothing leaves the
    snapshots alone (a change made elsewhere is the next load's to catch up with, not this command's).
    A failed update only costs the next start time: the store is closed all the same."""
    while _opened:
        db = _opened.pop()
        before = _state_at_open.pop(id(db), None)
        try:
            if keep_snapshots and before is not None and _journal_state(db) not in (None, before):
                from ..services import snapshot_keeper

                snapshot_keeper.keep_current(db)
                snapshot_keeper.finish(db)
        except BaseException as exc:  # noqa: BLE001 - Ctrl-C while it waits included: the store is still closed
            log.warning("Frames snapshot not brought up to date (%s)", type(exc).__name__)
        finally:
            db.dispose()


def open_context(args: argparse.Namespace, *, username: str = "cli") -> ServiceContext:
    """The store and the signed-in user.

    A store with user accounts needs ``--user NAME`` (or ``$CARENET_USER``) and that user's password
    (``$CARENET_PASSWORD``, else a prompt); every service then checks that user's role and practices.
    A store without accounts is a local single-user store: the command acts as the system user.
    The context ``main`` signed in before the command (``cli.gate.authorize``) is returned again.
    """
    signed_in = getattr(args, SIGNED_IN_ATTR, None)
    if isinstance(signed_in, ServiceContext):
        return signed_in if signed_in.user is not None else ServiceContext(signed_in.db, username=username)
    db = open_cli_database(args)
    name = getattr(args, "user", None) or os.environ.get(USER_ENV)
    try:
        if not name:
            if has_users(db):
                raise ServiceError("This database has user accounts: sign in with --user NAME "
                                   f"(the password is asked for, or taken from ${PASSWORD_ENV}).")
            return ServiceContext(db, username=username)
        password = os.environ.get(PASSWORD_ENV)
        if password is None:
            if not _interactive():
                raise ServiceError(f"No password for {name}: run in a terminal, or set ${PASSWORD_ENV}.")
            password = getpass.getpass(f"Password for {name}: ")
        return ServiceContext(db, user=authenticate(db, name, password))
    except BaseException:
        db.dispose()
        raise


def end_progress_lines() -> None:
    """End the line of every bar still drawn (an error message must not be glued to a bar at 40%)."""
    while _OPEN_BARS:
        bar = _OPEN_BARS.pop()
        bar.stream.write("\n")
        bar.stream.flush()
        bar._line_open = False
        bar._finished = True


class TerminalProgress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str = "", *, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.tty = self.stream.isatty()
        self._last_print = 0.0
        self._last_message = ""
        self._line_open = False  # a bar drawn on a terminal without its newline yet
        self._shown = False  # anything written at all
        self._finished = False
        self.started = time.perf_counter()

    def __call__(self, fraction: float, message: str) -> None:
        if self._finished:
            return
        now = time.perf_counter()
        if self.tty:
            if now - self._last_print < 0.1 and fraction < 1.0:
                return
            width = 30
            filled = int(width * min(max(fraction, 0.0), 1.0))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {fraction * 100:5.1f}% {message[:50]:<50}")
            self._line_open = fraction < 1.0
            if self._line_open and self not in _OPEN_BARS:
                _OPEN_BARS.append(self)
            elif not self._line_open and self in _OPEN_BARS:
                _OPEN_BARS.remove(self)
            if fraction >= 1.0:
                self.stream.write("\n")
                self._finished = True
            self.stream.flush()
            self._shown = True
        elif message != self._last_message and (now - self._last_print >= 2.0 or fraction >= 1.0):
            self.stream.write(f"{self.label} {fraction * 100:5.1f}% {message}\n")
            self.stream.flush()
            self._last_message = message
            self._shown = True
            self._finished = fraction >= 1.0
        self._last_print = now

    def finish(self, message: str = "Done") -> None:
        """The work is done: the bar reaches 100% and its line ends, so what is printed next (e.g.
        "Wrote ...") starts a line of its own, even when the work's last report was short of 100%."""
        if self._finished:
            return
        if self.tty or self._shown:
            self._last_print = 0.0
            self._last_message = ""
            self(1.0, message)
        self._finished = True

    def progress(self) -> Progress:
        return Progress(self)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: a header, a rule, and the rows in columns as wide as their widest cell."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
