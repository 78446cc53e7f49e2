"""CMS155, CMS75, CMS74 by measurement year, and the measures that keep their 2025 logic for 2026: the same
patient gives the 2025 answer at 2025 and the 2026 answer at 2026, one test per difference.

Patients have the same records in both years (a visit in April 2025 and in April 2026 ...), over one store
with both years' value sets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from carenet_desktop.metrics.measures import cms75, cms155
from carenet_desktop.metrics.period import Period
from tests.measure_catalogue import get_measure, version_in_force
from tests.metrics.network_builders import Builder
from tests.metrics.years_support import YEARS, both_years_index, by_year, codes, flags, needs_both_oracles

pytestmark = needs_both_oracles

OFFICE = ("cpt", "99213")
ORAL = ("cdt", "D0120")
CARIES = ("icd10cm", "K02.52")
CARIES_2026 = ("snomed", "1085951000119102")
PREGNANCY = ("icd10cm", "O09.00")
HOSPICE_MDS = ("loinc", "45755-6")
YES = ("snomed", "373066001")
HOSPICE_CARE = ("snomed", "385763009")
HOSPICE_DX = ("snomed", "170935008")
HEIGHT, WEIGHT, BMI = ("loinc", "8302-2"), ("loinc", "29463-7"), ("loinc", "39156-5")


def story(measure_id: str, add: Callable[[Builder, int, int], Any], birth: str = "2015-05-01",
          group: int = 0) -> dict[int, tuple[int, int, int]]:
    b = Builder()
    pid = b.patient(birth)
    for year in YEARS:
        add(b, pid, year)
    results = by_year(b, measure_id)
    return {year: flags(results[year], pid, group) for year in YEARS}


# ------------------------------------------------------------------------------------------ CMS155


def weighed(status: str = "finished") -> Callable[[Builder, int, int], None]:
    def add(b: Builder, pid: int, year: int) -> None:
        b.visit(pid, f"{year}-04-02", OFFICE, status=status)
        for code in (HEIGHT, WEIGHT, BMI):
            b.observation(pid, f"{year}-04-02", code, value_num=50.0, category="vital-signs")
    return add


def then(first: Callable[[Builder, int, int], None], second: Callable[[Builder, int, int], None]
         ) -> Callable[[Builder, int, int], None]:
    def add(b: Builder, pid: int, year: int) -> None:
        first(b, pid, year)
        second(b, pid, year)
    return add


def test_cms155_codes_are_in_both_years_lists() -> None:
    for year in YEARS:
        assert "cpt|99213" in codes(year, cms155.OFFICE_VISIT)
        assert "icd10cm|O09.00" in codes(year, cms155.PREGNANCY)


def test_cms155_a_finished_visit_counts_in_both_years() -> None:
    assert story("CMS155", weighed()) == {2025: (1, 0, 1), 2026: (1, 0, 1)}


def test_cms155_an_in_progress_visit_qualifies_only_in_2025() -> None:
    assert story("CMS155", weighed("in-progress")) == {2025: (1, 0, 1), 2026: (0, 0, 0)}


def test_cms155_a_bmi_without_a_value_counts_only_in_2026() -> None:
    """2026's "BMI Percentile in Measurement Period" lost 2025's ``value is not null``; height and weight keep it."""
    def add(b: Builder, pid: int, year: int) -> None:
        b.visit(pid, f"{year}-04-02", OFFICE)
        b.observation(pid, f"{year}-04-02", HEIGHT, value_num=140.0, category="vital-signs")
        b.observation(pid, f"{year}-04-02", WEIGHT, value_num=35.0, category="vital-signs")
        b.observation(pid, f"{year}-04-02", BMI, value_num=None, category="vital-signs")
    assert story("CMS155", add) == {2025: (1, 0, 0), 2026: (1, 0, 1)}


@pytest.mark.parametrize("missing", [HEIGHT, WEIGHT])
def test_cms155_a_height_or_weight_without_a_value_counts_in_neither_year(missing: tuple[str, str]) -> None:
    def add(b: Builder, pid: int, year: int) -> None:
        b.visit(pid, f"{year}-04-02", OFFICE)
        for code in (HEIGHT, WEIGHT, BMI):
            b.observation(pid, f"{year}-04-02", code, value_num=None if code == missing else 50.0,
                          category="vital-signs")
    assert story("CMS155", add) == {2025: (1, 0, 0), 2026: (1, 0, 0)}


def test_cms155_the_gap_of_a_bmi_without_a_value_follows_the_year() -> None:
    """The care gap reads the vital signs as the numerator does: a BMI without a value is missing only in 2025."""
    b = Builder()
    pid = b.patient("2015-05-01")
    for year in YEARS:
        b.visit(pid, f"{year}-04-02", OFFICE)
        b.observation(pid, f"{year}-04-02", HEIGHT, value_num=140.0, category="vital-signs")
        b.observation(pid, f"{year}-04-02", WEIGHT, value_num=35.0, category="vital-signs")
        b.observation(pid, f"{year}-04-02", BMI, value_num=None, category="vital-signs")
    data = b.data()
    data.valuesets = both_years_index()
    measure = get_measure("CMS155")
    texts = {}
    for year in YEARS:
        period = Period.year(year)
        rows = measure.evaluate(data, period)
        gaps = measure.gaps(data, period, rows)
        texts[year] = sorted(gaps.loc[gaps["patient_id"] == pid, "missing"].astype(str))
    assert "Document BMI percentile" in texts[2025]
    assert not any("BMI" in text for text in texts[2026])


def test_cms155_an_office_visit_code_added_in_2026_qualifies_only_in_2026() -> None:
    """SNOMED CT 185349003 (encounter for check up) joined the Office Visit list in 2026."""
    added = ("snomed", "185349003")
    assert "snomed|185349003" in codes(2026, cms155.OFFICE_VISIT)
    assert "snomed|185349003" not in codes(2025, cms155.OFFICE_VISIT)

    def add(b: Builder, pid: int, year: int) -> None:
        b.visit(pid, f"{year}-04-02", added)
        for code in (HEIGHT, WEIGHT, BMI):
            b.observation(pid, f"{year}-04-02", code, value_num=50.0, category="vital-signs")
    assert story("CMS155", add) == {2025: (0, 0, 0), 2026: (1, 0, 1)}


def test_cms155_pregnancy_of_neither_kind_excludes_only_in_2025() -> None:
    """2026 reads pregnancy as an encounter diagnosis or a problem-list item / health concern."""
    def pregnant(b: Builder, pid: int, year: int) -> None:
        b.condition(pid, f"{year}-02-01", PREGNANCY, category="sdoh", abatement=f"{year}-03-01",
                    clinical_status="resolved")
    assert story("CMS155", then(weighed(), pregnant), birth="2009-05-01") == {2025: (1, 1, 0), 2026: (1, 0, 1)}


def test_cms155_pregnancy_as_an_encounter_diagnosis_excludes_in_both_years() -> None:
    def pregnant(b: Builder, pid: int, year: int) -> None:
        b.condition(pid, f"{year}-02-01", PREGNANCY, category="encounter-diagnosis", abatement=f"{year}-03-01",
                    clinical_status="resolved")
    assert story("CMS155", then(weighed(), pregnant), birth="2009-05-01") == {2025: (1, 1, 0), 2026: (1, 1, 0)}


def test_cms155_hospice_assessment_without_survey_category_excludes_only_in_2026() -> None:
    def hospice(b: Builder, pid: int, year: int) -> None:
        b.observation(pid, f"{year}-05-01", HOSPICE_MDS, value_key=YES, category=None)
    assert story("CMS155", then(weighed(), hospice)) == {2025: (1, 0, 1), 2026: (1, 1, 0)}


def test_cms155_hospice_assessment_with_survey_category_excludes_in_both_years() -> None:
    def hospice(b: Builder, pid: int, year: int) -> None:
        b.observation(pid, f"{year}-05-01", HOSPICE_MDS, value_key=YES, category="survey")
    assert story("CMS155", then(weighed(), hospice)) == {2025: (1, 1, 0), 2026: (1, 1, 0)}


@pytest.mark.parametrize(("intent", "expected"), [
    ("order", {2025: (1, 1, 0), 2026: (1, 1, 0)}),
    ("filler-order", {2025: (1, 0, 1), 2026: (1, 1, 0)}),
    ("proposal", {2025: (1, 0, 1), 2026: (1, 0, 1)}),
])
def test_cms155_hospice_order_intents(intent: str, expected: dict[int, tuple[int, int, int]]) -> None:
    """Hospice 6.18 over Status 1.15: an order is intent order or one of its specialisations."""
    def hospice(b: Builder, pid: int, year: int) -> None:
        b.service_request(pid, f"{year}-05-01", HOSPICE_CARE, intent=intent)
    assert story("CMS155", then(weighed(), hospice)) == expected


def test_cms155_hospice_encounter_not_finished_excludes_only_in_2025() -> None:
    def hospice(b: Builder, pid: int, year: int) -> None:
        b.visit(pid, f"{year}-05-01", ("hcpcs", "Q5003"), status="in-progress")
    assert story("CMS155", then(weighed(), hospice)) == {2025: (1, 1, 0), 2026: (1, 0, 1)}


def test_cms155_entered_in_error_hospice_diagnosis_excludes_only_in_2025() -> None:
    def hospice(b: Builder, pid: int, year: int) -> None:
        b.condition(pid, f"{year}-05-01", HOSPICE_DX, verification_status="entered-in-error")
    assert story("CMS155", then(weighed(), hospice)) == {2025: (1, 1, 0), 2026: (1, 0, 1)}


# ------------------------------------------------------------------------------------ CMS75, CMS74


def examined(status: str = "finished") -> Callable[[Builder, int, int], None]:
    def add(b: Builder, pid: int, year: int) -> None:
        b.visit(pid, f"{year}-04-02", ORAL, status=status)
    return add


def decayed(code: tuple[str, str], **condition: Any) -> Callable[[Builder, int, int], None]:
    def add(b: Builder, pid: int, year: int) -> None:
        b.condition(pid, f"{year}-04-02", code, abatement=f"{year}-05-02", clinical_status="resolved", **condition)
    return add


def test_cms75_codes() -> None:
    for year in YEARS:
        assert "cdt|D0120" in codes(year, cms75.CLINICAL_ORAL_EVALUATION)
        assert "icd10cm|K02.52" in codes(year, cms75.DENTAL_CARIES)
    assert "snomed|1085951000119102" in codes(2026, cms75.DENTAL_CARIES)
    assert "snomed|1085951000119102" not in codes(2025, cms75.DENTAL_CARIES)


def test_cms75_caries_counts_in_both_years() -> None:
    assert story("CMS75", then(examined(), decayed(CARIES))) == {2025: (1, 0, 1), 2026: (1, 0, 1)}


def test_cms75_a_caries_code_added_in_2026_counts_only_in_2026() -> None:
    assert story("CMS75", then(examined(), decayed(CARIES_2026))) == {2025: (1, 0, 0), 2026: (1, 0, 1)}


def test_cms75_caries_of_neither_kind_counts_only_in_2025() -> None:
    assert story("CMS75", then(examined(), decayed(CARIES, category="sdoh"))) == {2025: (1, 0, 1), 2026: (1, 0, 0)}


@pytest.mark.parametrize("measure_id", ["CMS75", "CMS74"])
def test_dental_an_oral_evaluation_in_progress_qualifies_only_in_2025(measure_id: str) -> None:
    assert story(measure_id, examined("in-progress"))[2025][0] == 1
    assert story(measure_id, examined("in-progress"))[2026] == (0, 0, 0)


# ----------------------------------------------------------------------- measures kept for 2026


@pytest.mark.parametrize(("measure_id", "version"), [
    ("CMS154", "0.1.001"), ("CMS136", "0.1.001"), ("CMS177", "0.1.000"), ("CMS153", "0.1.000")])
def test_measures_without_a_2026_version_keep_their_2025_logic(measure_id: str, version: str) -> None:
    assert version_in_force(measure_id, Period.year(2025)) == version
    assert version_in_force(measure_id, Period.year(2026)) == version
    assert get_measure(measure_id).lib.year == 2025


def test_cms154_counts_an_in_progress_visit_in_2026_as_in_2025() -> None:
    """CMS154 keeps Status 1.8 for 2026: an in-progress encounter is performed in both years."""
    uri = ("icd10cm", "J06.9")

    def add(b: Builder, pid: int, year: int) -> None:
        day = {2025: "2025-03-10", 2026: "2026-09-21"}[year]
        b.condition(pid, day, uri, category="encounter-diagnosis")
        b.visit(pid, day, OFFICE, status="in-progress")
    assert story("CMS154", add) == {2025: (1, 0, 1), 2026: (1, 0, 1)}
