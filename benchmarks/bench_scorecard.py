#!/usr/bin/env python3
"""Benchmark scorecards on a demo network (issue 4).

    .venv/bin/python benchmarks/bench_scorecard.py [--patients 250000] [--db benchmarks/data/demo-250000.db]

Prints: the full catalogue for one year by practice with payer and race strata (cold, no cache); a
cached scorecard for one practice; the refresh after a one-record edit (one immunization deleted).
Uses a private results-cache folder so earlier runs do not make the cold figure look warm.
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

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carenet_desktop.metrics.period import Period  # noqa: E402
from carenet_desktop.models import Immunization  # noqa: E402
from carenet_desktop.models.database import open_database  # noqa: E402
from carenet_desktop.services.context import ServiceContext  # noqa: E402
from carenet_desktop.services.results import ResultsCache  # noqa: E402
from carenet_desktop.services.scorecard import ScorecardService  # noqa: E402
from carenet_desktop.services.valuesets import ensure_default_catalogue  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=250_000)
    parser.add_argument("--practices", type=int, default=40)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--period", default="2025")
    parser.add_argument("--rounds", type=int, default=3, help="one-record edits timed (default 3)")
    args = parser.parse_args()
    db_path = args.db or ROOT / "benchmarks" / "data" / f"demo-{args.patients}.db"
    if not db_path.exists():
        from carenet_desktop.demo import build_demo

        db_path.parent.mkdir(parents=True, exist_ok=True)
        db = open_database(db_path)
        build_demo(db, practices=args.practices, patients=args.patients, seed=2025, as_of=dt.date(2026, 6, 30))
        db.dispose()
    db = open_database(db_path)
    ctx = ServiceContext(db, username="benchmark")
    ensure_default_catalogue(ctx)
    period = Period.parse(args.period)
    with tempfile.TemporaryDirectory() as cache_dir:
        os.environ["XDG_CACHE_HOME"] = cache_dir  # a private frames snapshot: the first run is truly cold
        for label in ("cold: store read, snapshot taken", "warm: frames from the snapshot"):
            results_dir = Path(tempfile.mkdtemp(dir=cache_dir))  # results always computed anew
            service = ScorecardService(ctx, ResultsCache(ctx, cache_dir=results_dir))
            t = time.perf_counter()
            table = service.network_table(period)
            payer = service.strata(period, "payer")
            race = service.strata(period, "race")
            seconds = time.perf_counter() - t
            print(f"full catalogue ({table['measure'].nunique()} measures), {table['practice_code'].nunique()} "
                  f"practices, payer + race strata: {seconds:6.2f} s ({label}; {len(payer) + len(race)} "
                  f"stratum rows)   peak {peak_mb():.0f} MB")
        code = str(table["practice_code"].iloc[0])
        t = time.perf_counter()
        card = service.practice_scorecard(code, period)
        print(f"cached scorecard for {code} ({len(card)} rows): {(time.perf_counter() - t) * 1000:6.1f} ms")
        for round_ in range(args.rounds):  # each round: one immunization deleted, the scorecard asked again
            with db.session() as s:
                imm = s.scalars(select(Immunization).order_by(Immunization.id.desc()).limit(1)).one()
                s.delete(imm)
            t, cpu = time.perf_counter(), time.thread_time()
            service.practice_scorecard(code, period)
            refresh, refresh_cpu = time.perf_counter() - t, time.thread_time() - cpu
            # wall time on a shared machine, and the CPU this thread spent (what the load does not inflate)
            print(f"refresh after a one-record edit: {refresh * 1000:6.0f} ms ({refresh_cpu * 1000:.0f} ms CPU of "
                  f"the thread; round {round_ + 1}; loadavg {os.getloadavg()[0]:.2f})   "
                  f"peak {peak_mb():.0f} MB")
            with db.session() as s:  # put the record back
                s.add(Immunization(**{c.key: getattr(imm, c.key) for c in Immunization.__table__.columns}))
            service.practice_scorecard(code, period)  # and refreshed, so the next round is one edit again
            service.cache.flush()  # its file saved, as between two edits in the window: rounds are alike
    return 0


if __name__ == "__main__":
    sys.exit(main())
