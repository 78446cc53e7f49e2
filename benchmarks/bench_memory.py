#!/usr/bin/env python3
"""Memory of the desktop window and its compute workers on a demo network (issue 26: "<= 2 GB peak").

    .venv/bin/python benchmarks/bench_memory.py --db <a COPY of the demo store> [--interval 0.1]

It WRITES to ``--db`` (one immunization is recorded): give it a copy. The window runs in a child process,
offscreen, with a private cache folder (XDG_CACHE_HOME: the first start is cold) and its computes in worker
processes, as ``carenet gui`` runs them (``compute_pool.configure()``). It goes through these phases:

  start        process start to the scorecard on screen (cold: the store read into frames by a worker)
  sparklines   the scorecard's trend (12 rolling periods, computed by the workers)
  gaps-warm    the window's background warm-up of the care gaps (``CareGapsPage.warm``), until done
  gaps-open    the care-gap worklist page opened, to its first worklist
  gaps-switch  a practice switch there (the largest practice after the first one), to its worklist
  write        a one-row entry (an immunization, on the writer thread, as the data-entry page saves one),
               to the care-gap worklist refreshed after it
  recompute    back to the scorecard: its refresh after the write (and its sparklines), to done
  snapshot     the background update of the frames snapshot after the write (``snapshot_keeper``), to done
  close        the window closed, the workers stopped

Meanwhile the parent samples every ``--interval`` seconds, from /proc, the resident memory (VmRSS) and the
proportional set size (Pss, from smaps_rollup: shared pages, e.g. a mapped snapshot, counted once across
processes) of the window's process and of every process under it (the compute workers, multiprocessing's
resource tracker). It prints, per phase: the peak RSS of each process, the peak of the RSS sum and of the Pss
sum, the phase's length and /proc/loadavg at its end; then each process's own peak (VmHWM, which also
catches a peak between two samples).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHASES = ("start", "sparklines", "gaps-warm", "gaps-open", "gaps-switch", "write", "recompute", "snapshot", "close")


_TRIM: list[bool] = []  # --trim: at each phase's start, the window's freed memory handed back (a diagnosis)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _mark(phase: str) -> None:
    if _TRIM:
        import ctypes
        import gc

        before = _rss_mb()
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        print(f"TRIM {phase} {before:.0f} {_rss_mb():.0f}", flush=True)
    print(f"PHASE {phase}", flush=True)


def child(db: str, wait_s: float, trim: bool = False) -> int:  # noqa: C901 (one script of the window's path)
    """The window's side: drives each phase, printing ``PHASE <name>`` as it starts one."""
    if trim:
        _TRIM.append(True)
    _mark("start")
    import importlib

    importlib.import_module("carenet_desktop.cli")  # in the order ``carenet gui`` imports them
    from carenet_desktop.services import compute_pool

    compute_pool.configure()  # as cli.main does for ``carenet gui``
    from PySide6.QtCore import QEventLoop, QTimer
    from sqlalchemy import select

    from carenet_desktop.models import Patient, Practice
    from carenet_desktop.services import entry, frames_cache, snapshot_keeper
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.ui.app import create_application
    from carenet_desktop.ui.main_window import DEFAULT_SIZE, MainWindow
    from carenet_desktop.ui.pages.care_gaps import CareGapsPage
    from carenet_desktop.ui.pages.scorecards import ScorecardsPage
    from carenet_desktop.ui.session import Session
    from carenet_desktop.ui.startup import open_store_deferring_check

    app, _handler = create_application(headless=True)
    database, _deferred = open_store_deferring_check(db, headless=True)
    session = Session(ServiceContext(database, username="benchmark"))
    window = MainWindow(session, remember_state=False)
    window.resize(DEFAULT_SIZE)
    window.show()
    scorecard = window.pages[ScorecardsPage.page_id]
    gaps = window.pages[CareGapsPage.page_id]
    assert isinstance(scorecard, ScorecardsPage) and isinstance(gaps, CareGapsPage)
    out: dict[str, object] = {}

    def wait(signal: object, seconds: float = wait_s) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    def wait_until(done: object, seconds: float = wait_s) -> bool:
        end = time.monotonic() + seconds
        while not done() and time.monotonic() < end:  # type: ignore[operator]
            app.processEvents()
            time.sleep(0.05)
        return bool(done())  # type: ignore[operator]

    if scorecard.data is None:
        wait(scorecard.loaded)
    app.processEvents()
    out["scorecard_rows"] = scorecard.model.rowCount()
    _mark("sparklines")
    if scorecard.trend_table is None:
        wait(scorecard.trends_loaded)
    app.processEvents()
    _mark("gaps-warm")
    wait_until(lambda: gaps.warm_task is not None)
    if gaps.warm_task is not None and not gaps.warm_task.is_done:
        wait(gaps.warm_task.done)
    app.processEvents()
    _mark("gaps-open")
    window.show_page(CareGapsPage.page_id)
    wait(gaps.loaded)
    app.processEvents()
    out["gaps_children_first"] = len(gaps.result.table) if gaps.result is not None else None
    _mark("gaps-switch")
    ctx = session.ctx
    with ctx.db.session() as s:
        codes = [c for c, in s.execute(select(Practice.code).join(Patient, Patient.practice_id == Practice.id)
                                       .group_by(Practice.code).order_by(Practice.code))]
    current = gaps.practice_combo.currentData()
    other = next(c for c in codes if c != current)
    gaps.practice_combo.setCurrentIndex(gaps.practice_combo.findData(other))
    wait(gaps.loaded)
    app.processEvents()
    out["gaps_children_switch"] = len(gaps.result.table) if gaps.result is not None else None
    _mark("write")
    with ctx.db.session() as s:
        patient_id = s.scalar(select(Patient.id).join(Practice, Practice.id == Patient.practice_id)
                              .where(Practice.code == other, Patient.birth_date < dt.date(2025, 1, 1))
                              .order_by(Patient.id))
    today = dt.date.today()
    task = session.write(lambda _progress: entry.record_immunization(ctx, patient_id=patient_id, date=today,
                                                                   cvx="03", today=today), label="Saving the entry")
    wait(gaps.loaded)  # the worklist on screen refreshes after the write's notice
    app.processEvents()
    out["entry_ok"] = bool(getattr(task.result, "ok", False))
    _mark("recompute")
    window.show_page(ScorecardsPage.page_id)  # stale since the write: refreshes now
    if scorecard.loading() or scorecard.data is None:
        wait(scorecard.loaded)
    app.processEvents()
    if scorecard.trend_table is None:
        wait(scorecard.trends_loaded)
    app.processEvents()
    _mark("snapshot")
    folder = frames_cache.default_folder(ctx.db)
    out["snapshot_done"] = wait_until(lambda: folder not in snapshot_keeper._KEEPERS)
    settle(1.0)
    _mark("close")
    session.close()
    compute_pool.configure(0)
    print("RESULT " + json.dumps(out), flush=True)
    return 0


