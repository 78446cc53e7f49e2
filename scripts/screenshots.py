#!/usr/bin/env python3
"""Render every main screen to PNG under docs/screenshots/ (for the README and the user guide).

    .venv/bin/python scripts/screenshots.py [--db DEMO.db]

Without --db, a small demo network (6 practices, 6,000 patients, data to the end of last month) is built in a
temporary folder. Each page is rendered offscreen by ``carenet gui --screenshot`` in its own process; the
measure detail views (a scorecard row drilled into: trend, practices, equity, patients) by this script's
``--measure-views`` mode, also in its own process; then scripts/screenshots_judgement.py retakes the scorecard,
the network heat map, the equity tab and the CMS136 trend at 1280×800 and, with QT_SCALE_FACTOR=1.5, at
1920×1080 (``*-150.png``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--measure-views", action="store_true", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--import-wizard", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure_views:
        return render_measure_views(args.db, args.out)
    if args.import_wizard:
        return render_import_wizard(args.db, args.out)
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
            build_demo(store, practices=6, patients=6000, seed=2025)  # data to last month, as on a first run
            ensure_default_catalogue(ServiceContext(store))
            _add_accounts(store)
            store.dispose()
        args.out.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CACHE_HOME=str(Path(tmp) / "cache"))
        if args.db is None:  # the window signs in as the administrator, who sees every screen
            env.update(CARENET_USER="admin", CARENET_PASSWORD=SCREENSHOT_PASSWORD)
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
        for scale, suffix in (("1", ""), ("1.5", "-150")):  # issue 23's pictures, at 1280×800 and 1920×1080 @150%
            result = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots_judgement.py"), str(db),
                                     str(args.out), suffix], env=dict(env, QT_SCALE_FACTOR=scale),
                                    capture_output=True, text=True, timeout=900)
            failed += result.returncode != 0
            print(result.stdout.strip() or f"judgement pictures FAILED: {result.stderr.strip().splitlines()[-1:]}")
        work = Path(tmp) / "wizard.db"  # the wizard's pictures import into a copy, never into --db
        work.write_bytes(Path(db).read_bytes())
        result = subprocess.run([sys.executable, __file__, "--import-wizard", "--db", str(work), "--out", str(args.out)],
                                env=env, capture_output=True, text=True, timeout=600)
        failed += result.returncode != 0
        print(result.stdout.strip() or f"import wizard FAILED: {result.stderr.strip().splitlines()[-1:]}")
    return 1 if failed else 0


SCREENSHOT_PASSWORD = "screenshots-only-7"  # a throwaway store's accounts, deleted with it
#: the accounts the Administration picture lists: (user, role, practices, display name)
ACCOUNTS = (("admin", "network_admin", (), "Network office administrator"),
            ("mrivera", "practice_manager", ("P001",), "Maria Rivera"),
            ("drchen", "clinician", ("P001", "P002"), "Dr. Wei Chen"),
            ("analyst", "analyst", (), "Quality analyst"))


def _add_accounts(store: Any) -> None:
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.users import authenticate, create_user

    (name, role, practices, display), *others = ACCOUNTS
    create_user(ServiceContext(store), name, SCREENSHOT_PASSWORD, role, practices, display_name=display)
    admin = ServiceContext(store, username=name, user=authenticate(store, name, SCREENSHOT_PASSWORD))
    for name, role, practices, display in others:
        create_user(admin, name, SCREENSHOT_PASSWORD, role, practices, display_name=display)


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
        patients = window.pages["patients"]
        window.show_patient(_busiest_patient(session))  # the patient page: a child with a full timeline
        wait(patients.patient_loaded)  # type: ignore[attr-defined]
        for _ in range(3):
            app.processEvents()
        target = out / "patient.png"
        window.grab().save(str(target), "PNG")
        print(f"{'patient page':<18} -> {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  ok")
        window.go_back()  # to the measure's patients, and a child opened from there (period, measure highlighted)
        table = view.patients_table
        table.setCurrentIndex(view.patients_model.index(min(3, view.patients_model.rowCount() - 1), 0))
        table.activated.emit(table.currentIndex())
        wait(patients.patient_loaded)  # type: ignore[attr-defined]
        for _ in range(3):
            app.processEvents()
        target = out / "patient-from-measure.png"
        window.grab().save(str(target), "PNG")
        print(f"{'patient from rate':<18} -> {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  ok")
    finally:
        session.close()
    return 0


def _busiest_patient(session: Any) -> int:
    """A young child of the first practice with the most recorded events (a timeline worth showing)."""
    from sqlalchemy import text

    with session.ctx.db.session() as s:
        return int(s.execute(text(
            "SELECT p.id FROM patient p JOIN practice pr ON pr.id = p.practice_id "
            "LEFT JOIN immunization i ON i.patient_id = p.id WHERE pr.code = 'P001' "
            "AND p.birth_date >= '2022-01-01' GROUP BY p.id ORDER BY COUNT(i.id) DESC, p.id LIMIT 1")).scalar_one())


def render_import_wizard(db: Path, out: Path) -> int:
    """Walk the import wizard over a small visits file (one bad row) and save each step as import-<step>.png."""
    import csv

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QWizard
    from sqlalchemy import select

    from carenet_desktop.models import Patient, Practice
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.ui.app import create_application
    from carenet_desktop.ui.pages.imports import ImportsPage
    from carenet_desktop.ui.session import Session

    app, _handler = create_application(headless=True)
    store = open_database(db)
    with store.session() as s:
        code = s.scalars(select(Practice.code).order_by(Practice.code)).first()
        mrns = s.scalars(select(Patient.mrn).join(Practice).where(Practice.code == code).limit(40)).all()
    sample = out.parent / "import-sample.csv"
    with sample.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("Chart No", "DOS", "CPT", "Visit Type", "CSN"))
        for i, mrn in enumerate(mrns):
            writer.writerow((mrn if i != 7 else "X-UNKNOWN", f"03/{1 + i % 28:02d}/2026" if i != 12 else "31/02/2026",
                             "99392", "Well child", f"CSN{i:05d}"))
    session = Session(ServiceContext(store, username="screenshots"))

    def settle(condition: object, seconds: int = 120) -> None:
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(lambda: loop.quit() if condition() else None)  # type: ignore[operator]
        timer.start(50)
        QTimer.singleShot(seconds * 1000, loop.quit)
        loop.exec()
        for _ in range(3):
            app.processEvents()

    try:
        page = ImportsPage(session)
        page.resize(1100, 700)
        page.show()
        page.activate()
        wizard = page.open_wizard(str(sample))
        choose = wizard.choose_page
        settle(lambda: choose.practice_combo.count() > 0)
        choose.practice_combo.setCurrentIndex(choose.practice_combo.findData(code))
        shots = [("file", lambda: True)]
        steps = [("columns", lambda: bool(wizard.mapping_page.combos)),
                 ("check", lambda: wizard.plan.preview is not None)]
        for name, _ready in shots:
            wizard.grab().save(str(out / f"import-{name}.png"), "PNG")
            print(f"{'import ' + name:<18} -> import-{name}.png  ok")
        for name, ready in steps:
            wizard.next()
            settle(ready)
            if name == "columns":  # the guess cannot know "Chart No" is the MRN: the user picks it
                combo = wizard.mapping_page.combos["mrn"]
                combo.setCurrentIndex(combo.findData("Chart No"))
                settle(lambda: True, 1)
            wizard.grab().save(str(out / f"import-{name}.png"), "PNG")
            print(f"{'import ' + name:<18} -> import-{name}.png  ok")
        wizard.check_page.valid_only.setChecked(True)
        wizard.button(QWizard.WizardButton.CommitButton).click()
        settle(lambda: wizard.plan.result is not None and wizard.currentPage() is wizard.summary_page)
        wizard.grab().save(str(out / "import-summary.png"), "PNG")
        print(f"{'import summary':<18} -> import-summary.png  ok")
        wizard.close()
        settle(lambda: page.model.rowCount() > 0, 30)
        page.grab().save(str(out / "imports.png"), "PNG")
        print(f"{'imports history':<18} -> imports.png  ok")
    finally:
        sample.unlink(missing_ok=True)
        session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
