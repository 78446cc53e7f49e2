"""CMS117 by measurement year: the same child's story gives the 2025 answer at 2025 (0.1.000) and the 2026
answer at 2026 (0.3.000), one test per difference between the versions.

CMS117 counts children who turn two in the period, so the story is told twice, for a child turning two in
2025 and for one turning two in 2026 (everything dated from the birth), in one store with both years' value
sets; each year's child is read at its own year.
"""

from __future__ import annotations

import datetime as dt

import pytest

from carenet_desktop.metrics.measures import cms117
from tests.metrics.network_builders import Builder
from tests.metrics.years_support import YEARS, by_year, codes, flags, needs_both_oracles

pytestmark = needs_both_oracles

OFFICE = ("cpt", "99213")
YES = ("snomed", "373066001")
HOSPICE_MDS = ("loinc", "45755-6")
HOSPICE_DX = ("snomed", "170935008")

#: (CVX, days after birth) of a complete series
SERIES = (
    [("20", d) for d in (60, 120, 180, 450)]  # DTaP x4
    + [("10", d) for d in (60, 120, 180)]  # IPV x3
    + [("03", 400)]  # MMR
    + [("49", d) for d in (60, 120, 180)]  # Hib (3-dose product) x3
    + [("08", d) for d in (1, 60, 180)]  # HepB x3
    + [("21", 400), ("83", 400)]  # VZV, HepA
    + [("133", d) for d in (60, 120, 180, 450)]  # PCV x4
    + [("119", 60), ("119", 120)]  # rotavirus, monovalent x2
    + [("140", 200), ("140", 240)]  # influenza x2
)


def _day(birth: dt.date, days: int) -> str:
    return (birth + dt.timedelta(days=days)).isoformat()


def child(b: Builder, year: int, *, series: list[tuple[str, int]] | None = None, visit_status: str = "finished"
          ) -> tuple[int, dt.date]:
    """A child turning two on March 1st of ``year`` with a visit in June of that year."""
    birth = dt.date(year - 2, 3, 1)
    pid = b.patient(birth.isoformat())
    b.visit(pid, f"{year}-06-15", OFFICE, status=visit_status)
    for cvx, days in SERIES if series is None else series:
        b.immunization(pid, _day(birth, days), cvx)
    return pid, birth


def without(cvx: str) -> list[tuple[str, int]]:
    return [(c, d) for c, d in SERIES if c != cvx]


def answers(b: Builder, pids: dict[int, int]) -> dict[int, tuple[int, int, int]]:
    results = by_year(b, "CMS117")
    return {year: flags(results[year], pids[year]) for year in YEARS}


