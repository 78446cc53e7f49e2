"""Reading CSV and Excel exports as chunks of text cells: encoding and delimiter detection, row numbers.

Every cell comes out as ``str`` (empty string for blank): typing, date parsing and code normalisation
happen later, per column, where a failure can be reported against the row and column it came from.
Row numbers are spreadsheet row numbers (the header is row 1, the first record row 2).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

import numpy as np
import pandas as pd

from ..archive import ArchiveError, check_archive
from ..limits import MAX_CSV_BYTES, MAX_XLSX_BYTES, XLSX_ARCHIVE, TooLarge, check_size

DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 256 * 1024
DEFAULT_CHUNK_ROWS = 100_000
csv.field_size_limit(2**31 - 1)
_CSV_ERROR = "\x00csv-error:"
#: a quoted cell running over more lines than this is taken for a stray quote, not a multi-line cell
MAX_CELL_LINES = 1000


class TabularError(Exception):
    """The file cannot be read at all (not a spreadsheet, no header ...); message meant for the user."""


@dataclass
class Chunk:
    """Rows of one chunk: cells as text, their spreadsheet row numbers, and rows that could not be split."""

    frame: pd.DataFrame  # columns = header names (deduplicated), all str
    rows: np.ndarray  # int64 spreadsheet row number of each frame row
    bad_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' (BOM), 'utf-16' (BOM), 'utf-8' when the whole file decodes, else 'cp1252'."""
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for block in iter(lambda: fh.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def _decode_errors(encoding: str) -> str:
    # cp1252 leaves five bytes undefined; keep them visible rather than failing the whole file
    return "replace" if encoding.lower() in ("cp1252", "windows-1252") else "strict"


def sniff_delimiter(sample: str) -> str:
    """The candidate delimiter that splits the first lines into the most, and equally many, fields."""
    lines = [ln for ln in sample.splitlines()[:20] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delim)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts) / len(counts)
        score = counts[0] * consistent
        if score > best_score:
            best, best_score = delim, score
    return best


