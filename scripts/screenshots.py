#!/usr/bin/env python3
"""Render every main screen to PNG under docs/screenshots/ (for the README and the user guide).

    .venv/bin/python scripts/screenshots.py [--db DEMO.db]

Without --db, a small demo network (6 practices, 6,000 patients, data to 2026-06-30) is built in a
temporary folder. Each page is rendered offscreen by ``carenet gui --screenshot`` in its own process.
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
    args = parser.parse_args()
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
