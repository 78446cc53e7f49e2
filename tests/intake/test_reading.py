"""Reading exports: encodings, delimiters, Excel, header synonyms, date formats and code spellings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from carenet_desktop.interchange.tabular import TabularSource, guess_mapping
from carenet_desktop.interchange.tabular.coding import infer_system, normalise
from carenet_desktop.interchange.tabular.dates import detect_format, parse_dates


@pytest.mark.parametrize(("encoding", "delimiter"), [("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", "\t"),
                                                    ("utf-8", "|")])
def test_encodings_and_delimiters_are_detected(tmp_path: Path, encoding: str, delimiter: str) -> None:
    text = delimiter.join(["MRN", "Last Name", "DOB"]) + "\r\n" + delimiter.join(["A1", "Muñoz", "2019-01-02"]) + "\r\n"
    path = tmp_path / "p.csv"
    path.write_bytes(text.encode(encoding))
    source = TabularSource(path)
    assert (source.delimiter, source.headers) == (delimiter, ["MRN", "Last Name", "DOB"])
    chunk = next(source.chunks())
    assert chunk.frame.values.tolist() == [["A1", "Muñoz", "2019-01-02"]] and chunk.rows.tolist() == [2]


def test_bad_rows_and_row_numbers_with_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('MRN,Note,DOB\nA1,"two\nlines",2019-01-01\n\nA2,x,2019-01-02,extra\nA3\n', encoding="utf-8")
    chunks = list(TabularSource(path).chunks())
    rows = [r for c in chunks for r in c.rows.tolist()]
    bad = [b for c in chunks for b in c.bad_rows]
    assert rows == [2, 5] and bad == [(4, "row has 4 fields, the header has 3")]
    frames = pd.concat([c.frame for c in chunks])
    assert frames.values.tolist() == [["A1", "two\nlines", "2019-01-01"], ["A3", "", ""]]


STRAY = {  # (file, the rows read after the bad one): an unmatched quote must cost that row only
    "to the end of the file": 'MRN,Name,DOB\nA1,"Ann,2019-01-01\nA2,Bob,2019-01-02\nA3,Cy,2019-01-03\n',
    "to the next quoted cell": 'MRN,Name,DOB\nA1,"Ann,2019-01-01\nA2,Bob,2019-01-02\nA3,"Cy, Jr",2019-01-03\n',
    # closed by the next quote in the same column: the swallowed record even has the header's field count
    "closed in the same column": 'MRN,Name,DOB\nA1,Ann,"2019-01-01\nA2,Bob,2019-01-02\nA3,Cy,"2019-01-03"\n',
}


@pytest.mark.parametrize("case", list(STRAY))
def test_a_stray_quote_rejects_its_row_and_the_rows_after_it_are_read(tmp_path: Path, case: str) -> None:
    path = tmp_path / "stray.csv"
    path.write_text(STRAY[case], encoding="utf-8")
    chunks = list(TabularSource(path).chunks())
    bad = [b for c in chunks for b in c.bad_rows]
    assert [row for row, _ in bad] == [2] and "unclosed quote" in bad[0][1]
    assert [r for c in chunks for r in c.rows.tolist()] == [3, 4]
    assert pd.concat([c.frame for c in chunks])["MRN"].tolist() == ["A2", "A3"]


def test_a_stray_quote_after_many_rows_costs_one_row_and_names_its_line(tmp_path: Path) -> None:
    """Past the first chunk (the fast reader), and after a real two-line cell (rows and lines differ)."""
    lines = ["MRN,Note,DOB", 'A0,"two', 'lines",2019-01-01']
    lines += [f"B{i},ok,2019-01-01" for i in range(50)]
    lines += ['C1,"open,2019-01-01', "C2,after,2019-01-02"]
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chunks = list(TabularSource(path, chunk_rows=20).chunks())
    bad = [b for c in chunks for b in c.bad_rows]
    assert len(bad) == 1 and bad[0][0] == 53 and "(line 54 of the file)" in bad[0][1]
    mrns = pd.concat([c.frame for c in chunks])["MRN"].tolist()
    assert mrns == ["A0", *[f"B{i}" for i in range(50)], "C2"]
    assert pd.concat([c.frame for c in chunks])["Note"].tolist()[0] == "two\nlines"


def test_a_stray_quote_in_the_header_refuses_the_file_with_a_clear_message(tmp_path: Path) -> None:
    from carenet_desktop.interchange.tabular import TabularError

    path = tmp_path / "head.csv"
    path.write_text('MRN,"Name,DOB\nA1,Ann,2019-01-01\nA2,Bob,2019-01-02\n', encoding="utf-8")
    with pytest.raises(TabularError, match="header row has an unclosed quote"):
        TabularSource(path)
    fine = tmp_path / "two-line-header.csv"
    fine.write_text('MRN,"Visit\nDate"\nA1,2019-01-01\n', encoding="utf-8")
    assert TabularSource(fine).headers == ["MRN", "Visit\nDate"]


def test_xlsx_cells_become_text(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Patient ID", "CVX", "Date Given"])
    ws.append(["A1", 3, dt.datetime(2020, 3, 1)])
    ws.append([None, None, None])
    ws.append(["A2", 141.0, "2021-10-01"])
    wb.save(tmp_path / "i.xlsx")
    source = TabularSource(tmp_path / "i.xlsx")
    chunk = next(source.chunks())
    assert source.is_excel and chunk.frame.values.tolist() == [["A1", "3", "2020-03-01"], ["A2", "141", "2021-10-01"]]
    assert chunk.rows.tolist() == [2, 4]


@pytest.mark.parametrize(("headers", "kind", "expected"), [
    (["MRN", "Pat First Name", "Pat Last Name", "DOB", "Gender"], "patients",
     {"mrn": "MRN", "given_name": "Pat First Name", "family_name": "Pat Last Name", "birth_date": "DOB",
      "sex": "Gender"}),
    (["Pat ID", "CSN", "Visit Date", "CPT", "ICD10"], "encounters",
     {"mrn": "Pat ID", "record_id": "CSN", "date": "Visit Date", "code": "CPT", "reason_code": "ICD10"}),
    (["Patient Chart Number", "Vaccine Code", "Date Administered", "Lot Number"], "immunizations",
     {"mrn": "Patient Chart Number", "code": "Vaccine Code", "date": "Date Administered", "lot_number": "Lot Number"}),
    (["Person Nbr", "Dx Code", "Onset Date"], "diagnoses", {"mrn": "Person Nbr", "code": "Dx Code", "date": "Onset Date"}),
])
def test_header_synonyms_of_common_exports(headers: list[str], kind: str, expected: dict[str, str]) -> None:
    assert guess_mapping(headers, kind) == expected


@pytest.mark.parametrize(("values", "fmt", "first"), [
    (["2024-01-31", "2024-02-01 10:30"], "iso", "2024-01-31"),
    (["1/31/2024", "12/01/2024 8:15 PM"], "us", "2024-01-31"),
    (["31-01-2024", "01-02-2024"], "dmy", "2024-01-31"),
    (["31.01.2024"], "dmy-dot", "2024-01-31"),
    (["45322", "45323"], "excel", "2024-01-31"),
    (["20240131"], "compact", "2024-01-31"),
])
def test_date_format_detection(values: list[str], fmt: str, first: str) -> None:
    series = pd.Series(values, dtype=object)
    assert detect_format(series) == fmt
    assert parse_dates(series, fmt).iloc[0].date().isoformat() == first


def test_impossible_dates_do_not_parse() -> None:
    parsed = parse_dates(pd.Series(["02/30/2024", "13/01/2024", "", "1/1/1850"], dtype=object), "us")
    assert parsed.isna().all()


def test_code_spellings_are_normalised() -> None:
    codes = pd.Series(["3", "003", "J020", "j02.0", "99213-25", "99213.0", "G0438", "44261-6"], dtype=object)
    systems = pd.Series(["cvx", "cvx", "icd10cm", "icd10cm", "cpt", "cpt", "hcpcs", "loinc"], dtype=object)
    assert normalise(codes, systems).tolist() == ["03", "03", "J02.0", "J02.0", "99213", "99213", "G0438", "44261-6"]
    assert infer_system(pd.Series(["99392", "G0438", "12345678"], dtype=object),
                        ("cpt", "hcpcs", "snomed")).tolist() == ["cpt", "hcpcs", "snomed"]
