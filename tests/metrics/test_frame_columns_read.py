"""The frames leave out stored columns nobody reading them reads (``metrics.data.NOT_FRAMED``): no reader of
the frames may name one; nor ask a frame for the primary coding's parts (``KEY_PARTS``: read to build ``key``). A measure, a library, the care gaps, the equity splits, a report or a page asking a
frame for such a column would meet a ``KeyError`` only on the data that reaches that line; this scan finds the
name wherever it is written."""

from __future__ import annotations

import ast
from pathlib import Path

from carenet_desktop.metrics.data import COLUMNS, KEY_PARTS, NOT_FRAMED

PACKAGE = Path(__file__).resolve().parents[2] / "carenet_desktop"

#: what reads or writes the store's rows, not the frames (the ORM, the importers, the demo builder)
NOT_READERS = ("models", "interchange", "demo")
#: modules that name these columns for the store's sake: the loader's kinds of stored columns, the FHIR
#: import's row of an encounter diagnosis (it writes ``use``)
ALLOWED = {"metrics/data.py", "services/measure_data.py", "services/fhir_import.py"}
#: modules whose ``code`` and ``code_system`` items are their own: the import's frame of value-set codes, a
#: FHIR value set's JSON, the visit entry form's values
OWN_CODE_FRAMES = {"services/intake.py", "services/valuesets.py", "ui/widgets_entry.py"}


def _left_out() -> set[str]:
    return {column for columns in NOT_FRAMED.values() for column in columns}


def test_left_out_columns_are_not_in_the_frames() -> None:
    for name, columns in NOT_FRAMED.items():
        assert not set(columns) & set(COLUMNS[name]), name
    assert not any(set(KEY_PARTS) & set(columns) for columns in COLUMNS.values())


def _subscripted(node: ast.Subscript) -> list[str]:
    """The text constants a subscript asks for: ``x["a"]``, ``x[["a", "b"]]``, ``x.loc[rows, "a"]``."""
    index = node.slice
    items = index.elts if isinstance(index, ast.Tuple | ast.List) else [index]
    found = []
    for item in items:
        for part in item.elts if isinstance(item, ast.List | ast.Tuple) else [item]:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                found.append(part.value)
    return found


def test_no_reader_of_the_frames_asks_for_a_key_part() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.split("/")[0] in NOT_READERS or relative in ALLOWED | OWN_CODE_FRAMES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Subscript):
                found += [f"{relative}:{node.lineno} {c!r}" for c in _subscripted(node) if c in KEY_PARTS]
            elif relative.startswith("metrics/") and isinstance(node, ast.Attribute) and node.attr in KEY_PARTS:
                found.append(f"{relative}:{node.lineno} .{node.attr}")
    assert not found, "a frame reader asks for a coding part the frames leave out (use 'key'): " + ", ".join(found)


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
