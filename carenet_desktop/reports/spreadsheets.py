"""One writer for every table the application exports as ``.csv`` or ``.xlsx`` (results, care gaps).

Both formats neutralise text a spreadsheet would run as a formula (CSV/formula injection: a cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe). Excel
files get a bold, filled, frozen header row with a filter, column widths fitted to the content and
number formats per column: rates as percentages, counts as whole numbers, dates as dates.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..models.full_disk import whole_file

#: a cell starting with one of these is a formula to Excel/LibreOffice (CSV injection)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

ColumnFormat = Literal["text", "integer", "percent", "decimal", "date"]

#: Excel number formats of each column kind
NUMBER_FORMATS: dict[str, str] = {"integer": "0", "percent": "0.0%", "decimal": "0.000", "date": "yyyy-mm-dd"}

SPREADSHEET_SUFFIXES = (".csv", ".xlsx")

HEADER_FILL = "DCE6F1"
_MAX_WIDTH = 60
_WIDTH_SAMPLE = 500


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def cell_value(value: object) -> object:
    """A DataFrame value as a spreadsheet cell: missing -> None, numpy scalars -> Python, text neutralised."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and math.isnan(float(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime() if (value.hour or value.minute or value.second) else value.date()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, str):  # a control character (NUL...) stored earlier must not fail the whole sheet
        value = _CONTROL.sub("?", value)
    return neutralise(value)


def write_table(frame: pd.DataFrame, path: Path, *, sheet: str = "Sheet1",
                formats: Mapping[str, ColumnFormat] | None = None) -> None:
    """Write ``frame`` to ``path`` as ``.csv`` or ``.xlsx`` (chosen by the suffix).

    ``formats`` names the kind of some columns (by header); numeric columns without one are shown as
    integers or decimals by their dtype, date-like columns as dates.
    """
    suffix = path.suffix.lower()
    if suffix not in SPREADSHEET_SUFFIXES:
        raise ValueError(f"Cannot write {path.name}: use a .csv or .xlsx file name")
    # written beside the target and renamed when complete: a full disk leaves no half-written export;
    # exports hold patient rows (care gaps) or practice figures: the owner's only
    with whole_file(path) as partial:
        if suffix == ".csv":
            write_csv(frame, partial)
        else:
            write_xlsx(frame, partial, sheet=sheet, formats=formats)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV with a byte-order mark (Excel then reads accents right); dates as ISO text."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow([neutralise(str(c)) for c in frame.columns])
        for row in frame.itertuples(index=False, name=None):
            writer.writerow([_csv_text(cell_value(x)) for x in row])


def _csv_text(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def column_formats(frame: pd.DataFrame, formats: Mapping[str, ColumnFormat] | None = None) -> dict[str, ColumnFormat]:
    """The format of every column: the given ones, else guessed from the dtype."""
    out: dict[str, ColumnFormat] = {}
    for name in frame.columns:
        given = (formats or {}).get(str(name))
        if given is not None:
            out[str(name)] = given
            continue
        series = frame[name]
        if pd.api.types.is_bool_dtype(series):
            out[str(name)] = "text"
        elif pd.api.types.is_integer_dtype(series):
            out[str(name)] = "integer"
        elif pd.api.types.is_float_dtype(series):
            out[str(name)] = "decimal"
        elif pd.api.types.is_datetime64_any_dtype(series):
            out[str(name)] = "date"
        else:
            out[str(name)] = "text"
    return out


def write_xlsx(frame: pd.DataFrame, path: Path, *, sheet: str = "Sheet1",
               formats: Mapping[str, ColumnFormat] | None = None) -> None:
    """An Excel workbook of one sheet: styled frozen header, filter, widths and number formats.

    Written row by row (openpyxl's write-only mode): a worklist of tens of thousands of children is not
    held as a cell object per value (about 140 MB for 15,000 children) nor walked a second time to set the
    number formats."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    kinds = column_formats(frame, formats)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(sheet))
    headers = [str(c) for c in frame.columns]
    for j, name in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(j)].width = _width(name, frame.iloc[:_WIDTH_SAMPLE, j - 1], kinds[name])
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(headers), 1))}{len(frame) + 1}"
    bold = Font(bold=True)
    fill = PatternFill(fill_type="solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=neutralise(h))
        cell.font = bold
        cell.fill = fill
        header_cells.append(cell)
    ws.append(header_cells)
    number_formats = [NUMBER_FORMATS.get(kinds[name]) for name in headers]

    def formatted(value: object, number_format: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = number_format
        return cell

    for row in frame.itertuples(index=False, name=None):
        ws.append([cell_value(x) if f is None else formatted(cell_value(x), f)
                   for x, f in zip(row, number_formats, strict=True)])
    wb.save(path)


def _width(header: str, sample: Iterable[object], kind: ColumnFormat) -> float:
    longest = len(header)
    for value in sample:
        shown = cell_value(value)
        if shown is None:
            continue
        if kind == "percent" and isinstance(shown, int | float):
            text = f"{shown:.1%}"
        elif kind == "decimal" and isinstance(shown, float):
            text = f"{shown:.3f}"
        elif isinstance(shown, dt.date):
            text = "yyyy-mm-dd"
        else:
            text = str(shown)
        longest = max(longest, len(text))
    return float(min(_MAX_WIDTH, longest + 2))


def _sheet_title(title: str) -> str:
    """Excel sheet names: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in title).strip() or "Sheet1"
    return cleaned[:31]
