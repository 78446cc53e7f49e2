"""A compute worker writes a cold load's frames snapshot from a forked child process at the lowest priority
(``services.snapshot_child``), not a thread: the job hands its results back before the write ends; the child
is waited for (``wait_for_saves``) and reaped; a load in another process waits for it and reads its snapshot;
the snapshot's content is the thread's (plain and sealed)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from carenet_desktop.metrics.period import Period
from carenet_desktop.services import compute_pool, frames_cache, snapshot_child, timeline, worker_frames
from carenet_desktop.services.cache_files import open_npz

PERIOD = Period.year(2025)
MEASURES = ("CMS117", "CMS155")
GUARD_S = 30.0  # a freeze guard only

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the child writer is Linux only")


@pytest.fixture
def child_writes(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """Child writes turned on, as in a worker; ``_write`` made to note its process and wait for a go file."""
    monkeypatch.delitem(sys.modules, "PySide6", raising=False)  # (a Qt test earlier in the session imported it)
    monkeypatch.setenv(timeline.ENV, str(tmp_path / "timeline.tsv"))
    snapshot_child.enable()
    notes = tmp_path / "notes"
    notes.mkdir()
    go = tmp_path / "go"
    write = frames_cache._write

    def noted_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        (notes / f"writer-{os.getpid()}").touch()
        deadline = time.monotonic() + GUARD_S
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        (notes / ("went" if go.exists() else "guard hit")).touch()
        time.sleep(0.3)  # the write still takes a moment after its go: a wait that does not wait is seen
        return write(*args, **kwargs)

    monkeypatch.setattr(frames_cache, "_write", noted_write)
    yield notes, go
    go.touch()
    frames_cache.wait_for_saves()
    snapshot_child.enable(False)


def _writers(notes: Path) -> list[int]:
    deadline = time.monotonic() + GUARD_S
    while not list(notes.glob("writer-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    return [int(p.name.split("-")[1]) for p in notes.glob("writer-*")]


def _job(ctx, tmp_path: Path) -> compute_pool.Job:  # type: ignore[no-untyped-def]
    return compute_pool.Job(job_id=1, url=ctx.db.url.render_as_string(hide_password=False), key=None,
                            cache_key=None, derived_keys={}, frames_folder=str(tmp_path / "frames"),
                            periods=(PERIOD,), measure_ids=MEASURES, cancel_file=str(tmp_path / "1.cancel"),
                            catalogue=ctx.catalogue)


def _marks(tmp_path: Path) -> list[str]:
    path = tmp_path / "timeline.tsv"
    return [line.split("\t", 3)[3] for line in path.read_text().splitlines()] if path.exists() else []


def test_a_worker_returns_its_results_while_a_child_process_writes_the_snapshot(demo_ctx, tmp_path, child_writes):
    notes, go = child_writes
    folder = tmp_path / "frames"
    [entry] = compute_pool._run_job(_job(demo_ctx, tmp_path))  # in this process, as a worker runs it
    assert len(entry.rows) > 0
    assert not (notes / "guard hit").exists()  # back before the write was let go (unfixed: after the guard)
    assert not list(folder.glob("v*.npz"))  # its snapshot not written yet
    [writer] = _writers(notes)
    assert writer != os.getpid()  # written by another process: a child of this one
    assert frames_cache._CHILDREN  # counted with the background writes
    assert all(t.daemon for t in frames_cache._CHILDREN)  # a worker's exit (pool shutdown) does not wait for it
    go.touch()
    frames_cache.wait_for_saves(folder)  # waits for the child
    [snapshot] = folder.glob("v*.npz")
    assert ".tmp" not in snapshot.name
    with pytest.raises(ChildProcessError):  # reaped: no zombie left
        os.waitpid(writer, os.WNOHANG)
    assert not frames_cache._CHILDREN
    data, served = frames_cache.load_measure_data_cached(demo_ctx.db, folder)
    assert served


def test_a_load_in_another_process_waits_for_the_child_and_reads_its_snapshot(demo_ctx, tmp_path, child_writes):
    notes, go = child_writes
    folder = tmp_path / "frames"
    compute_pool._run_job(_job(demo_ctx, tmp_path))
    assert not list(folder.glob("v*.npz"))
    loader = os.fork()
    if loader == 0:  # another worker's next job: its load of the same store
        code = 1
        try:
            demo_ctx.db.engine.dispose(close=False)
            frames_cache._SAVING.clear()  # (this process's writes are its parent's: not waited for here)
            _, served = frames_cache.load_measure_data_cached(demo_ctx.db, folder)
            code = 0 if served else 2
        finally:
            os._exit(code)
    try:
        deadline = time.monotonic() + GUARD_S
        while "load waits for the frames snapshot's writer process" not in _marks(tmp_path):
            assert time.monotonic() < deadline, "the other process's load did not wait for the writer"
            time.sleep(0.01)
        go.touch()
        _, status = os.waitpid(loader, 0)
    finally:
        go.touch()
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0  # served by the child's snapshot


def test_the_trend_s_copies_are_forked_while_the_child_writes(demo_ctx, tmp_path, child_writes, monkeypatch):
    """The worker no longer waits for the write before it forks the trend's copies: the writer is a process
    of its own (no thread of the worker is copied mid-write)."""
    from carenet_desktop.services import period_copies, split_evaluation

    if not period_copies.fits():
        pytest.skip("forks copies on Linux with two cores only")
    monkeypatch.setattr(worker_frames, "active", True)
    monkeypatch.setattr(split_evaluation, "MIN_PATIENTS", 0)
    notes, go = child_writes
    periods = (PERIOD, Period.year(2024), Period.year(2023))
    job = compute_pool.Job(job_id=2, url=demo_ctx.db.url.render_as_string(hide_password=False), key=None,
                           cache_key=None, derived_keys={}, frames_folder=str(tmp_path / "frames"),
                           periods=periods, measure_ids=MEASURES, cancel_file=str(tmp_path / "2.cancel"),
                           catalogue=demo_ctx.catalogue, results_folder=str(tmp_path / "r"),
                           claims=str(tmp_path / "run2"), spread=1)
    try:
        written = compute_pool._compute_job(job)
    finally:
        worker_frames.drop()
    assert sorted(w.period for w in written) == sorted(periods)
    assert "1 forked copies claim periods" in _marks(tmp_path)
    assert not (notes / "guard hit").exists()  # the copies were forked, the job done, before the write went
    assert not list((tmp_path / "frames").glob("v*.npz"))


@pytest.mark.parametrize("sealed", [False, True], ids=["plain", "sealed"])
def test_the_child_s_snapshot_holds_what_the_thread_s_holds(demo_ctx, tmp_path, child_writes, sealed):
    notes, go = child_writes
    go.touch()
    key = os.urandom(32) if sealed else None
    data, _ = frames_cache.load_measure_data_cached(demo_ctx.db, tmp_path / "first")
    frames_cache.wait_for_saves()
    for p in notes.iterdir():
        p.unlink()
    codes = frames_cache.held_codes(data)
    by_child, by_thread = tmp_path / "child" / "v1-x.npz", tmp_path / "thread" / "v1-x.npz"
    frames_cache._save_in_background(data.frames(), by_child, by_child.parent, key, codes)
    frames_cache.wait_for_saves()
    [writer] = _writers(notes)
    assert writer != os.getpid()
    snapshot_child.enable(False)
    frames_cache._save_in_background(data.frames(), by_thread, by_thread.parent, key, codes)
    frames_cache.wait_for_saves()
    if sealed:
        assert by_child.read_bytes()[:10] == by_thread.read_bytes()[:10] == b"CNDCACHE2\n"
    with open_npz(by_child, key) as a, open_npz(by_thread, key) as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            x, y = a[name], b[name]
            assert (x.dtype, x.shape, x.tobytes()) == (y.dtype, y.shape, y.tobytes()), name
    assert len(frames_cache._read(by_child, key).patients) == len(data.patients)


def test_a_child_that_gets_to_its_write_late_leaves_a_newer_snapshot_alone(demo_ctx, tmp_path, child_writes):
    """An orphan (its worker killed) or a starved child: a snapshot of a newer version on disk by the time it
    writes makes its own stale: it writes nothing."""
    notes, go = child_writes
    go.touch()
    data, _ = frames_cache.load_measure_data_cached(demo_ctx.db, tmp_path / "first")
    frames_cache.wait_for_saves()
    for p in notes.iterdir():
        p.unlink()
    folder = tmp_path / "late"
    folder.mkdir()
    newer = folder / "v9-x.npz"
    newer.write_bytes(b"a newer write")
    frames_cache._save_in_background(data.frames(), folder / "v8-x.npz", folder, None, {})
    frames_cache.wait_for_saves()
    assert sorted(p.name for p in folder.iterdir()) == ["v9-x.npz"] and newer.read_bytes() == b"a newer write"
    assert not list(notes.glob("writer-*"))
    frames_cache._save_in_background(data.frames(), folder / "v10-x.npz", folder, None, {})
    frames_cache.wait_for_saves()
    assert (folder / "v10-x.npz").exists()  # (a newer one is written)


def test_a_worker_process_turns_child_writes_on(monkeypatch):
    from carenet_desktop.services import split_evaluation

    monkeypatch.setattr(os, "nice", lambda _n: 0)  # (this process is not a worker: left as it is)
    monkeypatch.setattr(worker_frames, "active", worker_frames.active)
    monkeypatch.delitem(sys.modules, "PySide6", raising=False)
    try:
        compute_pool._init_worker(None)
        assert snapshot_child.enabled()
    finally:
        snapshot_child.enable(False)
        split_evaluation.enable(False)


def test_a_wait_in_this_process_for_a_writer_process_is_bounded(demo_ctx, tmp_path, child_writes, monkeypatch):
    """A writer at the lowest priority may get no CPU while other work holds the cores: a load here waits
    for it ``WAIT_S`` at most, then goes on (reads the store itself), the child left to finish."""
    notes, go = child_writes
    monkeypatch.setattr(snapshot_child, "WAIT_S", 0.5)
    folder = tmp_path / "frames"
    compute_pool._run_job(_job(demo_ctx, tmp_path))
    [writer] = _writers(notes)
    frames_cache.wait_for_saves(folder)  # unbounded: waits for the go file, i.e. the guard (then fails below)
    assert not (notes / "went").exists() and not (notes / "guard hit").exists()  # the child still waits
    snapshot_child.await_writers(folder)  # another process's wait: bounded too
    assert not (notes / "guard hit").exists()
    go.touch()
    frames_cache.wait_for_saves(folder)
    assert list(folder.glob("v*.npz"))


def test_a_write_cut_short_leaves_no_file_behind_once_the_next_snapshot_is_saved(tmp_path):
    """A writer killed mid-write (its ``finally`` never ran) leaves its temporary file, as large as a
    snapshot: the next save in the folder removes it; a write still running (its process alive) is kept."""
    from carenet_desktop.services.cache_files import remove_orphaned_writes

    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)  # a process that is gone
    folder = tmp_path / "frames"
    folder.mkdir()
    dead = folder / f"v3-abc.{pid}.0123456789ab.tmp.npz"
    alive = folder / f"v3-abc.{os.getppid()}.0123456789ab.tmp.npz"
    mine = folder / f"v3-abc.{os.getpid()}.0123456789ab.tmp.npz"
    for path in (dead, alive, mine):
        path.write_bytes(b"partial")
    frames_cache._save({}, folder / "v4-abc.npz", folder, None)
    assert not dead.exists()
    assert alive.exists() and mine.exists()
    assert (folder / "v4-abc.npz").exists()
    assert remove_orphaned_writes(folder) == 0
