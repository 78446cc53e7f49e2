"""Starting the window: build the demo database if asked, open the store, show the window or grab it.

``carenet gui`` calls :func:`run_gui`; everything Qt happens here so the command line stays Qt-free.
"""

from __future__ import annotations

import getpass
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from ..models.database import (
    Database,
    DatabaseError,
    default_database_path,
    demo_database_path,
    open_database,
    resolve_url,
    sqlite_path,
)
from ..models.durability import BackupFile
from ..services.context import Progress, ServiceContext, ServiceError
from ..services.head_start import HeadStart
from ..services.users import has_users
from .app import create_application
from .first_start import DemoProgressDialog
from .main_window import DEFAULT_SIZE, MainWindow
from .pages import HOME_PAGE, PAGE_IDS
from .session import Session
from .settings import WindowState, idle_lock_minutes
from .signin import IdleLock, SignInDialog
from .startup import (
    CHECK_AFTER_START_MS,
    DeferredCheck,
    StartCancelled,
    check_in_background,
    open_store_deferring_check,
    restore_after_close,
    scheduled_backup,
    sign_in,
)
from .tasks import TaskRunner
from .welcome import DEMO, SetupWizard, WelcomeDialog

log = logging.getLogger(__name__)

#: How long --screenshot waits for the practice list before giving up.
SCREENSHOT_TIMEOUT_S = 120
#: How long closing waits for the first scorecard's compute to stop (s); a compute in this process stops
#: at its next measure
HEAD_START_STOP_S = 5.0


class LaunchError(Exception):
    """The window could not be started; the message is one line for the user."""


def build_demo_database(path: Path, progress: Progress) -> None:
    """Build the demo network at ``path`` (``carenet_desktop.demo.ensure_demo_database``)."""
    from ..demo import DemoError, ensure_demo_database  # heavy; only needed on the first run

    try:
        built = ensure_demo_database(path, progress=progress.sub(0, 0.95))
    except DemoError as exc:  # a user-facing message, like a service's
        raise ServiceError(str(exc)) from exc
    if built is not None:  # the code catalogue the demo's codes belong to, so scorecards have results
        from ..services.valuesets import ensure_default_catalogue

        progress.report(0.95, "Loading the measures' code lists (value sets)")
        db = open_database(path)
        try:
            ensure_default_catalogue(ServiceContext(db, username="demo"))
        finally:
            db.dispose()
        progress.report(1.0, "The demo network is ready")


def first_run() -> bool:
    """No database named (no --db, no CARENET_DB) and none at the default place yet: the welcome is shown."""
    path = sqlite_path(resolve_url(None))
    return path is not None and path == default_database_path().resolve() and not path.exists()


