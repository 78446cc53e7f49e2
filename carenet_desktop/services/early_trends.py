"""The sparklines' rolling periods started with the first scorecard, in the worker process it leaves idle.

On a cold store the first scorecard's compute (one worker: it reads the store, then evaluates the period
on one core) takes many seconds, and the trend's twelve rolling periods were only asked for once it was
shown. They are started with it instead: their jobs wait for the frames snapshot the first compute's
worker writes while it evaluates (``compute_pool.run(early=True)``), then evaluate side by side with it,
and save their results files themselves. The sparklines' own request (``measure_detail.trend_table``)
finds them computed, or in flight and waits for them (``ResultsCache.precompute``): nothing is computed
twice. Where no snapshot comes (an encrypted store without its cache key, a write landing meanwhile, the
first compute failing) the jobs go on once no job that could write it is left: today's order.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from ..metrics.period import Period
from ..models.write_guard import reading
from . import compute_pool
from .context import Cancelled, Progress
from .head_start import HeadStart
from .measure_detail import trend_periods
from .scorecard import ScorecardService
from .timeline import mark

log = logging.getLogger(__name__)

#: set to "1" to start the trend early (off by default: on the shared 2-core test machine it slowed the first
#: scorecard by 2-10 s in each of three paired runs; to be measured on a quiet machine before it is turned on)
ENV = "CARENET_EARLY_TRENDS"
#: the longest the trend waits for the first scorecard's job to be sent to the workers (s)
FIRST_JOB_WAIT_S = 30.0
_POLL_S = 0.05


def start_early_trends(service: ScorecardService, period: Period, head: HeadStart) -> threading.Thread | None:
    """Start computing ``period``'s trend periods in the worker processes beside ``head`` (the first
    scorecard's compute), on a daemon thread; cancelled with ``head``. ``None`` when there is nothing to
    gain: not turned on (``$CARENET_EARLY_TRENDS``), no worker processes started (a warm start computes nothing), or shared results (a network
    office's server computes them under leases, holding the cache's lock)."""
    if os.environ.get(ENV, "").strip() != "1":
        return None
    pool = compute_pool.started()
    cache = service.cache
    if pool is None or cache.in_process or cache.shared is not None or pool.workers < 2:
        return None
    progress = Progress()
    progress._cancel = head.progress._cancel  # a load of another period cancels both

    def run() -> None:
        try:
            with reading():  # as the window's reader threads: it never writes to the store
                # the first scorecard's job goes first, to the worker that is ready: a job sent before it
                # would take that worker and leave the scorecard waiting for another process to start
                deadline = time.monotonic() + FIRST_JOB_WAIT_S
                while not pool.busy() and not head.done and time.monotonic() < deadline:
                    progress.check()
                    time.sleep(_POLL_S)
                mark("trend started early")
                # the period itself is the first scorecard's (in flight, or done): not taken from it here
                rest = [p for p in trend_periods(period) if p != period]
                service.precompute(rest, progress=progress, early=True)
        except Cancelled:
            pass
        except Exception as exc:  # the sparklines' own request computes them and meets the error, if real
            log.info("Early trend failed (%s)", type(exc).__name__)

    thread = threading.Thread(target=run, name="early-trends", daemon=True)
    thread.start()
    return thread
