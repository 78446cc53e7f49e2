#!/usr/bin/env python3
"""Render every main screen to PNG under docs/screenshots/ (for the README and the user guide).

    .venv/bin/python scripts/screenshots.py [--db DEMO.db]

Without --db, a small demo network (6 practices, 6,000 patients, data to 2026-06-30) is built in a
temporary folder. Each page is rendered offscreen by ``carenet gui --screenshot`` in its own process; the
measure detail views (a scorecard row drilled into: trend, practices, equity, patients) by this script's
``--measure-views`` mode, also in its own process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--measure-views", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure_views:
        return render_measure_views(args.db, args.out)
    from carenet_desktop.ui.pages import PAGE_IDS

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from carenet_desktop.demo import build_demo
            from carenet_desktop.models.database import open_database
            from carenet_desktop.services.context import ServiceContext
            from carenet_desktop.services.valuesets import ensure_default_catalogue

            db = Path(tmp) / "demo.db"
            store = open_database(db)
            build_demo(store, practices=6, patients=6000, seed=2025, as_of=dt.date(2026, 6, 30))
            ensure_default_catalogue(ServiceContext(store))
            store.dispose()
        args.out.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CACHE_HOME=str(Path(tmp) / "cache"))
        failed = 0
        for page in PAGE_IDS:
            target = args.out / f"{page.replace('_', '-')}.png"
            result = subprocess.run(
                [sys.executable, "-m", "carenet_desktop", "gui", "--db", str(db), "--page", page,
                 "--screenshot", str(target)], env=env, capture_output=True, text=True, timeout=300)
            status = "ok" if result.returncode == 0 else f"FAILED: {result.stderr.strip().splitlines()[-1:]}"
            failed += result.returncode != 0
            print(f"{page:<12} -> {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  {status}")
        result = subprocess.run([sys.executable, __file__, "--measure-views", "--db", str(db), "--out", str(args.out)],
                                env=env, capture_output=True, text=True, timeout=600)
        failed += result.returncode != 0
        print(result.stdout.strip() or f"measure views FAILED: {result.stderr.strip().splitlines()[-1:]}")
    return 1 if failed else 0


MEASURE_SHOT = ("CMS117", 0)  # the measure drilled into for the measure-*.png pictures


def render_measure_views(db: Path, out: Path) -> int:
    """Open the scorecard, drill into ``MEASURE_SHOT`` and save each tab as measure-<tab>.png."""
    from PySide6.QtCore import QEventLoop, QTimer

    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.ui.app import create_application
    from carenet_desktop.ui.main_window import DEFAULT_SIZE, MainWindow
    from carenet_desktop.ui.pages.scorecards import ScorecardsPage
    from carenet_desktop.ui.session import Session

    app, _handler = create_application(headless=True)
    session = Session(ServiceContext(open_database(db), username="screenshots"))
    window = MainWindow(session, remember_state=False)

    def wait(signal: object, seconds: int = 300) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(seconds * 1000, loop.quit)
        loop.exec()

    try:
        window.resize(DEFAULT_SIZE)
        window.show()
        page = window.pages[ScorecardsPage.page_id]
        assert isinstance(page, ScorecardsPage)
        if page.data is None:
            wait(page.loaded)
        if page.trend_table is None:
            wait(page.trends_loaded)
        view = page.detail
        page.open_measure(*MEASURE_SHOT)
        for name, signal in (("trend", view.trend_loaded), ("practices", view.comparison_loaded),
                             ("equity", None), ("patients", view.patients_loaded)):
            view.show_tab(name)
            if signal is not None and (name != "practices" or view.practices_state.currentIndex() == 0) and (
                    name != "trend" or view.trend_state.currentIndex() == 0):
                wait(signal)
            for _ in range(3):
                app.processEvents()
            target = out / f"measure-{name}.png"
            window.grab().save(str(target), "PNG")
            print(f"{'measure ' + name:<18} -> {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  ok")
    finally:
        session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
