"""Import size limits: an oversized file is refused at once with its size, the limit and what to do;
an Excel file that is a decompression bomb is refused before openpyxl inflates it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from carenet_desktop.interchange.fhir import reader
from carenet_desktop.interchange.tabular import reading
from carenet_desktop.interchange.tabular.reading import TabularError, TabularSource


def test_an_oversized_csv_is_refused_with_the_limit(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "patients.csv"
    path.write_text("mrn,birth_date\n" + "M1,2024-01-01\n" * 200)
    TabularSource(path)  # under the limit: fine
    monkeypatch.setattr(reading, "MAX_CSV_BYTES", 1024)
    with pytest.raises(TabularError, match=r"patients.csv is .* MB; files over .* are not accepted. Split it"):
        TabularSource(path)


def test_an_excel_decompression_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (64 * 1024**2) + b">")  # 64 MB of spaces
    assert path.stat().st_size < 1024**2
    with pytest.raises(TabularError, match="decompression bomb"):
        TabularSource(path)


def test_a_large_bundle_is_refused_and_a_huge_ndjson_line_is_one_rejected_line(tmp_path: Path, monkeypatch) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": []}) + " " * 4096)
    monkeypatch.setattr(reader, "MAX_JSON_BYTES", 1024)
    parsed = reader.parse_file(bundle)
    assert parsed.fatal and "not accepted" in parsed.problems[0].reason and "NDJSON" in parsed.problems[0].reason

    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "2024-01-02", "gender": "female"}
    big = dict(patient, id="p2", text={"div": "x" * 5000})
    ndjson = tmp_path / "Patient.ndjson"
    ndjson.write_text(json.dumps(patient) + "\n" + json.dumps(big) + "\n" + json.dumps(dict(patient, id="p3")) + "\n")
    monkeypatch.setattr(reader, "MAX_NDJSON_LINE_BYTES", 2048)
    parsed = reader.parse_file(ndjson)
    assert not parsed.fatal
    assert [p.location for p in parsed.problems if "MB" in p.reason] == ["line 2"]
    assert len([r for r in parsed.records if r.kind == "patient"]) == 2
