"""The frames leave out stored columns nobody reading them reads (``metrics.data.NOT_FRAMED``): no reader of
the frames may name one. A measure, a library, the care gaps, the equity splits, a report or a page asking a
frame for such a column would meet a ``KeyError`` only on the data that reaches that line; this scan finds the
name wherever it is written."""

from __future__ import annotations

import ast
from pathlib import Path

from carenet_desktop.metrics.data import COLUMNS, NOT_FRAMED

PACKAGE = Path(__file__).resolve().parents[2] / "carenet_desktop"

#: what reads or writes the store's rows, not the frames (the ORM, the importers, the demo builder)
NOT_READERS = ("models", "interchange", "demo")
#: modules that name these columns for the store's sake: the loader's kinds of stored columns, the FHIR
#: import's row of an encounter diagnosis (it writes ``use``)
ALLOWED = {"metrics/data.py", "services/measure_data.py", "services/fhir_import.py"}


def _left_out() -> set[str]:
    return {column for columns in NOT_FRAMED.values() for column in columns}


def test_left_out_columns_are_not_in_the_frames() -> None:
    for name, columns in NOT_FRAMED.items():
        assert not set(columns) & set(COLUMNS[name]), name


def test_no_reader_of_the_frames_names_a_left_out_column() -> None:
    left_out = _left_out()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.split("/")[0] in NOT_READERS or relative in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in left_out:
                found.append(f"{relative}:{node.lineno} {node.value!r}")
            elif relative.startswith("metrics/") and isinstance(node, ast.Attribute) and node.attr in left_out:
                found.append(f"{relative}:{node.lineno} .{node.attr}")  # the pure core holds no ORM rows
    assert not found, "a frame reader names a column the frames leave out (metrics.data.NOT_FRAMED): " + \
        ", ".join(found)
