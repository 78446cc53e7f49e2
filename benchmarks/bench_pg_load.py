#!/usr/bin/env python3
"""Benchmark the cold read of the store into frames: SQLite against PostgreSQL (issue 26, item 4).

    .venv/bin/python benchmarks/bench_pg_load.py [--patients 50000] [--pg-url postgresql+psycopg://...]
                                                 [--db benchmarks/data/demo-50000.db] [--rounds 1]

Builds the same demo network (seed 2025) into a SQLite file and into a PostgreSQL database
(``carenet_bench_<patients>``; both reused on later runs). Without ``--pg-url`` a throwaway server is started
(``scripts/pg_server.py``, as ``dev.py test`` does) and so the PostgreSQL build is not kept. Then each read
runs in a fresh process (no warm Python or pandas state; peak memory is that process's):

* ``sqlite``      the SQLite reader (group_concat columns, two threads)
* ``pg-copy``     PostgreSQL: COPY into typed columns, one REPEATABLE READ snapshot (``services/pg_frames.py``),
                  the tables read on three connections that share the snapshot
* ``pg-copy-serial``  the same on one connection, table after table
* ``pg-generic``  PostgreSQL through the driver's cursor, a Python object per value (the path before COPY)

and the frames snapshot's cold path (``load_measure_data_cached`` into an empty folder: read + save) for
SQLite and PostgreSQL. Prints seconds, the process's CPU seconds, the server's CPU seconds (its processes
on this machine) and peak MB per step, best of ``--rounds``.

Stop 21, 250,000 patients (the SQLite file: the bench copy of the 250k demo; PostgreSQL: the demo built with
seed 2025, 40 practices - 0.7% more rows than that older file), the machine loaded by other work (load 7-10),
so walls are only comparable side by side; each line a fresh process, run alternately:

    step                       wall    client cpu   server cpu   peak MB
    sqlite                   46-49 s     19-20 s          -      1,330-1,400
    pg-copy before (d39a7db) 48-50 s     14-15 s       10.7 s    1,100-1,110   (one connection; GIL held in waits)
    pg-copy after            27-28 s     10-11 s     10-11 s    1,118

Measured on the 2-core machine shared with other work (PostgreSQL 15 on the same machine, load average
3-6 during the runs, so the figures move by +-30% from run to run):

    patients  step           seconds  peak MB     (demo build: SQLite / PostgreSQL)
    50,000    sqlite            9.65      476     26 s / 32 s (182 s with batched INSERTs)
              pg-copy           7.28      354
              pg-generic       15.47      728
              sqlite-cached     9.69      479
              pg-cached         7.19      378
    250,000   sqlite           47.09    1,427     85 s / 154 s
              pg-copy          32.80    1,158
              pg-generic       84.18    2,329
              sqlite-cached    41.07    1,570
              pg-cached        42.12    1,428
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = ("sqlite", "pg-copy", "pg-copy-serial", "pg-generic", "sqlite-cached", "pg-cached")


def _server_cpu(db: object) -> float:
    """CPU seconds used so far by the server's processes (the postmaster's children, on this machine)."""
    from sqlalchemy import text

    with db.engine.connect() as conn:  # type: ignore[attr-defined]
        folder = conn.execute(text("SELECT setting FROM pg_settings WHERE name = 'data_directory'")).scalar_one()
    try:
        postmaster = int(Path(folder, "postmaster.pid").read_text().split()[0])
    except OSError:
        return float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:  # fields: state, ppid, ... utime (12), stime (13)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _build(url: str, patients: int, practices: int) -> None:
    from sqlalchemy import func, select

    from carenet_desktop.demo import build_demo
    from carenet_desktop.models import Practice
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.valuesets import ensure_default_catalogue

    db = open_database(url)
    try:
        with db.session() as s:
            if s.scalar(select(func.count()).select_from(Practice)):
                return
        print(f"building demo network ({patients:,} patients) at {db.url.render_as_string()} ...", flush=True)
        t = time.perf_counter()
        build_demo(db, practices=practices, patients=patients, seed=2025, as_of=dt.date(2026, 6, 30))
        ensure_default_catalogue(ServiceContext(db))
        print(f"  built in {time.perf_counter() - t:.1f} s", flush=True)
    finally:
        db.dispose()


def _one(step: str, url: str) -> dict[str, float]:
    """Run one step in this process; its seconds, peak MB and rows read."""
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services import measure_data, pg_frames
    from carenet_desktop.services.frames_cache import load_measure_data_cached

    db = open_database(url)
    server_before = _server_cpu(db) if step.startswith("pg") else 0.0
    if step == "pg-copy-serial":
        pg_frames.CONNECTIONS = 1  # the COPY read on one connection, table after table (before parallel COPY)
    if step == "pg-generic":
        pg_frames.read_table = measure_data._read_generic  # type: ignore[assignment]  # the path before COPY
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        if step.endswith("-cached"):
            data, _ = load_measure_data_cached(db, Path(folder))
        else:
            data = measure_data.load_measure_data(db, with_valuesets=False)
        seconds = time.perf_counter() - t
    rows = sum(len(f) for f in data.frames().values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    server = _server_cpu(db) - server_before if step.startswith("pg") else 0.0  # before the pool's backends exit
    db.dispose()
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "server_cpu": server,
            "peak_mb": usage.ru_maxrss / 1024, "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--practices", type=int, default=40)
    parser.add_argument("--db", type=Path, default=None, help="the SQLite demo file")
    parser.add_argument("--pg-url", default=None, help="a PostgreSQL server (its database carenet_bench_<n> is used)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--step", action="append", choices=STEPS, help="only these steps (default: all)")
    parser.add_argument("--one", nargs=2, metavar=("STEP", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(*args.one)))
        return 0
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = None
    if args.pg_url is None:
        sys.path.insert(0, str(ROOT / "scripts"))
        import pg_server

        server = pg_server.start()
        if server is None:
            sys.exit("PostgreSQL is not installed: give --pg-url")
        args.pg_url = server.url
    try:
        sqlite_path = args.db or ROOT / "benchmarks" / "data" / f"demo-{args.patients}.db"
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        _build(str(sqlite_path), args.patients, args.practices)
        base = make_url(args.pg_url)
        name = f"carenet_bench_{args.patients}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        pg_url = base.set(database=name).render_as_string(hide_password=False)
        _build(pg_url, args.patients, args.practices)
        with create_engine(pg_url).connect() as conn:  # fresh statistics, as a maintained server has
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        load = os.getloadavg()
        print(f"patients {args.patients:,}   cores {os.cpu_count()}   load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        for step in args.step or STEPS:
            url = pg_url if step.startswith("pg") else str(sqlite_path)
            best: dict[str, float] | None = None
            for _ in range(max(args.rounds, 1)):
                out = subprocess.run([sys.executable, __file__, "--one", step, url], check=True, capture_output=True,
                                     text=True, cwd=ROOT).stdout
                result = json.loads(out.strip().splitlines()[-1])
                if best is None or result["seconds"] < best["seconds"]:
                    best = result
            assert best is not None
            print(f"{step:<14} {best['seconds']:7.2f} s   cpu {best['cpu']:6.1f} s   server cpu {best['server_cpu']:5.1f} s   "
                  f"peak {best['peak_mb']:7.0f} MB   rows {int(best['rows']):,}   load {os.getloadavg()[0]:.2f}", flush=True)
        load = os.getloadavg()
        print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