def story(build) -> dict[int, tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    b = Builder()
    pids = {year: build(b, year) for year in YEARS}
    return answers(b, pids)


def test_the_codes_used_here_are_in_both_years_lists() -> None:
    for year in YEARS:
        assert "cvx|20" in codes(year, cms117.DTAP_VACCINE) and "cpt|99213" in codes(year, cms117.OFFICE_VISIT)
    assert "cvx|198" in codes(2026, cms117.DTAP_VACCINE) and "cvx|198" not in codes(2025, cms117.DTAP_VACCINE)
    assert "cvx|198" in codes(2026, cms117.HEPB_VACCINE) and "cvx|198" not in codes(2025, cms117.HEPB_VACCINE)


def test_a_complete_series_counts_in_both_years() -> None:
    assert story(lambda b, y: child(b, y)[0]) == {2025: (1, 0, 1), 2026: (1, 0, 1)}


def test_cvx_198_counts_as_dtap_and_hepb_from_2026() -> None:
    """DTP-hepB-Hib pentavalent (CVX 198) joined the DTaP and hepatitis B vaccine lists in 2026."""
    def build(b: Builder, year: int) -> int:
        series = [s for s in SERIES if s not in (("20", 450), ("08", 180))] + [("198", 450)]
        return child(b, year, series=series)[0]

    assert story(build) == {2025: (1, 0, 0), 2026: (1, 0, 1)}


def test_a_visit_that_is_not_finished_qualifies_only_in_2025() -> None:
    """Status 1.15 (2026): an encounter is performed only when finished (2025: also in-progress ...)."""
    assert story(lambda b, y: child(b, y, visit_status="in-progress")[0]) == {2025: (1, 0, 1), 2026: (0, 0, 0)}


def _mmr_history(b: Builder, year: int, **measles: object) -> int:
    pid, birth = child(b, year, series=without("03"))
    b.condition(pid, _day(birth, 300), ("icd10cm", "B05.9"), **measles)  # type: ignore[arg-type]
    b.condition(pid, _day(birth, 300), ("icd10cm", "B26.9"))
    b.condition(pid, _day(birth, 300), ("icd10cm", "B06.9"))
    return pid


def test_measles_on_the_problem_list_counts_only_in_2025() -> None:
    """2026 retrieves measles as an encounter diagnosis only (mumps and rubella as either kind)."""
    assert story(lambda b, y: _mmr_history(b, y)) == {2025: (1, 0, 1), 2026: (1, 0, 0)}


def test_measles_with_the_encounter_diagnosis_profile_counts_in_both_years() -> None:
    """As in the published cases: the profile decides the kind, whatever the category says."""
    def build(b: Builder, year: int) -> int:
        return _mmr_history(b, year, profile_kind="encounter-diagnosis")

    assert story(build) == {2025: (1, 0, 1), 2026: (1, 0, 1)}


def test_measles_an_encounter_addressed_counts_in_both_years() -> None:
    """No profile, category problem-list-item, but listed in Encounter.diagnosis: an encounter diagnosis."""
    def build(b: Builder, year: int) -> int:
        pid = _mmr_history(b, year)
        measles = next(r["event_id"] for r in b.rows["conditions"] if r["patient_id"] == pid and r["code"] == "B05.9")
        b.visit(pid, f"{year - 1}-01-10", OFFICE, condition_id=measles)
        return pid

    assert story(build) == {2025: (1, 0, 1), 2026: (1, 0, 1)}


def test_hiv_code_dropped_from_the_2026_list_excludes_only_in_2025() -> None:
    def build(b: Builder, year: int) -> int:
        pid, birth = child(b, year)
        b.condition(pid, _day(birth, 100), ("icd10cm", "O98.711"))
        return pid

    assert "icd10cm|O98.711" in codes(2025, cms117.HIV) and "icd10cm|O98.711" not in codes(2026, cms117.HIV)
    assert story(build) == {2025: (1, 1, 0), 2026: (1, 0, 1)}


def test_a_condition_of_neither_kind_excludes_only_in_2025() -> None:
    """2026 retrieves encounter diagnoses and problem-list items / health concerns; a condition categorised
    otherwise (here social determinants), not referenced by an encounter and without a profile, is neither."""
    def build(b: Builder, year: int) -> int:
        pid, birth = child(b, year)
        b.condition(pid, _day(birth, 100), ("icd10cm", "B20"), category="sdoh")
        return pid

    assert story(build) == {2025: (1, 1, 0), 2026: (1, 0, 1)}


def test_a_condition_without_category_counts_as_either_kind() -> None:
    def build(b: Builder, year: int) -> int:
        pid, birth = child(b, year)
        b.condition(pid, _day(birth, 100), ("icd10cm", "B20"), category=None)
        return pid

    assert story(build) == {2025: (1, 1, 0), 2026: (1, 1, 0)}


def test_hospice_assessment_without_survey_category_excludes_only_in_2026() -> None:
    """Status 1.15's isAssessmentPerformed no longer asks for the survey category."""
    def build(b: Builder, year: int) -> int:
        pid, _ = child(b, year)
        b.observation(pid, f"{year}-07-01", HOSPICE_MDS, value_key=YES, category=None)
        return pid

    assert story(build) == {2025: (1, 0, 1), 2026: (1, 1, 0)}


def test_a_refuted_hospice_diagnosis_excludes_only_in_2025() -> None:
    """Hospice 6.18 reads verified() diagnoses: not refuted, not entered in error."""
    def build(b: Builder, year: int) -> int:
        pid, _ = child(b, year)
        b.condition(pid, f"{year}-07-01", HOSPICE_DX, verification_status="refuted")
        return pid

    assert story(build) == {2025: (1, 1, 0), 2026: (1, 0, 1)}


@pytest.mark.parametrize("verification", [None, "confirmed", "provisional", "unconfirmed", "differential"])
def test_a_verified_hospice_diagnosis_excludes_in_both_years(verification: str | None) -> None:
    def build(b: Builder, year: int) -> int:
        pid, _ = child(b, year)
        b.condition(pid, f"{year}-07-01", HOSPICE_DX, verification_status=verification)
        return pid

    assert story(build) == {2025: (1, 1, 0), 2026: (1, 1, 0)}


def _chickenpox(code: tuple[str, str]):  # type: ignore[no-untyped-def]
    def build(b: Builder, year: int) -> int:
        pid, birth = child(b, year, series=without("21"))
        b.condition(pid, _day(birth, 300), code, category="encounter-diagnosis")
        return pid
    return build


def test_a_varicella_code_added_in_2026_counts_for_vzv_only_in_2026() -> None:
    """Varicella Zoster gained SNOMED CT 31920006 in 2026: a history of it stands for the VZV vaccine."""
    assert "snomed|31920006" in codes(2026, cms117.VARICELLA_ZOSTER)
    assert "snomed|31920006" not in codes(2025, cms117.VARICELLA_ZOSTER)
    assert story(_chickenpox(("snomed", "31920006"))) == {2025: (1, 0, 0), 2026: (1, 0, 1)}


def test_a_varicella_code_dropped_in_2026_counts_for_vzv_only_in_2025() -> None:
    assert "snomed|186524006" in codes(2025, cms117.VARICELLA_ZOSTER)
    assert "snomed|186524006" not in codes(2026, cms117.VARICELLA_ZOSTER)
    assert story(_chickenpox(("snomed", "186524006"))) == {2025: (1, 0, 1), 2026: (1, 0, 0)}


def test_a_scid_code_dropped_in_2026_excludes_only_in_2025() -> None:
    def build(b: Builder, year: int) -> int:
        pid, birth = child(b, year)
        b.condition(pid, _day(birth, 100), ("snomed", "190993005"), category="encounter-diagnosis")
        return pid

    assert "snomed|190993005" in codes(2025, cms117.SCID) and "snomed|190993005" not in codes(2026, cms117.SCID)
    assert story(build) == {2025: (1, 1, 0), 2026: (1, 0, 1)}
