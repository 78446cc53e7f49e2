#!/usr/bin/env python3
"""Benchmark the measure engine on a demo network (issues 3 and 20).

    .venv/bin/python benchmarks/bench_measures.py [--patients 250000] [--db benchmarks/data/demo-250k.db]
                                                  [--period 2025 --period 2026] [--rounds 2]

Builds the demo network once (reused on later runs), then times loading the store and evaluating each
measure for each period (default 2025 and 2026: each by the version in force for it), ``--rounds`` times,
keeping each measure's best time. Prints patients, events, seconds per step, the version per measure,
the ratio of each period's total to the first one's, and the peak memory of the process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carenet_desktop.metrics.engine import evaluate_measures  # noqa: E402
from carenet_desktop.metrics.period import Period  # noqa: E402
from carenet_desktop.models import CLINICAL_EVENT_MODELS, Patient  # noqa: E402
from carenet_desktop.models.database import open_database  # noqa: E402
from carenet_desktop.services.catalogue_source import load_catalogue  # noqa: E402
from carenet_desktop.services.context import ServiceContext  # noqa: E402
from carenet_desktop.services.frames_cache import load_measure_data_cached  # noqa: E402
from carenet_desktop.services.valuesets import ensure_default_catalogue  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=250_000)
    parser.add_argument("--practices", type=int, default=40)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--period", action="append", help="periods to time (default: 2025 and 2026)")
    parser.add_argument("--rounds", type=int, default=2, help="evaluations per period; the best time counts")
    parser.add_argument("--same-data", default="2025",
                        help="also time the 2025 and the 2026 versions on this one period's data (logic cost alone: "
                             "the demo's data ends mid-2026, so a 2026 period has fewer events); '' to skip")
    parser.add_argument("--snapshot", type=Path, default=None,
                        help="keep the frames snapshot in this folder (a re-run skips the cold load)")
    parser.add_argument("--measure", action="append", help="only these measures (default: the ten eCQMs)")
    args = parser.parse_args()
    db_path = args.db or ROOT / "benchmarks" / "data" / f"demo-{args.patients}.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    if not db_path.exists():
        from carenet_desktop.demo import build_demo

        print(f"building demo network ({args.patients:,} patients) at {db_path} ...", flush=True)
        t = time.perf_counter()
        db = open_database(db_path)
        build_demo(db, practices=args.practices, patients=args.patients, seed=2025, as_of=dt.date(2026, 6, 30))
        db.dispose()
        print(f"  built in {time.perf_counter() - t:.1f} s", flush=True)
    db = open_database(db_path)
    ensure_default_catalogue(ServiceContext(db))
    with db.session() as s:
        patients = s.scalar(select(func.count()).select_from(Patient))
        events = sum(s.scalar(select(func.count()).select_from(m)) or 0 for m in CLINICAL_EVENT_MODELS)
    periods = [Period.parse(p) for p in (args.period or ["2025", "2026"])]
    ids = args.measure or [m.id for m in load_catalogue().all() if m.id.startswith("CMS")]
    measures = load_catalogue().select(ids)

    print(f"patients {patients:,}  events {events:,}  periods {', '.join(p.label for p in periods)}")
    with tempfile.TemporaryDirectory() as temporary:
        snap = args.snapshot or Path(temporary)
        t0 = time.perf_counter()
        data, cached = load_measure_data_cached(db, snap)  # reads SQLite, then saves the snapshot
        t_cold = time.perf_counter() - t0
        print(f"load SQLite -> frames      {t_cold:7.2f} s   peak {peak_mb():7.0f} MB   "
              + ("(snapshot kept from an earlier run)" if cached else
                 "(cold: the first load after a change, snapshot saved)"))
        del data
        t0 = time.perf_counter()
        data, cached = load_measure_data_cached(db, snap)
        t_load = time.perf_counter() - t0
        print(f"load snapshot -> frames    {t_load:7.2f} s   peak {peak_mb():7.0f} MB   (warm: data unchanged)")
    assert cached
    best: dict[tuple[Period, str], float] = {}
    lines: dict[tuple[Period, str], str] = {}
    for _ in range(max(args.rounds, 1)):
        for measure in measures:  # each measure for every period in turn: a busy machine slows both alike
            for period in periods:
                t = time.perf_counter()
                run = evaluate_measures(data, period, [measure])
                dt_s = time.perf_counter() - t
                key = (period, measure.id)
                best[key] = min(best.get(key, dt_s), dt_s)
                rows = run.rows
                denom = int(rows["denominator"].fillna(False).sum()) if len(rows) else 0
                numer = int(rows["numerator"].fillna(False).sum()) if len(rows) else 0
                note = f" FAILED: {run.failures[measure.id]}" if run.failures else ""
                lines[key] = (f"version {run.versions.get(measure.id, '-'):<8} denominator {denom:>8,}  "
                              f"numerator {numer:>8,}{note}")
    totals: dict[Period, float] = {}
    for period in periods:
        print(f"-- period {period.label}")
        totals[period] = sum(best[(period, m.id)] for m in measures)
        for measure in measures:
            print(f"{measure.id:<8} {best[(period, measure.id)]:7.2f} s   {lines[(period, measure.id)]}")
        print(f"evaluate {len(measures)} measures     {totals[period]:7.2f} s   (best of {args.rounds})")
    first = periods[0]
    for period in periods[1:]:
        ratio = totals[period] / totals[first] if totals[first] else float("nan")
        print(f"{period.label} / {first.label}                {ratio:7.3f}   ({(ratio - 1) * 100:+.1f}%)")
    if args.same_data:
        same = Period.parse(args.same_data)
        forced: dict[str, float] = {}
        for _ in range(max(args.rounds, 1)):
            for measure in measures:
                for year in ("2025", "2026"):
                    t = time.perf_counter()
                    evaluate_measures(data, same, [measure], versions={measure.id: year})
                    dt_s = time.perf_counter() - t
                    key = f"{measure.id} {year}"
                    forced[key] = min(forced.get(key, dt_s), dt_s)
        old = sum(forced[f"{m.id} 2025"] for m in measures)
        new = sum(forced[f"{m.id} 2026"] for m in measures)
        print(f"-- period {same.label}, each measure with its 2025 and its 2026 version (the same data)")
        for measure in measures:
            print(f"{measure.id:<8} 2025 version {forced[f'{measure.id} 2025']:6.2f} s   "
                  f"2026 version {forced[f'{measure.id} 2026']:6.2f} s")
        print(f"evaluate {len(measures)} measures     2025 versions {old:6.2f} s   2026 versions {new:6.2f} s   "
              f"ratio {new / old if old else float('nan'):.3f}")
    total = totals[periods[-1]]
    print(f"warm load + evaluate       {t_load + total:7.2f} s   peak {peak_mb():7.0f} MB")
    print(f"cold load + evaluate       {t_cold + total:7.2f} s")
    for label, seconds in (("evaluate only", total), ("cold load + evaluate", t_cold + total)):
        per = seconds / max(patients, 1) / max(len(measures), 1)
        print(f"per patient per measure    {per * 1e6:7.2f} µs  ({label}; fqm-execution: 31-182 ms -> "
              f"{0.031 / per:,.0f}x-{0.182 / per:,.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
