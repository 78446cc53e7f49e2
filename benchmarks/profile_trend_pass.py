#!/usr/bin/env python3
"""Where the 12 rolling trend periods spend their time (issue 26, item 3): the whole catalogue evaluated over
one load of the store with ``engine.evaluate_periods``, timed per measure (summed over the periods) and
optionally under cProfile.

    .venv/bin/python benchmarks/profile_trend_pass.py --db demo-250k.db [--period 2025] [--count 12]
        [--measures CMS2,CMS117] [--profile out.prof [--steady]] [--frames /tmp/frames.pkl [--seed-codes]]

``--frames`` keeps the loaded frames in a pickle (read instead of the store when present): profiling runs
then skip the store's read. A pickle's frames come without the text columns' codes the store's reader hands
the engine on a cold load (``frames_cache``: ``seed_factorised``), so its first period factorises them
(~1 s on 250,000 patients); ``--seed-codes`` hands them over before the clock starts, as the app's cold
path does. Each period's line gives the measures' wall seconds and the evaluation's CPU seconds (prefer
them on a shared machine); each figure is quoted with the load.
"""

from __future__ import annotations

import argparse
import cProfile
import pickle
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carenet_desktop.metrics.data import MeasureData  # noqa: E402
from carenet_desktop.metrics.engine import evaluate_periods  # noqa: E402
from carenet_desktop.metrics.period import Period  # noqa: E402
from carenet_desktop.metrics.primitives import seed_factorised  # noqa: E402
from carenet_desktop.metrics.valuesets import MULTI_SEP  # noqa: E402
from carenet_desktop.services.measure_detail import trend_periods  # noqa: E402


def load() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


def seed_codes(data: MeasureData) -> int:
    """Factorise the text columns the store's reader factorises (all but the keys holding several codings)
    and hand the codes to ``data.memo`` (``primitives.seed_factorised``), as ``frames_cache`` does."""
    seeded = 0
    for frame in data.frames().values():
        for column in frame.columns:
            if not pd.api.types.is_string_dtype(frame[column].dtype):
                continue
            codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
            if any(MULTI_SEP in str(u) for u in uniques):
                continue  # further codings joined in: the reader's codes are not these
            seed_factorised(data.memo, frame, column, codes.astype(np.int32), uniques)
            seeded += 1
    return seeded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--period", default="2025")
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--measures", help="comma-separated measure ids (default: the whole catalogue)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the evaluation here")
    parser.add_argument("--steady", action="store_true",
                        help="profile from the second period on (what each further period costs)")
    parser.add_argument("--digest", action="store_true",
                        help="print a digest of each period's rows (compare two branches' answers)")
    parser.add_argument("--frames", type=Path, help="pickle of the loaded frames (made when missing)")
    parser.add_argument("--seed-codes", action="store_true",
                        help="with --frames: hand the engine the text columns' codes before timing, as the store's "
                             "reader does on a cold load (a pickle's frames come without them)")
    parser.add_argument("--split", action="store_true",
                        help="a lone period's measures shared out with a forked copy of the process, as the "
                             "worker processes do (metrics.split_evaluation; --count 1 only)")
    args = parser.parse_args()
    if args.split:
        from carenet_desktop.services import split_evaluation

        split_evaluation.enable()
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.measure_data import load_measure_data

    db = open_database(args.db)
    ctx = ServiceContext(db, username="benchmark")
    t = time.perf_counter()
    if args.frames and args.frames.exists():
        data = pickle.loads(args.frames.read_bytes())
    else:
        data = load_measure_data(db)
        if args.frames:
            args.frames.write_bytes(pickle.dumps(data, protocol=5))
    print(f"load {time.perf_counter() - t:6.2f} s   loadavg {load()}", flush=True)
    if args.seed_codes:
        t = time.perf_counter()
        print(f"seeded {seed_codes(data)} text columns' codes in {time.perf_counter() - t:5.2f} s", flush=True)
    measures = ctx.catalogue.select(args.measures.split(",") if args.measures else None)
    periods = trend_periods(Period.parse(args.period), args.count)
    per_measure: dict[str, float] = defaultdict(float)
    per_measure_cpu: dict[str, float] = defaultdict(float)  # CPU from one measure's start to the next one's
    started: list[tuple[str, float]] = []

    def on_measure(_: int, __: int, measure_id: str) -> None:
        now = time.process_time()
        if started:
            per_measure_cpu[started[0][0]] += now - started[0][1]
        started[:] = [(measure_id, now)]
    profiler = cProfile.Profile() if args.profile else None
    t, cpu = time.perf_counter(), time.process_time()
    if profiler and not args.steady:
        profiler.enable()
    period_cpu = time.process_time()
    for i, (period, run) in enumerate(evaluate_periods(data, periods, measures, on_measure)):
        spent = time.process_time() - period_cpu  # the evaluation's CPU only (not the digest below)
        if started:  # the period's last measure (with the rows' merge)
            per_measure_cpu[started[0][0]] += time.process_time() - started[0][1]
            started.clear()
        if profiler and args.steady and i == 0:
            profiler.enable()
        for measure_id, seconds in run.seconds.items():
            per_measure[measure_id] += seconds
        digest = ""
        if args.digest:
            hashed = pd.util.hash_pandas_object(run.rows, index=False).to_numpy()  # row order counts too
            digest = f", digest {int((hashed * (np.arange(len(hashed), dtype=np.uint64) | 1)).sum()):x}"
        print(f"  {period.label}: {sum(run.seconds.values()):6.2f} s ({spent:5.2f} s CPU), {len(run.rows)} rows{digest}"
              f"{', failures ' + str(run.failures) if run.failures else ''}", flush=True)
        period_cpu = time.process_time()
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"{len(periods)} periods: {wall:6.2f} s wall, {cpu:6.2f} s CPU   loadavg {load()}")
    if args.split:
        from carenet_desktop.services.split_evaluation import last_split

        forked = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"  split: {last_split}; the forked copy's CPU {forked.ru_utime + forked.ru_stime:.2f} s")
    print("  measure       wall s   CPU s (summed over the periods)")
    for measure_id, seconds in sorted(per_measure_cpu.items(), key=lambda kv: -kv[1]):
        print(f"  {measure_id:10s} {per_measure[measure_id]:7.2f} {seconds:7.2f}")
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
