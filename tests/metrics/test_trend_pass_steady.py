"""A trend's pass derives some period-free rows once (CMS117's counted doses, the visits' coded and performed
encounters, the hospice records with their intervals): each period of a pass must get the rows it gets alone,
with records that fall in one period only (a child turning two, a hospice stay, a visit not performed)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.engine import evaluate_measures, evaluate_periods
from carenet_desktop.metrics.libraries import hospice
from carenet_desktop.metrics.memo import FrameMemo
from carenet_desktop.metrics.period import rolling_12_months
from tests.measure_catalogue import CATALOGUE
from tests.metrics.test_cms117_edges import build, child, full_schedule, imm, proc, valuesets, visit, without

PERIODS = rolling_12_months(dt.date(2025, 12, 31), 6)
HOSPICE = [("snomed", "183919006")]


def _children():  # type: ignore[no-untyped-def]
    """Children turning two in different months of 2025 (so in some of the periods only), each with a visit
    in the month they turn two, some with a dose not administered, a procedure dated by its end only, a
    cancelled visit, or a hospice stay of one month."""
    patients, immunizations, procedures, encounters = [], [], [], []
    for i in range(12):
        pid = i + 1
        birth = dt.date(2023, 1 + i, 10)
        patients.append(child(pid, birth))
        doses = full_schedule(pid, birth)
        if i % 3 == 0:  # the 4th DTaP not done: met only with the procedure below
            doses = [*without(doses, "20"), *(imm("20", birth + dt.timedelta(days=n), pid) for n in (60, 120, 180)),
                     imm("20", birth + dt.timedelta(days=450), pid, status="not-done")]
            procedures.append(proc("90700", None, pid, end=birth + dt.timedelta(days=450)) if i % 2 else
                              proc("90700", birth + dt.timedelta(days=450), pid, status="in-progress"))
        immunizations.extend(doses)
        at = f"2025-{1 + i:02d}-15 10:00"
        encounters.append(visit(pid, start=at, end=at, status="cancelled" if i % 4 == 1 else "finished"))
        if i % 4 == 2:
            encounters.append({**visit(pid, start=f"2025-{1 + i:02d}-20 10:00", end=f"2025-{1 + i:02d}-27 10:00"),
                               "code_system": "snomed", "code": "183919006"})
    vs = valuesets({hospice.VS_HOSPICE_ENCOUNTER: HOSPICE})
    return build(patients, vs, immunizations=immunizations, procedures=procedures, encounters=encounters)


@pytest.mark.parametrize("measure_ids", [["CMS117"], ["CMS117", "CMS155", "CMS154", "CMS146"]])
def test_each_period_of_a_pass_gets_the_childrens_rows_it_gets_alone(measure_ids):  # type: ignore[no-untyped-def]
    data = _children()
    measures = CATALOGUE.select(measure_ids)
    shared = dataclasses.replace(data, memo=FrameMemo(check_periods=True))  # proves the ANY_PERIOD answers
    runs = list(evaluate_periods(shared, PERIODS, measures))  # (done first: a pass's context is not a lone period's)
    counts = []
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        assert run.failures == alone.failures == {}, period
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        rows = run.rows[run.rows["measure"] == "CMS117"] if "measure" in run.rows.columns else run.rows
        counts.append(len(rows))
    assert len(set(counts)) > 1  # the children enter some periods only


def test_hospice_rows_are_tested_against_each_period():  # type: ignore[no-untyped-def]
    data = _children()
    found = [set(hospice.has_hospice_services(dataclasses.replace(data, memo=FrameMemo()), p)) for p in PERIODS]
    with_memo = dataclasses.replace(data, memo=FrameMemo(check_periods=True))
    from carenet_desktop.metrics.memo import remembering
    with remembering(with_memo.memo):
        kept = [set(hospice.has_hospice_services(with_memo, p)) for p in PERIODS]
    assert kept == found and any(found) and not all(f == found[-1] for f in found)


def test_a_pass_counts_the_vital_signs_a_period_counts_alone():  # type: ignore[no-untyped-def]
    """CMS155's vital signs kept for a pass (final, with a value): some not final, some without a value."""
    from tests.metrics.test_trend_hoisting import PERIODS as EDGES
    from tests.metrics.test_trend_hoisting import _records

    data = _records()
    obs = data.observations
    height = (obs["key"].astype(str).str.endswith("8302-2") & (obs["patient_id"] % 2 == 0)).to_numpy()
    early = ((np.arange(len(obs)) % 5 == 1) & (obs["patient_id"] % 2 == 1)).to_numpy()  # odd patients: some not final
    data.observations = obs.assign(status=obs["status"].where(~early, "preliminary"),
                                   value_num=obs["value_num"].where(~height))  # even patients' heights: no value
    measures = CATALOGUE.select(["CMS155"])
    runs = list(evaluate_periods(dataclasses.replace(data, memo=FrameMemo(check_periods=True)), EDGES, measures))
    numerators = 0
    for period, run in runs:
        alone = evaluate_measures(dataclasses.replace(data, memo=FrameMemo()), period, measures)
        pd.testing.assert_frame_equal(run.rows, alone.rows, obj=f"rows of {period.label}")
        numerators += int(run.rows["numerator"].sum())
    assert numerators
