"""What a trend's pass reduces once for all its periods (``_immunization.coded_rows``, ``_respiratory``'s kept
conditions and orders, ``sorted_windows.exists_in_kept``, the episode measures' answers per encounter,
``row_answers``) gives each period the rows it gets alone: on
hand-made records at the periods' edges (the first and last day of a period, a birthday on a period end, leap
days) and over periods of the 2025 and the 2026 measure versions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.engine import evaluate_measures, evaluate_periods
from carenet_desktop.metrics.measures import _immunization as imz
from carenet_desktop.metrics.measures import _visits
from carenet_desktop.metrics.measures import cms155 as m155
from carenet_desktop.metrics.memo import FrameMemo, remembering, several_periods
from carenet_desktop.metrics.period import Period, rolling_12_months
from carenet_desktop.metrics.primitives import exists_in_window
from carenet_desktop.metrics.sorted_windows import exists_in_kept
from tests.measure_catalogue import CATALOGUE
from tests.metrics.test_cms155_edges import VS, counseling, pregnancy, teen, visit, vital

#: rolling periods ending Feb 2024 (a leap day) ... and across the 2025/2026 boundary (both versions)
PERIODS = [*rolling_12_months(dt.date(2024, 3, 31), 3), *rolling_12_months(dt.date(2026, 2, 28), 4)]


def _records():  # type: ignore[no-untyped-def]
    """Teenagers turning 3 or 18 on a period's last or first day, born on a leap day, with visits, vital signs,
    counseling and pregnancies on the periods' first and last days (and the instant after the last)."""
    from tests.metrics.test_cms117_edges import build

    births = [dt.date(2008, 2, 29), dt.date(2007, 2, 28), dt.date(2021, 2, 29 - 1), dt.date(2022, 2, 28),
              dt.date(2012, 3, 1), dt.date(2008, 1, 31), dt.date(2007, 12, 31), dt.date(2022, 12, 31),
              dt.date(2010, 6, 15)]
    edges = ["2023-03-01 00:00", "2024-02-29 23:59", "2024-03-01 00:00", "2024-02-29 00:00", "2025-01-31 23:59",
             "2025-02-01 00:00", "2025-12-31 23:59", "2026-01-01 00:00", "2026-02-28 12:00", "2024-04-30 08:00"]
    patients, visits, vitals, counsel, pregnant = [], [], [], [], []
    for i, birth in enumerate(births * 2):
        pid = i + 1
        patients.append(teen(pid, birth))
        at = edges[i % len(edges)]
        other = edges[(i + 3) % len(edges)]
        visits.append(visit(pid, start=at, end=at, status="finished" if i % 5 else "cancelled"))
        visits.append(visit(pid, start=other, end=other, code="99411"))
        for code in ("39156-5", "8302-2", "29463-7"):
            vitals.append(vital(code, start=at if code != "8302-2" or i % 3 else other, pid=pid,
                                value=None if i % 7 == 0 and code == "39156-5" else 20.0,
                                status="final" if i % 4 else "amended"))
        counsel.append(counseling("11816003", start=other, end=other, pid=pid))
        counsel.append(counseling("103736005", start=at, end=at, pid=pid, status="completed" if i % 2 else "stopped"))
        if i % 4 == 1:
            pregnant.append(pregnancy(onset=other, abatement=at if at > other else None, pid=pid))
        for _ in range(12):  # other observations: the vital signs are few of them (kept for a pass)
            vitals.append(vital("2708-6", start=at, pid=pid))
    return build(patients, VS, encounters=visits, observations=vitals, procedures=counsel, conditions=pregnant)


@pytest.mark.parametrize("measure_ids", [["CMS155"], ["CMS155", "CMS117", "CMS146", "CMS154"]])
def test_each_period_of_a_pass_gets_the_rows_it_gets_alone(measure_ids):  # type: ignore[no-untyped-def]
    data = _records()
    measures = CATALOGUE.select(measure_ids)
    shared = dataclasses.replace(data, memo=FrameMemo(check_periods=True))  # proves the ANY_PERIOD answers
    runs = list(evaluate_periods(shared, PERIODS, measures))
    seen = 0
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert run.failures == alone.failures == {}, period
        assert run.versions == alone.versions
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        seen += len(run.rows)
    assert seen  # the records do enter the periods
    assert len({run.versions["CMS155"] for _, run in runs}) == 2  # the 2025 and the 2026 versions


