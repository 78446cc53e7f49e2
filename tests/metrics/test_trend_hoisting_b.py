"""What a trend's pass derives once for CMS2 (the 2026 version's antidepressant orders with their medication
periods, ``cms2_2026.antidepressant_orders``; the referrals and procedures beside a period's own orders,
``cms2._follow_up_rows``; AMR's conditions with their prevalence periods, ``_network_common.condition_patients``; the encounters with a
diagnosis of some value sets, ``_episodes.encounter_diagnosis_in``)
gives each period the rows it gets alone: on hand-made records at the periods' edges (the first and last day of
a period, a 12th or 18th birthday on a period's first day, a leap day), over periods of the 2025 and the 2026
versions; and CMS2's numerator, in a pass and alone, for positive screenings followed up by a lone referral (of one
age group's set only), procedure, or order with a 1- or 30-day supply, as the CQL decides it. And the engine's
patient attributes taken by position are the merge's."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.definition import POPULATIONS
from carenet_desktop.metrics.engine import ROW_COLUMNS, evaluate_measures, evaluate_periods, with_attributes
from carenet_desktop.metrics.measures import _episodes, cms2_2026
from carenet_desktop.metrics.memo import FrameMemo, evaluating, remembering
from carenet_desktop.metrics.period import rolling_12_months
from tests.measure_catalogue import CATALOGUE
from tests.metrics.network_builders import Builder
from tests.metrics.years_support import both_years_index, needs_both_oracles

#: rolling periods ending Feb 2024 (a leap day), and across the 2025/2026 boundary (both versions)
PERIODS = [*rolling_12_months(dt.date(2024, 3, 31), 2), *rolling_12_months(dt.date(2026, 2, 28), 4)]

VISIT = ("cpt", "90791")
ADOLESCENT_SCREEN = ("loinc", "73831-0")
ADULT_SCREEN = ("loinc", "73832-8")
NEGATIVE = ("snomed", "428171000124102")
POSITIVE = ("snomed", "428181000124104")
FLUOXETINE = "1190110"  # in both age groups' antidepressant lists of both years
REFERRAL = ("snomed", "183524004")
FOLLOW_UP = ("snomed", "108313002")

#: the periods' first and last days (and the instant after a last day)
EDGES = ["2023-03-01", "2024-02-29", "2024-03-01", "2025-01-31", "2025-02-01", "2025-12-31", "2026-01-01",
         "2026-01-31", "2026-02-28", "2025-03-01"]


def _records() -> Builder:
    """Patients turning 12, 17 or 18 on a period's first day (or born on a leap day), each with a qualifying
    visit on an edge day, a screening 0, 14 or 15 days before it, and follow-ups (an order with or without a
    supply, a referral, a procedure) on the visit's day, two or three days after, some not counted (cancelled,
    another intent)."""
    b = Builder()
    births = ["2012-02-01", "2014-01-01", "2008-02-29", "2008-02-01", "2007-03-01", "2009-01-01", "1990-06-15",
              "2013-03-01", "2012-03-01"]
    for i in range(len(births) * 4):
        pid = b.patient(births[i % len(births)])
        day = EDGES[i % len(EDGES)]
        when = dt.date.fromisoformat(day)
        b.visit(pid, day, VISIT, status="finished" if i % 7 else "cancelled")
        before = (when - dt.timedelta(days=(0, 14, 15)[i % 3])).isoformat()
        for screen in (ADOLESCENT_SCREEN, ADULT_SCREEN):
            b.observation(pid, before, screen, value_key=POSITIVE if i % 5 else NEGATIVE,
                          status="final" if i % 4 else "corrected", category="procedure")
        after = (when + dt.timedelta(days=(0, 2, 3)[(i + 1) % 3])).isoformat()
        b.order(pid, day, FLUOXETINE, supply_days=(None, 1, 2, 30)[i % 4], intent="order" if i % 6 else "original-order")
        b.order(pid, after, FLUOXETINE, supply_days=(None, 2, 30)[i % 3], status="active" if i % 8 else "cancelled")
        if i % 3 == 0:
            b.service_request(pid, after, REFERRAL, status="completed" if i % 9 else "revoked")
        if i % 3 == 1:
            b.procedure(pid, day if i % 2 else after, FOLLOW_UP)
        if i % 4 == 3:  # a second visit on another edge
            b.visit(pid, EDGES[(i + 4) % len(EDGES)], VISIT)
    return b


@needs_both_oracles
def test_each_period_of_a_cms2_pass_gets_the_rows_it_gets_alone() -> None:
    data = _records().data()
    data.valuesets = both_years_index()
    measures = CATALOGUE.select(["CMS2"])
    shared = dataclasses.replace(data, memo=FrameMemo(check_periods=True))  # proves the ANY_PERIOD answers
    runs = list(evaluate_periods(shared, PERIODS, measures))
    numerators = 0
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert run.failures == alone.failures == {}, period
        assert run.versions == alone.versions
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        numerators += int(run.rows["numerator"].fillna(False).sum())
    assert numerators  # the follow-ups do count somewhere
    assert len({run.versions["CMS2"] for _, run in runs}) == 2  # the 2025 and the 2026 versions


@needs_both_oracles
def test_a_cms2_pass_selects_the_antidepressant_orders_once(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _records().data()
    data.valuesets = both_years_index()
    calls: list[int] = []
    real = cms2_2026._medication_days

    def counted(mr: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(mr))
        return real(mr)

    monkeypatch.setattr(cms2_2026, "_medication_days", counted)
    periods = rolling_12_months(dt.date(2026, 4, 30), 4)  # the 2026 version's only
    list(evaluate_periods(data, periods, CATALOGUE.select(["CMS2"])))
    assert len(calls) == 2  # one per age group's list, for the pass, not per period


#: codes of one age group's referral value set only (in both years' expansions; the follow-up procedure
#: value sets of the two groups hold the same codes, so a procedure cannot tell them apart)
ADOLESCENT_ONLY_REFERRAL = ("snomed", "306291008")
ADULT_ONLY_REFERRAL = ("snomed", "183528001")
#: visit days: in the 2025 version's periods of 2023-24, and in periods of both versions in 2025-26
FOLLOW_UP_DAYS = ("2023-10-16", "2025-06-16")


def _follow_up_records() -> tuple[Builder, dict[int, tuple[str, bool, bool]]]:
    """Positive screenings (the age group's tool, on the visit's day) whose only follow-up is one referral, one
    procedure or one order, and the numerator each gets by the CQL: {patient: (visit day, 2025 version,
    2026 version)}. A referral counts when its code is in the patient's age group's set (an adolescent's
    adult-only code, an adult's adolescent-only code do not); a completed procedure performed during the
    visit counts. An order on the visit's day counts in 2025 (any active order); in 2026 its medication
    period must overlap after the visit's day: with a 1-day supply it is [visit day, visit day], which ends on
    the visit's last day, not after it - not a follow-up; with 30 days it is."""
    b = Builder()
    expected: dict[int, tuple[str, bool, bool]] = {}
    referral, procedure, order = "referral", "procedure", "order"
    cases: list[tuple[str, tuple[str, str], str, Any, bool, bool]] = [
        ("2010-01-01", ADOLESCENT_SCREEN, referral, ADOLESCENT_ONLY_REFERRAL, True, True),
        ("2010-01-01", ADOLESCENT_SCREEN, referral, ADULT_ONLY_REFERRAL, False, False),
        ("1980-05-05", ADULT_SCREEN, referral, ADULT_ONLY_REFERRAL, True, True),
        ("1980-05-05", ADULT_SCREEN, referral, ADOLESCENT_ONLY_REFERRAL, False, False),
        ("2010-01-01", ADOLESCENT_SCREEN, procedure, FOLLOW_UP, True, True),
        ("1980-05-05", ADULT_SCREEN, procedure, FOLLOW_UP, True, True),
        ("1980-05-05", ADULT_SCREEN, order, 1, True, False),  # (order: its supply days)
        ("1980-05-05", ADULT_SCREEN, order, 30, True, True),
        ("2010-01-01", ADOLESCENT_SCREEN, order, 1, True, False),
        ("2010-01-01", ADOLESCENT_SCREEN, order, 30, True, True),
        ("1980-05-05", ADULT_SCREEN, "none", None, False, False),
    ]
    for day in FOLLOW_UP_DAYS:
        for birth, screen, kind, what, y2025, y2026 in cases:
            pid = b.patient(birth)
            b.visit(pid, day, VISIT, start=f"{day} 10:00", end=f"{day} 12:00")  # the procedure (11:00) during it
            b.observation(pid, day, screen, value_key=POSITIVE, at="08:00", category="procedure")
            if kind == referral:
                b.service_request(pid, day, what)
            elif kind == procedure:
                b.procedure(pid, day, what)
            elif kind == order:
                b.order(pid, day, FLUOXETINE, supply_days=what)
            expected[pid] = (day, y2025, y2026)
    return b, expected


@needs_both_oracles
def test_a_cms2_pass_counts_a_lone_referral_procedure_or_order_as_the_cql_does() -> None:
    b, expected = _follow_up_records()
    data = b.data()
    data.valuesets = both_years_index()
    measures = CATALOGUE.select(["CMS2"])
    runs = list(evaluate_periods(dataclasses.replace(data, memo=FrameMemo()), PERIODS, measures))
    versions: set[bool] = set()
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        is_2026 = run.versions["CMS2"] == cms2_2026.CMS2v2026.version
        for label, rows in (("pass", run.rows), ("alone", alone.rows)):
            got = dict(zip(rows["patient_id"], rows["numerator"].fillna(False).astype(bool), strict=True))
            want = {pid: (y2026 if is_2026 else y2025) for pid, (day, y2025, y2026) in expected.items()
                    if period.start <= dt.date.fromisoformat(day) <= period.end}
            assert want, period
            wrong = {pid: flag for pid, flag in got.items() if want.get(pid) != flag}
            assert got.keys() == want.keys() and not wrong, (label, period, wrong)
        versions.add(is_2026)
    assert versions == {False, True}  # periods of the 2025 and of the 2026 version


def _asthma_records() -> Builder:
    """Children with asthma (persistent, or unspecified with medication days) whose conditions start or abate on
    a period's edge or a year before one (the look-back), some with an exclusion starting on an edge, each
    with controller and reliever dispensings on edge days."""
    b = Builder()
    conditions = [("icd10cm", "J45.40"), ("icd10cm", "J45.901"), ("icd10cm", "J45.40")]
    for i in range(len(EDGES) * 3):
        pid = b.patient(("2015-05-01", "2020-02-29", "2007-03-01")[i % 3])
        onset = EDGES[i % len(EDGES)]
        abated = (dt.date.fromisoformat(EDGES[(i + 2) % len(EDGES)]) - dt.timedelta(days=365 * (i % 2))).isoformat()
        b.condition(pid, onset, conditions[i % 3], abatement=abated if i % 4 else None,
                    clinical_status="active" if i % 5 else "resolved")
        if i % 6 == 0:
            b.condition(pid, EDGES[(i + 1) % len(EDGES)], ("icd10cm", "E84.0"))
        for j in range(3):
            day = EDGES[(i + j) % len(EDGES)]
            b.dispense(pid, day, ("895994", "242438", "2123076")[(i + j) % 3])
    return b


def test_each_period_of_an_amr_pass_gets_the_rows_it_gets_alone() -> None:
    data = _asthma_records().data()
    measures = CATALOGUE.select(["AMR"])
    shared = dataclasses.replace(data, memo=FrameMemo(check_periods=True))  # proves the ANY_PERIOD answers
    runs = list(evaluate_periods(shared, PERIODS, measures))  # (all first: the pass's memo is current while it runs)
    seen = 0
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert run.failures == alone.failures == {}, period
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        seen += int(run.rows["denominator"].fillna(False).sum())
    assert seen


#: CMS136's periods: rolling ones across its intake periods' edge (March to February) and a leap day
ADHD_PERIODS = [*rolling_12_months(dt.date(2024, 3, 31), 2), *rolling_12_months(dt.date(2025, 3, 31), 3)]


def _adhd_records() -> MeasureData:
    """Children starting an ADHD medication on an intake period's edge, an office visit 30 days before, and an
    inpatient stay 0, 1, 31 or 301 days after, diagnosed (principal or not, by its condition or its own code)
    with a mental health disorder or not."""
    from tests.metrics import test_cms136_edges as e
    from tests.metrics.test_episode_edges import build, encounter, order, patient

    starts = ["2023-03-01", "2024-02-29", "2024-03-01", "2024-03-31", "2025-02-28", "2025-03-01", "2024-01-10"]
    frames: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "patients", "medication_requests", "encounters", "conditions", "encounter_diagnoses")}
    for k in range(len(starts) * 4):
        pid, start = k + 1, pd.Timestamp(starts[k % len(starts)])
        frames["patients"].append(patient(pid, "2016-06-01"))
        frames["medication_requests"].append(order(pid, e.METHYLPHENIDATE, f"{start:%Y-%m-%d} 08:00",
                                                   status="completed", supply_days=240))
        before = start - pd.Timedelta(days=30)
        frames["encounters"].append(encounter(pid, e.OFFICE, f"{before:%Y-%m-%d} 10:00", f"{before:%Y-%m-%d} 10:30"))
        stay = start + pd.Timedelta(days=(0, 1, 31, 301)[k % 4])
        frames["encounters"].append(encounter(pid, e.INPATIENT, f"{stay:%Y-%m-%d} 10:00", f"{stay:%Y-%m-%d} 10:30",
                                              event_id=5000 + k))
        diagnosis = e.MBND if k % 5 else "snomed|000000"
        if k % 2:
            frames["conditions"].append({"patient_id": pid, "event_id": 6000 + k, "key": diagnosis})
            frames["encounter_diagnoses"].append({"encounter_id": 5000 + k, "condition_id": 6000 + k,
                                                  "rank": 1 if k % 3 else 2})
        else:
            frames["encounter_diagnoses"].append({"encounter_id": 5000 + k, "key": diagnosis, "rank": 1 if k % 3 else 2})
    return build(e.VALUESETS, **frames)


