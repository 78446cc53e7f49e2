#!/usr/bin/env python3
"""What a compute worker spends on a trend's periods beyond the engine (issue 26): one worker job run in this
process, as ``compute_pool.run`` builds it for a trend (``save``: the job saves each period's results file and
keeps its practice summary), timed period by period, optionally under cProfile.

    .venv/bin/python benchmarks/profile_worker_job.py --db <copy of the store> [--period 2025] [--count 12]
        [--frames-folder DIR] [--profile out.prof] [--engine-only] [--digest] [--after-scorecard [--no-keep]]

The frames snapshot the job reads is made first in ``--frames-folder`` (kept between runs: a trend's jobs read
it, the store was read by the first scorecard's). The results files go to a fresh temporary folder.
``--engine-only``: the periods evaluated by ``engine.evaluate_periods`` alone over the same snapshot's frames
(nothing converted, summarised or saved): the difference is the worker's own cost. ``--digest``: a digest of
each saved results file's arrays (compare two branches' files). ``--after-scorecard``: the job follows the
first scorecard's (``--period``'s own, rows sent back) in the same "worker", as in the window: it takes the
frames that job kept (``services.worker_frames``), or with ``--no-keep`` loads them again; the trend is then
``--period``'s other rolling periods (a timed one-period job first, then the trend's). ``--spread N``: the trend's
job forks N copies of this process that claim its periods with it (``services.period_copies``, Linux only; the CPU
figure is this process's alone, the timeline's lines the copies'); this process then splits a lone period's measures
with a forked copy as a worker does (``services.split_evaluation``: the first scorecard's, the trend's held-back
one). Each figure is quoted with the load; prefer
the CPU seconds on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


def copies_cpu() -> float:
    """The CPU seconds of this process's children waited for so far (the forked copies, once reaped)."""
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def file_digest(path: Path) -> str:
    """A digest of the results file's arrays (name, dtype, shape, bytes): what it holds, not its zip bytes."""
    import numpy as np

    digest = hashlib.sha256()
    with np.load(path, allow_pickle=False) as z:
        for name in sorted(z.files):
            array = z[name]
            digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--period", default="2025")
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--frames-folder", type=Path, help="where the frames snapshot is made and kept")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the job here")
    parser.add_argument("--engine-only", action="store_true", help="the engine alone over the snapshot's frames")
    parser.add_argument("--digest", action="store_true", help="print a digest of each saved results file")
    parser.add_argument("--after-scorecard", action="store_true",
                        help="run the first scorecard's job first (the trend's job may take its frames)")
    parser.add_argument("--no-keep", action="store_true", help="workers keep no frames between jobs")
    parser.add_argument("--spread", type=int, default=0, help="forked copies claiming the trend's periods")
    args = parser.parse_args()

    from carenet_desktop.metrics.engine import evaluate_periods
    from carenet_desktop.metrics.period import Period
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services import compute_pool, worker_frames
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.frames_cache import load_measure_data_cached
    from carenet_desktop.services.measure_detail import trend_periods
    from carenet_desktop.services.results import ResultsCache

    db = open_database(args.db)
    ctx = ServiceContext(db, username="benchmark")
    frames_folder = args.frames_folder or Path(tempfile.mkdtemp(prefix="carenet-frames-"))
    frames_folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    data, served = load_measure_data_cached(db, frames_folder)  # the snapshot, made if missing
    print(f"snapshot {'found' if served else 'made'} in {time.perf_counter() - t:6.2f} s   loadavg {load()}", flush=True)
    del data
    periods = trend_periods(Period.parse(args.period), args.count)
    worker_frames.active = not args.no_keep  # this process stands for the worker
    if args.spread:  # as in a worker process (compute_pool._init_worker)
        from carenet_desktop.services import split_evaluation

        split_evaluation.enable()
    if args.after_scorecard:
        periods = [p for p in periods if p != Period.parse(args.period)]
    ids = tuple(m.id for m in ctx.catalogue.select(None))
    results = Path(tempfile.mkdtemp(prefix="carenet-results-"))
    timeline = results / "timeline.tsv"
    os.environ["CARENET_TIMELINE"] = str(timeline)
    profiler = cProfile.Profile() if args.profile else None
    t, cpu, forked = time.perf_counter(), time.process_time(), copies_cpu()
    if args.engine_only:
        from carenet_desktop.services.timeline import mark

        data, _ = load_measure_data_cached(db, frames_folder)
        mark("frames ready")
        if profiler:
            profiler.enable()
        for period, _run in evaluate_periods(data, periods, ctx.catalogue.select(ids)):
            mark(f"period {period.label} evaluated")
    else:
        cache = ResultsCache(ctx, frames_folder=frames_folder)
        job = compute_pool.Job(job_id=1, url=db.url.render_as_string(hide_password=False), key=None, cache_key=None,
                               derived_keys={}, frames_folder=str(frames_folder), periods=tuple(periods),
                               measure_ids=ids, cancel_file=str(results / "1.cancel"), catalogue=ctx.catalogue,
                               results_folder=str(results), spread=args.spread,
                               claims=str(results / "run") if args.spread else None)
        if args.after_scorecard:
            first = compute_pool.Job(job_id=0, url=job.url, key=None, cache_key=None, derived_keys={},
                                     frames_folder=job.frames_folder, periods=(Period.parse(args.period),),
                                     measure_ids=ids, cancel_file=str(results / "0.cancel"), catalogue=ctx.catalogue)
            spent = time.process_time()
            compute_pool._compute_job(first)
            print(f"first scorecard's job: {time.process_time() - spent:6.2f} s CPU", flush=True)
            t, cpu, forked = time.perf_counter(), time.process_time(), copies_cpu()
        if profiler:
            profiler.enable()
        entries = compute_pool._compute_job(job)
        assert len(entries) == len(periods)
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    wall, cpu, forked = time.perf_counter() - t, time.process_time() - cpu, copies_cpu() - forked
    previous: dict[str, float] = {}  # process -> its CPU at its last line
    lines = timeline.read_text().splitlines()
    start = float(lines[0].split("\t")[0]) if lines else 0.0
    for line in lines:
        when, pid, used, event = line.split("\t")
        if event == "frames ready" or event.endswith(" evaluated") or "kept" in event or "cop" in event or "held" in event:
            seconds = float(used)
            print(f"  {float(when) - start:6.2f} {pid:>7s} {event:48s} +{seconds - previous.get(pid, seconds):5.2f} s CPU")
            previous[pid] = seconds
    print(f"{len(periods)} periods ({'engine only' if args.engine_only else 'worker job'}): {wall:6.2f} s wall, "
          f"{cpu:6.2f} s CPU (+ {forked:5.2f} s its forked copies')   loadavg {load()}")
    if args.digest and not args.engine_only:
        cache = ResultsCache(ctx, frames_folder=frames_folder)
        cache.folder = results
        for period in periods:
            print(f"  {period.label}: {file_digest(cache._path(period, ids))}")
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
