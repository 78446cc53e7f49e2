"""The results cache's writer thread: an entry queued for it is served until its file is in place, and
once the queue is empty what it held is handed back to the system (``heap.release``)."""

from __future__ import annotations

import threading

from carenet_desktop.metrics.period import Period
from carenet_desktop.services import heap
from carenet_desktop.services.context import Progress
from carenet_desktop.services.results import ResultsCache

MEASURES = ["LSC"]


def test_the_writer_hands_memory_back_once_its_queue_is_empty(demo_ctx, tmp_path, monkeypatch):
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c", in_process=True)
    entries = [cache.compute_here(p, tuple(MEASURES), Progress()) for p in (Period.year(2024), Period.year(2025))]
    released: list[tuple[str, int]] = []
    monkeypatch.setattr(heap, "release", lambda: released.append((threading.current_thread().name,
                                                                   len(cache._unsaved))))
    for entry in entries:
        cache._write_disk_later(entry)
    cache.flush()
    assert all(cache._path(e.period, e.measure_ids).exists() for e in entries)
    assert released and all(name.startswith("results-cache-writer") for name, _ in released)
    assert released[-1][1] == 0  # after the last file, with nothing left queued
    served = cache.results(Period.year(2025), MEASURES)
    assert callable(served._rows)  # from its file now, no longer from the queue


def test_a_refresh_waits_for_the_writer_rather_than_queue_every_period(demo_ctx, tmp_path, monkeypatch):
    """After a write, a trend refreshes its periods faster than the writer saves them; each one queued holds a
    whole copy of its rows, so ``results()`` waits once more than ``MOST_UNSAVED`` are queued (issue 26:
    the window's peak memory) - and every period still reflects the write."""
    from sqlalchemy import select

    from carenet_desktop.models import Patient
    from carenet_desktop.models.changes import current_version
    from carenet_desktop.services import results as results_module
    from carenet_desktop.services.entry import record_immunization
    from tests.stores import AS_OF

    periods = [Period.year(y) for y in (2022, 2023, 2024, 2025, 2026)]
    cache = ResultsCache(demo_ctx, cache_dir=tmp_path / "c", in_process=True)
    for p in periods:
        cache.results(p, MEASURES)
    cache.flush()
    cache.clear()  # as a trend leaves them: on disk only
    with demo_ctx.db.session() as s:
        patient_id = int(s.scalars(select(Patient.id).order_by(Patient.id).limit(1)).one())
    assert record_immunization(demo_ctx, patient_id=patient_id, date=AS_OF, cvx="03", today=AS_OF).ok
    with demo_ctx.db.session() as s:
        version = current_version(s)

    go = threading.Event()
    real_save = cache._save

    def held_save(*args, **kwargs):  # the writer is slow: nothing is saved until ``go``
        go.wait()
        real_save(*args, **kwargs)

    monkeypatch.setattr(cache, "_save", held_save)
    returned: list[int] = []

    def trend() -> None:
        for p in periods:
            cache.results(p, MEASURES)
            returned.append(len(cache._unsaved))

    worker = threading.Thread(target=trend)
    worker.start()
    try:
        for _ in range(600):  # until a period more than the queue may hold is refreshed and queued
            if len(cache._unsaved) > results_module.MOST_UNSAVED:
                break
            threading.Event().wait(0.05)
        threading.Event().wait(0.5)
        assert len(cache._unsaved) == results_module.MOST_UNSAVED + 1  # no further period refreshed meanwhile
        assert len(returned) == results_module.MOST_UNSAVED  # the caller waits for the writer
    finally:
        go.set()
        worker.join(60)
    assert not worker.is_alive() and len(returned) == len(periods)
    assert max(returned) <= results_module.MOST_UNSAVED
    cache.flush()
    fresh = ResultsCache(demo_ctx, cache_dir=tmp_path / "c", in_process=True)
    assert all(fresh.results(p, MEASURES).version == version for p in periods)  # each saved as refreshed