def test_a_pass_keeps_the_few_coded_rows_of_a_frame_once(monkeypatch):  # type: ignore[no-untyped-def]
    data = _records()
    calls: list[int] = []
    real = imz.code_tags
    monkeypatch.setattr(imz, "code_tags", lambda frame, *a, **k: calls.append(id(frame)) or real(frame, *a, **k))
    measures = CATALOGUE.select(["CMS155"])
    list(evaluate_periods(dataclasses.replace(data, memo=FrameMemo()), PERIODS, measures))
    per_pass = calls.count(id(data.observations))
    calls.clear()
    for period in PERIODS:
        evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
    assert per_pass == 1 and calls.count(id(data.observations)) == len(PERIODS)
    assert calls.count(id(data.encounters)) == len(PERIODS)  # (most encounters are coded: not kept)


@pytest.mark.parametrize("several", [False, True])
def test_coded_rows_keep_the_rows_a_test_of_the_whole_frame_keeps(several):  # type: ignore[no-untyped-def]
    data = _records()
    obs = data.observations
    keysets = [frozenset({key}) for key in m155.VITAL_SIGNS[:2]]
    with remembering(FrameMemo()), several_periods(several):
        for period in PERIODS:
            ids = data.patients["patient_id"].to_numpy()[::2]

            def narrow(rows: pd.DataFrame, period: Period = period, ids: np.ndarray = ids) -> np.ndarray:
                return imz.patient_flag(rows["patient_id"], ids) & imz.starts_in_period(rows, "effective_start", period)

            tags = imz.code_tags(obs, keysets)
            keep = (tags != 0) & narrow(obs)
            rows, got = imz.coded_rows(obs, keysets, narrow)
            pd.testing.assert_frame_equal(rows, obs[keep])
            assert np.array_equal(got, tags[keep])


@pytest.mark.parametrize("kind", ["days", "datetimes"])
def test_exists_in_kept_answers_as_exists_in_window(kind):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    right = pd.DataFrame({"patient_id": rng.integers(0, 40, 300), "t": rng.integers(0, 60, 300).astype(float)})
    right.loc[rng.random(300) < 0.1, "t"] = np.nan
    lp = rng.integers(0, 45, 500)
    lo = rng.integers(-5, 60, 500).astype(float)
    lo[rng.random(500) < 0.05] = np.nan
    hi = lo + rng.integers(0, 4, 500)  # windows of 0-3 days, bounds on the right side's days
    if kind == "datetimes":
        base = np.datetime64("2024-02-28", "us")

        def stamp(values: np.ndarray) -> np.ndarray:
            return np.where(np.isnan(values), np.datetime64("NaT", "us"),
                            base + np.nan_to_num(values).astype("timedelta64[D]"))

        rt_of = lambda: (right["patient_id"].to_numpy(), stamp(right["t"].to_numpy()))  # noqa: E731
        lo, hi = stamp(lo), stamp(hi)
    else:
        rt_of = lambda: (right["patient_id"].to_numpy(), right["t"].to_numpy())  # noqa: E731
    want = exists_in_window(lp, lo, hi, *rt_of())
    assert want.any() and not want.all()
    with remembering(FrameMemo()):
        for _ in range(2):  # the second time from the kept pairs
            assert np.array_equal(exists_in_kept(right, "t", lp, lo, hi, rt_of), want)


