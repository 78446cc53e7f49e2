"""Computes in worker processes: the same results as in-process, progress reported, cancellable, and a
worker that dies costs only speed (the compute is done in-process instead)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pandas as pd
import pytest

from carenet_desktop.metrics.period import Period, rolling_12_months
from carenet_desktop.services import compute_pool
from carenet_desktop.services.context import Cancelled, Progress
from carenet_desktop.services.results import ResultsCache

PERIOD = Period.year(2025)
MEASURES = ["CMS117", "CMS155", "LSC"]


@pytest.fixture
def pool():  # type: ignore[no-untyped-def]
    compute_pool.configure(2)
    yield
    compute_pool.configure(0)


def _sorted(rows: pd.DataFrame) -> pd.DataFrame:
    keys = ["measure", "group_index", "patient_id", "episode_id"]
    return rows.sort_values(keys, na_position="first").reset_index(drop=True).astype(str)


def test_a_worker_computes_what_this_process_would(demo_ctx, tmp_path, pool):
    here = ResultsCache(demo_ctx, cache_dir=tmp_path / "here", in_process=True).results(PERIOD, MEASURES)
    reports: list[tuple[float, str]] = []
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "there")
    there = cache.results(PERIOD, MEASURES, Progress(lambda f, m: reports.append((f, m))))
    assert compute_pool.active() is not None
    # the worker saved the results file and sent back its practice summary only: the rows came neither through
    # the pipe nor to this process's writer thread (which never started)
    assert callable(there._rows) and ("practice_id",) in there._summaries
    assert cache._path(PERIOD, there.measure_ids).exists() and cache._writer is None
    assert _sorted(there.rows).equals(_sorted(here.rows))  # read from the worker's file
    pd.testing.assert_frame_equal(there.summary(), here.summary(), check_dtype=False)
    messages = {m for _, m in reports}
    assert "Evaluating CMS117" in messages  # the worker's progress reached this process
    fractions = [f for f, _ in reports]
    assert max(fractions) == pytest.approx(1.0)


def test_a_worker_writes_no_results_file_the_cache_is_this_processs(demo_ctx, tmp_path, pool):
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "there")
    cache.on_disk = False  # this process keeps nothing on disk: then nobody may
    reports: list[str] = []
    served = cache.results(PERIOD, MEASURES, Progress(lambda f, m: reports.append(m)))
    assert "Evaluating CMS117" in reports  # computed by a worker
    assert len(served.rows) and not (tmp_path / "there").exists()
    cache.on_disk = True
    cache.precompute([Period.year(2024), Period.year(2023)], MEASURES)  # (2025 is in memory already)
    cache.flush()  # saved on the cache's writer thread
    assert len(list((tmp_path / "there").rglob("*.npz"))) == 2  # kept by this process


def test_precompute_shares_the_periods_out_and_results_then_only_reads_them(demo_ctx, tmp_path, pool):
    periods = rolling_12_months(PERIOD.end, 4)
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c")
    cache.precompute(periods, MEASURES)
    cache.flush()  # saved on the cache's writer thread
    assert all(cache._path(p, tuple(MEASURES)).exists() for p in periods)
    compute_pool.configure(0)  # no workers any more: nothing below may need one
    for p in periods:
        served = cache.results(p, MEASURES)
        assert callable(served._rows)  # from disk
        alone = ResultsCache(demo_ctx, cache_dir=tmp_path / f"alone{p.end}", in_process=True).results(p, MEASURES)
        pd.testing.assert_frame_equal(served.summary(), alone.summary(), check_dtype=False)


def test_cancelling_stops_the_workers_and_writes_no_results(demo_ctx, tmp_path, pool):
    progress = Progress()
    started = threading.Event()

    def on_report(fraction: float, message: str) -> None:
        started.set()
        progress.cancel()

    progress.callback = on_report
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c")
    with pytest.raises(Cancelled):
        cache.results(PERIOD, MEASURES, progress)
    assert started.is_set()
    assert not cache._path(PERIOD, tuple(MEASURES)).exists()
    # the pool still works after a cancel
    assert len(ResultsCache(demo_ctx, cache_dir=tmp_path / "c").results(PERIOD, MEASURES).rows) > 0


def test_a_worker_that_dies_costs_only_speed(demo_ctx, tmp_path, pool, monkeypatch):
    killed: list[int] = []

    def kill_a_worker(fraction: float, message: str) -> None:
        pool_now = compute_pool.active()
        if not killed and pool_now is not None and message.startswith("Evaluating"):
            pid = next(iter(pool_now._executor._processes))  # a worker process of the pool
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)

    rows = ResultsCache(demo_ctx, cache_dir=tmp_path / "c").results(PERIOD, MEASURES, Progress(kill_a_worker)).rows
    assert killed
    here = ResultsCache(demo_ctx, cache_dir=tmp_path / "here", in_process=True).results(PERIOD, MEASURES).rows
    assert _sorted(rows).equals(_sorted(here))
    assert compute_pool.active() is not None  # a fresh pool for the next compute
    assert len(ResultsCache(demo_ctx, cache_dir=tmp_path / "next").results(PERIOD, MEASURES).rows) == len(here)


def test_without_workers_everything_is_computed_here(demo_ctx, tmp_path):
    compute_pool.configure(0)
    assert compute_pool.active() is None
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c")
    cache.precompute([PERIOD], MEASURES)  # nothing to do without workers
    assert not cache._path(PERIOD, tuple(MEASURES)).exists()
    assert not callable(cache.results(PERIOD, MEASURES)._rows)  # computed in this process


def test_a_worker_killed_while_writing_progress_does_not_hang_this_process_at_exit(tmp_path):
    """A worker killed mid-write keeps the progress queue's write lock for ever. The window's process must
    still stop its pool and exit (CI once hung for its whole time limit at the test process's exit)."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent("""
        from carenet_desktop.services import compute_pool
        compute_pool.configure(1)
        pool = compute_pool.active()
        pool._queue._wlock.acquire()  # as a worker killed between taking the lock and releasing it
        compute_pool.shutdown()
        print("stopped", flush=True)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=str(Path(__file__).resolve().parents[2]))  # a freeze guard, not a timing
    assert done.returncode == 0, done.stderr
    assert "stopped" in done.stdout


