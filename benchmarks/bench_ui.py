#!/usr/bin/env python3
"""Benchmark the desktop window on a demo network (issue 6).

    .venv/bin/python benchmarks/bench_ui.py [--db demo-250k.db] [--patients 250000] [--starts 3]

Each start is a new process, timed from before it is spawned to the scorecard table on screen (Python and
Qt start-up, migrations check, reading the saved results; as in ``carenet gui``, the integrity check of a
file this large runs on a worker once the window is shown, and is measured here too): the first start of a fresh
results cache, then ``--starts`` ordinary starts; each start but the last also times the sparklines (the
trend table of the scorecard's period). The last start also times switching practice (every
practice once) and measures the event loop while the next year's scorecard is computed from scratch on a
worker: a 5 ms timer records the longest gap between two of its ticks.
The window is offscreen (QT_QPA_PLATFORM=offscreen); the results cache is private to this run.

``--cold-only``: only the first start, from an empty cache folder, to the scorecard, with the split of its
path as the window sees it (interpreter, imports, window shown, the compute's "Loading data", first
"Evaluating ..." = frames read, "Done", the table shown). ``--pool``: computes in worker processes, as
``carenet gui`` runs them (by default they run on a thread of the window's process, as in earlier figures).
``--cold-sparks``: only the first start, to the sparklines, then the timeline of its compute from the
scorecard to the sparklines (``services.timeline``: trend requested, jobs dispatched, each worker's frames
ready, each period evaluated, results back in the parent, saved, the trend table built, the sparklines
shown), each step with the process it ran in. The first start of every run records that timeline.
"""

from __future__ import annotations

import argparse
import compileall
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def child(db: str, started: float, interact: bool, cold_only: bool = False, pool: bool = False) -> int:
    """One start of the window; prints one JSON line."""
    phases = {"interpreter_s": time.time() - started}
    # in the order ``carenet gui`` imports them: its process imports the command-line package (the store,
    # the services, pandas) before ``gui_cmd`` imports Qt. Qt first would also be slower: once PySide6 is
    # imported, each module imported after it is checked by PySide6's import hook (its source is read).
    importlib.import_module("carenet_desktop.cli")
    if pool:  # as ``carenet gui`` does (cli.main): whole-store computes in worker processes
        from carenet_desktop.cli.gui_cmd import warm_up_workers
        from carenet_desktop.services import compute_pool

        compute_pool.configure()
        warm_up_workers(db)  # as ``gui_cmd.run`` does, before Qt is imported
    from PySide6.QtCore import QEventLoop, QTimer

    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.head_start import HeadStart
    from carenet_desktop.ui.app import create_application
    from carenet_desktop.ui.launch import start_first_scorecard_early, stop_head_start
    from carenet_desktop.ui.main_window import DEFAULT_SIZE, MainWindow
    from carenet_desktop.ui.pages.scorecards import ScorecardsPage
    from carenet_desktop.ui.session import Session
    from carenet_desktop.ui.startup import (
        CHECK_AFTER_START_MS,
        check_in_background,
        open_store_deferring_check,
    )

    phases["imports_s"] = time.time() - started
    phases["imports_cpu_s"] = time.process_time()
    marks: dict[str, float] = {}  # the compute's progress messages as the window receives them
    _on_progress = ScorecardsPage._on_load_progress

    def mark(message: str) -> None:
        step = ("load_started_s" if message.startswith("Loading") else "frames_read_s"
                if message.startswith("Evaluating") else "computed_s" if message == "Done" else None)
        if step is not None and step not in marks:
            marks[step] = time.time() - started

    def on_progress(self: ScorecardsPage, fraction: float, message: str) -> None:
        mark(message)
        _on_progress(self, fraction, message)

    ScorecardsPage._on_load_progress = on_progress  # type: ignore[method-assign]
    from carenet_desktop.services.timeline import mark as timeline_mark

    _load_trends, _on_trends = ScorecardsPage._load_trends, ScorecardsPage._on_trends

    def load_trends(self: ScorecardsPage, period: object) -> None:
        timeline_mark("trend requested")
        _load_trends(self, period)  # type: ignore[arg-type]

    def on_trends(self: ScorecardsPage, trends: object) -> None:
        _on_trends(self, trends)  # type: ignore[arg-type]
        timeline_mark("sparklines shown")

    ScorecardsPage._load_trends = load_trends  # type: ignore[method-assign]
    ScorecardsPage._on_trends = on_trends  # type: ignore[method-assign]
    # the compute started before the window was built reports here first (the page shows it once it joins)
    _forward = HeadStart._forward

    def forward(self: HeadStart, fraction: float, message: str) -> None:
        mark(message)
        _forward(self, fraction, message)

    HeadStart._forward = forward  # type: ignore[method-assign]
    app, _handler = create_application(headless=True)
    database, deferred = open_store_deferring_check(db, headless=True)
    session = Session(ServiceContext(database, username="benchmark"))
    head = start_first_scorecard_early(session, None, remember_state=False)  # as ``run_gui`` does
    window = MainWindow(session, remember_state=False)
    window.resize(DEFAULT_SIZE)
    window.show()
    phases["window_shown_s"] = time.time() - started
    phases["window_shown_cpu_s"] = time.process_time()
    shown = time.perf_counter()
    checks: list[object] = []
    if deferred is not None:  # as carenet gui does it
        QTimer.singleShot(CHECK_AFTER_START_MS, window, lambda: checks.append(
            check_in_background(session.tasks, deferred, window, on_restore=lambda _b: None)))
    page = window.pages[ScorecardsPage.page_id]
    assert isinstance(page, ScorecardsPage)

    def wait(signal: object, seconds: float = 900) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    if page.data is None:
        wait(page.loaded)
    app.processEvents()
    timeline_mark("scorecard shown")
    out: dict[str, object] = {"start_to_scorecard_s": time.time() - started,
                              "cpu_to_scorecard_s": time.process_time(),  # the window's process, all threads
                              "rows": page.model.rowCount(), **phases, **marks}
    if cold_only:
        print(json.dumps(out), flush=True)
        stop_head_start(head)
        session.close()
        if pool:
            compute_pool.configure(0)
        return 0
    if not interact:  # the sparklines: the trend table the page asks for once the scorecard is shown
        if page.trend_table is None:
            wait(page.trends_loaded)
        app.processEvents()
        out["start_to_sparklines_s"] = time.time() - started
        out["window_peak_rss_mb"] = _peak_rss_mb()
    if interact:
        switches = []
        for i in range(page.practice_combo.count()):
            t = time.perf_counter()
            page.practice_combo.setCurrentIndex(i)
            app.processEvents()
            switches.append((time.perf_counter() - t) * 1000)
        out["switch_ms_median"] = statistics.median(switches)
        out["switch_ms_max"] = max(switches)
        out["switches"] = len(switches)
        if page.trend_table is None:  # let the first sparklines finish: the measurement is of one compute
            wait(page.trends_loaded)
        gaps: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append((now - last[0]) * 1000)
            last[0] = now

        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(tick)
        timer.start()
        t = time.perf_counter()
        page.period_combo.setCurrentIndex(page.period_combo.currentIndex() + 1)  # a year not computed yet
        wait(page.loaded)
        out["compute_s"] = time.perf_counter() - t
        timer.stop()
        out["max_gap_ms"] = max(gaps) if gaps else None
        out["gaps_over_200ms"] = sum(g > 200 for g in gaps)
        out["ticks"] = len(gaps)
    if deferred is not None:
        while not checks:
            app.processEvents()
            time.sleep(0.05)
        check = checks[0]
        if not check.is_done:  # type: ignore[attr-defined]
            wait(check.done)  # type: ignore[attr-defined]
        out["check_after_start_s"] = time.perf_counter() - shown
    print(json.dumps(out), flush=True)
    stop_head_start(head)
    session.close()
    if pool:
        compute_pool.configure(0)
    return 0


