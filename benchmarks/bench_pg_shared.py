#!/usr/bin/env python3
"""Benchmark shared results on PostgreSQL: one workstation computes, the next opens the scorecard (issue 26).

    .venv/bin/python benchmarks/bench_pg_shared.py [--patients 50000] [--pg-url postgresql+psycopg://...]
                                                   [--period 2025] [--measures CMS117,CMS155]

Builds the demo network (seed 2025) into a PostgreSQL database ``carenet_bench_<patients>`` (as
``bench_pg_load.py`` does; reused when ``--pg-url`` names a kept server, else a throwaway server is
started). The shared results of the store are emptied, then each step runs in a fresh process (process
start not counted; opening the store is), with private cache folders (nothing on this disk helps):

* ``first``   the first workstation: the network scorecard of every measure (default) for the period,
              computed (read the store by COPY, evaluate) and stored in the database for the others
* ``second``  another workstation: the same scorecard, read from the shared results
* ``rows``    that workstation asks for the patient-level rows as well (strata, the worklist's rows)
* ``refresh`` after a write (one child's immunizations deleted): the next workstation brings the stored
              results up to date from the journal (reads that child's records) and stores them

Prints seconds, peak MB of the process, and the rows the server read from the patient tables during the
step (``pg_stat_user_tables``: sequential plus index tuples, once the step's connections closed).

Measured on the 2-core machine shared with other work (PostgreSQL 15 on the same machine, load average
8-9 during the runs; the full catalogue, 2025; nothing written to the workstation's disk in any step):

    patients  step      seconds  peak MB  patient rows read   (stored: summary ~80 kB, rows per entry)
    50,000    first       16.52      361         1,708,250     rows 7.4 MB
              second       0.87      130                 0
              rows         1.22      172                 0     272,284 result rows
              refresh      3.56      234                48
    250,000   first       73.58    1,257         8,568,138     rows 36.9 MB
              second       0.89      130                 0
              rows         2.48      340                 0     1,364,700 result rows
              refresh      7.71      618                35
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(ROOT / "benchmarks"))

STEPS = ("first", "second", "rows", "refresh")


def _patient_tables() -> list[str]:
    from carenet_desktop.models import Base

    return sorted(n for n, t in Base.metadata.tables.items()
                  if n in ("patient", "encounter_diagnosis") or ("patient_id" in t.columns and n != "data_change"))


def _tuples_read(url: str) -> int:
    """Rows read from the patient tables so far, once no other connection is open on the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for _ in range(100):
                if not conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND pid <> pg_backend_pid()")).scalar_one():
                    break
                time.sleep(0.1)
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return int(conn.execute(text(
                "SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0) "
                "FROM pg_stat_user_tables WHERE relname = ANY(:n)"), {"n": _patient_tables()}).scalar_one())
    finally:
        engine.dispose()


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM (Linux keeps ``ru_maxrss`` across fork and exec, so a step
    started by the process that built the demo would report the build's peak)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one(step: str, url: str, period_text: str, measures: str) -> dict[str, float]:
    from carenet_desktop.metrics.period import Period
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.results import ResultsCache
    from carenet_desktop.services.scorecard import ScorecardService

    ids = measures.split(",") if measures else None
    period = Period.parse(period_text)
    with tempfile.TemporaryDirectory() as folder:
        t = time.perf_counter()
        db = open_database(url)
        ctx = ServiceContext(db, username="benchmark")
        cache = ResultsCache(ctx, cache_dir=Path(folder) / "results", frames_folder=Path(folder) / "frames")
        assert cache.shared is not None
        table = ScorecardService(ctx, cache).network_table(period, ids)
        if step == "rows":
            rows = len(cache.results(period, ids).rows)
        seconds = time.perf_counter() - t
        files = sum(1 for p in Path(folder).rglob("*") if p.is_file())
    db.dispose()
    out = {"seconds": seconds, "peak_mb": _peak_mb(),
           "table_rows": len(table), "files_on_disk": files}
    if step == "rows":
        out["result_rows"] = rows
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--practices", type=int, default=40)
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--period", default="2025")
    parser.add_argument("--measures", default="", help="comma-separated measure ids (default: every measure)")
    parser.add_argument("--one", nargs=4, metavar=("STEP", "URL", "PERIOD", "MEASURES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_one(*args.one)))
        return 0
    from bench_pg_load import _build
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
        base = make_url(args.pg_url)
        name = f"carenet_bench_{args.patients}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        pg_url = base.set(database=name).render_as_string(hide_password=False)
        _build(pg_url, args.patients, args.practices)
        engine = create_engine(pg_url)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM shared_result"))
            conn.execute(text("DELETE FROM result_lease"))
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        engine.dispose()
        print(f"patients {args.patients:,}   cores {os.cpu_count()}   load average {_load()}")
        for step in STEPS:
            if step == "refresh":
                _write_one(pg_url)
            before = _tuples_read(pg_url)
            out = subprocess.run([sys.executable, __file__, "--one", step, pg_url, args.period, args.measures],
                                 check=True, capture_output=True, text=True, cwd=ROOT).stdout
            result = json.loads(out.strip().splitlines()[-1])
            read = _tuples_read(pg_url) - before
            extra = f"   result rows {int(result['result_rows']):,}" if "result_rows" in result else ""
            print(f"{step:<7} {result['seconds']:7.2f} s   peak {result['peak_mb']:6.0f} MB   patient rows read "
                  f"{read:,}   scorecard rows {int(result['table_rows']):,}   files on disk "
                  f"{int(result['files_on_disk'])}{extra}   load {_load()}", flush=True)
        with create_engine(pg_url).connect() as conn:
            size = conn.execute(text("SELECT count(*), coalesce(sum(length(summary_data)), 0), "
                                     "coalesce(sum(length(row_data)), 0) FROM shared_result")).one()
        print(f"shared results stored: {size[0]} entries, summaries {size[1] / 1e3:.1f} kB, rows {size[2] / 1e6:.1f} MB")
    finally:
        if server is not None:
            server.stop()
    return 0


def _write_one(url: str) -> None:
    """A one-record edit, as a user's: one child's immunizations deleted (the journal names the child)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM immunization WHERE patient_id = (SELECT min(patient_id) FROM immunization)"))
    engine.dispose()


def _load() -> str:
    """The machine's load average (1, 5, 15 minutes): the machine is shared, quote it beside every figure."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
