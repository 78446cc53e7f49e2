#!/usr/bin/env python3
"""The cold read of the store into frames, as a compute worker makes it (issue 26): ``load_measure_data_cached``
from an empty snapshot folder (no snapshot written: ``--save`` to include the write's fork), timed and split.

    .venv/bin/python benchmarks/profile_cold_read.py --db <copy of the store> [--repeat 3] [--profile out.prof]
        [--split] [--frames-out frames.pkl]

Prints wall and CPU seconds (this process: every thread) with the load average; ``--split``: the CPU of
each table's chunk reads on the reading threads (SQL + parsing there), of the caller's thread per table
(joining the chunks, ``_shape``), and of the steps after the read (seeding the engine's codes, value sets).
``--frames-out``: pickle the frames (dtypes, values, order: compare two branches' with ``--compare``).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pickle
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


def compare(a: Path, b: Path) -> int:
    import pandas as pd

    left, right = pickle.loads(a.read_bytes()), pickle.loads(b.read_bytes())
    bad = 0
    for name in sorted(set(left) | set(right)):
        x, y = left.get(name), right.get(name)
        if x is None or y is None:
            print(f"{name}: missing on one side")
            bad += 1
            continue
        if list(x.columns) != list(y.columns) or list(x.dtypes.astype(str)) != list(y.dtypes.astype(str)):
            print(f"{name}: columns/dtypes differ {list(zip(x.columns, x.dtypes, strict=True))} vs {list(zip(y.columns, y.dtypes, strict=True))}")
            bad += 1
            continue
        try:
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        except AssertionError as exc:
            print(f"{name}: values differ: {exc}")
            bad += 1
            continue
        if not x.equals(y):
            print(f"{name}: equals() false")
            bad += 1
    print("frames identical" if not bad else f"{bad} frame(s) differ")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the (last) read here")
    parser.add_argument("--split", action="store_true", help="CPU per table and step")
    parser.add_argument("--save", action="store_true", help="write the snapshot too (as the worker does)")
    parser.add_argument("--frames-out", type=Path, help="pickle the frames here")
    parser.add_argument("--compare", type=Path, nargs=2, help="compare two pickles of frames")
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)

    from carenet_desktop.models.database import open_database
    from carenet_desktop.services import frames_cache, measure_data, sqlite_frames

    split: dict[str, float] = collections.defaultdict(float)
    if args.split:
        fetch = sqlite_frames.SqliteReader._fetch_parsed
        sql = sqlite_frames.SqliteReader._fetch
        parse = sqlite_frames._parse_in_thread
        take = sqlite_frames.SqliteReader._take
        finish = sqlite_frames.SqliteReader._finish
        shape = measure_data._shape
        seed = frames_cache.seed_factorised  # type: ignore[attr-defined]
        lock = threading.Lock()

        def timed(key: str, fn: Any, *a: Any, **k: Any) -> Any:
            t = time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                with lock:
                    split[key] += time.thread_time() - t

        sqlite_frames.SqliteReader._fetch_parsed = lambda self, plan, *a: timed(  # type: ignore[method-assign]
            f"threads  {plan.table}", fetch, self, plan, *a)
        sqlite_frames.SqliteReader._fetch = lambda self, text, *a: timed(  # type: ignore[method-assign]
            f"  sql    {text.split(' FROM ')[1].split()[0]}", sql, self, text, *a)
        sqlite_frames._parse_in_thread = lambda plan, row: timed(f"  parse  {plan.table}", parse, plan, row)
        sqlite_frames.SqliteReader._take = lambda self, plan, *a: timed(  # type: ignore[method-assign]
            f"main take {plan.table}", take, self, plan, *a)
        sqlite_frames.SqliteReader._finish = staticmethod(lambda plan, parts: timed(  # type: ignore[method-assign]
            f"main finish {plan.table}", finish, plan, parts))
        measure_data._shape = lambda name, *a: timed(f"main shape {name}", shape, name, *a)
        frames_cache.seed_factorised = lambda *a: timed("main seed_factorised", seed, *a)  # type: ignore[attr-defined]

    db = open_database(args.db)
    for i in range(args.repeat):
        split.clear()
        folder = Path(tempfile.mkdtemp(prefix="cold-read-"))
        if not args.save:
            frames_cache._WRITES_SNAPSHOTS = False
        profiler = cProfile.Profile(time.thread_time) if args.profile and i == args.repeat - 1 else None
        before = load()
        t0, c0, r0 = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_SELF)
        if profiler:
            profiler.enable()
        data, served = frames_cache.load_measure_data_cached(db, folder, save_in_background=True)
        if profiler:
            profiler.disable()
        wall, cpu, r1 = time.perf_counter() - t0, time.process_time() - c0, resource.getrusage(resource.RUSAGE_SELF)
        assert not served
        print(f"cold read {i + 1}: wall {wall:.2f} s, cpu {cpu:.2f} s (user {r1.ru_utime - r0.ru_utime:.2f}, "
              f"system {r1.ru_stime - r0.ru_stime:.2f}, minor faults {r1.ru_minflt - r0.ru_minflt}) "
              f"(load before {before}, after {load()})")
        if args.split:
            for key, value in sorted(split.items(), key=lambda kv: -kv[1]):
                print(f"   {value:6.2f}  {key}")
            print(f"   {sum(v for k, v in split.items() if k.startswith('threads')):6.2f}  threads total; "
                  f"{sum(v for k, v in split.items() if k.startswith('main')):6.2f}  main (timed steps)")
        if profiler:
            profiler.dump_stats(args.profile)
        if args.frames_out and i == args.repeat - 1:
            args.frames_out.write_bytes(pickle.dumps(data.frames(), protocol=5))
        del data
        frames_cache.wait_for_saves()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
