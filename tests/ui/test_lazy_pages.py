"""The window builds a page the first time it is shown or asked for: a start builds the network page (the
header reads it) and the page it shows, and each other page, once built, is wired to the window as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.main_window import WARM_AFTER_TRENDS_MS, MainWindow
from carenet_desktop.ui.pages import HOME_PAGE, PAGE_IDS, PAGES
from carenet_desktop.ui.session import Session


def _window(qtbot, db_path: Path, **kwargs) -> MainWindow:  # type: ignore[no-untyped-def]
    session = Session(ServiceContext(open_database(db_path), username="test"))
    window = MainWindow(session, **kwargs)
    qtbot.addWidget(window)
    return window


@pytest.mark.parametrize("info", PAGES, ids=lambda info: info.page_id)
def test_each_navigation_entry_says_what_its_page_class_says(info) -> None:  # type: ignore[no-untyped-def]
    cls = info.page_class()
    assert (cls.page_id, cls.title, cls.icon_name, cls.tooltip, cls.requires) == (
        info.page_id, info.title, info.icon_name, info.tooltip, info.requires)


def test_a_start_builds_only_the_network_page_and_the_page_it_shows(qtbot, db_path) -> None:  # type: ignore[no-untyped-def]
    window = _window(qtbot, db_path, remember_state=False)
    assert set(window.pages.built) == {"network", HOME_PAGE}
    assert "patients" in window.pages and list(window.pages) == list(PAGE_IDS) and len(window.pages) == len(PAGE_IDS)
    assert set(window.pages.built) == {"network", HOME_PAGE}  # asking which pages there are builds none
    assert window.stack.count() == 2
    window.show()
    window.show_page("referrals")
    assert window.current_page() is window.pages.built["referrals"]
    assert window.stack.currentWidget() is window.pages["referrals"]
    # built later, wired as the others: its status messages, Back
    window.pages["referrals"].status_message.emit("3 open referrals")
    assert window.statusBar().currentMessage() == "3 open referrals"
    window.pages["patients"].status_message.emit("hidden page")  # built by asking, not shown: not on the bar
    assert window.statusBar().currentMessage() == "3 open referrals"
    assert set(window.pages.built) == {"network", HOME_PAGE, "referrals", "patients"}
    assert window.go_back() and window.current_page().page_id == HOME_PAGE
    with pytest.raises(KeyError):
        window.pages["no such page"]


def test_the_care_gap_page_is_built_and_warmed_once_the_sparklines_are_shown(qtbot, db_path) -> None:  # type: ignore[no-untyped-def]
    window = _window(qtbot, db_path, remember_state=False)
    assert "care_gaps" not in window.pages.built
    window.pages[HOME_PAGE].trends_loaded.emit()  # type: ignore[attr-defined]
    assert "care_gaps" not in window.pages.built  # not in the sparklines' slot: their paint goes first
    qtbot.waitUntil(lambda: "care_gaps" in window.pages.built, timeout=30_000)
    care_gaps = window.pages.built["care_gaps"]
    assert care_gaps.warm_task is not None  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: care_gaps.warm_task.is_done, timeout=30_000)  # type: ignore[attr-defined]
    assert not care_gaps.loaded_once  # found in the background, not shown
    window.close()

    quiet = _window(qtbot, db_path, remember_state=False, warm_care_gaps=False)
    quiet.pages[HOME_PAGE].trends_loaded.emit()  # type: ignore[attr-defined]
    qtbot.wait(WARM_AFTER_TRENDS_MS + 200)  # (when a warm window would have built it)
    assert "care_gaps" not in quiet.pages.built


def test_a_page_built_after_the_start_gets_its_remembered_state_before_it_loads(qtbot, db_path) -> None:  # type: ignore[no-untyped-def]
    window = _window(qtbot, db_path)
    window.show()
    scorecards = window.pages[HOME_PAGE]
    combo = scorecards.period_combo  # type: ignore[attr-defined]
    combo.setCurrentIndex(1)  # another period than the default
    chosen = combo.currentData()
    window.show_page("patients")
    window.close()

    again = _window(qtbot, db_path)
    again.show()
    assert again.current_page().page_id == "patients" and HOME_PAGE not in again.pages.built
    again.show_page(HOME_PAGE)
    assert again.pages[HOME_PAGE].period_combo.currentData() == chosen  # type: ignore[attr-defined]
    again.show_page("patients")
    again.close()
    # closing builds no page to save its state: a page never built leaves its remembered state as it was
    third = _window(qtbot, db_path)
    third.close()
    assert set(third.pages.built) == {"network", "patients"}
    assert _window(qtbot, db_path).pages[HOME_PAGE].period_combo.currentData() == chosen  # type: ignore[attr-defined]