def dedupe_headers(raw: list[str]) -> list[str]:
    """Stripped header names, blanks named 'column N', repeats suffixed ' (2)', ' (3)' ..."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, name in enumerate(raw, start=1):
        name = (name or "").strip().strip("\ufeff") or f"column {i}"
        n = seen.get(name.lower(), 0) + 1
        seen[name.lower()] = n
        out.append(name if n == 1 else f"{name} ({n})")
    return out


class TabularSource:
    """A CSV or .xlsx file opened for reading in chunks (headers available at once)."""

    def __init__(
        self,
        path: str | Path,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        sheet: str | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(2, "No such file", str(self.path))
        self.chunk_rows = max(1, chunk_rows)
        self.sheet = sheet
        self.is_excel = self.path.suffix.lower() in (".xlsx", ".xlsm")
        _check_limits(self.path, self.is_excel)
        self.encoding = None if self.is_excel else (encoding or detect_encoding(self.path))
        self.delimiter: str | None = None
        if not self.is_excel:
            with self._open_text() as fh:
                sample = fh.read(SNIFF_BYTES)
            self.delimiter = delimiter or sniff_delimiter(sample)
        self.headers = self._read_headers()
        self._position: io.BufferedReader | None = None
        self._size = max(1, self.path.stat().st_size)
        self._excel_fraction = 0.0

    # --- CSV -----------------------------------------------------------------------------------------
    def _open_text(self) -> io.TextIOWrapper:
        assert self.encoding is not None
        return open(self.path, encoding=self.encoding, errors=_decode_errors(self.encoding), newline="")

    @staticmethod
    def _clean_lines(fh: io.TextIOBase) -> Iterator[str]:
        for line in fh:
            yield line.replace("\0", "") if "\0" in line else line

    def _csv_reader(self, fh: io.TextIOBase) -> Iterator[list[str]]:
        return csv.reader(self._clean_lines(fh), delimiter=self.delimiter or ",")

    def _read_headers(self) -> list[str]:
        if self.is_excel:
            for values in self._excel_rows():
                if any(values[1]):
                    return dedupe_headers(values[1])
            raise TabularError("The sheet is empty: no header row found.")
        try:
            with self._open_text() as fh:
                for raw in self._csv_reader(fh):
                    if any(raw):
                        _check_header(raw, self.delimiter or ",")
                        return dedupe_headers(raw)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise TabularError(f"Cannot read the file as CSV: {exc}") from exc
        raise TabularError("The file is empty: no header row found.")

    def chunks(self) -> Iterator[Chunk]:
        """The data rows in chunks of ``chunk_rows`` (blank rows skipped, bad rows reported).

        CSV goes through pandas' C parser when it can; at the first row that parser refuses (wrong
        field count, broken quoting ...) reading continues with the csv module, which reports bad
        rows one by one.
        """
        done = 0
        if not self.is_excel:
            fast = self._pandas_chunks()
            while True:
                try:
                    chunk = next(fast)
                except StopIteration:
                    return
                except Exception:  # noqa: BLE001 - any parser complaint: continue the careful way
                    break
                done = int(chunk.rows[-1]) if len(chunk.rows) else done
                yield chunk
        yield from self._careful_chunks(done)

    def _pandas_chunks(self) -> Iterator[Chunk]:
        with self._open_text() as fh:
            first = fh.readline()
            if not first.rstrip("\r\n") or "\0" in first or first.count('"') % 2:
                raise ValueError("no header on the first line")
            fh.seek(0)
            self._position = fh.buffer  # type: ignore[assignment]
            reader = pd.read_csv(
                fh, sep=self.delimiter or ",", header=None, skiprows=1, names=self.headers, dtype=object,
                na_filter=False, keep_default_na=False, skip_blank_lines=False, chunksize=self.chunk_rows,
                engine="c", quoting=csv.QUOTE_MINIMAL, doublequote=True, on_bad_lines="error",
            )
            number = 1
            for frame in reader:
                rows = np.arange(number + 1, number + 1 + len(frame), dtype=np.int64)
                number += len(frame)
                values = frame.to_numpy(dtype=object)
                missing = pd.isna(values)
                if missing.any():  # short rows: pad like the csv path
                    values[missing] = ""
                if values.size and _breaks_lines(values):
                    # a quoted cell over several lines, or a stray quote swallowing the lines after it: only
                    # the careful reader tells them apart (rows from here on are read that way)
                    raise ValueError("a cell spans lines")
                keep = (values != "").any(axis=1) if values.size else np.zeros(len(frame), dtype=bool)
                frame = pd.DataFrame(values[keep], columns=self.headers, dtype=object)
                yield Chunk(frame, rows[keep], [])

    def _careful_chunks(self, skip: int) -> Iterator[Chunk]:
        rows_iter = self._excel_rows() if self.is_excel else self._csv_rows()
        width = len(self.headers)
        header_seen = False
        cells: list[list[str]] = []
        numbers: list[int] = []
        bad: list[tuple[int, str]] = []
        for number, values in rows_iter:
            if not any(values):
                continue  # blank rows (every cell empty) carry nothing
            if not header_seen:
                header_seen = True
                continue
            if number <= skip:
                continue
            if values[0].startswith(_CSV_ERROR):
                bad.append((number, values[0][len(_CSV_ERROR):]))
                continue
            n = len(values)
            if n > width:
                if any(v.strip() for v in values[width:]):
                    bad.append((number, f"row has {n} fields, the header has {width}"))
                    continue
                values = values[:width]
            elif n < width:  # exports often drop trailing empty fields
                values = values + [""] * (width - n)
            cells.append(values)
            numbers.append(number)
            if len(cells) >= self.chunk_rows:
                yield self._make_chunk(cells, numbers, bad)
                cells, numbers, bad = [], [], []
        if cells or bad:
            yield self._make_chunk(cells, numbers, bad)

    def _make_chunk(self, cells: list[list[str]], numbers: list[int], bad: list[tuple[int, str]]) -> Chunk:
        frame = pd.DataFrame(cells, columns=self.headers, dtype=object) if cells else pd.DataFrame(
            {h: pd.Series([], dtype=object) for h in self.headers}
        )
        return Chunk(frame, np.asarray(numbers, dtype=np.int64), bad)

    def _csv_rows(self) -> Iterator[tuple[int, list[str]]]:
        """Records of the file, numbered; a record that cannot be split comes as ``[_CSV_ERROR + reason]``.

        A quote that opens a cell and never closes would swallow every later line into that cell. Cells
        may hold line breaks, so a record running over several lines is kept only when it closes well
        (strictly quoted, no more fields than the header, within ``MAX_CELL_LINES`` lines); otherwise only
        its first line is rejected ("unclosed quote") and reading goes on with the next line.
        """
        try:
            with self._open_text() as fh:
                self._position = fh.buffer  # type: ignore[assignment]
                lines = _Lines(self._clean_lines(fh))
                reader = csv.reader(lines, delimiter=self.delimiter or ",", strict=True)
                width = len(self.headers)
                record = 0
                while True:
                    lines.start_record()
                    try:
                        values = next(reader)
                    except StopIteration:
                        return
                    except (csv.Error, _CellTooLong) as exc:
                        record += 1
                        taken = lines.taken
                        if len(taken) == 1 and not isinstance(exc, _CellTooLong) and lines.more():
                            # one line with text after a closing quote ('"Ann" Jr'): read leniently, as before
                            yield record, next(csv.reader([taken[0][1]], delimiter=self.delimiter or ","))
                            continue
                        yield record, [_CSV_ERROR + _unclosed(record, taken[0][0])]
                        lines.push_back(taken[1:])
                        continue
                    record += 1
                    taken = lines.taken
                    if len(taken) > 1 and len(values) > width and any(v.strip() for v in values[width:]):
                        yield record, [_CSV_ERROR + _unclosed(record, taken[0][0])]  # a stray quote, closed late
                        lines.push_back(taken[1:])
                        continue
                    yield record, values
        except UnicodeDecodeError as exc:
            raise TabularError(f"The file is not valid {self.encoding} text ({exc.reason}).") from exc

    def fraction(self) -> float:
        """How far reading has got (0..1; approximate, for progress bars)."""
        if self.is_excel:
            return min(1.0, self._excel_fraction)
        try:
            return min(1.0, self._position.tell() / self._size) if self._position is not None else 0.0
        except (ValueError, OSError):
            return 1.0

    # --- Excel ---------------------------------------------------------------------------------------
    def _excel_rows(self) -> Iterator[tuple[int, list[str]]]:
        import openpyxl

        try:
            wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, ParseError ...
            raise TabularError(f"Cannot open the workbook: {exc.__class__.__name__}") from exc
        try:
            if self.sheet is not None:
                if self.sheet not in wb.sheetnames:
                    raise TabularError(f"The workbook has no sheet named {self.sheet!r}.")
                ws = wb[self.sheet]
            else:
                ws = wb.worksheets[0]
            total = max(1, ws.max_row or 1)
            rows = ws.iter_rows(values_only=True)
            number = 0
            while True:
                try:  # the sheet's XML is parsed as it is read: an entity bomb or XXE fails here
                    row = next(rows)
                except StopIteration:
                    break
                except ParseError as exc:
                    raise TabularError(f"The worksheet's XML cannot be read (it is damaged, or holds entity "
                                       f"declarations, which workbooks never need): {str(exc)[:80]}") from None
                number += 1
                self._excel_fraction = number / total
                yield number, [_excel_text(v) for v in row]
        finally:
            wb.close()


def _check_header(names: list[str], delimiter: str) -> None:
    """A header cell running over lines and holding the delimiter is a stray quote that swallowed the rows
    below it: the file is refused (a real two-line header cell such as "Visit / Date" holds no delimiter)."""
    if any(("\n" in n or "\r" in n) and delimiter in n for n in names):
        raise TabularError("The header row has an unclosed quote (a cell opens a \" that does not close), so the "
                           "rows below it cannot be read. Fix the header row and import again.")


class _CellTooLong(Exception):
    """A quoted cell has run over ``MAX_CELL_LINES`` lines."""


class _Lines:
    """The file's physical lines for ``csv.reader``, numbered, remembering those of the current record;
    lines pushed back are read again (after a stray quote, the lines it swallowed)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._number = 0
        self._again: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []
        self._ended = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if len(self.taken) >= MAX_CELL_LINES:
            raise _CellTooLong()
        if self._again:
            item = self._again.popleft()
        else:
            try:
                line = next(self._lines)
            except StopIteration:
                self._ended = True
                raise
            self._number += 1
            item = (self._number, line)
        self.taken.append(item)
        return item[1]

    def start_record(self) -> None:
        self.taken = []

    def more(self) -> bool:
        """False once the end of the file was reached inside the current record."""
        return not self._ended or bool(self._again)

    def push_back(self, items: list[tuple[int, str]]) -> None:
        self._again.extendleft(reversed(items))
        if items:
            self._ended = False


def _unclosed(record: int, line: int) -> str:
    where = "" if line == record else f" (line {line} of the file)"
    return (f"unclosed quote{where}: a cell opens a quote that does not close, so this row is not read; "
            "the rows after it are")


def _breaks_lines(values: np.ndarray) -> bool:
    """Whether any cell holds a line break (one join: far cheaper than a test per cell)."""
    text = "\x1f".join(values.ravel().tolist())
    return "\n" in text or "\r" in text


def _check_limits(path: Path, is_excel: bool) -> None:
    try:
        if is_excel:
            check_size(path, MAX_XLSX_BYTES, "Save it as CSV, or split it.")
            check_archive(path, XLSX_ARCHIVE)
        else:
            check_size(path, MAX_CSV_BYTES, "Split it into several files.")
    except (TooLarge, ArchiveError) as exc:
        raise TabularError(str(exc)) from None


def _excel_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
