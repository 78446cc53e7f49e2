"""The window's update of the frames snapshot after a write runs in a compute worker when the window holds
no frames to patch (``snapshot_elsewhere``): the whole snapshot is read there, not in the window (issue 26:
the window's peak memory), and the next start still reads a snapshot equal to a from-scratch read."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from carenet_desktop.models import Patient
from carenet_desktop.models.changes import current_version
from carenet_desktop.services import compute_pool, entry, frames_cache, snapshot_keeper
from tests.services.test_snapshot_keeper import _assert_from_scratch, _start_warm


def _write(demo_ctx) -> int:  # type: ignore[no-untyped-def]
    with demo_ctx.db.session() as s:
        patient_id = s.scalars(select(Patient.id).where(Patient.birth_date < dt.date(2025, 1, 1)).order_by(Patient.id)).first()
    done = entry.record_immunization(demo_ctx, patient_id=patient_id, date=dt.date(2025, 3, 1), cvx="133",
                                     today=dt.date(2026, 6, 30))
    assert done.ok
    with demo_ctx.db.session() as s:
        return current_version(s)


@pytest.mark.parametrize("workers", [1, 0], ids=["in a worker", "no workers"])
def test_the_windows_snapshot_update_reads_the_snapshot_in_a_worker(demo_ctx, tmp_path, monkeypatch, workers):  # type: ignore[no-untyped-def]
    folder = tmp_path / "frames"
    frames_cache.load_measure_data_cached(demo_ctx.db, folder)  # an earlier start's snapshot
    frames_cache.wait_for_saves()
    version = _write(demo_ctx)
    reads: list[str] = []
    real = frames_cache.load_measure_data_cached

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        reads.append("here")
        return real(*args, **kwargs)

    monkeypatch.setattr(snapshot_keeper, "load_measure_data_cached", counted)
    compute_pool.configure(workers)
    try:
        snapshot_keeper.keep_current(demo_ctx.db, folder, full_read=False, nice=True)  # as the window asks
        snapshot_keeper.finish(folder=folder)
    finally:
        compute_pool.configure(0)
    assert list(folder.glob(f"v{version}-*.npz"))  # brought up to the write either way
    assert reads == ([] if workers else ["here"])  # with workers, not read in this process
    fresh, data, served = _start_warm(demo_ctx.db.path, None, folder, monkeypatch)
    assert served
    _assert_from_scratch(fresh, data)
    fresh.dispose()
