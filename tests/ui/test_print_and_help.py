"""File ▸ Print (Ctrl+P) prints the scorecard through QPrinter (here to a PDF, offscreen); Help ▸ User guide
opens the bundled guide, Help ▸ Keyboard shortcuts lists the keys; the Go menu shows the page shortcuts."""

from __future__ import annotations

import gc
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QKeySequence, QTextDocument
from PySide6.QtWidgets import QApplication

from carenet_desktop.models.database import open_database
from carenet_desktop.resources import user_guide
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.help import ShortcutsDialog, UserGuideDialog
from carenet_desktop.ui.main_window import MainWindow
from carenet_desktop.ui.pages.scorecards import ScorecardsPage
from carenet_desktop.ui.printing import Printable, pdf_printer, table_html
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

WAIT = 60_000


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory, patients=400, seed=3)


@pytest.fixture
def window(demo_file, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    session = Session(ServiceContext(open_database(copy), username="tester"))
    main = MainWindow(session, remember_state=False)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    yield main
    main.close()
    session.close()


def _menu(window: MainWindow, title: str):  # type: ignore[no-untyped-def]
    return next(a.menu() for a in window.menuBar().actions() if a.text() == title)


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_ctrl_p_prints_the_scorecard_to_a_pdf(window, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page: ScorecardsPage = window.pages["scorecards"]  # type: ignore[assignment]
    qtbot.waitUntil(lambda: page.data is not None and not page.loading(), timeout=WAIT)
    print_action = next(a for a in _menu(window, "&File").actions() if a.text() == "&Print…")
    assert print_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Print)
    printable = page.printable()
    assert printable is not None and printable.model is page.proxy
    out = tmp_path / "scorecard.pdf"
    assert window.print_current(pdf_printer(str(out)))
    assert out.read_bytes().startswith(b"%PDF")
    text = _pdf_text(out)
    first = page.proxy.index(0, 0).data(Qt.ItemDataRole.DisplayRole).splitlines()[0]
    assert "Scorecard" in text and page.practice_combo.currentText().split(" · ")[0] in text
    assert first.split()[0] in text  # the rows as on screen
    assert "Meets target" in text  # the status legend


def test_ctrl_p_opens_a_preview(window, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    page: ScorecardsPage = window.pages["scorecards"]  # type: ignore[assignment]
    qtbot.waitUntil(lambda: page.data is not None and not page.loading(), timeout=WAIT)
    window.activateWindow()
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(window, "print_preview", None) is not None
                    and window.print_preview.isVisible(), timeout=WAIT)
    assert window.print_preview.windowTitle().startswith("Print: Scorecard")
    gc.collect()  # the preview's printer must outlive this call (a printer dropped here crashed the preview)
    qtbot.wait(300)
    assert window.print_preview.isVisible()
    window.print_preview.close()


def test_a_page_with_nothing_to_print_says_so(window) -> None:  # type: ignore[no-untyped-def]
    window.show_page("data_entry")
    assert window.print_current() is False
    assert "Nothing to print" in window.statusBar().currentMessage()


def test_help_opens_the_bundled_user_guide(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    help_menu = _menu(window, "&Help")
    guide_action = next(a for a in help_menu.actions() if a.text() == "&User guide")
    assert guide_action.shortcut() == QKeySequence(QKeySequence.StandardKey.HelpContents)
    guide_action.trigger()
    dialog = window.guide_dialog
    assert isinstance(dialog, UserGuideDialog) and dialog.isVisible()
    assert dialog.guide == user_guide() and dialog.guide.exists()
    assert "The scorecard (home screen)" in dialog.text() and "Data entry" in dialog.text()
    image = dialog.browser.loadResource(QTextDocument.ResourceType.ImageResource, QUrl("screenshots/scorecards.png"))
    assert image is not None and len(bytes(image)) > 1000  # the screenshots resolve beside the guide
    dialog.close()


def test_a_missing_guide_is_said_so(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dialog = UserGuideDialog(guide=tmp_path / "user-guide.md")
    qtbot.addWidget(dialog)
    assert "not installed" in dialog.text()


def test_keyboard_shortcuts_list_the_pages_and_the_keys(window) -> None:  # type: ignore[no-untyped-def]
    help_menu = _menu(window, "&Help")
    next(a for a in help_menu.actions() if a.text() == "&Keyboard shortcuts").trigger()
    dialog = window.shortcuts_dialog
    assert isinstance(dialog, ShortcutsDialog)
    rows = dict(dialog.rows())
    actions = _menu(window, "&Go").actions()
    assert [(a.text(), a.shortcut().toString()) for a in actions[:2]] == [("&Back", "Alt+Left"), ("&Forward", "Alt+Right")]
    go = [(a.text(), a.shortcut().toString()) for a in actions if a in window.page_actions]
    assert go[0][1] == "Ctrl+1" and len(go) == len(window.page_actions) >= 9  # the shortcuts shown in the menu
    assert rows["Ctrl+1"] == f"Go to {go[0][0]}" and rows["Ctrl+2"] == f"Go to {go[1][0]}"
    assert "Ctrl+P" in rows and "F1" in rows and "Alt+Down in a date field" in rows
    assert "Back" in rows["Alt+Left, mouse back button"]
    dialog.close()


def test_the_document_holds_every_row_and_the_colours(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel

    model = QStandardItemModel(2, 2)
    model.setHorizontalHeaderLabels(["Measure", "Rate"])
    model.setItem(0, 0, QStandardItem("CMS117 <Childhood>"))
    rate = QStandardItem("71.0%")
    rate.setForeground(QColor("#b42318"))
    model.setItem(0, 1, rate)
    model.setItem(1, 0, QStandardItem("W30"))
    html = table_html(Printable("Scorecard · P001", "2025", model, frozenset()))
    assert "CMS117 &lt;Childhood&gt;" in html and "color:#b42318" in html and "2 rows" in html
    assert QApplication.instance() is not None