def test_a_worker_for_an_encrypted_store_derives_no_key_and_seals_its_snapshot(demo_ctx, tmp_path, monkeypatch):
    """The job hands the worker the SQLCipher key its parent derived and the store's cache key: the worker
    derives neither, reads neither from the store, and the frames snapshot it writes is sealed with the
    store's key (the parent and the next start open it)."""
    from carenet_desktop import key_ahead
    from carenet_desktop.models import cache_secret
    from carenet_desktop.models.database import open_database
    from carenet_desktop.models.encryption import derived_keys, encrypt_copy
    from carenet_desktop.services import cache_files
    from carenet_desktop.services.cache_files import MAGIC, cache_key, open_npz
    from carenet_desktop.services.context import ServiceContext

    with demo_ctx.db.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    target = tmp_path / "encrypted.db"
    encrypt_copy(demo_ctx.db.path, target, "a long passphrase 42")
    db = open_database(target, key="a long passphrase 42")
    try:
        key = cache_key(db)
        ctx = ServiceContext(db)
        sent: list[compute_pool.Job] = []  # what run() hands the workers
        monkeypatch.setattr(compute_pool.ComputePool, "compute", lambda self, jobs, progress: sent.extend(jobs) or [])
        compute_pool.configure(1)
        try:
            compute_pool.run(ResultsCache(ctx, cache_dir=tmp_path / "r"), [PERIOD], tuple(MEASURES), Progress())
        finally:
            compute_pool.configure(0)
        assert [j.cache_key for j in sent] == [key] and sent[0].derived_keys == derived_keys()
        job = compute_pool.Job(job_id=1, url=db.url.render_as_string(hide_password=False), key=db.key,
                               cache_key=key, derived_keys=derived_keys(), frames_folder=str(tmp_path / "frames"),
                               periods=(PERIOD,), measure_ids=tuple(MEASURES),
                               cancel_file=str(tmp_path / "1.cancel"), catalogue=ctx.catalogue)
        handed = dict(job.derived_keys)
        assert handed and key is not None
        # the worker, a new process: nothing remembered, and any derivation or key look-up fails the test
        monkeypatch.setattr(key_ahead, "_DERIVED", {})
        monkeypatch.setattr(cache_files, "_KEYS", __import__("weakref").WeakKeyDictionary())
        monkeypatch.setattr(key_ahead.hashlib, "pbkdf2_hmac", lambda *a, **k: pytest.fail("derived a key"))
        monkeypatch.setattr(cache_secret, "ensure_cache_secret", lambda *a: pytest.fail("read the cache key"))
        [entry] = compute_pool._run_job(job)
        assert len(entry.rows) > 0
    finally:
        db.dispose()
    [snapshot] = (tmp_path / "frames").glob("*.npz")
    assert snapshot.read_bytes().startswith(MAGIC)
    with open_npz(snapshot, key) as z:
        assert "__schema__" in z.files


def test_a_worker_sends_each_periods_practice_summary_with_its_rows(demo_ctx, tmp_path, pool):
    """Summarised in the workers, side by side: the window does not summarise a trend's periods one by one."""
    from carenet_desktop.metrics.aggregate import summarize

    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c")
    periods = rolling_12_months(PERIOD.end, 2)
    entries = compute_pool.run(cache, periods, tuple(MEASURES), Progress())
    assert entries is not None and len(entries) == 2
    for entry in entries:
        assert ("practice_id",) in entry._summaries  # came with the rows, made by the worker
        pd.testing.assert_frame_equal(entry.summary(["practice_id"]), summarize(entry.rows, by=["practice_id"]))


def test_a_worker_hands_the_memory_of_its_compute_back_before_it_idles(demo_ctx, tmp_path, monkeypatch):
    """``_run_job`` as a worker runs it (here in this process): the heap is released once the compute's
    frames are gone, while the results are still to be sent."""
    from carenet_desktop.services import heap
    from carenet_desktop.services.frames_cache import default_folder

    db = demo_ctx.db
    events: list[str] = []
    monkeypatch.setattr(heap, "release", lambda: events.append("release"))
    compute = compute_pool._compute_job

    def computed(job):
        out = compute(job)
        events.append("computed")
        return out

    monkeypatch.setattr(compute_pool, "_compute_job", computed)
    job = compute_pool.Job(job_id=1, url=db.url.render_as_string(hide_password=False), key=None, cache_key=None,
                           derived_keys={}, frames_folder=str(default_folder(db)), periods=(PERIOD,),
                           measure_ids=tuple(MEASURES), cancel_file=str(tmp_path / "1.cancel"),
                           catalogue=demo_ctx.catalogue)
    entries = compute_pool._run_job(job)
    # (a whole-store read also hands its read's memory back, before the evaluation: frames_cache)
    assert events[-2:] == ["computed", "release"]
    assert len(entries) == 1 and len(entries[0].rows)
