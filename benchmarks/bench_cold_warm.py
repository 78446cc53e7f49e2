#!/usr/bin/env python3
"""Benchmark ``carenet measures evaluate`` of the ten eCQMs from a cold and from a warm cache (issue 26).

    .venv/bin/python benchmarks/bench_cold_warm.py [--patients 250000] [--db benchmarks/data/demo-250000.db]
                                                   [--period 2025] [--no-split]

Builds the demo network once (reused on later runs). Then, each in a fresh process (process start
included, as a user meets it), with a private empty cache folder (``XDG_CACHE_HOME``):

* cold: the first ``measures evaluate`` (reads the store, saves the frames snapshot);
* warm: the same command again (served from the snapshot).

Prints each run's wall seconds and peak RSS separately, then (unless ``--no-split``) the cold load split
in this process: reading the store into frames (per table: the CPU of its SQL and of its parsing), and
writing the snapshot. Quote ``/proc/loadavg`` (printed
before and after) beside the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ECQMS = ("CMS2", "CMS74", "CMS75", "CMS117", "CMS136", "CMS146", "CMS153", "CMS154", "CMS155", "CMS177")


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()
    except OSError:
        return "n/a"


def run_cli(db_path: Path, period: str, cache: str) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS in MB, stdout) of one ``measures evaluate`` in a fresh process
    (CPU seconds: user + system, less moved than wall time by other work on a shared machine)."""
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    cmd = [sys.executable, "-m", "carenet_desktop", "measures", "evaluate", "--db", str(db_path),
           "--period", period, "--measure", *ECQMS]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"measures evaluate failed ({proc.returncode}):\n{out}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def load_split(db_path: Path) -> tuple[float, float, dict[str, tuple[float, float]]]:
    """Seconds reading the store into frames and writing the snapshot, in this process (cold folder); and
    per table the CPU seconds of its SQL (the reading threads, summed) and of its parsing (one thread)."""
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services import frames_cache
    from carenet_desktop.services.sqlite_frames import SqliteReader

    spent = {"read": 0.0, "save": 0.0}
    tables: dict[str, list[float]] = {}
    fetch, take = SqliteReader._fetch, SqliteReader._take

    def timed_fetch(self, sql, start, stop):
        t = time.thread_time()
        try:
            return fetch(self, sql, start, stop)
        finally:
            tables.setdefault(sql.split('FROM "', 1)[1].split('"', 1)[0], [0.0, 0.0])[0] += time.thread_time() - t

    def timed_take(self, plan, *args):
        t = time.thread_time()
        try:
            return take(self, plan, *args)
        finally:
            tables.setdefault(plan.table, [0.0, 0.0])[1] += time.thread_time() - t

    SqliteReader._fetch = timed_fetch  # type: ignore[method-assign]
    SqliteReader._take = timed_take  # type: ignore[method-assign]

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t
        return wrapper

    frames_cache.load_measure_data_versioned = timed("read", frames_cache.load_measure_data_versioned)  # type: ignore[assignment]
    frames_cache._write = timed("save", frames_cache._write)  # type: ignore[assignment]
    db = open_database(db_path)
    with tempfile.TemporaryDirectory() as folder:
        frames_cache.load_measure_data_cached(db, Path(folder))
        wait = getattr(frames_cache, "wait_for_saves", None)
        if wait is not None:  # the snapshot may be written by a background thread
            wait()
    db.dispose()
    SqliteReader._fetch, SqliteReader._take = fetch, take  # type: ignore[method-assign]
    return spent["read"], spent["save"], {t: (sql, parse) for t, (sql, parse) in tables.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=250_000)
    parser.add_argument("--practices", type=int, default=40)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--period", default="2025")
    parser.add_argument("--no-split", action="store_true", help="skip the in-process read/save split")
    args = parser.parse_args()
    db_path = args.db or ROOT / "benchmarks" / "data" / f"demo-{args.patients}.db"
    if not db_path.exists():
        from carenet_desktop.demo import build_demo
        from carenet_desktop.models.database import open_database

        db_path.parent.mkdir(parents=True, exist_ok=True)
        print(f"building demo network ({args.patients:,} patients) at {db_path} ...", flush=True)
        db = open_database(db_path)
        build_demo(db, practices=args.practices, patients=args.patients, seed=2025, as_of=dt.date(2026, 6, 30))
        db.dispose()
    print(f"loadavg before {loadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="carenet-bench-cache-") as cache:
        cold, cold_cpu, cold_rss, cold_out = run_cli(db_path, args.period, cache)
        print(f"cold  measures evaluate (10 eCQMs)  {cold:6.2f} s   CPU {cold_cpu:6.2f} s   peak RSS {cold_rss:6.0f} MB",
              flush=True)
        warm, warm_cpu, warm_rss, warm_out = run_cli(db_path, args.period, cache)
        print(f"warm  measures evaluate (10 eCQMs)  {warm:6.2f} s   CPU {warm_cpu:6.2f} s   peak RSS {warm_rss:6.0f} MB",
              flush=True)
    if cold_out != warm_out:
        print("WARNING: the warm run printed other results than the cold one")
    if not args.no_split:
        read, save, tables = load_split(db_path)
        print(f"cold load split: read store -> frames {read:6.2f} s   write snapshot {save:6.2f} s")
        for table, (sql, parse) in tables.items():
            print(f"  {table:<20} SQL {sql:5.2f} s CPU (reading threads)   parse {parse:5.2f} s CPU")
        print(f"  {'all tables':<20} SQL {sum(v[0] for v in tables.values()):5.2f} s CPU (reading threads)   "
              f"parse {sum(v[1] for v in tables.values()):5.2f} s CPU (parsing thread; the reader's other steps "
              "not included)")
    print(f"loadavg after  {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
