#!/usr/bin/env python3
"""Benchmark an encrypted store against the same store in plain text (issue 26: within 20%, warm and cold).

    .venv/bin/python benchmarks/bench_encrypted.py [--patients 250000] [--db demo-250k.db] [--window]

Builds what it needs once (reused on later runs): the plain demo network (``--db``, or
``benchmarks/data/demo-<patients>.db``) and its encrypted copy (``<db>-encrypted.db``, made with
``carenet encrypt``; the passphrase is ``$CARENET_DB_PASSPHRASE`` or a fixed benchmark one). Then, for each
store, times ``carenet measures evaluate`` of the ten eCQMs as a new process: cold (an empty cache folder:
the store is read and the frames snapshot and results are written) and warm (the same command again, served
from the caches). ``--window`` also times the window's start to its scorecard (as ``bench_ui.py`` does: the
first start on a fresh cache, then a warm one). Prints each figure and the encrypted/plain ratio, in wall
seconds and in CPU seconds (user + system of the process and its workers: the load moves these much less).
Quote ``/proc/loadavg`` beside the figures: the machine's load moves them more than the cipher does.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEASURES = ["CMS2", "CMS74", "CMS75", "CMS117", "CMS136", "CMS146", "CMS153", "CMS154", "CMS155", "CMS177"]
BENCH_PASSPHRASE = "benchmark passphrase 2026"


#: CPU seconds (user + system) of the last timed child process and its own children: on a loaded machine
#: the wall time moves with the other work, the CPU time much less
last_cpu = [0.0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def carenet(db: Path, *args: str, env: dict[str, str]) -> float:
    """Seconds for one ``carenet`` command in a new process (process start included); its CPU seconds
    in ``last_cpu``."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "carenet_desktop", "--db", str(db), *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - started
    last_cpu[0] = _children_cpu() - cpu
    if result.returncode != 0:
        raise SystemExit(f"carenet {' '.join(args[:2])} failed: {result.stderr.strip().splitlines()[-3:]}")
    return elapsed


