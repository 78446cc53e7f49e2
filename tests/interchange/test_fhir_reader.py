"""Reading Bundles and NDJSON: every malformed resource is reported with its file and place."""

from __future__ import annotations

from pathlib import Path

import pytest

from carenet_desktop.interchange.fhir import MappingError, collect_paths, iter_resources, parse_file
from tests.interchange.fhir_samples import bundle, encounter, immunization, patient, write, write_ndjson


def test_bundle_with_a_malformed_entry_reports_the_entry(tmp_path: Path) -> None:
    bad = encounter("e2", "p1")
    bad["period"] = {"start": "not a date"}
    path = write(tmp_path / "b.json", bundle(patient("p1"), encounter("e1", "p1"), bad, immunization("i1", "p1")))
    parsed = parse_file(path)
    assert [r.kind for r in parsed.records] == ["patient", "encounter", "immunization"]
    assert len(parsed.problems) == 1
    problem = parsed.problems[0]
    assert problem.file == str(path) and problem.location.startswith("entry 2") and "Encounter/e2" in problem.location
    assert "period" in problem.reason


def test_ndjson_lines_are_numbered(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "Encounter.ndjson", [encounter("e1", "p1"), "{not json", encounter("e2", "p1")])
    parsed = parse_file(path)
    assert [r.source_id for r in parsed.records] == ["e1", "e2"]
    assert [(p.location, "JSON" in p.reason) for p in parsed.problems] == [("line 2", True)]


def test_a_file_that_is_not_json_is_one_fatal_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("<xml/>", encoding="utf-8")
    parsed = parse_file(path)
    assert parsed.fatal and len(parsed.problems) == 1 and parsed.records == []


def test_unstored_types_are_counted_not_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "b.json", bundle(patient("p1"), {"resourceType": "Organization", "id": "o1"}))
    parsed = parse_file(path)
    assert parsed.skipped == {"Organization": 1} and parsed.problems == []


def test_collect_paths_recurses_and_orders_ndjson_patients_first(tmp_path: Path) -> None:
    write_ndjson(tmp_path / "bulk" / "Encounter.ndjson", [encounter("e1", "p1")])
    write_ndjson(tmp_path / "bulk" / "Patient.ndjson", [patient("p1")])
    write(tmp_path / "a" / "b" / "case.json", bundle(patient("p2")))
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    names = [p.name for p in collect_paths([tmp_path])]
    assert names.index("Patient.ndjson") < names.index("Encounter.ndjson")
    assert sorted(names) == ["Encounter.ndjson", "Patient.ndjson", "case.json"]


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        collect_paths([tmp_path / "nope"])


def test_iter_resources_reports_an_ndjson_line_that_is_not_utf8() -> None:
    """json.loads raises UnicodeDecodeError (a ValueError without ``msg``) for such a line (found by mypy)."""
    items = list(iter_resources(Path("x.ndjson"), b'{"a": 1}\n{"b": "\xc3"}\n'))
    assert items[0] == ("line 1", {"a": 1})
    assert items[1][0] == "line 2" and isinstance(items[1][1], MappingError) and "invalid JSON" in str(items[1][1])
