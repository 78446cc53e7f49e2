"""Measure years in the engine: versions in the catalogue, value sets by (url, version), the Condition-kind
rule and the digest of the definitions in force."""

from __future__ import annotations

import pandas as pd
import pytest

from carenet_desktop.metrics import catalogue, manifests
from carenet_desktop.metrics.catalogue import VersionedMeasure, in_force, resolve, versions_of
from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.definition import Group, Measure
from carenet_desktop.metrics.libraries import condition_kind
from carenet_desktop.metrics.period import Period
from carenet_desktop.metrics.valuesets import ValueSetIndex, choose_version
from tests.measure_catalogue import CATALOGUE, get_measure, version_in_force

definitions_digest = CATALOGUE.digest

URL = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.196.12.1214"


# ------------------------------------------------------------------------------------ versions


@pytest.mark.parametrize(("measure_id", "v2025", "v2026"), [
    ("CMS117", "0.1.000", "0.3.000"), ("CMS146", "0.1.001", "0.3.000"), ("CMS155", "0.1.001", "0.3.000"),
    ("CMS2", "0.2.000", "0.4.001"), ("CMS74", "0.0.002", "1.1.000"), ("CMS75", "0.0.001", "1.1.000"),
    ("CMS154", "0.1.001", "0.1.001"), ("CMS136", "0.1.001", "0.1.001"), ("CMS177", "0.1.000", "0.1.000"),
    ("CMS153", "0.1.000", "0.1.000"),
])
def test_each_period_is_computed_by_its_years_version(measure_id: str, v2025: str, v2026: str) -> None:
    assert version_in_force(measure_id, Period.year(2025)) == v2025
    assert version_in_force(measure_id, Period.year(2026)) == v2026
    assert version_in_force(measure_id, Period.year(2024)) == v2025  # before every version: the oldest
    assert version_in_force(measure_id, Period.year(2027)) == v2026  # after: the newest
    assert version_in_force(measure_id, Period.parse("2026-Q2")) == v2026


def test_a_rolling_period_takes_the_version_in_force_on_its_last_day() -> None:
    assert version_in_force("CMS117", Period.parse("2025-07-01..2026-06-30")) == "0.3.000"
    assert version_in_force("CMS117", Period.parse("2025-01-01..2025-12-31")) == "0.1.000"


def test_a_versioned_measure_evaluates_each_period_with_its_version(monkeypatch: pytest.MonkeyPatch) -> None:
    measure = get_measure("CMS2")
    assert isinstance(measure, VersionedMeasure)
    seen: list[str] = []
    for version in versions_of(measure):
        def spy(self: Measure, data: MeasureData, period: Period, _v: str = version.version) -> list[pd.DataFrame]:
            seen.append(_v)
            return [pd.DataFrame({"patient_id": pd.Series(dtype="int64")})]
        monkeypatch.setattr(type(version), "populations", spy)
    measure.evaluate(MeasureData(), Period.year(2025))
    measure.evaluate(MeasureData(), Period.year(2026))
    assert seen == ["0.2.000", "0.4.001"]


def test_a_version_is_picked_by_string_or_year() -> None:
    assert get_measure("CMS117", "0.1.000").applies_to == (None, 2025)
    assert get_measure("CMS117", "2026").version == "0.3.000"
    assert resolve(get_measure("CMS117"), Period.year(2026), "2025").version == "0.1.000"
    with pytest.raises(KeyError, match="no version"):
        get_measure("CMS117", "9.9.999")


def test_the_versioned_measure_shows_the_newest_metadata() -> None:
    measure = get_measure("CMS117")
    assert measure.version == "0.3.000"
    assert measure.canonical == "https://madie.cms.gov/Measure/CMS117FHIRChildhoodImmunizationStatus"
    assert [m.canonical for m in versions_of(measure)][0] == "https://madie.cms.gov/Measure/ChildhoodImmunizationStatusFHIR"
    assert measure.groups == versions_of(measure)[0].groups


def test_in_force_with_gaps_and_overlaps() -> None:
    class Old(Measure):
        id, title, version, groups, applies_to = "TYR", "t", "1", (Group("g"),), (None, 2024)

        def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
            return []

    class New(Old):
        version, applies_to = "2", (2026, None)

    versions = [New(), Old()]
    assert in_force(versions, Period.year(2024)).version == "1"
    assert in_force(versions, Period.year(2025)).version == "2"  # between versions: the next one
    assert in_force(versions, Period.year(2030)).version == "2"


def test_a_catalogue_refuses_a_second_class_for_the_same_version(monkeypatch: pytest.MonkeyPatch) -> None:
    first = type(get_measure("CMS153"))

    class Twin(first):  # type: ignore[valid-type,misc]
        pass

    classes, errors = catalogue.builtin_classes()
    monkeypatch.setattr(catalogue, "builtin_classes", lambda: ((*classes, Twin), dict(errors)))
    built = catalogue.Catalogue.build()
    assert any("CMS153 registered twice" in error for error in built.load_errors.values())
    assert type(built.get("CMS153")) is first  # the first class keeps the id


# ------------------------------------------------------------------------------------ digest