def run_gui(
    db: str | None,
    *,
    demo_path: Path | None = None,
    screenshot: Path | None = None,
    page: str | None = None,
    terminal_progress: Callable[[float, str], None] | None = None,
    sign_in_screenshot: Path | None = None,
) -> int:
    """Open the window on ``db`` (or the demo database at ``demo_path``); with ``screenshot``, save a PNG
    of the window once the practices are shown and return instead of running the event loop; with
    ``sign_in_screenshot``, save a PNG of the sign-in window a store with accounts opens with, and return
    (the installer's check of the time to the first window)."""
    if page is not None and page not in PAGE_IDS:
        raise LaunchError(f"Unknown page {page!r}; choose one of: {', '.join(PAGE_IDS)}")
    headless = screenshot is not None or sign_in_screenshot is not None
    if demo_path is not None and headless and not demo_path.exists():
        # no window to show progress in yet: build before Qt starts, with the terminal bar
        _build_demo_or_fail(demo_path, Progress(terminal_progress))
    app, handler = create_application(headless=headless)
    setup: SetupWizard | None = None
    if not headless and db is None and demo_path is None and first_run():
        welcome = WelcomeDialog()
        if welcome.exec() != QDialog.DialogCode.Accepted:
            return 0
        if welcome.choice == DEMO:
            demo_path = demo_database_path()
        else:
            setup = SetupWizard(default_database_path())
            if setup.exec() != QDialog.DialogCode.Accepted or setup.database is None:
                return 0
            if setup.remember_failed:
                QMessageBox.information(None, "Passphrase not remembered",
                                        "The system keyring refused to keep the passphrase: CareNet Desktop "
                                        "will ask for it at the next start.")
    if demo_path is not None and not demo_path.exists() and not _build_demo_with_dialog(demo_path):
        return 1
    target = str(demo_path) if demo_path is not None else db
    deferred: DeferredCheck | None = None
    try:
        if setup is not None:
            database = setup.database
            assert database is not None  # the wizard is accepted with a store only
        else:  # headless runs check before the screenshot: there is no window to offer a restore in
            database, deferred = open_store_deferring_check(target, headless=headless, defer_large=not headless)
    except StartCancelled:
        return 0
    except DatabaseError as exc:
        message = _first_line(str(exc))  # SQLAlchemy appends a "Background on this error" line
        if not headless:
            QMessageBox.critical(None, "Cannot open the database", message)
        raise LaunchError(message) from exc
    if sign_in_screenshot is not None:
        try:
            return _sign_in_picture(app, database, sign_in_screenshot)
        finally:
            database.dispose()
    try:
        user = setup.user if setup is not None else sign_in(database, headless=headless, demo=demo_path is not None)
    except StartCancelled:
        database.dispose()
        return 0
    except ServiceError as exc:
        database.dispose()
        raise LaunchError(str(exc)) from exc
    ctx = ServiceContext(database, username=_username(), user=user)
    session = Session(ctx)
    # the first scorecard's compute starts now, while the window is built; its page joins it
    head = start_first_scorecard_early(session, page, remember_state=not headless)
    try:
        window = MainWindow(session, remember_state=not headless, warm_care_gaps=not headless)
    except BaseException:
        stop_head_start(head)
        session.close()
        raise
    try:
        if headless:
            assert screenshot is not None
            return _screenshot(app, window, screenshot, page, handler_errors=lambda: handler.errors)
        if page is not None:
            window.show_page(page)
        window.show()
        if setup is not None and setup.import_now:  # the set-up's last step: the EHR's export
            window.show_page("imports")
            QTimer.singleShot(0, window, lambda: window.pages["imports"].open_wizard())  # type: ignore[attr-defined]
        lock = None if user is None else IdleLock(window, database, user, idle_lock_minutes(),
                                                  on_sign_out=window.close)
        chosen: list[BackupFile] = []

        def restore_chosen(backup: BackupFile) -> None:
            chosen.append(backup)
            window.close()  # the event loop ends; the store is closed before the file is replaced

        if deferred is not None:
            check = deferred
            QTimer.singleShot(CHECK_AFTER_START_MS, window,
                              lambda: check_in_background(session.tasks, check, window, on_restore=restore_chosen))
        session.tasks.run(lambda _progress: scheduled_backup(ctx), label="Backing up", write=True)
        _close_on_interrupt(window)
        code = app.exec()
        del lock
        if chosen and deferred is not None:
            # the first scorecard's compute (its thread, its worker processes) stops before the file is replaced
            stop_head_start(head)
            session.close()
            restore_after_close(deferred, chosen[0])
        return code
    finally:
        stop_head_start(head)
        session.close()


def start_first_scorecard_early(session: Session, page: str | None, *, remember_state: bool) -> HeadStart | None:
    """Start computing the scorecard the window will show first - the home page's, of the period it last
    showed (else this year to date) - before the window is built; ``None`` when another page comes
    first. On a cold store the compute takes many seconds: the window's own start then runs beside it."""
    from .pages.scorecard_load import first_period, remembered_period, start_first_scorecard

    state = WindowState() if remember_state else None
    if (page or (state.last_page() if state is not None else None) or HOME_PAGE) != HOME_PAGE:
        return None
    return start_first_scorecard(session, first_period(remembered_period(state) if state is not None else None))


def stop_head_start(head: HeadStart | None) -> None:
    """The window is closing: a first compute still under way stops (its workers at their next measure)
    before the store is closed."""
    if head is not None and not head.done:
        head.cancel()
        if not head.wait(HEAD_START_STOP_S):
            log.info("The first scorecard's compute is still stopping")


def _build_demo_or_fail(path: Path, progress: Progress) -> None:
    try:
        build_demo_database(path, progress)
    except BaseException:  # failed or interrupted (Ctrl+C): no half-built demo on the next start
        _remove_partial(path)
        raise


