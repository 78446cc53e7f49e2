"""The main window against a real SQLite store: practices shown, navigation, remembered state."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication

from carenet_desktop.models.database import open_database
from carenet_desktop.services.changes import Area, Change
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.app import configure_application
from carenet_desktop.ui.errors import ErrorDialog, ErrorHandler
from carenet_desktop.ui.main_window import MainWindow
from carenet_desktop.ui.pages import HOME_PAGE, PAGE_IDS
from carenet_desktop.ui.session import Session


def make_window(qtbot, db_path: Path, *, remember_state: bool = True) -> MainWindow:
    session = Session(ServiceContext(open_database(db_path), username="test"))
    window = MainWindow(session, remember_state=remember_state)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.network_page.overview is not None, timeout=10_000)
    return window


def table_rows(window: MainWindow) -> list[list[str]]:
    proxy = window.network_page.proxy
    return [[proxy.index(r, c).data() for c in range(proxy.columnCount())] for r in range(proxy.rowCount())]


def click_navigation(qtbot, window: MainWindow, title: str) -> None:
    nav = window.navigation
    item = nav.findItems(title, Qt.MatchFlag.MatchExactly)[0]
    rect = nav.visualItemRect(item)
    qtbot.mouseClick(nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_window_shows_the_practices_of_the_database(qtbot, qapp, db_path, sample):
    configure_application(qapp)
    window = make_window(qtbot, db_path)
    expected = sorted(
        [[code, name, city or "", f"{patients:,}", f"{providers:,}"] for code, name, city, patients, providers in sample.practices]
    )
    assert table_rows(window) == expected
    assert window.network_label.text() == sample.network_name
    assert str(db_path) in window.database_label.full_text()
    page = window.network_page
    assert page.state.currentWidget() is page.table
    assert page.practices_tile.value() == "3"
    assert page.patients_tile.value() == str(sum(p[3] for p in sample.practices))
    assert page.providers_tile.value() == str(sum(p[4] for p in sample.practices))
    window.show_page("network")  # the status bar speaks for the page on screen
    assert "3 practices" in window.statusBar().currentMessage()


def test_filter_narrows_the_table(qtbot, db_path, sample):
    window = make_window(qtbot, db_path)
    qtbot.keyClicks(window.network_page.filter_edit, "lake")
    assert [row[0] for row in table_rows(window)] == ["LAKE"]
    window.network_page.filter_edit.clear()
    assert len(table_rows(window)) == len(sample.practices)


def test_refresh_shows_practices_added_meanwhile(qtbot, db_path, sample):
    window = make_window(qtbot, db_path)
    sample.fill(window.session.ctx.db, [("NEW", "New Horizons Pediatrics", "Brockway", 2, 1)], network_name=None)
    with qtbot.waitSignal(window.network_page.loaded, timeout=10_000):
        qtbot.mouseClick(window.network_page.refresh_button, Qt.MouseButton.LeftButton)
    assert "NEW" in [row[0] for row in table_rows(window)]


def test_navigation_switches_pages_on_click(qtbot, db_path):
    window = make_window(qtbot, db_path)
    assert window.current_page().page_id == HOME_PAGE == "scorecards"  # first start: the home screen
    with qtbot.waitSignal(window.page_changed, timeout=2000) as blocker:
        click_navigation(qtbot, window, "Patients")
    assert blocker.args == ["patients"]
    assert window.stack.currentWidget() is window.pages["patients"]
    click_navigation(qtbot, window, "Settings")
    assert window.current_page().page_id == "settings"
    click_navigation(qtbot, window, "Network")
    assert window.current_page() is window.network_page


def test_every_navigation_entry_has_a_page_with_accessible_name_and_tooltip(qtbot, db_path):
    window = make_window(qtbot, db_path)
    titles = [window.navigation.item(i).text() for i in range(window.navigation.count())]
    assert titles == ["Network", "Scorecards", "Care gaps", "Daily huddle", "Patients", "Referrals", "Data entry",
                      "Imports", "Reports", "Settings", "Administration"]
    assert list(window.pages) == list(PAGE_IDS)
    for i in range(window.navigation.count()):
        assert window.navigation.item(i).toolTip()
    for page in window.pages.values():
        assert page.accessibleName() == page.title


def test_every_page_is_a_real_screen(qtbot, db_path):
    """No page says "coming soon": each one has controls of its own, not only text."""
    from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox

    window = make_window(qtbot, db_path)
    for page in window.pages.values():
        assert any(page.findChildren(kind) for kind in (QAbstractButton, QAbstractItemView, QAbstractSpinBox,
                                                         QComboBox)), page.page_id


def test_last_page_and_geometry_are_remembered(qtbot, db_path):
    window = make_window(qtbot, db_path)
    # the offscreen screen is 800x800: a size that fits it (the minimum width is 900)
    window.resize(900, 650)
    click_navigation(qtbot, window, "Referrals")
    window.close()
    again = make_window(qtbot, db_path)
    assert again.current_page().page_id == "referrals"
    assert (again.size().width(), again.size().height()) == (900, 650)  # not the first-start 1280x800


def test_screenshot_mode_does_not_touch_remembered_state(qtbot, db_path):
    window = make_window(qtbot, db_path)
    click_navigation(qtbot, window, "Reports")
    window.close()
    headless = make_window(qtbot, db_path, remember_state=False)
    assert headless.current_page().page_id == HOME_PAGE
    headless.show_page("care_gaps")
    headless.close()
    assert make_window(qtbot, db_path).current_page().page_id == "reports"


def test_empty_database_says_how_to_get_data(qtbot, tmp_path):
    path = tmp_path / "empty.db"
    open_database(path).dispose()
    window = make_window(qtbot, path)
    page = window.network_page
    assert page.state.currentWidget() is page.empty_view
    assert "carenet demo" in page.empty_view.text()
    assert window.network_label.text() == "Unnamed network"


def test_error_dialog_copies_details_without_the_message(qtbot, qapp, monkeypatch):
    shown: list[ErrorDialog] = []
    monkeypatch.setattr(ErrorDialog, "exec", lambda self: shown.append(self) or 0)
    handler = ErrorHandler()
    message = " ".join(["MRN", "000123", "for", "Jane", "Doe"])  # the stack shows this source line
    try:
        raise ValueError(message)
    except ValueError as exc:
        handler(type(exc), exc, exc.__traceback__)
    assert len(shown) == 1
    dialog = shown[0]
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert "ValueError" in copied and "test_error_dialog_copies_details_without_the_message" in copied
    assert "000123" not in copied and "Jane" not in copied


def test_error_handler_logs_no_exception_message(caplog, monkeypatch):
    monkeypatch.setattr(ErrorDialog, "exec", lambda self: 0)
    message = "birth date " + "-".join(["2019", "02", "03"])
    try:
        raise RuntimeError(message)
    except RuntimeError as exc:
        ErrorHandler()(type(exc), exc, exc.__traceback__)
    assert "RuntimeError" in caplog.text
    assert "2019-02-03" not in caplog.text


@pytest.mark.parametrize("page_id", PAGE_IDS)
def test_every_page_opens_without_error(qtbot, db_path, page_id):
    window = make_window(qtbot, db_path, remember_state=False)
    window.show_page(page_id)
    assert window.current_page().page_id == page_id
    assert window.current_page().isVisible()
    assert window.current_page().mapTo(window, QPoint(0, 0)).x() >= window.navigation.width()


def test_a_reported_change_refreshes_the_practice_list(qtbot, db_path, sample):
    window = make_window(qtbot, db_path)
    window.show_page("network")
    sample.fill(window.session.ctx.db, [("ZED", "Zed Pediatrics", None, 1, 0)], network_name=None)
    assert "ZED" not in [row[0] for row in table_rows(window)]
    with qtbot.waitSignal(window.network_page.loaded, timeout=10_000):
        window.session.notify(Change.of(Area.PRACTICES))
    assert "ZED" in [row[0] for row in table_rows(window)]
    with qtbot.assertNotEmitted(window.network_page.loaded, wait=300):
        window.session.notify(Change.of(Area.USERS))  # not shown on this page


def test_a_hidden_page_reads_a_change_again_when_it_is_shown(qtbot, db_path, sample):
    window = make_window(qtbot, db_path)
    window.show_page("settings")
    sample.fill(window.session.ctx.db, [("ZED", "Zed Pediatrics", None, 1, 0)], network_name=None)
    with qtbot.assertNotEmitted(window.network_page.loaded, wait=300):
        window.session.notify(Change.of(Area.PATIENTS))  # the page is hidden: it only notes it
    assert window.network_page.stale and "ZED" not in [row[0] for row in table_rows(window)]
    with qtbot.waitSignal(window.network_page.loaded, timeout=10_000):
        window.show_page("network")
    assert "ZED" in [row[0] for row in table_rows(window)] and not window.network_page.stale


def test_the_idle_lock_preference_is_saved_from_the_settings_page(qtbot, db_path):
    from carenet_desktop.ui.settings import idle_lock_minutes

    window = make_window(qtbot, db_path)
    click_navigation(qtbot, window, "Settings")
    spin = window.pages["settings"].idle_spin
    assert spin.isEnabled() and spin.value() == idle_lock_minutes() == 10
    spin.setValue(25)
    assert idle_lock_minutes() == 25
    spin.setValue(0)
    assert idle_lock_minutes() == 0 and spin.text() == "never"


def test_help_about_lists_the_bundled_components_with_their_licences_and_the_qt_notice(qtbot, db_path):
    import importlib.metadata

    window = make_window(qtbot, db_path)
    about = next(a for a in window.menuBar().actions() if a.text() == "&Help").menu().actions()
    next(a for a in about if a.text().startswith("&About")).trigger()
    dialog = window.about_dialog
    assert dialog.isVisible()
    rows = {r["name"]: r for r in dialog.model.records()}
    assert rows["PySide6-Essentials"]["version"] == importlib.metadata.version("PySide6-Essentials")
    assert "LGPL" in rows["PySide6-Essentials"]["licence"]
    assert {"pandas", "SQLAlchemy", "reportlab", "pyqtgraph"} <= set(rows)
    assert "LGPL" in dialog.qt_notice.text() and "replace" in dialog.qt_notice.text()


@pytest.mark.parametrize(("role", "hidden"), [
    ("analyst", {"care_gaps", "huddle", "patients", "referrals", "data_entry", "imports", "administration"}),
    ("clinician", {"data_entry", "imports", "administration"}),
    ("practice_manager", {"administration"}),
    ("network_admin", set()),
])
def test_a_role_is_offered_only_the_screens_it_may_use(qtbot, db_path, role, hidden):
    from carenet_desktop.services.users import authenticate, create_user

    db = open_database(db_path)
    password = "correct-horse-42"
    create_user(ServiceContext(db), "admin", password, "network_admin")
    admin = ServiceContext(db, username="admin", user=authenticate(db, "admin", password))
    if role != "network_admin":
        create_user(admin, "someone", password, role, practice_codes=[] if role == "analyst" else ["NORTH"])
    user = authenticate(db, "admin" if role == "network_admin" else "someone", password)
    window = MainWindow(Session(ServiceContext(db, username=user.username, user=user)), remember_state=False)
    qtbot.addWidget(window)
    window.show()
    shown = {window.navigation.item(r).data(Qt.ItemDataRole.UserRole) for r in range(window.navigation.count())
             if not window.navigation.item(r).isHidden()}
    assert shown == set(PAGE_IDS) - hidden
    for page_id in hidden:  # asked for anyway (a remembered page, a link): the scorecard instead
        window.show_page(page_id)
        assert window.current_page().page_id == HOME_PAGE
    window.session.close()
