#!/usr/bin/env python3
"""The pictures of the scorecard's judgement (issue 23): scorecard, network heat map, equity tab and the CMS136
trend, at 1280×800, and at 1920×1080 with 150% scaling (1280×720 logical pixels). ``scripts/screenshots.py``
runs it both ways after the other pictures; by hand:

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_judgement.py DEMO.db docs/screenshots
    QT_QPA_PLATFORM=offscreen QT_SCALE_FACTOR=1.5 .venv/bin/python scripts/screenshots_judgement.py \\
        DEMO.db docs/screenshots -150

The equity and trend pictures show 2025 (a complete year); the scorecard and heat map the default period.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(db: str, out: str, suffix: str = "") -> int:
    from PySide6.QtCore import QEventLoop, QTimer

    from carenet_desktop.metrics.period import Period
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.ui.app import create_application
    from carenet_desktop.ui.main_window import DEFAULT_SIZE, MainWindow
    from carenet_desktop.ui.pages.network import NetworkPage
    from carenet_desktop.ui.pages.scorecards import ScorecardsPage
    from carenet_desktop.ui.session import Session

    scaled = float(os.environ.get("QT_SCALE_FACTOR") or 1) > 1
    app, _handler = create_application(headless=True)
    session = Session(ServiceContext(open_database(db), username="screenshots"))
    window = MainWindow(session, remember_state=False)
    window.resize(DEFAULT_SIZE.width(), 720 if scaled else DEFAULT_SIZE.height())
    window.show()

    def wait(signal: object, seconds: int = 180) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(seconds * 1000, loop.quit)
        loop.exec()

    def save(name: str) -> None:
        for _ in range(8):
            app.processEvents()
        window.grab().save(str(Path(out) / f"{name}{suffix}.png"))
        print(f"{name}{suffix}.png")

    page = window.pages[ScorecardsPage.page_id]
    network = window.pages[NetworkPage.page_id]
    assert isinstance(page, ScorecardsPage) and isinstance(network, NetworkPage)
    window.show_page(page.page_id)
    if page.data is None:
        wait(page.loaded)
    if page.trend_table is None:
        wait(page.trends_loaded)
    save("scorecards")
    window.show_page(network.page_id)
    if network.heat is None:
        wait(network.heatmap_loaded)
    save("network")
    window.show_page(page.page_id)
    page.select_period(Period.year(2025))
    wait(page.loaded)
    view = page.detail
    page.open_measure("CMS117", 0)
    view.show_tab("equity")
    wait(view.comparison_loaded, 120)
    save("measure-equity")
    page.open_measure("CMS136", 0)
    view.show_tab("trend")
    wait(view.trend_loaded, 120)
    save("measure-trend-cms136")
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
