"""The care-gap page's warm-up (``worklist.warm_worklist``): once the scorecard has computed a period, the
network's gaps and the patients' details are found into the page's source ahead of time, from the caches
only, so every practice's worklist afterwards only filters them - and equals a from-scratch one, also
after a write that landed since the warm-up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import AuditLog, Practice
from carenet_desktop.models.changes import store_state
from carenet_desktop.models.database import open_database
from carenet_desktop.services import gap_source, gaps, worklist
from carenet_desktop.services.context import Cancelled, Progress, ServiceContext
from carenet_desktop.services.entry import record_immunization
from carenet_desktop.services.gap_source import GapSource
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.services.worklist import Worklist, child_worklist, warm_worklist
from tests.stores import AS_OF, demo_store

P2026 = Period.year(2026)
MMR = "03"


@pytest.fixture
def ctx(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    db = open_database(demo_store(tmp_path_factory, practices=3, patients=600))
    yield ServiceContext(db, username="tester")
    db.dispose()


def _page_source(ctx: ServiceContext, tmp_path: Path) -> GapSource:
    """As the care-gap page holds it: over the caches on disk, never computing the network itself."""
    return GapSource(ctx, ResultsCache(ctx, tmp_path / "results", frames_folder=tmp_path / "frames", in_process=True),
                     compute_missing=False)


def _codes(ctx: ServiceContext) -> list[str]:
    with ctx.db.session() as s:
        return [str(c) for c in s.scalars(select(Practice.code).order_by(Practice.code))]


def _audits(ctx: ServiceContext) -> int:
    with ctx.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditLog)) or 0)


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, calls: list[str]) -> None:
    real: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def _same(cached: Worklist, fresh: Worklist) -> None:
    pd.testing.assert_frame_equal(cached.children, fresh.children)
    pd.testing.assert_frame_equal(cached.gaps, fresh.gaps)
    assert cached.failures == fresh.failures


def test_before_the_scorecard_computed_the_period_the_warm_up_reads_nothing(ctx: ServiceContext, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    source = _page_source(ctx, tmp_path)
    calls: list[str] = []
    _counting(monkeypatch, gap_source, "load_measure_data_cached", calls)
    _counting(monkeypatch, gap_source, "load_measure_data", calls)
    assert not warm_worklist(ctx, source, P2026, AS_OF)
    assert calls == [] and source._frames is None and not source._network_found and not source._tables
    assert not source.cache.holds(P2026)  # it did not compute the network beside the scorecard either


def test_after_the_scorecard_every_practice_only_filters_what_the_warm_up_found(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ResultsCache(ctx, tmp_path / "results", frames_folder=tmp_path / "frames", in_process=True).results(P2026)
    source = _page_source(ctx, tmp_path)  # the page's own cache object: it finds the scorecard's on disk
    audits = _audits(ctx)
    assert warm_worklist(ctx, source, P2026, AS_OF)
    assert _audits(ctx) == audits  # nobody viewed anything
    with ctx.db.session() as s:
        state = store_state(s)
    (history, version, every, _failures), = source._network_found.values()
    assert (history, version) == state and len(every) > 0
    assert {"people", "contacts", f"last_visit {AS_OF.isoformat()}"} <= set(source._tables)

    calls: list[str] = []
    for module, name in ((gaps, "_find_gaps"), (gaps, "_patients"), (worklist, "_contacts"),
                         (worklist, "_last_visits"), (gap_source, "load_measure_data_cached"),
                         (gap_source, "load_measure_data")):
        _counting(monkeypatch, module, name, calls)
    cached = {code: child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=source) for code in _codes(ctx)}
    assert calls == []  # no gaps found again, no patient table and no records read again
    for code, shown in cached.items():
        fresh = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, fresh=True)
        assert len(fresh.children) > 0
        _same(shown, fresh)


def test_a_write_after_the_warm_up_makes_it_stale_and_the_worklist_catches_up(ctx: ServiceContext,
                                                                             tmp_path: Path) -> None:
    ResultsCache(ctx, tmp_path / "results", frames_folder=tmp_path / "frames", in_process=True).results(P2026)
    source = _page_source(ctx, tmp_path)
    assert warm_worklist(ctx, source, P2026, AS_OF)
    (_h, warmed_at, every, _f), = source._network_found.values()
    patient_id, code = (int(every["patient_id"].iloc[0]),
                        str(source.patient_table("people", lambda _ids: pd.DataFrame()).set_index("patient_id")
                            .loc[int(every["patient_id"].iloc[0]), "practice_code"]))
    entered = record_immunization(ctx, patient_id=patient_id, date=AS_OF, cvx=MMR, today=AS_OF)
    assert entered.ok, entered.errors
    with ctx.db.session() as s:
        _history, now = store_state(s)
    assert now > warmed_at  # what the warm-up found is of an older state: not served as it is
    shown = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=source)
    fresh = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, fresh=True)
    _same(shown, fresh)
    (_h, caught_up, _every, _f), = source._network_found.values()
    assert caught_up == now


def test_a_cancelled_warm_up_keeps_nothing_half_found(ctx: ServiceContext, tmp_path: Path) -> None:
    ResultsCache(ctx, tmp_path / "results", frames_folder=tmp_path / "frames", in_process=True).results(P2026)
    source = _page_source(ctx, tmp_path)
    steps: list[str] = []

    def cancel_while_reading(_fraction: float, message: str) -> None:
        steps.append(message)
        if message == "Records":  # the window closed while the records were read
            progress.cancel()

    progress = Progress(cancel_while_reading)
    with pytest.raises(Cancelled):
        warm_worklist(ctx, source, P2026, AS_OF, progress=progress)
    assert "Records" in steps and not source._network_found and not source._finding.locked()
    # the page's load then finds them itself, the same as from scratch
    code = _codes(ctx)[0]
    _same(child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=source),
          child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, fresh=True))