def window_start(db: Path, env: dict[str, str]) -> float:
    """Seconds from spawning the window (offscreen) to its scorecard on screen; the CPU seconds of the
    whole run (to its close) in ``last_cpu``."""
    cpu = _children_cpu()
    started = time.time()
    result = subprocess.run([sys.executable, __file__, "--window-child", str(db), repr(started)], cwd=ROOT,
                            env=dict(env, QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"the window did not start: {result.stderr.strip().splitlines()[-3:]}")
    last_cpu[0] = _children_cpu() - cpu
    return float(result.stdout.strip().splitlines()[-1])


def window_child(db: str, started: float) -> int:
    """One start of the window, as ``bench_ui.py`` times it, up to its scorecard; the integrity check the
    window runs after start is not waited for (it is the same work for both stores, and long)."""
    sys.path.insert(0, str(ROOT))
    try:
        from carenet_desktop import key_ahead
    except ImportError:  # a tree from before it (paired runs against an older one)
        pass
    else:
        key_ahead.start(["--db", db])  # as ``carenet gui --db`` starts: the key derived beside the imports
    from PySide6.QtCore import QEventLoop, QTimer

    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.ui.app import create_application
    from carenet_desktop.ui.main_window import DEFAULT_SIZE, MainWindow
    from carenet_desktop.ui.pages.scorecards import ScorecardsPage
    from carenet_desktop.ui.session import Session
    from carenet_desktop.ui.startup import open_store_deferring_check

    app, _handler = create_application(headless=True)
    database, _deferred = open_store_deferring_check(db, headless=True)
    session = Session(ServiceContext(database, username="benchmark"))
    window = MainWindow(session, remember_state=False)
    window.resize(DEFAULT_SIZE)
    window.show()
    page = window.pages[ScorecardsPage.page_id]
    assert isinstance(page, ScorecardsPage)
    if page.data is None:
        loop = QEventLoop()
        page.loaded.connect(loop.quit)
        QTimer.singleShot(3_600_000, loop.quit)
        loop.exec()
    app.processEvents()
    print(time.time() - started, flush=True)
    session.close()
    return 0


def build(plain: Path, encrypted: Path, patients: int, env: dict[str, str]) -> None:
    if not plain.exists():
        print(f"Building the demo network ({patients:,} patients) at {plain}…", flush=True)
        plain.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "carenet_desktop", "demo", "--no-encryption", "--db", str(plain),
                        "--patients", str(patients)], cwd=ROOT, env=env, check=True)
    if not encrypted.exists():
        print(f"Encrypting a copy at {encrypted}…", flush=True)
        carenet(plain, "practices", env=env)  # brings the plain store to the current schema first
        carenet(plain, "encrypt", "--out", str(encrypted), env=env)


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def main() -> int:
    if sys.argv[1:2] == ["--window-child"]:
        return window_child(sys.argv[2], float(sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=250_000)
    parser.add_argument("--db", type=Path, help="the plain store (built when missing)")
    parser.add_argument("--encrypted", type=Path, help="its encrypted copy (default: <db>-encrypted.db)")
    parser.add_argument("--period", default="2025")
    parser.add_argument("--warm", type=int, default=2, help="warm runs per store (the best counts)")
    parser.add_argument("--window", action="store_true", help="also time the window's start (cold and warm)")
    parser.add_argument("--only", choices=["plain", "encrypted"], help="time one store only")
    args = parser.parse_args()
    plain = args.db or ROOT / "benchmarks" / "data" / f"demo-{args.patients}.db"
    encrypted = args.encrypted or plain.with_name(f"{plain.stem}-encrypted.db")
    env = dict(os.environ)
    env.setdefault("CARENET_DB_PASSPHRASE", BENCH_PASSPHRASE)
    build(plain, encrypted, args.patients, env)
    evaluate = ["measures", "evaluate", "--period", args.period, "--measure", *MEASURES]
    figures: dict[str, dict[str, float]] = {}
    stores = [("plain", plain), ("encrypted", encrypted)]
    for name, db in stores if args.only is None else [s for s in stores if s[0] == args.only]:
        with tempfile.TemporaryDirectory(prefix="carenet-bench-") as cache:
            run_env = dict(env, XDG_CACHE_HOME=cache)
            if name == "plain":
                run_env.pop("CARENET_DB_PASSPHRASE", None)
            print(f"{name}: load {loadavg()}", flush=True)
            row: dict[str, float] = {}

            def timed(figure: str, seconds: float, row: dict[str, float] = row) -> None:
                row[figure + "_s"] = min(seconds, row.get(figure + "_s", seconds))
                row[figure + "_cpu"] = min(last_cpu[0], row.get(figure + "_cpu", last_cpu[0]))

            timed("cli_cold", carenet(db, *evaluate, env=run_env))
            for _ in range(max(1, args.warm)):  # the best of the runs, wall and CPU each
                timed("cli_warm", carenet(db, *evaluate, env=run_env))
            if args.window:  # a fresh cache folder: the first start reads the store
                with tempfile.TemporaryDirectory(prefix="carenet-bench-") as fresh:
                    timed("window_cold", window_start(db, dict(run_env, XDG_CACHE_HOME=fresh)))
                    timed("window_warm", window_start(db, dict(run_env, XDG_CACHE_HOME=fresh)))
            figures[name] = row
            print(f"{name}: " + ", ".join(f"{k[:-2].replace('_', ' ')} {v:.2f} s" if k.endswith("_s") else
                                          f"CPU {v:.2f} s" for k, v in row.items())
                  + f" (load after: {loadavg()})", flush=True)
    if len(figures) == 2:
        for figure in figures["plain"]:
            ratio = figures["encrypted"][figure] / figures["plain"][figure]
            what = figure[:-2].replace("_", " ") if figure.endswith("_s") else figure[:-4].replace("_", " ") + " CPU"
            print(f"{what}: plain {figures['plain'][figure]:.2f} s, encrypted "
                  f"{figures['encrypted'][figure]:.2f} s, ratio {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
