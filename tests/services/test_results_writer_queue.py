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
