"""The shared spreadsheet writer: formula text neutralised in CSV and Excel, styled frozen header, formats."""

from __future__ import annotations

import csv
import datetime as dt

import pandas as pd
import pytest

from carenet_desktop.reports.spreadsheets import FORMULA_PREFIXES, column_formats, neutralise, write_table

DANGEROUS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\t=evil", "\r=evil"]


def _frame() -> pd.DataFrame:
    n = len(DANGEROUS)
    return pd.DataFrame({
        "Practice": DANGEROUS,
        "Denominator": pd.array(range(10, 10 + n), dtype="Int64"),
        "Numerator": pd.array([5, None, 7, 8, 9, 10], dtype="Int64"),
        "Rate": [0.5, None, 0.25, 0.125, 1.0, 0.0],
        "Period end": [dt.date(2025, 12, 31)] * n,
    })


@pytest.mark.parametrize("text", DANGEROUS)
def test_neutralise_prefixes_every_formula_start(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert text.startswith(FORMULA_PREFIXES)


def test_neutralise_leaves_plain_values() -> None:
    assert neutralise("Blood lead test") == "Blood lead test"
    assert neutralise(-3) == -3 and neutralise(None) is None


def test_csv_neutralises_text_but_not_numbers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.csv"
    frame = _frame()
    frame["Delta"] = [-1, -2, -3, -4, -5, -6]
    write_table(frame, path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["Practice"] for r in rows] == ["'" + t for t in DANGEROUS]
    assert rows[0]["Delta"] == "-1"  # a number, not text: left alone
    assert rows[1]["Numerator"] == "" and rows[1]["Rate"] == ""
    assert rows[0]["Period end"] == "2025-12-31" and rows[0]["Rate"] == "0.5"


def test_csv_header_neutralised(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "h.csv"
    write_table(pd.DataFrame({"=HYPERLINK()": [1]}), path)
    assert path.read_text(encoding="utf-8-sig").splitlines()[0] == "'=HYPERLINK()"


def test_xlsx_header_frozen_filled_and_formats(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    path = tmp_path / "t.xlsx"
    write_table(_frame(), path, sheet="Results", formats={"Rate": "percent", "Period end": "date"})
    wb = load_workbook(path)
    ws = wb["Results"]
    header = [c.value for c in ws[1]]
    assert header == ["Practice", "Denominator", "Numerator", "Rate", "Period end"]
    assert ws.freeze_panes == "A2"
    assert all(c.font.b for c in ws[1])
    assert all(c.fill.fill_type == "solid" and c.fill.start_color.rgb.endswith("DCE6F1") for c in ws[1])
    col = {h: i + 1 for i, h in enumerate(header)}
    rate = ws.cell(row=2, column=col["Rate"])
    assert rate.value == 0.5 and rate.number_format == "0.0%"
    count = ws.cell(row=2, column=col["Denominator"])
    assert count.value == 10 and isinstance(count.value, int) and count.number_format == "0"
    day = ws.cell(row=2, column=col["Period end"])
    assert day.value.date() == dt.date(2025, 12, 31) and day.number_format == "yyyy-mm-dd"
    assert ws.cell(row=3, column=col["Numerator"]).value is None
    texts = [ws.cell(row=r, column=1).value for r in range(2, 8)]
    assert texts[:5] == ["'" + t for t in DANGEROUS[:5]]
    assert texts[5] in ("'\r=evil", "'\n=evil")  # XML readers turn a lone CR into LF
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    widths = {h: ws.column_dimensions[chr(ord("A") + i)].width for i, h in enumerate(header)}
    assert widths["Denominator"] >= len("Denominator") and widths["Practice"] <= 60


def test_formats_guessed_from_dtypes() -> None:
    kinds = column_formats(_frame(), {"Rate": "percent"})
    assert kinds["Denominator"] == "integer" and kinds["Rate"] == "percent" and kinds["Practice"] == "text"


def test_unknown_suffix_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=".csv or .xlsx"):
        write_table(_frame(), tmp_path / "t.pdf")