def test_each_period_of_a_cms136_pass_gets_the_rows_it_gets_alone() -> None:
    data = _adhd_records()
    measures = CATALOGUE.select(["CMS136"])
    shared = dataclasses.replace(data, memo=FrameMemo(check_periods=True))  # proves the ANY_PERIOD answers
    runs = list(evaluate_periods(shared, ADHD_PERIODS, measures))
    seen = 0
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert run.failures == alone.failures == {}, period
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        seen += int(run.rows["initial-population"].fillna(False).sum())
    assert seen


@pytest.mark.parametrize("principal_only", [False, True])
def test_the_diagnosed_encounters_of_a_data_are_found_once(monkeypatch: pytest.MonkeyPatch,
                                                           principal_only: bool) -> None:
    from tests.metrics.test_cms136_edges import MBND_VS

    data = _adhd_records()
    ids = data.encounters["event_id"].to_numpy()
    expected = _episodes.encounter_diagnosis_in(data, ids, MBND_VS, principal_only=principal_only)  # (no memo)
    assert expected.any() and not expected.all()
    calls: list[bool] = []
    real = _episodes._diagnosed_encounters

    def counted(*args: object) -> pd.Index:
        calls.append(True)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_episodes, "_diagnosed_encounters", counted)
    with remembering(FrameMemo(check_periods=True)):
        for i, period in enumerate(ADHD_PERIODS):
            with evaluating(period):
                some = ids[i % 2::2]
                got = _episodes.encounter_diagnosis_in(data, some, MBND_VS, principal_only=principal_only)
                np.testing.assert_array_equal(got, expected[i % 2::2])
    assert len(calls) == len(ADHD_PERIODS)  # once, then again in each other period by the checking memo only
    calls.clear()
    with remembering(FrameMemo()):
        for period in ADHD_PERIODS:
            with evaluating(period):
                _episodes.encounter_diagnosis_in(data, ids, MBND_VS, principal_only=principal_only)
    assert len(calls) == 1


