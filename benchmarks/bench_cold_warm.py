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

``--after-write`` (it WRITES to ``--db``: give it a copy) measures the start after a write instead: a one-row
entry (the window's path) and a 1,000-row CSV import (``carenet import csv``). For each: the write itself,
the update of the frames snapshot that follows it (``snapshot_keeper.bring_current``, in a process of its
own: wall, CPU, and the resident memory before it and the peak during it), then the next ``measures evaluate`` from the cache folder as the
update left it ("after": warm) and from a copy of the folder taken before the write ("before": the old
snapshot patched from the journal at start). Both must print the same results, and so must a cold run of
the final store (empty cache folder).
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


def load_split(db_path: Path) -> tuple[float, float, dict[str, tuple[float, float, float]], float]:
    """Seconds reading the store into frames and writing the snapshot, in this process (cold folder); per
    table the CPU seconds of its SQL and of the timestamp, float and text parse (both in the reading threads, summed) and of
    its parsing in the caller's thread; and the caller's thread's whole CPU during the read (parsing,
    joining chunks, building frames: the read's longest path)."""
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services import frames_cache, sqlite_frames
    from carenet_desktop.services.sqlite_frames import SqliteReader

    spent = {"read": 0.0, "save": 0.0}
    tables: dict[str, list[float]] = {}
    fetch, take, parse_in_thread = SqliteReader._fetch, SqliteReader._take, sqlite_frames._parse_in_thread
    caller = [0.0]

    def timed_fetch(self, sql, start, stop):
        t = time.thread_time()
        try:
            return fetch(self, sql, start, stop)
        finally:
            tables.setdefault(sql.split('FROM "', 1)[1].split('"', 1)[0], [0.0, 0.0, 0.0])[0] += time.thread_time() - t

    def timed_parse_in_thread(plan, row):
        t = time.thread_time()
        try:
            return parse_in_thread(plan, row)
        finally:
            tables.setdefault(plan.table, [0.0, 0.0, 0.0])[2] += time.thread_time() - t

    def timed_take(self, plan, *args):
        t = time.thread_time()
        try:
            return take(self, plan, *args)
        finally:
            tables.setdefault(plan.table, [0.0, 0.0, 0.0])[1] += time.thread_time() - t

    SqliteReader._fetch = timed_fetch  # type: ignore[method-assign]
    SqliteReader._take = timed_take  # type: ignore[method-assign]
    sqlite_frames._parse_in_thread = timed_parse_in_thread  # type: ignore[assignment]

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            t, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t
                if name == "read":
                    caller[0] += time.thread_time() - cpu
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
    sqlite_frames._parse_in_thread = parse_in_thread  # type: ignore[assignment]
    return spent["read"], spent["save"], {t: (sql, parse, dates) for t, (sql, parse, dates) in tables.items()}, caller[0]


_UPDATE = """
import json, resource, sys, time, datetime as dt
from sqlalchemy import select
from carenet_desktop.models import Patient
from carenet_desktop.models.database import open_database
from carenet_desktop.services import entry, snapshot_keeper
from carenet_desktop.services.context import ServiceContext
db = open_database(sys.argv[1])
if sys.argv[2] == "held":  # as the window holds them (the care-gap worklist's frames), offered to the update
    from carenet_desktop.models.changes import store_state
    from carenet_desktop.services.frames_cache import load_measure_data_cached
    held, _ = load_measure_data_cached(db, patient_view=True)
    with db.session() as s:
        snapshot_keeper.offer(snapshot_keeper.default_folder(db), *store_state(s), held)
if sys.argv[2] in ("entry", "held"):
    ctx = ServiceContext(db, username="bench")
    with db.session() as s:
        patient = s.scalars(select(Patient.id).where(Patient.birth_date < dt.date(2024, 1, 1)).order_by(Patient.id)).first()
    t = time.perf_counter()
    assert entry.record_immunization(ctx, patient_id=patient, date=dt.date(2025, 3, 1), cvx="133", today=dt.date(2026, 6, 30)).ok
    wrote = time.perf_counter() - t
else:
    wrote = 0.0
def status(field):  # MB, from /proc/self/status (Linux)
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")
try:
    open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) from here on: the update's alone
except OSError:
    pass
rss0 = status("VmRSS")
cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t = time.perf_counter()
done = snapshot_keeper.bring_current(db)
print(json.dumps({"write": wrote, "done": done, "wall": time.perf_counter() - t, "rss_before": rss0,
                  "cpu": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu0,
                  "rss": status("VmHWM")}))
"""


def run_update(db_path: Path, what: str, cache: str) -> dict[str, float | str]:
    """The write (``entry``: one immunization) and the snapshot update after it, in a process of its own."""
    import json

    env = dict(os.environ, XDG_CACHE_HOME=cache)
    out = subprocess.run([sys.executable, "-c", _UPDATE, str(db_path), what], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def import_csv(db_path: Path, rows: int, folder: Path, cache: str) -> tuple[float, float, float]:
    """(wall, CPU, peak RSS MB) of ``carenet import csv`` of ``rows`` visits, one per patient of one practice."""
    import csv

    from sqlalchemy import func, select

    from carenet_desktop.models import Patient, Practice
    from carenet_desktop.models.database import open_database

    db = open_database(db_path)
    with db.session() as s:
        code = s.scalars(select(Practice.code).join(Patient).group_by(Practice.code)
                         .order_by(func.count().desc())).first()
        mrns = s.scalars(select(Patient.mrn).join(Practice).where(Practice.code == code,
                         Patient.birth_date < dt.date(2024, 1, 1)).order_by(Patient.id).limit(rows)).all()
    db.dispose()
    path = folder / "visits.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([("Patient MRN", "Visit Date", "CPT"), *[(m, "2025-04-02", "99392") for m in mrns]])
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    cmd = [sys.executable, "-m", "carenet_desktop", "import", "csv", str(path), "--kind", "encounters",
           "--practice", str(code), "--db", str(db_path), "--map", "mrn=Patient MRN", "--map", "date=Visit Date",
           "--map", "code=CPT"]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed:\n{err}")
    return time.perf_counter() - t, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def after_write(db_path: Path, period: str, rows: int) -> None:
    """The start after a one-row entry and after a ``rows``-row import: warm (the snapshot kept current at
    write time) against the old snapshot patched at start (see the module docstring)."""
    import shutil

    with tempfile.TemporaryDirectory(prefix="carenet-bench-after-") as tmp:
        work = Path(tmp)
        cache, before, empty = str(work / "cache"), str(work / "before"), str(work / "empty")
        os.makedirs(empty)
        seconds, cpu, rss, _ = run_cli(db_path, period, cache)
        print(f"first start (makes the snapshot)   {seconds:6.2f} s   CPU {cpu:6.2f} s   peak RSS {rss:6.0f} MB   "
              f"loadavg {loadavg()}", flush=True)
        outputs = []
        for what in ("entry", "import"):
            shutil.rmtree(before, ignore_errors=True)
            shutil.copytree(cache, before)  # the cache folder as it was before the write
            if what == "entry":
                update = run_update(db_path, "entry", cache)
                print(f"one-row entry: write {update['write']:.2f} s", flush=True)
            else:
                wall, cpu, rss = import_csv(db_path, rows, work, empty)  # no snapshot there: the import alone
                print(f"{rows:,}-row import (carenet import csv, without the update) {wall:6.2f} s   CPU {cpu:6.2f} s   "
                      f"peak RSS {rss:6.0f} MB", flush=True)
                update = run_update(db_path, "none", cache)
            print(f"  snapshot update after it ({update['done']})  {update['wall']:6.2f} s   CPU {update['cpu']:6.2f} s   "
                  f"peak RSS {update['rss_before']:.0f} -> {update['rss']:.0f} MB   loadavg {loadavg()}", flush=True)
            for label, folder in (("after  (warm)", cache), ("before (patch at start)", before)):
                seconds, cpu, rss, out = run_cli(db_path, period, folder)
                outputs.append(out)
                print(f"  next start {label:24s} {seconds:6.2f} s   CPU {cpu:6.2f} s   peak RSS {rss:6.0f} MB   "
                      f"loadavg {loadavg()}", flush=True)
            if outputs[-1] != outputs[-2]:
                print("WARNING: the warm start printed other results than the patched one")
        update = run_update(db_path, "held", cache)  # the window's case: it holds the frames already
        print(f"one-row entry in a process holding the frames: snapshot update ({update['done']})  {update['wall']:6.2f} s   "
              f"CPU {update['cpu']:6.2f} s   peak RSS {update['rss_before']:.0f} -> {update['rss']:.0f} MB   "
              f"loadavg {loadavg()}", flush=True)
        seconds, cpu, rss, out = run_cli(db_path, period, str(work / "cold"))
        print(f"cold start of the final store       {seconds:6.2f} s   CPU {cpu:6.2f} s   peak RSS {rss:6.0f} MB", flush=True)
        print("results equal a cold read: " + ("yes" if out == outputs[-2] else "NO"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=250_000)
    parser.add_argument("--practices", type=int, default=40)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--period", default="2025")
    parser.add_argument("--no-split", action="store_true", help="skip the in-process read/save split")
    parser.add_argument("--after-write", action="store_true",
                        help="the start after a one-row entry and an import (WRITES to --db: give a copy)")
    parser.add_argument("--import-rows", type=int, default=1000)
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
    if args.after_write:
        after_write(db_path, args.period, args.import_rows)
        print(f"loadavg after  {loadavg()}")
        return 0
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
        read, save, tables, caller = load_split(db_path)
        print(f"cold load split: read store -> frames {read:6.2f} s   write snapshot {save:6.2f} s")
        for table, (sql, parse, dates) in tables.items():
            print(f"  {table:<20} SQL {sql:5.2f} s CPU + timestamps/floats/text {dates:5.2f} s CPU (reading threads)   "
                  f"parse {parse:5.2f} s CPU")
        print(f"  {'all tables':<20} SQL {sum(v[0] for v in tables.values()):5.2f} s CPU + timestamps/floats/text "
              f"{sum(v[2] for v in tables.values()):5.2f} s CPU (reading threads)   "
              f"parse {sum(v[1] for v in tables.values()):5.2f} s CPU (caller's thread)")
        print(f"  caller's thread during the read (parse, joins, frames): {caller:5.2f} s CPU")
    print(f"loadavg after  {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
