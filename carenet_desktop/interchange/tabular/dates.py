"""Date columns: detect the format a column uses (ISO, US m/d/Y, d-m-Y, Excel serials ...) and parse it.

A column has one format (detected from a sample or fixed in the mapping profile); the time part is
optional in every format. Parsing is vectorised; what does not parse becomes NaT and is reported.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# format key -> (label for messages, strptime formats tried in order; the date-only one first)
DATE_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "iso": ("YYYY-MM-DD", ()),
    "us": ("MM/DD/YYYY", ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p",
                          "%m/%d/%Y %I:%M:%S %p")),
    "us-short": ("MM/DD/YY", ("%m/%d/%y", "%m/%d/%y %H:%M", "%m/%d/%y %I:%M %p")),
    "us-dash": ("MM-DD-YYYY", ("%m-%d-%Y", "%m-%d-%Y %H:%M", "%m-%d-%Y %H:%M:%S")),
    "dmy-slash": ("DD/MM/YYYY", ("%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")),
    "dmy": ("DD-MM-YYYY", ("%d-%m-%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S")),
    "dmy-dot": ("DD.MM.YYYY", ("%d.%m.%Y", "%d.%m.%Y %H:%M")),
    "compact": ("YYYYMMDD", ("%Y%m%d", "%Y%m%d%H%M%S", "%Y%m%d%H%M")),
    "excel": ("Excel serial day number", ()),
}
# On a tie (e.g. every day <= 12) US order wins: these are US EHR exports.
_PREFERENCE = ("iso", "us", "us-short", "us-dash", "compact", "dmy-slash", "dmy", "dmy-dot", "excel")
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
MIN_DATE = pd.Timestamp("1900-01-01")
MAX_DATE = pd.Timestamp("2200-01-01")


def _bounded(parsed: pd.Series) -> pd.Series:
    """Naive datetime64[ns]; dates outside 1900..2200 (and what nanoseconds cannot hold) become NaT.
    An offset is dropped, not applied: the clock time as written (CQL compares the written day)."""
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    ok = parsed.notna() & (parsed >= MIN_DATE) & (parsed < MAX_DATE)
    return parsed.where(ok).astype("datetime64[ns]")
# the shape a value must have for a format to be worth trying
_SHAPES: dict[str, re.Pattern[str]] = {
    "iso": re.compile(r"\d{4}-\d{1,2}-\d{1,2}"),
    "us": re.compile(r"\d{1,2}/\d{1,2}/\d{4}"), "dmy-slash": re.compile(r"\d{1,2}/\d{1,2}/\d{4}"),
    "us-short": re.compile(r"\d{1,2}/\d{1,2}/\d{2}(\s|$)"),
    "us-dash": re.compile(r"\d{1,2}-\d{1,2}-\d{4}"), "dmy": re.compile(r"\d{1,2}-\d{1,2}-\d{4}"),
    "dmy-dot": re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}"),
    "compact": re.compile(r"\d{8}(\d{4,6})?$"),
    "excel": re.compile(r"\d{1,7}(\.\d+)?$"),
}


def format_label(key: str) -> str:
    return DATE_FORMATS.get(key, (key, ()))[0]


def parse_dates(values: pd.Series, fmt: str) -> pd.Series:
    """Parse text cells with one format key; blanks and failures become NaT (datetime64[ns])."""
    text = values.astype(str).str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    todo = text != ""
    if not todo.any():
        return out
    if fmt == "iso":
        sub = _without_offset(text[todo])
        # 'T' or ' ' separator, optional time; a time-zone offset is dropped, not applied (as written)
        out[todo] = _bounded(pd.to_datetime(sub, format="ISO8601", errors="coerce"))
    elif fmt == "excel":
        nums = pd.to_numeric(text[todo], errors="coerce")
        nums = nums.where((nums >= 1) & (nums < 2_958_466))
        out[todo] = _bounded(EXCEL_EPOCH + pd.to_timedelta(nums, unit="D").dt.round("s"))
    else:
        for pattern in DATE_FORMATS[fmt][1]:
            pending = todo & out.isna()
            if not pending.any():
                break
            out[pending] = _bounded(pd.to_datetime(text[pending], format=pattern, errors="coerce"))
        # ISO dates cannot be mistaken for any other layout: accept them in every column
        iso = todo & out.isna() & text.str.match(r"^\d{4}-\d{2}-\d{2}").fillna(False).astype(bool)
        if iso.any():
            out[iso] = _bounded(pd.to_datetime(_without_offset(text[iso]), format="ISO8601", errors="coerce"))
    return out


_OFFSET = re.compile(r"^(.*\d[T ]?\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_HAS_TIME = re.compile(r"\d:\d{2}|^\d{12,14}$|^\d+\.\d*[1-9]\d*$")


def _without_offset(text: pd.Series) -> pd.Series:
    """ISO date-times with their time-zone offset (``Z``, ``-05:00``, ``+0200``) cut off: the written
    clock time is what is kept (a visit at 2024-12-31T19:00-05:00 is on Dec 31)."""
    return text.str.replace(_OFFSET, r"\1", regex=True)


def has_time(values: pd.Series) -> pd.Series:
    """Which cells give a time of day (``10:30``, a 12-14 digit compact stamp, an Excel serial with a
    fraction); the others are dates only, uncertain within their day in CQL."""
    return values.astype(str).str.contains(_HAS_TIME).fillna(False).astype(bool)


_WRITTEN_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}.*(Z|[+-]\d{2}:?\d{2})$")


def written_day(values: pd.Series) -> pd.Series:
    """For ISO date-times with an offset, the day as written (before any conversion to UTC); NaT otherwise."""
    day = values.astype(str).str.strip().str.extract(_WRITTEN_DAY, expand=True)[0]
    return _bounded(pd.to_datetime(day, format="%Y-%m-%d", errors="coerce"))


def detect_format(values: pd.Series, sample_size: int = 2000) -> str | None:
    """The format key parsing the most of a sample of non-blank cells (None when nothing parses)."""
    uniq = pd.unique(values.to_numpy(dtype=object))
    sample = pd.Series([str(v).strip() for v in uniq[: sample_size * 2] if v is not None], dtype=object)
    sample = sample[sample != ""].drop_duplicates().head(sample_size)
    if sample.empty:
        return None
    best, best_n = None, 0
    for key in _PREFERENCE:
        if not any(_SHAPES[key].match(v) for v in sample):
            continue
        n = int(parse_dates(sample, key).notna().sum())
        if n > best_n:
            best, best_n = key, n
    if best == "excel" and best_n < len(sample) * 0.9:
        return None  # numbers that are not all day serials: probably not a date column
    return best


def to_storage_text(values: pd.Series, *, date_only: bool = False) -> np.ndarray:
    """Datetimes as the text SQLAlchemy stores in SQLite ('YYYY-MM-DD HH:MM:SS.ffffff'); NaT -> None.

    Formatted once per distinct value (exports repeat dates a lot).
    """
    codes, uniques = pd.factorize(pd.Series(values).to_numpy(dtype="datetime64[us]"), use_na_sentinel=True)
    arr = np.asarray(uniques, dtype="datetime64[us]")
    out = np.full(len(codes), None, dtype=object)
    if len(arr) == 0:  # every value missing
        return out
    if date_only:
        text = np.datetime_as_string(arr.astype("datetime64[D]"), unit="D").astype(object)
    else:
        text = np.char.replace(np.datetime_as_string(arr, unit="us"), "T", " ").astype(object)
    good = codes >= 0
    out[good] = text[codes[good]]
    return out
