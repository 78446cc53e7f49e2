"""Measure-specific care gaps on hand-made patients: the exact 'missing' text and due date."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from carenet_desktop.metrics import gaps as g
from carenet_desktop.metrics.catalogue import versions_of
from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.definition import Measure
from carenet_desktop.metrics.period import Period
from tests.measure_catalogue import get_measure
from tests.metrics import test_cms117_edges as c117
from tests.metrics import test_cms155_edges as c155
from tests.metrics.network_builders import Builder

P2025 = Period.year(2025)
D = dt.date


def gaps_of(measure_id: str, data: MeasureData, period: Period = P2025) -> pd.DataFrame:
    m = get_measure(measure_id)
    rows = m.evaluate(data, period)
    found = m.gaps(data, period, rows)
    # every gap is an open denominator member and every open member is a gap
    key = ["group_index", "patient_id", "episode_id"]
    expected = g.open_members(rows, m.id)[key].astype(str).sort_values(key).reset_index(drop=True)
    assert found[key].astype(str).sort_values(key).reset_index(drop=True).equals(expected)
    return found


def gap(found: pd.DataFrame, pid: int, group: int = 0, episode: int | None = None) -> tuple[str, dt.date]:
    rows = found[(found["patient_id"] == pid) & (found["group_index"] == group)]
    if episode is not None:
        rows = rows[rows["episode_id"] == episode]
    assert len(rows) == 1, rows
    return rows.iloc[0]["missing"], rows.iloc[0]["due_date"]


def has_gap(found: pd.DataFrame, pid: int, group: int = 0) -> bool:
    return bool(((found["patient_id"] == pid) & (found["group_index"] == group)).any())


# ------------------------------------------------------------------------------------------------ CMS117


def _cms117(*schedules: list[dict], births: tuple[dt.date, ...] | None = None, **events: list[dict]) -> MeasureData:
    births = births or tuple(c117.BIRTH for _ in schedules)
    pats = [c117.child(pid=i + 1, birth=b) for i, b in enumerate(births)]
    imms = [dict(r, patient_id=i + 1) for i, s in enumerate(schedules) for r in s]
    visits = [c117.visit(pid=i + 1) for i in range(len(schedules))]
    return c117.build(pats, immunizations=imms, encounters=events.pop("encounters", visits), **events)


def test_cms117_one_dose_short_is_named_with_its_number_due_by_the_2nd_birthday() -> None:
    full = c117.full_schedule()
    short_dtap = [r for r in full if not (r["code"] == "20" and r["occurrence"] == c117.days(450))]
    found = gaps_of("CMS117", _cms117(full, short_dtap))
    assert not has_gap(found, 1)
    assert gap(found, 2) == ("DTaP #4 (has 3 of 4)", D(2025, 3, 15))


def test_cms117_several_vaccines_and_doses_short() -> None:
    full = c117.full_schedule()
    doses = c117.without(full, "140", "133") + [c117.imm("133", c117.days(60)), c117.imm("133", c117.days(120))]
    found = gaps_of("CMS117", _cms117(doses))
    assert gap(found, 1) == ("PCV #3-#4 (has 2 of 4); Influenza #1-#2 (has 0 of 2)", D(2025, 3, 15))


def test_cms117_four_dose_hib_product_needs_four() -> None:
    doses = c117.without(c117.full_schedule(), "49") + [c117.imm("48", c117.days(n)) for n in (60, 120, 180)]
    assert gap(gaps_of("CMS117", _cms117(doses)), 1)[0] == "Hib #4 (has 3 of 4)"


def test_cms117_mmr_before_the_1st_birthday_does_not_count() -> None:
    early = c117.without(c117.full_schedule(), "03") + [c117.imm("03", D(2024, 3, 14))]
    assert gap(gaps_of("CMS117", _cms117(early)), 1)[0] == "MMR #1 (has 0 of 1)"


def test_cms117_leap_day_child_is_due_feb_28() -> None:
    birth = D(2024, 2, 29)
    doses = c117.without(c117.full_schedule(birth=birth), "21")
    data = _cms117(doses, births=(birth,), encounters=[c117.visit(start="2026-05-01 09:00", end="2026-05-01 09:20")])
    assert gap(gaps_of("CMS117", data, Period.year(2026)), 1) == ("VZV #1 (has 0 of 1)", D(2026, 2, 28))


def test_cms117_upcoming_needs_no_visit_and_skips_excluded_and_complete_children() -> None:
    as_of = D(2025, 3, 1)
    # 2nd birthdays: 2025-03-01 (first day), 2025-03-15 (inside, complete), 2025-03-31 (last day, excluded),
    # 2025-03-31 (last day), 2025-04-01 (day after)
    births = (D(2023, 3, 1), D(2023, 3, 15), D(2023, 3, 31), D(2023, 3, 31), D(2023, 4, 1))
    schedules = [c117.without(c117.full_schedule(birth=b), "83") for b in births]
    schedules[1] = c117.full_schedule(birth=births[1])
    data = _cms117(*schedules, births=births, encounters=[],
                   conditions=[c117.cond("3439009", D(2023, 6, 1), pid=3)])  # SCID
    found = g.upcoming(data, [get_measure("CMS117")], as_of, 30)
    assert list(found["patient_id"]) == [1, 4]
    assert list(found["due_date"]) == [D(2025, 3, 1), D(2025, 3, 31)]
    assert set(found["missing"]) == {"HepA #1 (has 0 of 1)"}


# ------------------------------------------------------------------------------------------------ CMS155


def test_cms155_names_the_missing_vital_sign_and_counseling_due_by_the_period_end() -> None:
    obs = [c155.vital("39156-5"), c155.vital("8302-2")]  # no weight
    complete = [dict(r, patient_id=2) for r in c155.vitals()] + [c155.vital("29463-7", pid=2)]
    data = c117.build([c155.teen(1), c155.teen(2)], vs=c155.VS, encounters=[c155.visit(1), c155.visit(2)],
                      observations=obs + complete,
                      procedures=[c155.counseling("11816003", pid=2)])
    found = gaps_of("CMS155", data)
    assert gap(found, 1, 0) == ("Document weight", D(2025, 12, 31))
    assert gap(found, 1, 1) == ("Nutrition counseling", D(2025, 12, 31))
    assert gap(found, 1, 2) == ("Physical activity counseling", D(2025, 12, 31))
    assert not has_gap(found, 2, 0) and not has_gap(found, 2, 1)
    assert gap(found, 2, 2)[0] == "Physical activity counseling"


def test_cms155_nothing_documented_lists_all_three() -> None:
    data = c117.build([c155.teen()], vs=c155.VS, encounters=[c155.visit()])
    assert gap(gaps_of("CMS155", data), 1, 0)[0] == "Document BMI percentile, height, weight"


# --------------------------------------------------------------------------------------------------- W30


def _visits(b: Builder, pid: int, last: str, count: int, step: int = 20) -> None:
    end = pd.Timestamp(last)
    for i in range(count):
        b.visit(pid, (end - pd.Timedelta(days=i * step)).date().isoformat())


def test_w30_rate1_visits_short_due_by_the_15_month_birthday() -> None:
    b = Builder()
    four = b.patient("2024-01-10")  # 15 months: 2025-04-10
    _visits(b, four, "2025-04-10", 4)
    b.visit(four, "2025-04-11")  # the day after does not count
    clamp = b.patient("2023-11-30")  # 15 months: 2025-02-28 (no Feb 30)
    _visits(b, clamp, "2025-02-28", 5)
    found = gaps_of("W30", b.data())
    assert gap(found, four, 0) == ("Well-child visit #5-#6 by 15 months (has 4 of 6)", D(2025, 4, 10))
    assert gap(found, clamp, 0) == ("Well-child visit #6 by 15 months (has 5 of 6)", D(2025, 2, 28))


def test_w30_rate2_counts_from_the_day_after_15_months_due_by_30_months() -> None:
    b = Builder()
    pid = b.patient("2022-11-30")  # 15 months 2024-02-29 (leap day), 30 months 2025-05-30
    b.visit(pid, "2024-02-29")  # on the 15-month birthday: rate 1's window, not rate 2's
    b.visit(pid, "2024-06-01")
    found = gaps_of("W30", b.data())
    assert gap(found, pid, 1) == ("Well-child visit #2 from 15 to 30 months (has 1 of 2)", D(2025, 5, 30))


def test_w30_upcoming() -> None:
    b = Builder()
    inside = b.patient("2025-01-31")  # 15 months 2026-04-30
    outside = b.patient("2025-02-01")  # 2026-05-01
    found = g.upcoming(b.data(), [get_measure("W30")], D(2026, 4, 1), 29)
    assert list(found["patient_id"]) == [inside]
    assert outside not in set(found["patient_id"])
    assert found.iloc[0]["due_date"] == D(2026, 4, 30)


# --------------------------------------------------------------------------------------------------- IMA

IMA_BIRTH = "2012-06-15"  # 10th 2022-06-15, 11th 2023-06-15, 13th 2025-06-15


def test_ima_names_the_vaccine_and_hpv_doses_due_by_the_13th_birthday() -> None:
    b = Builder()
    one_hpv = b.patient(IMA_BIRTH)
    b.immunization(one_hpv, "2024-01-10", "115")  # Tdap
    b.immunization(one_hpv, "2023-06-14", "114")  # MenACWY the day before the 11th birthday: too early
    b.immunization(one_hpv, "2024-01-10", "165")
    close = b.patient(IMA_BIRTH)
    b.immunization(close, "2024-01-10", "114")
    b.immunization(close, "2024-01-10", "115")
    b.immunization(close, "2024-01-10", "165")
    b.immunization(close, "2024-04-19", "165")  # 100 days later
    found = gaps_of("IMA", b.data())
    due = D(2025, 6, 15)
    men = "MenACWY (from the 11th birthday)"
    hpv1 = "HPV #2 (has 1 of 2), at least 146 days after the first"
    assert gap(found, one_hpv, 0) == (men, due)
    assert not has_gap(found, one_hpv, 1)
    assert gap(found, one_hpv, 2) == (hpv1, due)
    assert gap(found, one_hpv, 3) == (men, due)
    assert gap(found, one_hpv, 4) == (f"{men}; {hpv1}", due)
    assert gap(found, close, 2) == ("HPV #3 (has 2 of 3), less than 146 days apart", due)
    assert not has_gap(found, close, 3)
    assert gap(found, close, 4)[0] == "HPV #3 (has 2 of 3), less than 146 days apart"


def test_ima_no_vaccines() -> None:
    b = Builder()
    pid = b.patient(IMA_BIRTH)
    found = gaps_of("IMA", b.data())
    assert gap(found, pid, 1)[0] == "Tdap (from the 10th birthday)"
    assert gap(found, pid, 2)[0] == "HPV #1-#2 (has 0 of 2)"
    assert gap(found, pid, 4)[0] == "MenACWY (from the 11th birthday); Tdap (from the 10th birthday); HPV #1-#2 (has 0 of 2)"


def test_ima_upcoming() -> None:
    b = Builder()
    pid = b.patient("2013-02-28")  # 13th birthday 2026-02-28
    b.immunization(pid, "2025-01-10", "114")
    found = g.upcoming(b.data(), [get_measure("IMA")], D(2026, 2, 1), 27)
    assert set(found["group_index"]) == {1, 2, 3, 4}  # MenACWY given: not a gap
    assert set(found["due_date"]) == {D(2026, 2, 28)}
    assert g.upcoming(b.data(), [get_measure("IMA")], D(2026, 2, 1), 26).empty


# ------------------------------------------------------------------------------------------- LSC and DEV


def test_lsc_due_by_the_2nd_birthday_leap_day() -> None:
    b = Builder()
    pid = b.patient("2024-02-29")
    tested = b.patient("2024-02-29")
    b.observation(tested, "2025-02-01", ("loinc", "5671-3"), category="laboratory")
    found = gaps_of("LSC", b.data(), Period.year(2026))
    assert gap(found, pid) == ("Blood lead test", D(2026, 2, 28))
    assert not has_gap(found, tested)


def test_dev_screen_due_by_the_birthday_of_the_rate_and_total() -> None:
    b = Builder()
    one = b.patient("2024-05-10")  # 1st birthday 2025-05-10
    three = b.patient("2022-08-01")  # 3rd birthday 2025-08-01
    b.procedure(three, "2024-07-01", ("cpt", "96110"))  # in the 2nd year: does not count for rate 3
    found = gaps_of("DEV", b.data())
    assert gap(found, one, 0) == ("Developmental screening by the 1st birthday", D(2025, 5, 10))
    assert gap(found, one, 3) == ("Developmental screening by the 1st birthday", D(2025, 5, 10))
    assert gap(found, three, 2) == ("Developmental screening between the 2nd and 3rd birthdays", D(2025, 8, 1))
    assert gap(found, three, 3)[1] == D(2025, 8, 1)


def test_dev_upcoming() -> None:
    b = Builder()
    two = b.patient("2024-07-15")  # 2nd birthday 2026-07-15
    screened = b.patient("2024-07-15")
    b.procedure(screened, "2026-01-15", ("cpt", "96110"))
    found = g.upcoming(b.data(), [get_measure("DEV")], D(2026, 7, 1), 14)
    assert set(found["patient_id"]) == {two}
    assert set(zip(found["group_index"], found["missing"], strict=True)) == {
        (1, "Developmental screening between the 1st and 2nd birthdays"),
        (3, "Developmental screening between the 1st and 2nd birthdays")}


# ------------------------------------------------------------------------------------- FLV, WCV and REF


def test_flv_and_wcv_name_the_last_one_on_record_due_by_the_period_end() -> None:
    b = Builder()
    toddler = b.patient("2023-01-01")
    b.visit(toddler, "2025-03-01")
    b.procedure(toddler, "2024-11-01", ("cpt", "99188"))
    never = b.patient("2023-01-01")
    b.visit(never, "2025-03-01")
    school = b.patient("2019-01-01")
    b.visit(school, "2024-10-10")
    data = b.data()
    flv = gaps_of("FLV", data)
    assert gap(flv, toddler) == ("Fluoride varnish (last 2024-11-01)", D(2025, 12, 31))
    assert gap(flv, never) == ("Fluoride varnish (none on record)", D(2025, 12, 31))
    wcv = gaps_of("WCV", data)
    assert gap(wcv, school) == ("Well-care visit (last 2024-10-10)", D(2025, 12, 31))


def test_wcv_and_flv_without_any_event_on_record() -> None:
    b = Builder()
    school = b.patient("2019-01-01")
    assert gap(gaps_of("WCV", b.data()), school) == ("Well-care visit (none on record)", D(2025, 12, 31))
    toddler = b.patient("2023-01-01")
    b.visit(toddler, "2025-03-01")
    assert gap(gaps_of("FLV", b.data()), toddler)[0] == "Fluoride varnish (none on record)"


def test_ref_open_step_and_due_dates() -> None:
    b = Builder()
    pid = b.patient("2020-01-01")
    new = b.referral(pid, "2025-03-01")
    booked = b.referral(pid, "2025-03-01", referral_type="behavioral-health", status="scheduled",
                        scheduled_on="2025-03-10")
    seen = b.referral(pid, "2025-03-01", referral_type="specialist", status="seen", seen_on="2025-03-12")
    late = b.referral(pid, "2025-03-01", status="closed", closed_on="2025-04-15")  # 45 days
    lost = b.referral(pid, "2025-03-01", referral_type="community-service", status="lost", lost_on="2025-04-01")
    cancelled = b.referral(pid, "2025-03-01", status="cancelled")
    found = gaps_of("REF", b.data())
    assert gap(found, pid, 0, new) == ("Help Me Grow referral placed 2025-03-01: not yet scheduled", D(2025, 3, 31))
    assert gap(found, pid, 1, new)[1] == D(2025, 4, 30)
    assert gap(found, pid, 2, new)[1] == D(2025, 5, 30)
    assert gap(found, pid, 0, booked)[0] == "Behavioral health referral placed 2025-03-01: appointment 2025-03-10, not yet seen"
    assert gap(found, pid, 0, seen)[0] == "Specialist referral placed 2025-03-01: seen 2025-03-12, report not received"
    assert gap(found, pid, 0, late)[0] == "Help Me Grow referral placed 2025-03-01: loop closed after 45 days (limit 30)"
    assert set(found.loc[found["episode_id"] == late, "group_index"]) == {0}
    assert gap(found, pid, 2, lost)[0] == "Community service referral placed 2025-03-01: lost to follow-up 2025-04-01"
    assert cancelled not in set(found["episode_id"])


@pytest.mark.parametrize("measure_id", ["CMS2", "CMS153", "CMS146", "AMR", "SDOH", "MDS"])
def test_other_measures_use_the_default(measure_id: str) -> None:
    for version in versions_of(get_measure(measure_id)):  # every version of it
        assert type(version).gaps is Measure.gaps
