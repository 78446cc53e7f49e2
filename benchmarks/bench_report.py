#!/usr/bin/env python3
"""Benchmark the PDF reports on a 40-practice demo network (issue 7: network report in <= 15 s).

    .venv/bin/python benchmarks/bench_report.py [--practices 40] [--patients 40000] [--db FILE]

Builds the demo network once (kept in benchmarks/data/), then times, in a cache folder of its own: the
network report with the 12-month trend from cold (the store read into frames, then twelve rolling periods
computed, side by side in the worker processes), the same again warm (results cached), the report without
trends on a fresh results cache, and one practice's scorecard. Figures are printed as "compute" (the
measures and statistics) and "PDF" (laying out and writing the file). ``--processes 0`` computes in this
process, as before worker processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carenet_desktop.metrics.period import Period  # noqa: E402
from carenet_desktop.models.database import open_database  # noqa: E402
from carenet_desktop.services import compute_pool  # noqa: E402
from carenet_desktop.services.context import ServiceContext  # noqa: E402
from carenet_desktop.services.reports import network_pdf, scorecard_pdf  # noqa: E402
from carenet_desktop.services.results import ResultsCache  # noqa: E402
from carenet_desktop.services.scorecard import ScorecardService  # noqa: E402
from carenet_desktop.services.valuesets import ensure_default_catalogue  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--practices", type=int, default=40)
    parser.add_argument("--patients", type=int, default=40000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--processes", type=int, default=None,
                        help="compute worker processes (0: compute in this process; default: one per core, up to 4)")
    args = parser.parse_args()
    db_path = args.db or ROOT / "benchmarks" / "data" / f"demo-{args.practices}x{args.patients}.db"
    if not db_path.exists():
        from carenet_desktop.demo import build_demo

        db_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        db = open_database(db_path)
        build_demo(db, practices=args.practices, patients=args.patients, seed=40, as_of=dt.date(2026, 6, 30))
        ensure_default_catalogue(ServiceContext(db))
        db.dispose()
        print(f"built {db_path.name} in {time.perf_counter() - started:.1f} s")
    # a private cache folder: "cold" is a first compute (as after an import), not the last run's results
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="carenet-bench-cache-")
    compute_pool.configure(args.processes)
    print(f"compute worker processes: {args.processes if args.processes is not None else compute_pool.default_workers()}")
    db = open_database(db_path)
    ctx = ServiceContext(db, username="bench")
    period = Period.year(2025)
    out = Path(tempfile.mkdtemp(prefix="carenet-bench-report-"))
    service = ScorecardService(ctx)
    fresh = ScorecardService(ctx, ResultsCache(ctx, cache_dir=Path(tempfile.mkdtemp(prefix="carenet-bench-results-"))))
    for label, used, kwargs in (
            ("network report with 12-month trend (cold: store read, 12 periods computed)", service, {"trends": True}),
            ("network report with 12-month trend (warm)", service, {"trends": True}),
            ("network report, no trend (results cold, frames snapshot warm)", fresh, {"trends": False})):
        started = time.perf_counter()
        done = network_pdf(ctx, period, out / "network.pdf", service=used, **kwargs)
        total = time.perf_counter() - started
        print(f"{label}: {total:.2f} s total (compute {done.compute_seconds:.2f} s, PDF {done.render_seconds:.2f} s, "
              f"{done.pages} pages)")
    started = time.perf_counter()
    done = scorecard_pdf(ctx, "P001", period, out / "scorecard.pdf", service=service)
    print(f"practice scorecard with trends (warm): {time.perf_counter() - started:.2f} s "
          f"(compute {done.compute_seconds:.2f} s, PDF {done.render_seconds:.2f} s, {done.pages} pages)")
    compute_pool.shutdown()
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, largest worker "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB; files in {out}")
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