def _load() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


def run_start(db: Path, env: dict[str, str], interact: bool, cold_only: bool = False,
              pool: bool = False, timeline: Path | None = None) -> dict[str, object]:
    """One start; with ``timeline``, the compute's steps are recorded there (``services.timeline``)."""
    if timeline is not None:
        env = dict(env, CARENET_TIMELINE=str(timeline))
    started = time.time()
    flags = (["--interact"] if interact else []) + (["--cold-only"] if cold_only else []) + (
        ["--pool"] if pool else [])
    result = subprocess.run([sys.executable, __file__, "--child", "--db", str(db), "--started", repr(started), *flags],
                            env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"the window did not start: {result.stderr.strip().splitlines()[-3:]}")
    out: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    out["started"] = started
    return out


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory so far (MB; POSIX only)."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _print_timeline(path: Path, started: float) -> None:
    """The recorded steps of the start's computes, in seconds since the start, each with the time since the
    step before, the process it ran in (the window's, or a worker's) and that process's CPU seconds since
    its step before (a shared machine stretches wall time; CPU time says what a step cost)."""
    if not path.exists():
        return
    lines = [line.split("\t", 3) for line in path.read_text().splitlines() if line.count("\t") == 3]
    events = sorted((float(t), int(pid), float(cpu), event) for t, pid, cpu, event in lines)
    window = next((pid for _t, pid, _c, event in events if event == "scorecard shown"), None)
    names: dict[int, str] = {}
    cpus: dict[int, float] = {}
    print("  timeline (s since start; +wall; process; +its CPU s):")
    last = None
    for t, pid, cpu, event in events:
        name = "window" if pid == window else names.setdefault(pid, f"worker {len(names) + 1}")
        at = t - started
        step = "" if last is None else f"(+{at - last:5.2f} s)"
        print(f"    {at:6.2f} {step:<12} {name:<9} cpu +{cpu - cpus.get(pid, 0.0):5.2f}  {event}")
        last, cpus[pid] = at, cpu