def test_the_columns_a_measure_copies_are_all_it_reads(monkeypatch):  # type: ignore[no-untyped-def]
    """CMS155 and the visits read only the columns they name to ``coded_rows``: with dates without a time of
    day on some rows (``date_only``), each period's rows are those of the whole frames copied."""
    data = _records()
    for name, columns in (("encounters", ("start", "end")), ("observations", ("effective_start", "effective_end")),
                          ("procedures", ("performed_start", "performed_end"))):
        frame = getattr(data, name)
        flags = np.array(["", ",".join(columns), columns[0], columns[1]], dtype=object)[np.arange(len(frame)) % 4]
        setattr(data, name, frame.assign(date_only=flags, value_text="x"))
    measures = CATALOGUE.select(["CMS155", "WCV", "IMA"])
    narrowed = [evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures).rows
                for period in PERIODS]
    real = imz.coded_rows
    for module in (imz, _visits):
        monkeypatch.setattr(module, "coded_rows", lambda *a, columns=None, **k: real(*a, **k))
    for period, rows in zip(PERIODS, narrowed, strict=True):
        whole = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures).rows
        pd.testing.assert_frame_equal(rows, whole, obj=f"rows of {period.label}")
    assert any(len(rows) for rows in narrowed)


def test_a_pass_asks_which_uri_encounters_are_episodes_once(tmp_path_factory, monkeypatch):  # type: ignore[no-untyped-def]
    """CMS154 over a pass: each encounter asked about once for all the periods, when a period first meets it (the
    first period its own encounters, as alone; each next one the month rolled in), each period's episodes those it
    finds alone (on the demo's records, URI episodes in every period)."""
    from carenet_desktop.metrics.measures import cms154
    from tests.stores import demo_measure_data

    data = demo_measure_data(tmp_path_factory)
    calls: list[pd.Index] = []
    real = cms154._episode_mask
    monkeypatch.setattr(cms154, "_episode_mask", lambda d, enc: calls.append(enc.index) or real(d, enc))
    measures = CATALOGUE.select(["CMS154"])
    periods = rolling_12_months(dt.date(2025, 12, 31), 4)
    list(evaluate_periods(dataclasses.replace(data, memo=FrameMemo()), periods, measures))
    asked = calls[:]
    calls.clear()
    evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), periods[0], measures)
    assert len(asked) == len(periods) and asked[0].equals(calls[0]) and len(asked[0]) > len(asked[1]) > 0
    assert pd.Index(np.concatenate([a.to_numpy() for a in asked])).is_unique  # no encounter asked about twice
    runs = list(evaluate_periods(dataclasses.replace(data, memo=FrameMemo(check_periods=True)), periods, measures))
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert len(run.rows) and run.failures == alone.failures == {}
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")


@pytest.mark.parametrize("last", [dt.date(2025, 12, 31), dt.date(2026, 3, 31)])
def test_a_pass_asks_which_pharyngitis_encounters_are_episodes_once(tmp_path_factory, monkeypatch, last):  # type: ignore[no-untyped-def]
    """CMS146 (the 2025 and the 2026 version) over a pass: each encounter's answer found once per version,
    each period's rows those it gets alone."""
    from carenet_desktop.metrics.measures import cms146
    from tests.stores import demo_measure_data

    data = demo_measure_data(tmp_path_factory)
    calls: list[tuple[int, pd.Index]] = []
    real = cms146._episode_mask
    monkeypatch.setattr(cms146, "_episode_mask",
                        lambda d, lib, kind, enc: calls.append((lib.year, enc.index)) or real(d, lib, kind, enc))
    measures = CATALOGUE.select(["CMS146"])
    periods = rolling_12_months(last, 5)
    runs = list(evaluate_periods(dataclasses.replace(data, memo=FrameMemo()), periods, measures))
    years = {year for year, _ in calls}
    assert len(years) == len({run.versions["CMS146"] for _, run in runs})
    for year in years:  # each encounter asked about once per version, when a period first meets it
        assert pd.Index(np.concatenate([enc.to_numpy() for y, enc in calls if y == year])).is_unique
    runs = list(evaluate_periods(dataclasses.replace(data, memo=FrameMemo(check_periods=True)), periods, measures))
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert len(run.rows) and run.failures == alone.failures == {}
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