def _rows(ids: list[int]) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame({"measure": "M", "group_index": np.zeros(n, dtype=np.int64),
                         "patient_id": np.array(ids, dtype=np.int64), "episode_id": None,
                         **{c: np.ones(n, dtype=bool) for c in POPULATIONS}})


@pytest.mark.parametrize("patient_ids", [[1, 2, 3, 4], [7, 3, 9, 4], [1, 2, 2, 4]])
@pytest.mark.parametrize("row_ids", [[4, 1, 1, 3, 2], [3, 5], []])
def test_the_patients_attributes_taken_by_position_are_the_merges(patient_ids: list[int], row_ids: list[int]) -> None:
    """Dense ids, scattered ids, repeated ids; rows of known patients, of one unknown (5), none."""
    b = Builder()
    for _ in patient_ids:
        b.patient("2000-01-01")
    data = b.data()
    patients = data.patients.assign(patient_id=np.array(patient_ids, dtype=np.int64),
                                     practice_id=pd.array([10, 20, None, 40], dtype="Int64"),
                                     provider_id=pd.array([1, None, 3, 4], dtype="Int64"))
    data = dataclasses.replace(data, patients=patients, memo=FrameMemo())
    rows = _rows([p for p in row_ids if p in patient_ids] if row_ids != [3, 5] else row_ids)
    expected = rows.merge(patients[["patient_id", "practice_id", "provider_id"]], on="patient_id",
                          how="left")[list(ROW_COLUMNS)]
    pd.testing.assert_frame_equal(with_attributes(data, rows), expected)