def _print_cold_split(start: dict[str, object]) -> None:
    """Where a start's time went, as the window saw it: its own start, then the compute's progress (a worker
    process starts and reads the store, evaluates the period) and the table shown."""
    steps = [("interpreter", "interpreter_s"), ("imports", "imports_s"), ("window shown", "window_shown_s"),
             ("compute started (worker up)", "load_started_s"), ("frames read", "frames_read_s"),
             ("measures evaluated", "computed_s"), ("scorecard shown", "start_to_scorecard_s")]
    last = 0.0
    for label, key in steps:
        if key in start:
            at = float(start[key])  # type: ignore[arg-type]
            print(f"  {label:<30} at {at:6.2f} s  (+{at - last:5.2f} s)")
            last = at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--patients", type=int, default=250_000)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--interact", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--cold-only", action="store_true",
                        help="only the first start from a cold cache folder, to the scorecard, with its split")
    parser.add_argument("--cold-sparks", action="store_true",
                        help="only the first start from a cold cache folder, to the sparklines, with its timeline")
    parser.add_argument("--pool", action="store_true",
                        help="computes in worker processes, as `carenet gui` runs them (default: in the window's process)")
    args = parser.parse_args()
    if args.child:
        return child(str(args.db), args.started, args.interact, args.cold_only, args.pool)
    db = args.db or ROOT / "benchmarks" / "data" / f"demo-{args.patients}.db"
    if not db.exists():
        print(f"Building the demo network ({args.patients:,} patients) at {db}…", flush=True)
        db.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "carenet_desktop", "demo", "--no-encryption", "--db", str(db), "--patients",
                        str(args.patients)], check=True)
    # bytecode, as an installed copy has it (an editable install under PYTHONDONTWRITEBYTECODE has none)
    compileall.compile_dir(str(ROOT / "carenet_desktop"), quiet=1)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CACHE_HOME=cache)
        if args.cold_only:
            print(f"loadavg before {_load()}", flush=True)
            timeline = Path(cache) / "timeline.tsv"
            cold = run_start(db, env, interact=False, cold_only=True, pool=args.pool, timeline=timeline)
            print(f"first start (cold cache folder): {cold['start_to_scorecard_s']:.2f} s to the scorecard   "
                  f"loadavg {_load()}")
            _print_cold_split(cold)
            _print_timeline(timeline, float(cold["started"]))  # type: ignore[arg-type]
            return 0
        timeline = Path(cache) / "timeline.tsv"
        print(f"loadavg before {_load()}", flush=True)
        first = run_start(db, env, interact=False, pool=args.pool, timeline=timeline)
        print(f"first start (fresh results cache): {first['start_to_scorecard_s']:.2f} s to the scorecard, "
              f"{first['start_to_sparklines_s']:.2f} s to the sparklines (window's peak memory "
              f"{first.get('window_peak_rss_mb') or 0:.0f} MB)   loadavg {_load()}")
        _print_cold_split(first)
        _print_timeline(timeline, float(first["started"]))  # type: ignore[arg-type]
        if args.cold_sparks:
            return 0
        starts = [run_start(db, env, interact=i == args.starts - 1, pool=args.pool) for i in range(args.starts)]
        times = [float(s["start_to_scorecard_s"]) for s in starts]  # type: ignore[arg-type]
        print(f"start to a usable scorecard: median {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s over {len(times)} starts ({starts[-1]['rows']} rows shown)   loadavg {_load()}")
        sparks = [float(s["start_to_sparklines_s"]) for s in starts if "start_to_sparklines_s" in s]  # type: ignore[arg-type]
        if sparks:
            print(f"start to the sparklines: median {statistics.median(sparks):.2f} s, max {max(sparks):.2f} s "
                  f"over {len(sparks)} starts")
        for phase in ("interpreter_s", "imports_s", "window_shown_s"):
            print(f"  {phase[:-2].replace('_', ' ')} done at median "
                  f"{statistics.median(float(s[phase]) for s in starts):.2f} s")  # type: ignore[arg-type]
        # CPU seconds of the window's process (all its threads): what a start costs, less stretched than wall
        # time by a busy machine
        cpu = {key: statistics.median(float(s[key]) for s in starts)  # type: ignore[arg-type]
               for key in ("imports_cpu_s", "window_shown_cpu_s", "cpu_to_scorecard_s")}
        print(f"  the window's CPU (median): imports {cpu['imports_cpu_s']:.2f} s, window shown "
              f"{cpu['window_shown_cpu_s']:.2f} s, scorecard {cpu['cpu_to_scorecard_s']:.2f} s")
        last = starts[-1]
        print(f"switching practice: median {last['switch_ms_median']:.1f} ms, max {last['switch_ms_max']:.1f} ms "
              f"({last['switches']} practices)")
        print(f"event loop while a year is computed ({last['compute_s']:.1f} s): longest gap "
              f"{last['max_gap_ms']:.0f} ms, {last['gaps_over_200ms']} gaps over 200 ms in {last['ticks']} ticks")
        if "check_after_start_s" in last:
            print(f"integrity check on a worker after start: done {last['check_after_start_s']:.1f} s after the "
                  "window was shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
