"""The care-gap page's source lets the whole store's frames go once the network's gaps are found (issue 26:
the window's memory): practice switches filter the gaps kept, a write reads only its patients' records,
and every worklist still equals a from-scratch one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from carenet_desktop.metrics.period import Period
from carenet_desktop.models.changes import store_state
from carenet_desktop.models.database import open_database
from carenet_desktop.services import gap_source
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.entry import record_immunization
from carenet_desktop.services.entry_undo import undo_entry
from carenet_desktop.services.gap_source import GapSource
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.services.worklist import Worklist, child_worklist, warm_worklist
from tests.services.test_gap_source import _items, _mmr_gap
from tests.services.test_gap_warm import _codes
from tests.stores import AS_OF, demo_store

P2026 = Period.year(2026)
MMR = "03"


@pytest.fixture
def ctx(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    db = open_database(demo_store(tmp_path_factory, practices=3, patients=600))
    yield ServiceContext(db, username="tester")
    db.dispose()


def _page_source(ctx: ServiceContext, tmp_path: Path) -> GapSource:
    ResultsCache(ctx, tmp_path / "results", frames_folder=tmp_path / "frames", in_process=True).results(P2026)
    return GapSource(ctx, ResultsCache(ctx, tmp_path / "results", frames_folder=tmp_path / "frames", in_process=True),
                     compute_missing=False)


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, calls: list[tuple[str, Any]]) -> None:
    real: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append((name, kwargs.get("patient_id_list")))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def _same(cached: Worklist, fresh: Worklist) -> None:
    pd.testing.assert_frame_equal(cached.children, fresh.children)
    pd.testing.assert_frame_equal(cached.gaps, fresh.gaps)
    assert cached.failures == fresh.failures




def test_the_frames_are_let_go_after_the_warm_up_and_every_practice_still_equals_from_scratch(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _page_source(ctx, tmp_path)
    assert warm_worklist(ctx, source, P2026, AS_OF)
    assert source._frames is None  # the whole store's frames are not kept once the network's gaps are found
    assert source._people is not None and len(source._people[2]) > 0
    calls: list[tuple[str, Any]] = []
    for name in ("load_measure_data_cached", "load_measure_data"):
        _counting(monkeypatch, gap_source, name, calls)
    shown = {code: child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=source)
             for code in [*_codes(ctx), _codes(ctx)[0]]}
    assert calls == [] and source._frames is None  # a switch reads no records at all
    for code, worklist in shown.items():
        _same(worklist, child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, fresh=True))


def test_a_write_reaches_the_gaps_by_reading_only_its_patient(ctx: ServiceContext, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    source = _page_source(ctx, tmp_path)
    assert warm_worklist(ctx, source, P2026, AS_OF)
    network = child_worklist(ctx, P2026, None, as_of=AS_OF, action=None, source=source)
    patient_id, code = _mmr_gap(network)
    assert "MMR dose 1" in _items(network, patient_id)
    calls: list[tuple[str, Any]] = []
    for name in ("load_measure_data_cached", "load_measure_data"):
        _counting(monkeypatch, gap_source, name, calls)

    entered = record_immunization(ctx, patient_id=patient_id, date=AS_OF, cvx=MMR, today=AS_OF)
    assert entered.ok and entered.id is not None
    shown = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=source)
    assert "MMR dose 1" not in _items(shown, patient_id)  # the write reached the gaps
    assert calls == [("load_measure_data", [patient_id])]  # its patient's records only, not the whole store
    assert source._frames is None
    with ctx.db.session() as s:
        now = store_state(s)
    assert source._people is not None and source._people[:2] == now
    for other in _codes(ctx):  # every practice (and the one written to) equals a from-scratch worklist
        _same(child_worklist(ctx, P2026, other, as_of=AS_OF, action=None, source=source),
              child_worklist(ctx, P2026, other, as_of=AS_OF, action=None, fresh=True))

    assert undo_entry(ctx, "immunization", entered.id).action == "deleted"  # and back
    back = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=source)
    assert "MMR dose 1" in _items(back, patient_id)
    _same(back, child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, fresh=True))
    assert not any(name == "load_measure_data_cached" for name, _ in calls)


def test_a_change_to_everything_reads_the_frames_again_and_lets_them_go(ctx: ServiceContext, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from carenet_desktop.models.changes import mark_practice_changed

    source = _page_source(ctx, tmp_path)
    assert warm_worklist(ctx, source, P2026, AS_OF)
    with ctx.db.session() as s:
        mark_practice_changed(s, [None])  # e.g. new value sets: every patient's gaps are found again
        s.commit()
    calls: list[tuple[str, Any]] = []
    _counting(monkeypatch, gap_source, "load_measure_data_cached", calls)
    code = _codes(ctx)[1]
    shown = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=source)
    assert [name for name, _ in calls] == ["load_measure_data_cached"] and source._frames is None
    _same(shown, child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, fresh=True))


def test_an_import_sized_write_reads_the_frames_whole_and_still_lets_them_go(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More patients written than are worth patching one by one (an import) read the whole store's frames
    again; once the gaps are found they are let go, and a later one-patient write reads only its patient."""
    source = _page_source(ctx, tmp_path)
    assert warm_worklist(ctx, source, P2026, AS_OF)
    network = child_worklist(ctx, P2026, None, as_of=AS_OF, action=None, source=source)
    patients = [int(p) for p in network.gaps["patient_id"].unique()[:3]]
    monkeypatch.setattr(gap_source, "_PATCH_MOST", 1)  # two patients written: as an import is to the real limit
    for patient_id in patients[:2]:
        assert record_immunization(ctx, patient_id=patient_id, date=AS_OF, cvx=MMR, today=AS_OF).ok
    codes = _codes(ctx)
    _same(child_worklist(ctx, P2026, codes[0], as_of=AS_OF, action=None, source=source),
          child_worklist(ctx, P2026, codes[0], as_of=AS_OF, action=None, fresh=True))
    assert source._frames is None
    monkeypatch.setattr(gap_source, "_PATCH_MOST", 200)
    calls: list[tuple[str, Any]] = []
    for name in ("load_measure_data_cached", "load_measure_data"):
        _counting(monkeypatch, gap_source, name, calls)
    assert record_immunization(ctx, patient_id=patients[2], date=AS_OF, cvx=MMR, today=AS_OF).ok
    shown = {code: child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=source) for code in codes}
    assert source._frames is None
    assert calls == [("load_measure_data", [patients[2]])]  # its patient's records only
    for code, worklist in shown.items():
        _same(worklist, child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, fresh=True))
