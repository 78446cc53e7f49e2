#!/usr/bin/env python3
"""Benchmark the care-gap outreach worklist (one row per child) on a demo network (issue 24).

    .venv/bin/python benchmarks/bench_worklist.py [--db benchmarks/data/demo-250000.db] [--patients 250000]

Prints, for the practice with the most patients: the worklist opened the first time in this process
(cold: imports, value sets and measure code warmed up), then opened again (warm), then a switch to the
second-largest practice; each with the number of children and gap rows, and the per-gap worklist
(``care_gaps``) alone for comparison. Works on a copy of ``--db``: opening the worklist writes audit rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
from carenet_desktop.services.gaps import care_gaps  # noqa: E402
from carenet_desktop.services.valuesets import ensure_default_catalogue  # noqa: E402
from carenet_desktop.services.worklist import child_worklist  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


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
        for label, code, n in (("cold", largest, n1), ("warm", largest, n1), ("switch", second, n2)):
            start = time.perf_counter()
            result = child_worklist(ctx, period, code, as_of=AS_OF)
            took = time.perf_counter() - start
            print(f"worklist {label:6s} {code} ({n:,} patients): {took:5.2f} s, {len(result.children):,} children, "
                  f"{len(result.gaps):,} gap rows")
        start = time.perf_counter()
        table = care_gaps(ctx, period, largest, as_of=AS_OF, action=None)
        print(f"per-gap care_gaps {largest}: {time.perf_counter() - start:5.2f} s, {len(table):,} rows")
        db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
