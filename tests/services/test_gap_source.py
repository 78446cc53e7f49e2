"""The care-gap worklists read from the scorecard's caches (``services.gap_source``): the same children and
gaps as a from-scratch evaluation, before and after writes to the store, on a demo network."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Practice
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.entry import record_immunization
from carenet_desktop.services.entry_undo import undo_entry
from carenet_desktop.services.gap_source import GapSource
from carenet_desktop.services.gaps import care_gaps
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.services.worklist import Worklist, child_worklist
from tests.stores import AS_OF, demo_store

P2026 = Period.year(2026)
MMR = "03"


@pytest.fixture
def ctx(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    db = open_database(demo_store(tmp_path_factory, practices=3, patients=600))
    yield ServiceContext(db, username="tester")
    db.dispose()


def _codes(ctx: ServiceContext) -> list[str]:
    with ctx.db.session() as s:
        return [str(c) for c in s.scalars(select(Practice.code).order_by(Practice.code))]


def _same(cached: Worklist, fresh: Worklist) -> None:
    pd.testing.assert_frame_equal(cached.children, fresh.children)
    pd.testing.assert_frame_equal(cached.gaps, fresh.gaps)
    assert cached.failures == fresh.failures


def _both(ctx: ServiceContext, source: GapSource, code: str | None) -> tuple[Worklist, Worklist]:
    cached = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=source)
    fresh = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, fresh=True)
    return cached, fresh


def test_cached_worklists_equal_from_scratch_for_each_practice_and_the_network(ctx: ServiceContext) -> None:
    source = GapSource(ctx)
    for code in [*_codes(ctx), None, _codes(ctx)[0]]:  # each practice, the network, and back (held scope)
        cached, fresh = _both(ctx, source, code)
        assert len(fresh.children) > 0
        _same(cached, fresh)
    # the per-gap worklist, a measure subset and a due window through the same source
    for kwargs in ({}, {"measure_ids": ["CMS117"]}, {"due_within": 60}):
        a = care_gaps(ctx, P2026, _codes(ctx)[0], as_of=AS_OF, action=None, source=source, **kwargs)  # type: ignore[arg-type]
        b = care_gaps(ctx, P2026, _codes(ctx)[0], as_of=AS_OF, action=None, fresh=True, **kwargs)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(a, b)


def _mmr_gap(worklist: Worklist) -> tuple[int, str]:
    """A child of the worklist missing MMR dose 1, past the 1st birthday and not yet due (a dose given
    on ``AS_OF`` closes the gap), and their practice."""
    rows = worklist.gaps[worklist.gaps["item"] == "MMR dose 1"]
    for _, row in rows.iterrows():
        if (pd.Timestamp(row["birth_date"]) + pd.DateOffset(years=1) <= pd.Timestamp(AS_OF)
                and pd.Timestamp(row["due_date"]) >= pd.Timestamp(AS_OF)):
            return int(row["patient_id"]), str(row["practice_code"])
    raise AssertionError("the demo has no child missing MMR dose 1")


def _items(worklist: Worklist, patient_id: int) -> set[str]:
    return set(worklist.gaps.loc[worklist.gaps["patient_id"] == patient_id, "item"])


def test_an_entry_and_its_undo_show_at_once_on_the_held_source(ctx: ServiceContext, tmp_path: Path) -> None:
    # the source shares the scorecard's results cache and keeps its frames between calls
    source = GapSource(ctx, ResultsCache(ctx, tmp_path / "results", in_process=True))
    network = child_worklist(ctx, P2026, None, as_of=AS_OF, action=None, source=source)
    patient_id, code = _mmr_gap(network)
    before, _ = _both(ctx, source, code)
    assert "MMR dose 1" in _items(before, patient_id)

    entered = record_immunization(ctx, patient_id=patient_id, date=AS_OF, cvx=MMR, today=AS_OF)
    assert entered.ok, entered.errors
    after, fresh = _both(ctx, source, code)
    _same(after, fresh)
    assert "MMR dose 1" not in _items(after, patient_id)
    assert after.children["gap_count"].sum() < before.children["gap_count"].sum()

    assert entered.id is not None
    undo_entry(ctx, "immunization", entered.id)
    undone, fresh = _both(ctx, source, code)
    _same(undone, fresh)
    pd.testing.assert_frame_equal(undone.children, before.children)


def test_writes_landing_between_the_two_reads_fall_back_to_evaluating_the_records(
        ctx: ServiceContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = GapSource(ctx, ResultsCache(ctx, tmp_path / "results", in_process=True))
    network = child_worklist(ctx, P2026, None, as_of=AS_OF, action=None, source=source)
    patient_id, code = _mmr_gap(network)
    results = source.cache.results
    written: list[int] = []

    def results_then_a_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        entry = results(*args, **kwargs)
        # a write after the rows were read, before the records are: every time
        day = AS_OF - dt.timedelta(days=len(written))
        done = record_immunization(ctx, patient_id=patient_id, date=day, cvx=MMR, today=AS_OF)
        assert done.ok and done.id is not None
        written.append(done.id)
        return entry

    monkeypatch.setattr(source.cache, "results", results_then_a_write)
    cached = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=source)
    assert len(written) == 2  # tried twice, then evaluated the records it held
    monkeypatch.undo()
    fresh = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, fresh=True)
    _same(cached, fresh)
    assert "MMR dose 1" not in _items(cached, patient_id)


def test_held_frames_are_patched_into_a_copy_equal_to_a_new_read(ctx: ServiceContext, tmp_path: Path) -> None:
    from carenet_desktop.models.changes import store_state
    from carenet_desktop.services.frames_cache import load_measure_data_cached, patched_copy
    from carenet_desktop.services.measure_data import load_measure_data

    held, _ = load_measure_data_cached(ctx.db, tmp_path / "frames")
    with ctx.db.session() as s:
        _, version = store_state(s)
    count = len(held.immunizations)
    patient_id = int(held.patients["patient_id"].iloc[0])
    assert record_immunization(ctx, patient_id=patient_id, date=AS_OF, cvx=MMR, today=AS_OF).ok
    patched = patched_copy(ctx.db, held, version)
    assert patched is not None
    data, newer = patched
    assert newer > version
    assert len(held.immunizations) == count  # a reader of the held frames sees them unchanged
    # only the frame the entry changed is rebuilt; the child's other rows read the same: those frames are kept
    assert data.immunizations is not held.immunizations and len(data.immunizations) == count + 1
    assert data.encounters is held.encounters and data.observations is held.observations
    fresh = load_measure_data(ctx.db)
    for name, frame in fresh.frames().items():
        mine = getattr(data, name)
        if name == "encounter_diagnoses":  # kept in no particular order by the patch (frames_cache._patch)
            mine, frame = (f.sort_values(list(f.columns), kind="stable") for f in (mine, frame))
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), frame.reset_index(drop=True),
                                      obj=name)


def test_a_one_off_source_evaluates_only_the_practice_until_the_period_is_cached(
        ctx: ServiceContext, tmp_path: Path) -> None:
    cache = ResultsCache(ctx, tmp_path / "results", in_process=True)
    code = _codes(ctx)[0]
    with ctx.db.session() as s:
        practice_id = int(s.scalar(select(Practice.id).where(Practice.code == code)) or 0)
    one_off = GapSource(ctx, cache, compute_missing=False)
    measures = ctx.catalogue.all()
    before = one_off.inputs(P2026, measures, [practice_id])
    assert before.key is None and not cache.holds(P2026)  # the network was not computed for it
    cache.results(P2026)  # the scorecard computes the period
    after = one_off.inputs(P2026, measures, [practice_id])
    assert after.key is not None  # now served from the cache
    pd.testing.assert_frame_equal(
        after.rows.sort_values(["measure", "group_index", "patient_id", "episode_id"], ignore_index=True),
        before.rows.sort_values(["measure", "group_index", "patient_id", "episode_id"], ignore_index=True))
    cached = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=one_off)
    _same(cached, child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, fresh=True))


def test_a_one_off_call_finds_only_its_practices_gaps_and_a_held_source_the_networks(ctx: ServiceContext,
                                                                                     tmp_path: Path) -> None:
    cache = ResultsCache(ctx, tmp_path / "results", in_process=True)
    cache.results(P2026)
    code = _codes(ctx)[0]
    one_off = GapSource(ctx, cache, compute_missing=False, network=False)
    child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=one_off)
    assert not one_off._network_found and not one_off._tables  # nothing of the other practices found or read
    held = GapSource(ctx, cache, compute_missing=False)
    first = child_worklist(ctx, P2026, code, as_of=AS_OF, action=None, source=held)
    (_history, _version, every, _failures), = held._network_found.values()
    assert set(every["patient_id"]) > set(first.gaps["patient_id"])  # the network's, a switch filters them
    assert {"people", "contacts"} <= set(held._tables)
