"""EHR exports as CSV/Excel: reading, column mapping, normalising and validating (no database here).

``iter_validated`` streams a file through the checks chunk by chunk; ``preview`` returns the mapped
rows and every row-level problem without anything being written. The service layer
(``services.intake``) builds the ``Reference`` from the store and writes the accepted rows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...models.full_disk import whole_file
from .fields import KIND_FIELDS, KINDS, FieldSpec, field_specs, guess_mapping
from .reading import DEFAULT_CHUNK_ROWS, Chunk, TabularError, TabularSource, file_sha256
from .validate import (
    PROBLEM_COLUMNS,
    ChunkResult,
    ColumnMapping,
    DedupState,
    Reference,
    bad_rows_frame,
    identity_hashes,
    normalise_chunk,
)

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "KINDS",
    "KIND_FIELDS",
    "PROBLEM_COLUMNS",
    "Chunk",
    "ChunkResult",
    "ColumnMapping",
    "FieldSpec",
    "Preview",
    "Reference",
    "TabularError",
    "TabularSource",
    "field_specs",
    "file_sha256",
    "guess_mapping",
    "identity_hashes",
    "iter_validated",
    "preview",
    "resolve_mapping",
    "write_rejections",
]


def resolve_mapping(source: TabularSource, kind: str, saved: dict[str, str] | None = None,
                    date_formats: dict[str, str] | None = None, code_system: str | None = None) -> ColumnMapping:
    """The guessed mapping, overridden by a saved/confirmed one (headers the file lacks are dropped).

    A saved mapping value of ``""`` un-maps a field the guess would have mapped.
    """
    mapping = guess_mapping(source.headers, kind)
    for name, header in (saved or {}).items():
        if not header:
            mapping.pop(name, None)
        elif header in source.headers:
            mapping[name] = header
    valid = {s.name for s in field_specs(kind)}
    mapping = {k: v for k, v in mapping.items() if k in valid}
    return ColumnMapping(kind, mapping, dict(date_formats or {}), code_system)


def iter_validated(source: TabularSource, cmap: ColumnMapping, ref: Reference) -> Iterator[ChunkResult]:
    """Each chunk normalised and checked; rows that could not even be split come as problems too."""
    missing = cmap.missing_required()
    if missing:
        raise TabularError(f"No column is mapped to: {', '.join(missing)}.")
    state = DedupState()
    name = source.path.name
    for chunk in source.chunks():
        result = normalise_chunk(chunk, cmap, ref, state, name)
        if chunk.bad_rows:
            result.problems = pd.concat([bad_rows_frame(name, chunk.bad_rows), result.problems], ignore_index=True)
        yield result


@dataclass
class Preview:
    headers: list[str]
    mapping: ColumnMapping
    rows: pd.DataFrame  # the first mapped rows, with a 'rejected' column
    problems: pd.DataFrame  # every problem of the whole file
    total_rows: int
    rejected_rows: int


def preview(source: TabularSource, cmap: ColumnMapping, ref: Reference, *, max_rows: int = 200,
            progress: Callable[[float, str], None] | None = None) -> Preview:
    """Validate the whole file, keep its first ``max_rows`` mapped rows; ``progress`` hears of each chunk."""
    shown: list[pd.DataFrame] = []
    problems: list[pd.DataFrame] = []
    total = 0
    have = 0
    for result in iter_validated(source, cmap, ref):
        total += len(result.frame) + int(result.problems["column"].eq("").sum())
        if have < max_rows:
            part = result.frame.head(max_rows - have).copy()
            part["rejected"] = result.rejected[: len(part)]
            shown.append(part)
            have += len(part)
        problems.append(result.problems)
        if progress is not None:
            progress(min(0.99, source.fraction()), f"{total:,} rows checked")
    probs = pd.concat(problems, ignore_index=True) if problems else bad_rows_frame(source.path.name, [])
    rows = pd.concat(shown, ignore_index=True) if shown else pd.DataFrame()
    return Preview(source.headers, cmap, rows, probs.sort_values("row", kind="stable", ignore_index=True),
                   total, int(probs["row"].nunique()))


#: what a spreadsheet runs as a formula when a cell starts with it (the same guard as every export,
#: ``reports.spreadsheets.FORMULA_PREFIXES``)
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def report_cell(value: object) -> object:
    """A cell of the rejection report: control characters (NUL...) shown as ``?``, and text a spreadsheet
    would run as a formula (``=HYPERLINK(...)``) prefixed with an apostrophe."""
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub("?", value)
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def write_rejections(problems: pd.DataFrame, path: str | Path) -> Path:
    """The rejection report: one CSV line per problem (file, row, column, value, reason), by row.

    It quotes the rejected cells, which are patient data: the file is readable by its owner only (0600),
    and every text cell goes through the formula guard."""
    path = Path(path)
    frame = problems.sort_values(["row"], kind="stable")[PROBLEM_COLUMNS] if len(problems) else problems
    frame = frame.map(report_cell) if len(frame) else frame
    with whole_file(path) as partial:  # the owner's only; a full disk leaves no half of it
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False)
    return path


