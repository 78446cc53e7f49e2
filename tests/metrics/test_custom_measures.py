"""Network-defined measures as data: validation messages, evaluation on hand-made patients, the
catalogue built from the files (``services.catalogue_source``), and targets."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from carenet_desktop.metrics.catalogue import Catalogue
from carenet_desktop.metrics.custom import MeasureFileError, measure_class, parse_measure
from carenet_desktop.metrics.period import Period
from carenet_desktop.services.catalogue_source import (
    load_catalogue,
    load_targets,
    parse_measure_file,
    validate_measure_file,
)
from tests.metrics.network_builders import ROOT, Builder, numer, outcome

SHIPPED = ROOT / "resources" / "measures"

LEAD_LIKE: dict[str, Any] = {
    "format": "carenet-measure/1",
    "id": "TLEAD",
    "title": "Lead test by 2 (custom)",
    "direction": "increase",
    "target": 0.75,
    "population": {"turns": {"years": 2}},
    "numerator": {"codes": ["loinc|5671-3", "http://www.ama-assn.org/go/cpt|83655"],
                  "records": ["observations", "procedures"],
                  "window": {"from": {"anchor": "birth"}, "to": {"anchor": "birthday"}}},
}


def _write(tmp_path: Path, doc: Any, name: str = "m.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def _problems(doc: dict[str, Any]) -> list[str]:
    return parse_measure(doc)[1]


def _evaluate(doc: dict[str, Any], b: Builder, period: str = "2025") -> Any:
    definition, problems = parse_measure(doc)
    assert problems == [] and definition is not None
    return measure_class(definition)().evaluate(b.data(), Period.parse(period))


# ------------------------------------------------------------------------------------ validation


def test_shipped_measure_files_are_valid() -> None:
    files = sorted(p for p in SHIPPED.glob("*.json") if p.name != "targets.json")
    assert files
    for path in files:
        assert validate_measure_file(path) == [], path


def test_valid_file_parses_with_written_specification(tmp_path: Path) -> None:
    d = parse_measure_file(_write(tmp_path, LEAD_LIKE))
    cls = measure_class(d)
    assert cls.id == "TLEAD" and cls.source == "custom" and cls.improvement == "increase"
    spec = cls.specification
    for key in ("source", "age window", "anchor date", "denominator", "numerator", "exclusions", "direction"):
        assert spec[key], key
    assert "2 years birthday" in spec["age window"]
    assert "loinc|5671-3" in spec["numerator"] and "cpt|83655" in spec["numerator"]


def test_toml_file_is_accepted(tmp_path: Path) -> None:
    text = """
