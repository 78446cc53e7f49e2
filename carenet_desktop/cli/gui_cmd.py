"""``carenet gui``: the desktop window, or (``--screenshot``) a PNG of it without a display.

PySide6 is imported inside :func:`run` only, so the other commands (and ``--version``) stay fast and Qt-free.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..models.database import demo_database_path
from .common import TerminalProgress


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "gui", parents=[parent], help="open the desktop window (default command)",
        description="Open the desktop window on a database. With --screenshot, render the main window to a PNG "
                    "and exit (works without a display: QT_QPA_PLATFORM=offscreen).",
    )
    p.add_argument("--demo", action="store_true",
                   help="open the demo network in the user-data folder (created with demo data on first run)")
    p.add_argument("--screenshot", metavar="FILE.png", type=Path,
                   help="save a 1280x800 picture of the main window once the practices are loaded, then exit")
    p.add_argument("--sign-in-screenshot", metavar="FILE.png", type=Path,
                   help="save a picture of the sign-in window of a database with accounts, then exit (the "
                        "installer's start-up check)")
    p.add_argument("--page", metavar="PAGE",
                   help="screen to show: network, scorecards, care_gaps, patients, referrals, data_entry, "
                        "imports, reports, settings")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    db = getattr(args, "db", None)
    demo = bool(getattr(args, "demo", False))
    screenshot: Path | None = getattr(args, "screenshot", None)
    if demo and db:
        print("carenet: error: use either --demo or --db, not both", file=sys.stderr)
        return 2
    sign_in_shot: Path | None = getattr(args, "sign_in_screenshot", None)
    for shot in (screenshot, sign_in_shot):
        if shot is not None and shot.suffix.lower() != ".png":
            print(f"carenet: error: the screenshot must be a .png file: {shot}", file=sys.stderr)
            return 2
    if sign_in_shot is None:
        warm_up_workers(db, demo=demo)
    try:
        from ..ui.launch import LaunchError, run_gui
    except ImportError as exc:  # a broken Qt installation: say so in one line
        print(f"carenet: error: the desktop window is not available ({exc})", file=sys.stderr)
        return 1
    try:
        return run_gui(
            db,
            demo_path=demo_database_path() if demo else None,
            screenshot=screenshot,
            page=getattr(args, "page", None),
            terminal_progress=TerminalProgress("Creating the demo network"),
            sign_in_screenshot=sign_in_shot,
        )
    except LaunchError as exc:
        print(f"carenet: error: {exc}", file=sys.stderr)
        return 1


def warm_up_workers(db: str | None, *, demo: bool = False) -> None:
    """A store without saved results (a cold start: a first compute of many seconds) has a worker process
    start now, beside the window's own start (Qt's import); one with saved results reads them instead."""
    from ..models.database import DatabaseError, resolve_url
    from ..services import compute_pool

    try:
        url = resolve_url(str(demo_database_path()) if demo else db)
    except DatabaseError:
        return  # said when the store is opened
    if not compute_pool.results_held(url):
        compute_pool.warm_up()
