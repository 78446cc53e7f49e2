#!/usr/bin/env python3
"""Benchmark the care-gap outreach worklist (one row per child) on a demo network (issues 24 and 26).

    .venv/bin/python benchmarks/bench_worklist.py [--db benchmarks/data/demo-250000.db] [--patients 250000]

The worklist reads the scorecard's caches (``services/gap_source.py``): the results cache's rows and the
store's frames (let go once the network's gaps are found), by one ``GapSource`` as the care-gap page holds it. Prints, for the
practice with the most patients:

- cold: the first worklist with empty caches, as the care-gap page asks for it (the scorecard has not
  computed the period yet: only the practice is read and evaluated);
- the scorecard computing the period (the whole store read into frames, every measure evaluated over the
  network), then the window's background warm-up (``warm_worklist``: the store's frames snapshot read into
  memory, the network's gaps found, the patients' names, contacts and last visits read), then first: the
  worklist the user opens after it;
- warm: the same worklist again; switch: the second-largest practice; back: the largest again;
- restart: a new source over the caches on disk (a second start of the window or ``carenet gaps``);
- after an entry: one immunization recorded, the worklist again (journal replay);
- the from-scratch path (``fresh=True``: the practice read and evaluated) for comparison;

each with the number of children and gap rows, the machine's load and the peak memory. Works on a copy of
``--db`` with its own cache folders: opening the worklist writes audit rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carenet_desktop.metrics.period import Period  # noqa: E402
from carenet_desktop.models import Patient, Practice  # noqa: E402
from carenet_desktop.models.database import open_database  # noqa: E402
from carenet_desktop.services.context import ServiceContext  # noqa: E402
from carenet_desktop.services.entry import record_immunization  # noqa: E402
from carenet_desktop.services.gap_source import GapSource  # noqa: E402
from carenet_desktop.services.gaps import care_gaps  # noqa: E402
from carenet_desktop.services.results import ResultsCache  # noqa: E402
from carenet_desktop.services.valuesets import ensure_default_catalogue  # noqa: E402
from carenet_desktop.services.worklist import child_worklist, warm_worklist  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


def memory() -> str:
    """The process's resident memory now and its peak so far (Linux; blank elsewhere)."""
    try:
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        now, peak = (int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))
    except (OSError, KeyError, ValueError):
        return ""
    return f"  [rss {now:,.0f} MB, peak {peak:,.0f} MB]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=250_000)
    parser.add_argument("--practices", type=int, default=40)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    source = args.db or ROOT / "benchmarks" / "data" / f"demo-{args.patients}.db"
    if not source.exists():
        from carenet_desktop.demo import build_demo

        source.parent.mkdir(parents=True, exist_ok=True)
        db = open_database(source)
        build_demo(db, practices=args.practices, patients=args.patients, seed=2025, as_of=AS_OF)
        ensure_default_catalogue(ServiceContext(db))
        db.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bench.db"
        shutil.copy(source, copy)
        db = open_database(copy)
        ctx = ServiceContext(db, username="benchmark")
        with db.session() as s:
            sizes = s.execute(select(Practice.code, func.count(Patient.id)).join(Patient, Patient.practice_id == Practice.id)
                              .group_by(Practice.code).order_by(func.count(Patient.id).desc())).all()
        (largest, n1), (second, n2) = sizes[0], sizes[1]
        period = Period.year(AS_OF.year)
        folders = Path(tmp)

        def new_source() -> GapSource:  # as the care-gap page holds one
            return GapSource(ctx, ResultsCache(ctx, folders / "results", frames_folder=folders / "frames",
                                               in_process=True), compute_missing=False)

        def timed(label: str, code: str, n: int, source: GapSource | None) -> None:
            start = time.perf_counter()
            result = child_worklist(ctx, period, code, as_of=AS_OF, source=source, fresh=source is None)
            took = time.perf_counter() - start
            print(f"worklist {label:12s} {code} ({n:,} patients): {took:6.2f} s, {len(result.children):,} children, "
                  f"{len(result.gaps):,} gap rows  [load {os.getloadavg()[0]:.2f}]{memory()}", flush=True)

        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        source = new_source()
        timed("cold", largest, n1, source)
        start = time.perf_counter()
        source.cache.results(period)
        print(f"the scorecard computes {period.label} for the network: {time.perf_counter() - start:6.2f} s{memory()}",
              flush=True)
        start = time.perf_counter()
        warm_worklist(ctx, source, period, AS_OF)  # the window does this in the background after the scorecard
        print(f"background warm-up (the network's gaps, names, contacts, visits): {time.perf_counter() - start:6.2f} s"
              f"  [load {os.getloadavg()[0]:.2f}]{memory()}", flush=True)
        timed("first", largest, n1, source)
        timed("warm", largest, n1, source)
        timed("switch", second, n2, source)
        timed("back", largest, n1, source)
        source = new_source()
        timed("restart", largest, n1, source)
        timed("restart-sw", second, n2, source)
        with db.session() as s:
            child = s.scalar(select(Patient.id).join(Practice, Practice.id == Patient.practice_id)
                             .where(Practice.code == largest).order_by(Patient.id))
        entered = record_immunization(ctx, patient_id=child, date=AS_OF, cvx="03", today=AS_OF)
        assert entered.ok, entered.errors
        timed("after entry", largest, n1, source)
        timed("from scratch", largest, n1, None)
        start = time.perf_counter()
        table = care_gaps(ctx, period, largest, as_of=AS_OF, action=None, source=source)
        print(f"per-gap care_gaps {largest}: {time.perf_counter() - start:5.2f} s, {len(table):,} rows")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory {peak:,.0f} MB; load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