format = "carenet-measure/1"
id = "TTOML"
title = "Well visit 3-21 (TOML)"
[population.age]
at = "period-end"
min_years = 3
max_years = 21
[numerator]
valuesets = ["urn:carenet:valueset:well-child-visit"]
records = ["visits"]
"""
    assert validate_measure_file(_write(tmp_path, text, "m.toml")) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"format": "carenet-measure/9"}, "format: must be 'carenet-measure/1'"),
    ({"id": None}, "id: required"),
    ({"id": "lead 2"}, "id: 2-20 capital letters"),
    ({"id": "CMS999"}, "id: ids starting with CMS are reserved"),
    ({"title": ""}, "title: must be a non-empty text"),
    ({"direction": "up"}, "direction: must be one of: increase, decrease (got 'up')"),
    ({"target": 80}, "target: must be a rate between 0 and 1"),
    ({"target": True}, "target: must be a rate between 0 and 1"),
    ({"numerater": {}}, "numerater: unknown field"),
    ({"population": None}, "population: required"),
    ({"population": {"age": {"min_years": 3}, "turns": {"years": 2}}}, "population: needs exactly one of"),
    ({"population": {"age": {"at": "birthday", "min_years": 3}}}, "population.age.at: must be one of: period-start, period-end"),
    ({"population": {"age": {"min_years": 5, "max_years": 3}}}, "min_years (5) is greater than max_years (3)"),
    ({"population": {"age": {"min_years": 1, "max_months": 30}}}, "population.age: use either min_years/max_years"),
    ({"population": {"age": {"at": "period-end"}}}, "population.age: needs min_years and/or max_years"),
    ({"population": {"age": {"min_years": -1}}}, "population.age.min_years: must be between 0 and 1200"),
    ({"population": {"turns": {"years": 0}}}, "population.turns: must be a positive age"),
    ({"population": {"turns": {"years": "two"}}}, "population.turns.years: must be a whole number"),
    ({"numerator": None}, "numerator: must be an object"),
    ({"numerator": {"records": ["procedures"]}}, "numerator: needs \"valuesets\""),
    ({"numerator": {"codes": ["5671-3"]}}, "numerator.codes[0]: a code must be written system|code"),
    ({"numerator": {"codes": ["lonic|5671-3"]}}, "numerator.codes[0]: unknown code system 'lonic'"),
    ({"numerator": {"codes": ["loinc|5671-3"], "records": ["labs"]}}, "numerator.records[0]: must be one of"),
    ({"numerator": {"codes": ["loinc|5671-3"], "min_count": 0}}, "numerator.min_count: must be between 1 and 100"),
    ({"numerator": {"codes": ["loinc|5671-3"], "window": "year"}}, "numerator.window: must be \"period\" or"),
    ({"numerator": {"codes": ["loinc|5671-3"], "window": {"from": {"anchor": "dob"}}}},
     "numerator.window.from.anchor: must be one of: period-start, period-end, birth, birthday (got 'dob')"),
    ({"numerator": {"codes": ["loinc|5671-3"], "window": {"to": {"anchor": "birth", "yeras": 2}}}},
     "numerator.window.to.yeras: unknown field"),
    ({"visit": {"valuesets": "urn:x", "window": {"from": {"anchor": "period-start", "days": 1.5}}}},
     "visit.window.from.days: must be a whole number"),
    ({"exclusions": {"codes": ["icd10cm|E84.0"]}}, "exclusions: must be a list of objects"),
    ({"exclusions": [{"codes": ["icd10cm|E84.0"], "window": {"to": {"anchor": "birthday"}}}],
      "population": {"age": {"min_years": 3}}},
     "exclusions[0].window.to.anchor: \"birthday\" needs a population with \"turns\""),
    ({"standard_exclusions": "yes"}, "standard_exclusions: must be true or false"),
])
def test_each_invalid_field_is_reported_by_name(change: dict[str, Any], expected: str) -> None:
    doc = copy.deepcopy(LEAD_LIKE)
    for key, value in change.items():
        if value is None and key in ("id", "population"):
            doc.pop(key, None)
        else:
            doc[key] = value
    problems = _problems(doc)
    assert any(expected in p for p in problems), problems


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    doc = dict(LEAD_LIKE, direction="up", target=2, format="x")
    problems = validate_measure_file(_write(tmp_path, doc))
    assert len(problems) == 3
    with pytest.raises(MeasureFileError) as err:
        parse_measure_file(_write(tmp_path, doc))
    assert err.value.problems == problems


def test_unreadable_files(tmp_path: Path) -> None:
    assert validate_measure_file(tmp_path / "missing.json")[0].startswith("file not found")
    assert validate_measure_file(_write(tmp_path, "{not json"))[0].startswith("not valid JSON")
    assert validate_measure_file(_write(tmp_path, "[1, 2]"))[0].startswith("the file must hold one object")


# ------------------------------------------------------------------------------------ evaluation


@pytest.mark.parametrize(("day", "met"), [
    ("2023-05-20", True), ("2025-05-20", True), ("2025-05-21", False),
])
def test_custom_lead_measure_window_from_birth_to_birthday(day: str, met: bool) -> None:
    b = Builder()
    pid = b.patient("2023-05-20")
    b.observation(pid, day, ("loinc", "5671-3"), category="laboratory")
    assert numer(_evaluate(LEAD_LIKE, b), pid) is met


def test_custom_population_birthday_in_period_and_leap_day() -> None:
    b = Builder()
    leap = b.patient("2023-02-28")
    out = b.patient("2022-12-31")
    leap_on = b.patient("2024-02-29")    # 2nd birthday 2026-02-28
    b.procedure(leap_on, "2026-02-28", ("cpt", "83655"))
    result = _evaluate(LEAD_LIKE, b)
    assert outcome(result, leap)["denominator"] is True
    assert outcome(result, out) == {}
    assert numer(_evaluate(LEAD_LIKE, b, "2026"), leap_on) is True


def test_custom_age_window_visit_requirement_exclusion_and_distinct_days() -> None:
    doc = {
        "format": "carenet-measure/1", "id": "TFLU", "title": "Two flu doses 6m-8y", "direction": "increase",
        "population": {"age": {"at": "period-end", "min_months": 6, "max_months": 107}},
        "visit": {"valuesets": ["urn:carenet:valueset:well-child-visit"]},
        "numerator": {"codes": ["cvx|150"], "records": ["immunizations"], "min_count": 2,
                      "window": {"from": {"anchor": "period-start", "months": -6}, "to": {"anchor": "period-end"}}},
        "exclusions": [{"codes": ["icd10cm|D80.0"]}],
    }
    b = Builder()
    six_months = b.patient("2025-06-30")   # 6 months on 2025-12-30
    too_young = b.patient("2025-07-01")    # 5 months
    two_doses = b.patient("2020-03-01")
    same_day = b.patient("2020-03-01")
    no_visit = b.patient("2020-03-01")
    excluded = b.patient("2020-03-01")
    for pid in (six_months, two_doses, same_day, excluded):
        b.visit(pid, "2025-09-01")
    b.immunization(two_doses, "2024-07-01", "150")   # window starts 6 months before the period
    b.immunization(two_doses, "2025-10-01", "150")
    b.immunization(same_day, "2025-10-01", "150")
    b.immunization(same_day, "2025-10-01", "150")
    b.immunization(same_day, "2024-06-30", "150")    # one day before the window
    b.condition(excluded, "2019-01-01", ("icd10cm", "D80.0"))
    result = _evaluate(doc, b)
    assert outcome(result, six_months)["denominator"] is True
    assert outcome(result, too_young) == {}
    assert numer(result, two_doses) is True
    assert numer(result, same_day) is False
    assert outcome(result, no_visit)["denominator"] is False
    assert outcome(result, excluded)["denominator-exclusion"] is True


def test_shipped_vis_measure_evaluates() -> None:
    d = parse_measure_file(SHIPPED / "vis.json")
    b = Builder()
    screened = b.patient("2021-04-01")
    not_screened = b.patient("2021-04-01")
    for pid in (screened, not_screened):
        b.visit(pid, "2025-04-02")
    b.procedure(screened, "2025-04-02", ("cpt", "99177"))
    b.procedure(not_screened, "2024-12-31", ("cpt", "99177"))
    result = measure_class(d)().evaluate(b.data(), Period.year(2025))
    assert numer(result, screened) is True
    assert numer(result, not_screened) is False


# ------------------------------------------------------------------------------------ hook, targets


def test_the_catalogue_takes_valid_files_and_reports_bad_ones(tmp_path: Path) -> None:
    _write(tmp_path, LEAD_LIKE, "lead.json")
    _write(tmp_path, dict(LEAD_LIKE, id="TBAD", direction="up"), "bad.json")
    _write(tmp_path, dict(LEAD_LIKE, id="LSC"), "clash.json")
    _write(tmp_path, {"format": "carenet-targets/1", "targets": {}}, "targets.json")
    measures = load_catalogue([tmp_path])
    assert [d.id for d in measures.definitions] == ["TLEAD"]
    assert any(p.startswith("bad.json: direction:") for p in measures.file_problems)
    assert any(p.startswith("clash.json: id: LSC is already used") for p in measures.problems)
    assert measures.get("TLEAD").source == "custom"
    assert measures.get("LSC").source == "network"


def test_targets(tmp_path: Path) -> None:
    path = _write(tmp_path, {"format": "carenet-targets/1",
                             "targets": {"W30": [0.7, None], "LSC": 0.8, "IMA": {"4": 0.4}}})
    d = parse_measure(LEAD_LIKE)[0]
    assert d is not None
    t = load_targets(Catalogue.build([d]), path)
    assert t.get("W30", 0) == 0.7 and t.get("W30", 1) is None
    assert t.get("LSC", 0) == 0.8 and t.get("LSC", 3) == 0.8
    assert t.get("IMA", 4) == 0.4 and t.get("IMA", 0) is None
    assert t.get("TLEAD") == 0.75          # from the measure file
    assert t.get("NOPE") is None


def test_shipped_targets_cover_the_network_measures() -> None:
    measures = load_catalogue()
    t = load_targets(measures)
    for mid in ("W30", "WCV", "IMA", "LSC", "DEV", "MDS", "SDOH", "REF", "FLV", "AMR"):
        groups = len(measures.get(mid).groups)
        assert all(t.get(mid, g) is not None for g in range(groups)), mid


def test_invalid_targets_file(tmp_path: Path) -> None:
    path = _write(tmp_path, {"format": "carenet-targets/1", "targets": {"W30": [1.5], "LSC": {"x": 0.5}}})
    with pytest.raises(MeasureFileError) as err:
        load_targets(Catalogue.build(), path)
    assert "targets.W30[0]: must be a rate between 0 and 1" in str(err.value)
    assert "targets.LSC.x: group keys must be group numbers" in str(err.value)


def test_default_folders_give_the_shipped_measure_and_the_environment_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, dict(LEAD_LIKE, id="TENV"), "env.json")
    monkeypatch.setenv("CARENET_MEASURES", str(tmp_path))
    measures = load_catalogue()
    assert {"VIS", "TENV"} <= {d.id for d in measures.definitions}
    assert measures.get("VIS").specification["target"] == "80%"


def test_an_edited_file_reaches_the_next_catalogue_and_leaves_the_last_one_alone(tmp_path: Path) -> None:
    path = _write(tmp_path, LEAD_LIKE, "lead.json")
    before = load_catalogue([tmp_path])
    assert load_catalogue([tmp_path]) is before  # the same files: the same value
    path.write_text(json.dumps(dict(LEAD_LIKE, title="Edited")), encoding="utf-8")
    after = load_catalogue([tmp_path])
    assert after.problems == () and after.file_problems == ()
    assert after.get("TLEAD").title == "Edited"
    assert before.get("TLEAD").title == LEAD_LIKE["title"]  # a catalogue is a value: it does not change
    assert after.digest() != before.digest()


def test_unknown_value_set_urls_are_reported_when_the_catalogue_is_given(tmp_path: Path) -> None:
    doc = dict(LEAD_LIKE, visit={"valuesets": ["urn:carenet:valueset:well-child-visit", "urn:carenet:valueset:wel"]})
    path = _write(tmp_path, doc)
    assert validate_measure_file(path) == []
    known = ["urn:carenet:valueset:well-child-visit"]
    assert validate_measure_file(path, known) == [
        "visit.valuesets[1]: value set not loaded in the catalogue: urn:carenet:valueset:wel"]


def test_custom_age_and_exclusion_boundaries() -> None:
    doc = {
        "format": "carenet-measure/1", "id": "TBND", "title": "Boundaries", "direction": "increase",
        "population": {"age": {"at": "period-end", "min_months": 6, "max_months": 107}},
        "numerator": {"codes": ["cvx|150"], "records": ["immunizations"]},
        "exclusions": [{"codes": ["icd10cm|D80.0"]}],   # window: the period
    }
    b = Builder()
    oldest = b.patient("2017-01-01")        # 107 months on 2025-12-31
    too_old = b.patient("2016-12-31")       # 108 months
    abated_on_start = b.patient("2020-03-01")
    abated_before = b.patient("2020-03-01")
    starts_on_end = b.patient("2020-03-01")
    starts_after = b.patient("2020-03-01")
    b.condition(abated_on_start, "2019-01-01", ("icd10cm", "D80.0"), abatement="2025-01-01", clinical_status="resolved")
    b.condition(abated_before, "2019-01-01", ("icd10cm", "D80.0"), abatement="2024-12-31", clinical_status="resolved")
    b.condition(starts_on_end, "2025-12-31", ("icd10cm", "D80.0"))
    b.condition(starts_after, "2026-01-01", ("icd10cm", "D80.0"))
    result = _evaluate(doc, b)
    assert outcome(result, oldest)["denominator"] is True
    assert outcome(result, too_old) == {}
    assert outcome(result, abated_on_start)["denominator-exclusion"] is True
    assert outcome(result, abated_before)["denominator-exclusion"] is False
    assert outcome(result, starts_on_end)["denominator-exclusion"] is True
    assert outcome(result, starts_after)["denominator-exclusion"] is False