def _build_demo_with_dialog(path: Path) -> bool:
    """Build the demo database off the GUI thread behind a progress dialog; False when cancelled/failed."""
    from ..demo.build import DEFAULT_PATIENTS, DEFAULT_PRACTICES

    dialog = DemoProgressDialog(DEFAULT_PRACTICES, DEFAULT_PATIENTS)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    runner = TaskRunner()
    loop = QEventLoop()
    outcome: dict[str, object] = {}
    task = runner.run(lambda progress: build_demo_database(path, progress),
                      label="Creating the demo network", write=True)

    def on_progress(fraction: float, message: str) -> None:
        dialog.show_step(message, fraction)

    # slots return None: PySide6 mishandles values returned from slots (a refcount error on exit)
    def on_finished(_result: object) -> None:
        outcome["ok"] = True

    def on_failed(message: str) -> None:
        outcome["error"] = message

    task.progress.connect(on_progress)
    task.finished.connect(on_finished)
    task.failed.connect(on_failed)
    task.done.connect(loop.quit)
    dialog.canceled.connect(task.cancel)
    dialog.show()
    if not task.is_done:
        loop.exec()
    dialog.close()
    runner.shutdown()
    if outcome.get("ok"):
        return True
    _remove_partial(path)
    if "error" in outcome:
        QMessageBox.critical(None, "The demo network could not be created", str(outcome["error"]))
    return False


def _remove_partial(path: Path) -> None:
    """A half-built demo must not be mistaken for a finished one on the next start."""
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            candidate.unlink(missing_ok=True)
        except OSError:
            log.warning("Could not remove the incomplete demo database file %s", candidate.name)


def _sign_in_picture(app: QApplication, database: Database, path: Path) -> int:
    if not has_users(database):
        raise LaunchError("This database has no user accounts, so it opens without a sign-in window.")
    dialog = SignInDialog(database)
    dialog.show()
    for _ in range(3):
        app.processEvents()
    _save_png(dialog.grab(), path)
    return 0


def _screenshot(app: QApplication, window: MainWindow, path: Path, page: str | None,
                handler_errors: Callable[[], int]) -> int:
    window.resize(DEFAULT_SIZE)
    if page is not None:
        window.show_page(page)
    window.show()
    network = window.network_page
    if network.overview is None:
        loop = QEventLoop()
        failure: list[str] = []
        network.loaded.connect(loop.quit)

        def on_failed(message: str) -> None:
            failure.append(message)
            loop.quit()

        network.load_failed.connect(on_failed)
        QTimer.singleShot(SCREENSHOT_TIMEOUT_S * 1000, loop.quit)
        loop.exec()
        if failure:
            raise LaunchError(f"The practices could not be read: {failure[0]}")
        if network.overview is None:
            raise LaunchError(f"The practices did not load within {SCREENSHOT_TIMEOUT_S} s")
    _wait_for_page(window.current_page())
    for _ in range(3):  # let layouts and style settle after the data arrived
        app.processEvents()
    if handler_errors():
        return 1
    _save_png(window.grab(), path)
    return 0


def _save_png(image: QPixmap, path: Path) -> None:
    path = path.expanduser()
    if path.parent and not path.parent.exists():
        raise LaunchError(f"Folder does not exist: {path.parent}")
    if not image.save(str(path), "PNG"):
        raise LaunchError(f"Cannot write the screenshot to {path}")


def _wait_for_page(page: object) -> None:
    """A page that loads its own data (a ``loaded``/``load_failed`` signal and a ``state`` stack whose
    first widget is its loading view) is given time to finish before the picture is taken."""
    state = getattr(page, "state", None)
    loaded = getattr(page, "loaded", None)
    if loaded is None or state is None or getattr(page, "STATE_LOADING", None) is None:
        return
    if state.currentIndex() == page.STATE_LOADING:  # type: ignore[attr-defined]
        _wait_for(loaded, getattr(page, "load_failed", None))
    # the scorecard's sparklines come a moment after its table: a picture shows them
    trends_loaded = getattr(page, "trends_loaded", None)
    if trends_loaded is not None and getattr(page, "trend_table", True) is None:
        _wait_for(trends_loaded, None)
    # the network page's heat map is computed once the page is on screen
    heatmap_loaded = getattr(page, "heatmap_loaded", None)
    if heatmap_loaded is not None and getattr(page, "heat", True) is None:
        _wait_for(heatmap_loaded, None)


def _wait_for(signal: object, failed: object | None) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)  # type: ignore[attr-defined]
    if failed is not None:
        failed.connect(loop.quit)  # type: ignore[attr-defined]
    QTimer.singleShot(SCREENSHOT_TIMEOUT_S * 1000, loop.quit)
    loop.exec()


def _close_on_interrupt(window: MainWindow) -> None:
    """Ctrl+C in the terminal closes the window (saving its state) instead of being ignored."""

    def on_interrupt(_signum: int, _frame: object) -> None:
        window.close()

    signal.signal(signal.SIGINT, on_interrupt)
    # Python runs signal handlers only between bytecodes: wake the interpreter now and then
    timer = QTimer(window)
    timer.timeout.connect(_noop)
    timer.start(300)


def _noop() -> None:
    pass


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


def _username() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return os.environ.get("USER", "desktop")
