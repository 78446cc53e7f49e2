"""CMS117 edge cases on hand-made MeasureData: windows, distinct days, schedules, conditions, exclusions.

A fully immunized child (born 2023-03-15, age 2 at the end of 2025, one office visit in 2025) is the
base; each test changes one thing and checks the one outcome that must change with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd
import pytest

from carenet_desktop.metrics.data import COLUMNS, MeasureData
from carenet_desktop.metrics.measures import cms117 as m
from carenet_desktop.metrics.period import Period
from carenet_desktop.metrics.valuesets import ValueSetIndex, code_key
from tests.measure_catalogue import get_measure

P2025 = Period.year(2025)
BIRTH = dt.date(2023, 3, 15)
DATE_COLUMNS = {
    "birth_date", "deceased_date", "start", "end", "onset", "abatement", "recorded", "effective_start",
    "effective_end", "issued", "performed_start", "performed_end", "occurrence", "authored_on",
}
SYSTEMS = {"cvx": "http://hl7.org/fhir/sid/cvx", "cpt": "http://www.ama-assn.org/go/cpt",
           "snomed": "http://snomed.info/sct", "icd10pcs": "http://www.cms.gov/Medicare/Coding/ICD10",
           "loinc": "http://loinc.org"}

# a small code catalogue: one product per vaccine so that the rules stay independent
CODES: dict[str, list[tuple[str, str]]] = {
    m.DTAP_VACCINE: [("cvx", "20")], m.IPV_VACCINE: [("cvx", "10")], m.MMR_VACCINE: [("cvx", "03")],
    m.HIB3_VACCINE: [("cvx", "49")], m.HIB4_VACCINE: [("cvx", "48")], m.HEPB_VACCINE: [("cvx", "08")],
    m.VZV_VACCINE: [("cvx", "21")], m.PCV_VACCINE: [("cvx", "133")], m.HEPA_VACCINE: [("cvx", "83")],
    m.RV3_VACCINE: [("cvx", "116")], m.FLU_VACCINE: [("cvx", "140")], m.LAIV_VACCINE: [("cvx", "111")],
    m.DTAP_ADMINISTERED: [("cpt", "90700")], m.FLU_ADMINISTERED: [("cpt", "90685")],
    m.LAIV_ADMINISTERED: [("cpt", "90660")], m.RV2_ADMINISTERED: [("cpt", "90681")],
    m.RV3_ADMINISTERED: [("cpt", "90680")], m.HEPB_ADMINISTERED: [("cpt", "90744")],
    m.ANAPHYLACTIC_DTAP: [("snomed", "428281000124107")], m.ENCEPHALITIS_DTP: [("snomed", "192711008")],
    m.MEASLES: [("snomed", "14189004")], m.MUMPS: [("snomed", "36989005")], m.RUBELLA: [("snomed", "36653000")],
    m.HEPATITIS_B: [("snomed", "66071002")], m.IMMUNE_DISORDERS: [("snomed", "18827005")],
    m.SCID: [("snomed", "3439009")], m.INTUSSUSCEPTION: [("snomed", "64976006")],
    m.OFFICE_VISIT: [("cpt", "99213")], m.TELEPHONE_VISITS: [("cpt", "99441")],
}


def valuesets(extra: dict[str, list[tuple[str, str]]] | None = None) -> ValueSetIndex:
    index = ValueSetIndex()
    for url, pairs in {**CODES, **(extra or {})}.items():
        index.add(url, [(SYSTEMS[s], c) for s, c in pairs])
    return index


def frame(name: str, rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """A frame with exactly ``COLUMNS[name]``; ``key`` built from code_system/code; dates parsed."""
    rows = list(rows)
    out = pd.DataFrame({c: [r.get(c) for r in rows] for c in COLUMNS[name]})
    if "key" in out.columns and rows:
        out["key"] = [code_key(r.get("code_system"), r.get("code")) for r in rows]
    for column in out.columns:
        if column in DATE_COLUMNS:
            out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    if "event_id" in out.columns:
        out["event_id"] = range(1, len(out) + 1)
    return out


def build(patients: list[dict[str, Any]], vs: ValueSetIndex | None = None, **events: list[dict[str, Any]]) -> MeasureData:
    data = MeasureData(valuesets=vs or valuesets())
    data.patients = frame("patients", patients)
    for name, rows in events.items():
        setattr(data, name, frame(name, rows))
    return data


def days(n: int, birth: dt.date = BIRTH) -> dt.date:
    return birth + dt.timedelta(days=n)


def imm(code: str, when: dt.date, pid: int = 1, status: str = "completed", system: str = "cvx") -> dict[str, Any]:
    return {"patient_id": pid, "status": status, "code_system": system, "code": code, "occurrence": when}


def proc(code: str, when: dt.date | None, pid: int = 1, status: str = "completed", system: str = "cpt",
         end: dt.date | None = None) -> dict[str, Any]:
    return {"patient_id": pid, "status": status, "code_system": system, "code": code,
            "performed_start": when, "performed_end": end if end is not None else when}


def cond(code: str, onset: dt.date, pid: int = 1, system: str = "snomed") -> dict[str, Any]:
    return {"patient_id": pid, "code_system": system, "code": code, "onset": onset, "clinical_status": "active"}


def visit(pid: int = 1, start: str = "2025-06-01 10:00", end: str = "2025-06-01 10:30", code: str = "99213",
          status: str = "finished") -> dict[str, Any]:
    return {"patient_id": pid, "status": status, "code_system": "cpt", "code": code, "start": start, "end": end}


def birthday(years: int, birth: dt.date = BIRTH) -> dt.date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # Feb 29 -> Feb 28 (CQL date arithmetic)
        return birth.replace(year=birth.year + years, day=28)


def full_schedule(pid: int = 1, birth: dt.date = BIRTH) -> list[dict[str, Any]]:
    """Every vaccine met by immunizations alone (single-antigen products)."""
    first = birthday(1, birth)
    d = lambda n: days(n, birth)  # noqa: E731
    doses = [("20", d(60)), ("20", d(120)), ("20", d(180)), ("20", d(450)),
             ("10", d(60)), ("10", d(120)), ("10", d(180)),
             ("03", first + dt.timedelta(days=10)),
             ("49", d(60)), ("49", d(120)), ("49", d(180)),
             ("08", d(0)), ("08", d(60)), ("08", d(180)),
             ("21", first + dt.timedelta(days=10)),
             ("133", d(60)), ("133", d(120)), ("133", d(180)), ("133", d(450)),
             ("83", first + dt.timedelta(days=10)),
             ("119", d(60)), ("119", d(120)),
             ("140", d(200)), ("140", d(240))]
    return [imm(code, when, pid) for code, when in doses]


def without(doses: list[dict[str, Any]], *codes: str) -> list[dict[str, Any]]:
    return [r for r in doses if r["code"] not in codes]


def child(pid: int = 1, birth: dt.date = BIRTH) -> dict[str, Any]:
    return {"patient_id": pid, "subject_id": f"p{pid}", "birth_date": birth}


def outcome(data: MeasureData, period: Period = P2025, pid: int = 1) -> dict[str, bool] | None:
    """The populations of patient ``pid`` (None if not in the initial population)."""
    result = get_measure("CMS117").evaluate(data, period)
    rows = result[result["patient_id"] == pid]
    if rows.empty:
        return None
    row = rows.iloc[0]
    return {k: bool(row[k]) for k in ("initial-population", "denominator", "denominator-exclusion", "numerator")}


def numerator(immunizations: list[dict[str, Any]], procedures: list[dict[str, Any]] = (),  # type: ignore[assignment]
              conditions: list[dict[str, Any]] = (), birth: dt.date = BIRTH, period: Period = P2025,  # type: ignore[assignment]
              visits: list[dict[str, Any]] | None = None) -> bool:
    data = build([child(birth=birth)], immunizations=immunizations, procedures=list(procedures),
                 conditions=list(conditions), encounters=visits or [visit()])
    result = outcome(data, period)
    assert result is not None, "the child should be in the initial population"
    return result["numerator"]


# ------------------------------------------------------------------------------------------- numerator


def test_full_schedule_meets_the_numerator() -> None:
    assert numerator(full_schedule()) is True


@pytest.mark.parametrize("codes", [("20",), ("10",), ("03",), ("49",), ("08",), ("21",), ("133",), ("83",),
                                   ("119",), ("140",)])
def test_each_vaccine_is_required(codes: tuple[str, ...]) -> None:
    assert numerator(without(full_schedule(), *codes)) is False


@pytest.mark.parametrize(("offset", "counted"), [(41, False), (42, True)])
def test_dtap_minimum_age_is_42_days(offset: int, counted: bool) -> None:
    doses = without(full_schedule(), "20") + [imm("20", days(n)) for n in (offset, 120, 180, 450)]
    assert numerator(doses) is counted


@pytest.mark.parametrize(("when", "counted"), [(dt.date(2025, 3, 15), True), (dt.date(2025, 3, 16), False)])
def test_dose_on_the_second_birthday_counts_the_day_after_does_not(when: dt.date, counted: bool) -> None:
    doses = without(full_schedule(), "133") + [imm("133", days(n)) for n in (60, 120, 180)] + [imm("133", when)]
    assert numerator(doses) is counted


def test_same_day_doses_count_once() -> None:
    doses = without(full_schedule(), "20") + [imm("20", days(n)) for n in (60, 120, 120, 180)]
    assert numerator(doses) is False
    same_day_procedure = without(full_schedule(), "20") + [imm("20", days(n)) for n in (60, 120, 180)]
    assert numerator(same_day_procedure, procedures=[proc("90700", days(180))]) is False
    assert numerator(same_day_procedure, procedures=[proc("90700", days(181))]) is True


@pytest.mark.parametrize(("when", "counted"), [(dt.date(2024, 3, 14), False), (dt.date(2024, 3, 15), True),
                                               (dt.date(2025, 3, 15), True), (dt.date(2025, 3, 16), False)])
def test_mmr_window_is_first_to_second_birthday(when: dt.date, counted: bool) -> None:
    assert numerator(without(full_schedule(), "03") + [imm("03", when)]) is counted


def test_leap_day_birthday_uses_feb_28() -> None:
    """Born 2024-02-29: 1st birthday 2025-02-28, 2nd birthday 2026-02-28 (CQL date arithmetic)."""
    birth = dt.date(2024, 2, 29)
    p2026 = Period.year(2026)
    visits = [visit(start="2026-05-01 09:00", end="2026-05-01 09:20")]
    base = full_schedule(birth=birth)
    assert numerator(base, birth=birth, period=p2026, visits=visits) is True
    late_mmr = without(base, "03") + [imm("03", dt.date(2025, 2, 27))]
    assert numerator(late_mmr, birth=birth, period=p2026, visits=visits) is False
    on_first = without(base, "03") + [imm("03", dt.date(2025, 2, 28))]
    assert numerator(on_first, birth=birth, period=p2026, visits=visits) is True
    pcv = without(base, "133") + [imm("133", days(n, birth)) for n in (60, 120, 180)]
    assert numerator(pcv + [imm("133", dt.date(2026, 2, 28))], birth=birth, period=p2026, visits=visits) is True
    assert numerator(pcv + [imm("133", dt.date(2026, 3, 1))], birth=birth, period=p2026, visits=visits) is False


def test_influenza_immunization_from_42_days_procedure_from_180_days() -> None:
    """As written in the CQL: the immunization window starts at 42 days, the procedure window at 180."""
    base = without(full_schedule(), "140") + [imm("140", days(240))]
    assert numerator(base + [imm("140", days(42))]) is True
    assert numerator(base, procedures=[proc("90685", days(179))]) is False
    assert numerator(base, procedures=[proc("90685", days(180))]) is True


def test_laiv_counts_only_on_the_second_birthday_with_another_flu_dose() -> None:
    one_flu = without(full_schedule(), "140") + [imm("140", days(240))]
    assert numerator(one_flu + [imm("111", dt.date(2025, 3, 15))]) is True
    assert numerator(one_flu + [imm("111", dt.date(2025, 3, 14))]) is False
    assert numerator(one_flu, procedures=[proc("90660", dt.date(2025, 3, 15))]) is True
    assert numerator(without(full_schedule(), "140") + [imm("111", dt.date(2025, 3, 15))]) is False


def test_hib_four_dose_product_needs_four_days() -> None:
    three = without(full_schedule(), "49") + [imm("49", days(60)), imm("49", days(120)), imm("48", days(180))]
    assert numerator(three) is False
    assert numerator(three + [imm("48", days(400))]) is True
    assert numerator(without(full_schedule(), "49") + [imm("49", days(n)) for n in (60, 120, 180)]) is True


def test_rotavirus_three_dose_product_needs_three_days() -> None:
    base = without(full_schedule(), "119")
    assert numerator(base + [imm("119", days(60)), imm("116", days(120))]) is False
    assert numerator(base + [imm("119", days(60)), imm("116", days(120)), imm("116", days(180))]) is True
    assert numerator(base, procedures=[proc("90681", days(60)), proc("90681", days(120))]) is True
    two_days = base + [imm("119", days(60)), imm("119", days(120))]
    assert numerator(two_days, procedures=[proc("90680", days(120))]) is False  # a 3-dose product: 3 days
    assert numerator(two_days, procedures=[proc("90680", days(150))]) is True


@pytest.mark.parametrize(("newborn_day", "met"), [(0, True), (7, True), (8, False)])
def test_hepb_newborn_dose_plus_two(newborn_day: int, met: bool) -> None:
    doses = without(full_schedule(), "08") + [imm("08", days(60)), imm("08", days(180))]
    newborn = [proc("3E0234Z", days(newborn_day), system="icd10pcs")]
    assert numerator(doses, procedures=newborn) is met


def test_hepb_doses_must_follow_the_newborn_dose() -> None:
    doses = without(full_schedule(), "08") + [imm("08", days(3)), imm("08", days(60))]
    assert numerator(doses, procedures=[proc("3E0234Z", days(3), system="icd10pcs")]) is False


def test_anaphylaxis_counts_when_it_starts_by_the_second_birthday() -> None:
    no_dtap = without(full_schedule(), "20")
    assert numerator(no_dtap, conditions=[cond("428281000124107", dt.date(2025, 3, 15))]) is True
    assert numerator(no_dtap, conditions=[cond("428281000124107", dt.date(2025, 3, 16))]) is False
    assert numerator(no_dtap, conditions=[cond("192711008", days(100))]) is True
    no_rv = without(full_schedule(), "119")
    assert numerator(no_rv, conditions=[cond("428331000124103", days(100))]) is True


def test_mmr_history_needs_measles_mumps_and_rubella() -> None:
    no_mmr = without(full_schedule(), "03")
    three = [cond("14189004", days(300)), cond("36989005", days(310)), cond("36653000", days(320))]
    assert numerator(no_mmr, conditions=three) is True
    assert numerator(no_mmr, conditions=three[:2]) is False


def test_not_administered_and_not_performed_do_not_count() -> None:
    doses = without(full_schedule(), "20") + [imm("20", days(n)) for n in (60, 120, 180)]
    assert numerator(doses + [imm("20", days(450), status="not-done")]) is False
    assert numerator(doses + [imm("20", days(450), status="Completed")]) is True  # status ~ is case-insensitive
    assert numerator(doses, procedures=[proc("90700", days(450), status="in-progress")]) is False


def test_procedure_day_is_performed_earliest() -> None:
    """performed.earliest(): the start of the performed period, or its end when it has none."""
    doses = without(full_schedule(), "20") + [imm("20", days(n)) for n in (60, 120, 180)]
    assert numerator(doses, procedures=[proc("90700", None, end=days(450))]) is True
    late_start = proc("90700", dt.date(2025, 3, 16), end=dt.date(2025, 3, 20))
    assert numerator(doses, procedures=[late_start]) is False


# ---------------------------------------------------------------------------- population and exclusion


@pytest.mark.parametrize(("birth", "in_ip"), [(dt.date(2023, 12, 31), True), (dt.date(2023, 1, 1), True),
                                               (dt.date(2022, 12, 31), False), (dt.date(2024, 1, 1), False)])
def test_initial_population_turns_two_during_the_period(birth: dt.date, in_ip: bool) -> None:
    data = build([child(birth=birth)], encounters=[visit()])
    assert (outcome(data) is not None) is in_ip


@pytest.mark.parametrize(("encounter", "qualifies"), [
    (visit(), True),
    (visit(code="99211"), True),  # direct-reference code on Encounter.type
    (visit(code="99441"), True),
    (visit(code="99499"), False),
    (visit(status="cancelled"), False),
    (visit(status="in-progress", end=None), False),  # ongoing: not within the period
    (visit(start="2025-12-31 23:00", end="2026-01-01 00:30"), False),
    (visit(start="2024-12-31 23:00", end="2025-01-01 00:30"), False),
    (visit(start="2025-12-31 00:00", end="2025-12-31 23:59"), True),
])
def test_qualifying_encounter(encounter: dict[str, Any], qualifies: bool) -> None:
    data = build([child()], encounters=[encounter])
    assert (outcome(data) is not None) is qualifies


@pytest.mark.parametrize(("code", "onset", "excluded"), [
    ("18827005", dt.date(2024, 5, 1), True),
    ("18827005", dt.date(2025, 3, 15), True),
    ("18827005", dt.date(2025, 3, 16), False),
    ("3439009", dt.date(2023, 3, 15), True),
    ("64976006", dt.date(2024, 1, 1), True),
])
def test_exclusion_conditions_by_the_second_birthday(code: str, onset: dt.date, excluded: bool) -> None:
    data = build([child()], immunizations=full_schedule(), conditions=[cond(code, onset)], encounters=[visit()])
    result = outcome(data)
    assert result is not None
    assert result["denominator-exclusion"] is excluded
    assert result["numerator"] is not excluded  # the numerator is only for those not excluded


def test_condition_without_onset_does_not_count() -> None:
    data = build([child()], immunizations=full_schedule(), conditions=[cond("18827005", None)],  # type: ignore[arg-type]
                 encounters=[visit()])
    result = outcome(data)
    assert result is not None and result["denominator-exclusion"] is False


def test_many_children_evaluated_together_stay_independent() -> None:
    """Doses of one child never count for another (vectorised joins keyed by patient)."""
    patients = [child(1), child(2), child(3, birth=dt.date(2020, 1, 1))]
    immunizations = full_schedule(1) + without(full_schedule(2), "20") + full_schedule(3)
    data = build(patients, immunizations=immunizations,
                 encounters=[visit(1), visit(2), visit(3)])
    result = get_measure("CMS117").evaluate(data, P2025).set_index("patient_id")
    assert list(result.index) == [1, 2]
    assert bool(result.loc[1, "numerator"]) is True
    assert bool(result.loc[2, "numerator"]) is False


def test_no_patients_gives_an_empty_result() -> None:
    result = get_measure("CMS117").evaluate(MeasureData(valuesets=valuesets()), P2025)
    assert result.empty


# ------------------------------------------------------------------------------------- the helpers


def test_code_tags_and_patient_flag() -> None:
    import numpy as np

    from carenet_desktop.metrics.measures import _immunization as imz

    rows = frame("immunizations", [imm("20", days(60)), imm("10", days(60), pid=2), imm("99", days(60), pid=3),
                                   {"patient_id": 4, "status": "completed"}])
    tags = imz.code_tags(rows, [frozenset({"cvx|20"}), frozenset({"cvx|10", "cvx|20"}), frozenset()])
    assert tags.tolist() == [0b11, 0b10, 0, 0]
    assert imz.has_bit(tags, 0).tolist() == [True, False, False, False]
    assert imz.patient_flag(rows["patient_id"], pd.Index([2, 4])).tolist() == [False, True, False, True]
    # ids that do not fit a lookup table fall back to isin
    assert imz.patient_flag(np.array([-5, 7]), np.array([-5])).tolist() == [True, False]
    assert imz.patient_flag(np.array(["a", "b"], dtype=object), ["b"]).tolist() == [False, True]
    assert imz.patient_flag(np.array([1, 2]), np.array([], dtype=np.int64)).tolist() == [False, False]
