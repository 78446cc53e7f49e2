#!/usr/bin/env python3
"""Benchmark the scorecard's trends (issue 26, item 3): the 12 rolling periods behind the sparklines.

    .venv/bin/python benchmarks/bench_trends.py --db demo-250k.db [--period 2025] [--workers 2] [--warm-only]

Cold: a private, empty cache folder (frames snapshot and results; ``--keep-snapshot``: results only): the first scorecard, then the trend
table (what the sparklines are drawn from), as the window asks for them. Warm: a new cache object over the
same folders (as a restart): the scorecard, then the trend table. Each figure is quoted with the load.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
from carenet_desktop.services.measure_detail import TrendTables, sparklines  # noqa: E402
from carenet_desktop.services.results import ResultsCache  # noqa: E402
from carenet_desktop.services.scorecard import ScorecardService  # noqa: E402


def load() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


def start(ctx: ServiceContext, cache_dir: Path, period: Period, label: str) -> None:
    t = time.perf_counter()
    service = ScorecardService(ctx, ResultsCache(ctx, cache_dir=cache_dir / "results"))
    table = service.network_table(period)
    scorecard = time.perf_counter() - t
    print(f"{label}: scorecard {scorecard:6.2f} s ({len(table)} rows)   loadavg {load()}", flush=True)
    trend = TrendTables(service).get(period)
    sparks = sparklines(trend, str(table["practice_code"].iloc[0]))
    total = time.perf_counter() - t
    print(f"{label}: sparklines {total:6.2f} s after the start ({total - scorecard:.2f} s for the trend; "
          f"{trend['period_end'].nunique()} periods, {len(sparks)} lines)   loadavg {load()}", flush=True)
    service.cache.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--period", default="2025")
    parser.add_argument("--workers", type=int, default=2, help="compute worker processes (0: in-process)")
    parser.add_argument("--cache", type=Path, help="keep the caches here (default: a private temporary folder)")
    parser.add_argument("--warm-only", action="store_true", help="only the warm start (needs --cache of a cold run)")
    parser.add_argument("--keep-snapshot", action="store_true",
                        help="with --cache: results computed anew, the frames snapshot of an earlier run kept")
    args = parser.parse_args()
    db = open_database(args.db)
    ctx = ServiceContext(db, username="benchmark")
    period = Period.parse(args.period)
    compute_pool.configure(args.workers)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cache_dir = args.cache or Path(tmp)
            if args.keep_snapshot and not args.warm_only:
                shutil.rmtree(cache_dir / "results", ignore_errors=True)
            os.environ["XDG_CACHE_HOME"] = str(cache_dir)  # a private frames snapshot: cold is cold
            if not args.warm_only:
                start(ctx, cache_dir, period, "cold")
            start(ctx, cache_dir, period, "warm")
    finally:
        compute_pool.shutdown()
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