def test_the_definitions_digest_is_stable_and_follows_the_versions_in_force() -> None:
    assert definitions_digest() == definitions_digest()
    d2025, d2026 = definitions_digest(Period.year(2025)), definitions_digest(Period.year(2026))
    assert d2025 != d2026
    assert definitions_digest(Period.year(2025)) == definitions_digest(Period.parse("2025-Q3"))
    # CMS154 has one version: the same definitions in force for both years
    assert definitions_digest(Period.year(2025), ["CMS154"]) == definitions_digest(Period.year(2026), ["CMS154"])


def test_the_digest_changes_when_a_definition_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    before = definitions_digest(Period.year(2026))
    monkeypatch.setattr(type(get_measure("CMS117", "0.3.000")), "condition_kinds", {})
    assert definitions_digest(Period.year(2026)) == before  # logic in code: the version says it
    monkeypatch.setattr(type(get_measure("CMS117", "0.3.000")), "version", "0.3.001")
    assert definitions_digest(Period.year(2026)) != before


# ------------------------------------------------------------------------------ value sets by version


def test_expansions_of_one_url_live_side_by_side() -> None:
    index = ValueSetIndex()
    index.add(URL, [("cvx", "20")], version="20170504", expansion="2025-01-10T13:55:16-07:00")
    index.add(URL, [("cvx", "20"), ("cvx", "198")], version="20170504", expansion="2025-06-20T16:58:06-04:00")
    assert index.versions(URL) == [("20170504", "2025-01-10T13:55:16-07:00"), ("20170504", "2025-06-20T16:58:06-04:00")]
    assert index.keys(URL) == {"cvx|20", "cvx|198"}  # unpinned: the newest
    assert index.pinned(manifests.Y2025).keys(URL) == {"cvx|20"}
    assert index.pinned(manifests.Y2026).keys(URL) == {"cvx|20", "cvx|198"}
    assert index.pinned(manifests.Y2025) is index.pinned(manifests.Y2025)  # one view per manifest


def test_a_set_loaded_later_is_seen_by_the_pinned_views() -> None:
    index = ValueSetIndex()
    index.add(URL, [("cvx", "20")])
    view = index.pinned(manifests.Y2026)
    assert view.keys(URL) == {"cvx|20"}
    index.add(URL, [("cvx", "20"), ("cvx", "198")], version="20170504", expansion="2025-06-20T16:58:06-04:00")
    assert view.keys(URL) == {"cvx|20", "cvx|198"}


@pytest.mark.parametrize(("loaded", "wanted", "chosen"), [
    ([("1", "a")], None, ("1", "a")),
    ([("1", "2025-01"), ("1", "2025-06")], None, ("1", "2025-06")),
    ([("1", "2025-01"), ("1", "2025-06")], ("1", "2025-06"), ("1", "2025-06")),
    ([("1", ""), ("1", "2025-06")], ("1", "2025-03"), ("1", "")),  # the newest not later than wanted
    ([("1", "2025-06"), ("1", "2025-09")], ("1", "2025-03"), ("1", "2025-06")),  # else the earliest later
    ([("2", "2025-06"), ("1", "")], ("1", "2025-06"), ("1", "")),  # the wanted business version first
    ([("2", "2025-06")], ("1", "2025-06"), ("2", "2025-06")),  # none has it: any
])
def test_choose_version(loaded: list[tuple[str, str]], wanted: tuple[str, str] | None,
                        chosen: tuple[str, str]) -> None:
    assert choose_version(loaded, wanted) == chosen


# ------------------------------------------------------------------------------ the Condition kind


def _conditions(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["event_id"] = range(1, len(frame) + 1)
    return frame


@pytest.mark.parametrize(("row", "referenced", "expected"), [
    ({"category": "encounter-diagnosis", "profile_kind": None}, False, (True, False)),
    ({"category": "problem-list-item", "profile_kind": None}, False, (False, True)),
    ({"category": "health-concern", "profile_kind": None}, False, (False, True)),
    ({"category": "problem-list-item", "profile_kind": None}, True, (True, True)),
    ({"category": "problem-list-item", "profile_kind": "encounter-diagnosis"}, False, (True, False)),
    ({"category": "encounter-diagnosis", "profile_kind": "problems-health-concerns"}, True, (False, True)),
    ({"category": None, "profile_kind": None}, False, (True, True)),
    ({"category": "", "profile_kind": None}, True, (True, False)),
    ({"category": "sdoh", "profile_kind": None}, False, (False, False)),
])
def test_condition_kind_rule(row: dict[str, object], referenced: bool, expected: tuple[bool, bool]) -> None:
    cond = _conditions([row])
    links = pd.DataFrame({"encounter_id": [9], "condition_id": [1 if referenced else None]})
    ed, phc = condition_kind.kinds(links, cond)
    assert (bool(ed[0]), bool(phc[0])) == expected


def test_profile_kinds_from_profile_urls() -> None:
    qicore = "http://hl7.org/fhir/us/qicore/StructureDefinition/"
    assert condition_kind.profile_kind_of([qicore + "qicore-condition-encounter-diagnosis"]) == "encounter-diagnosis"
    assert condition_kind.profile_kind_of([qicore + "qicore-condition-problems-health-concerns|6.0.0"]) == \
        "problems-health-concerns"
    assert condition_kind.profile_kind_of([qicore + "qicore-condition"]) is None
    assert condition_kind.profile_kind_of([]) is None