# --- the parent: sampling /proc ----------------------------------------------------------------------
def _status(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "PPid"):
                fields[key] = int(value.split()[0])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                fields["Pss"] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return fields


def _tree(root: int) -> list[int]:
    """``root`` and every process under it."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += frontier
    return found


def _kind(pid: int, root: int) -> str:
    if pid == root:
        return "window"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    if "resource_tracker" in cmd:
        return "resource-tracker"
    return "worker" if "spawn_main" in cmd or "multiprocessing" in cmd else "other"


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=False)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between two samples")
    parser.add_argument("--wait", type=float, default=1800, help="most seconds to wait for one phase")
    parser.add_argument("--trim", action="store_true",
                        help="diagnosis: at each phase's start the window collects garbage and hands freed heap back "
                             "(malloc_trim, glibc); prints its RSS before and after")
    parser.add_argument("--arena-max", type=int, default=None,
                        help="diagnosis: MALLOC_ARENA_MAX for the window and its workers (glibc; default: unset)")
    parser.add_argument("--samples", type=Path, default=None,
                        help="diagnosis: write every sample (unix time, process, RSS MB) to this file; with "
                             "CARENET_TIMELINE=<file> set, the window's steps can be laid beside it")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(str(args.db), args.wait, args.trim)
    if args.db is None or not args.db.exists():
        raise SystemExit("--db: a COPY of a demo store (this benchmark writes one row to it)")
    with tempfile.TemporaryDirectory(prefix="carenet-bench-memory-") as cache:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CACHE_HOME=cache)
        if args.arena_max is not None:
            env["MALLOC_ARENA_MAX"] = str(args.arena_max)
        print(f"loadavg before {_load()}", flush=True)
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, __file__, "--child", "--db", str(args.db), "--wait", str(args.wait),
                                 *(["--trim"] if args.trim else [])],
                                env=env, stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
        phase = ["(spawn)"]
        ends: dict[str, tuple[float, str]] = {}
        result: list[str] = []

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("PHASE "):
                    ends[phase[0]] = (time.monotonic() - started, _load())
                    phase[0] = line.split()[1]
                    print(f"  [{time.monotonic() - started:7.1f} s] {phase[0]} "
                          f"(loadavg {_load()})", flush=True)
                elif line.startswith("TRIM "):
                    _, name, before, after = line.split()
                    print(f"  window at the start of {name}: RSS {before} MB, {after} MB after gc + malloc_trim",
                          flush=True)
                elif line.startswith("RESULT "):
                    result.append(line[7:])

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        names: dict[int, str] = {}
        counts: dict[str, int] = defaultdict(int)
        peak: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))  # phase -> process -> MB
        hwm: dict[str, float] = {}
        order: list[str] = []
        tree: list[int] = []
        samples = 0
        trace = args.samples.open("w") if args.samples else None
        while proc.poll() is None:
            now = phase[0]
            if now not in order:
                order.append(now)
            if samples % 10 == 0:  # new processes (the workers) are rare: the process tree once a second
                tree = _tree(proc.pid)
            samples += 1
            rss_sum = pss_sum = 0.0
            for pid in tree:
                fields = _status(pid)
                if "VmRSS" not in fields:
                    continue
                if pid not in names:
                    kind = _kind(pid, proc.pid)
                    counts[kind] += 1
                    names[pid] = kind if kind == "window" else f"{kind}-{counts[kind]}"
                name = names[pid]
                rss = fields["VmRSS"] / 1024
                rss_sum += rss
                pss_sum += fields.get("Pss", fields["VmRSS"]) / 1024
                peak[now][name] = max(peak[now][name], rss)
                if trace is not None:
                    trace.write(f"{time.time():.2f}\t{now}\t{name}\t{rss:.0f}\n")
                hwm[name] = max(hwm.get(name, 0.0), fields.get("VmHWM", 0) / 1024)
            peak[now]["SUM rss"] = max(peak[now]["SUM rss"], rss_sum)
            peak[now]["SUM pss"] = max(peak[now]["SUM pss"], pss_sum)
            time.sleep(args.interval)
        reader.join(timeout=5)
        if trace is not None:
            trace.close()
        ends[phase[0]] = (time.monotonic() - started, _load())
        if proc.returncode != 0:
            raise SystemExit(f"the window's process failed (exit {proc.returncode})")
        columns = ["window", *sorted(n for n in hwm if n != "window"), "SUM rss", "SUM pss"]
        print(f"{'phase':<12} {'ends at':>8} " + " ".join(f"{c:>18}" for c in columns) + "   loadavg at end")
        for name in order:
            at, load = ends.get(name, (float("nan"), "?"))
            cells = " ".join(f"{peak[name][c]:>15,.0f} MB" if c in peak[name] else f"{'-':>18}" for c in columns)
            print(f"{name:<12} {at:>7.1f}s {cells}   {load}")
        print("peak over the run: " + "; ".join(
            f"{c} {max(peak[p].get(c, 0.0) for p in order):,.0f} MB" for c in columns))
        print("each process's own peak (VmHWM, last seen): " + "; ".join(f"{n} {v:,.0f} MB" for n, v in hwm.items()))
        print(f"child: {result[-1] if result else '(no result)'}")
        print(f"loadavg after {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
