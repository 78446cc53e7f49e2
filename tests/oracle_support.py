"""The published eCQM test cases (``../shared/oracle`` for 2025, ``../shared/oracle-2026`` for 2026) as test
data: import, load, compare. Every function takes the oracle's folder (default: the 2025 one).

Not a test module. Measure tests use the ``oracle`` session fixture (tests/conftest.py)::

    def test_cms117(oracle):
        data, id_map = oracle
        result = get_measure("CMS117").evaluate(data, ORACLE_PERIOD)
        assert compare("CMS117", result, id_map) == []
"""

from __future__ import annotations

import csv
import os
from functools import cache
from pathlib import Path

import pandas as pd

from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.definition import POPULATIONS
from carenet_desktop.metrics.period import Period

ORACLE_DIR = Path(os.environ.get("CARENET_ORACLE_DIR") or Path(__file__).resolve().parents[1].parent / "shared" / "oracle")
ORACLE_PERIOD = Period.year(2025)
ORACLE_2026_DIR = Path(os.environ.get("CARENET_ORACLE_2026_DIR") or ORACLE_DIR.parent / "oracle-2026")
ORACLE_2026_PERIOD = Period.year(2026)

_cache: dict[str, tuple[MeasureData, dict[int, str]]] = {}


def oracle_available(folder: Path = ORACLE_DIR) -> bool:
    return (folder / "expected.csv").is_file() and (folder / "measures").is_dir()


def measure_dirs(folder: Path = ORACLE_DIR) -> list[Path]:
    return sorted(p for p in (folder / "measures").iterdir() if p.is_dir()) if oracle_available(folder) else []


def bundle_dirs(folder: Path = ORACLE_DIR) -> list[Path]:
    return [d / "tests" for d in measure_dirs(folder) if (d / "tests").is_dir()]


def valueset_files(folder: Path = ORACLE_DIR) -> list[Path]:
    return [d / "valuesets.json" for d in measure_dirs(folder) if (d / "valuesets.json").is_file()]


def build_oracle_db(db_path: Path) -> Path:
    """Import every oracle bundle and value set into a fresh SQLite file (through the real services)."""
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.fhir_import import import_fhir
    from carenet_desktop.services.valuesets import load_valuesets

    db = open_database(db_path)
    try:
        ctx = ServiceContext(db, username="oracle-test")
        result = import_fhir(ctx, bundle_dirs())
        if result.problems:
            raise AssertionError("Oracle import problems: " + "; ".join(map(str, result.problems[:5])))
        load_valuesets(ctx, valueset_files(), source="vsac")
    finally:
        db.dispose()
    return db_path


def oracle_measure_data(where: object) -> tuple[MeasureData, dict[int, str]]:
    """(MeasureData of every oracle patient, {internal patient_id: test id}); cached per process.

    ``where`` is a folder for the database or pytest's ``tmp_path_factory``.
    """
    if "data" in _cache:
        return _cache["data"]
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.measure_data import load_measure_data

    folder = where.mktemp("oracle") if hasattr(where, "mktemp") else Path(str(where))
    folder.mkdir(parents=True, exist_ok=True)
    db_path = build_oracle_db(folder / "oracle.db")
    db = open_database(db_path)
    try:
        data = load_measure_data(db)
    finally:
        db.dispose()
    id_map = dict(zip(data.patients["patient_id"].astype(int), data.patients["subject_id"].astype(str), strict=True))
    _cache["data"] = (data, id_map)
    return _cache["data"]


@cache
def expected_rows(folder: Path = ORACLE_DIR) -> list[dict[str, str]]:
    with (folder / "expected.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def expected_for(measure_id: str, folder: Path = ORACLE_DIR) -> list[dict[str, str]]:
    return [r for r in expected_rows(folder) if r["measure"] == measure_id]


def oracle_measure_ids(folder: Path = ORACLE_DIR) -> list[str]:
    return sorted({r["measure"] for r in expected_rows(folder)},
                  key=lambda m: int("".join(c for c in m if c.isdigit()) or 0))


def patient_counts(results: pd.DataFrame, id_map: dict[int, str] | None = None) -> dict[tuple[str, int], dict[str, int | None]]:
    """Per (test id, group): the count of each population (episodes summed); ``None`` = population absent.

    ``results`` is either ``Measure.evaluate`` output (booleans, ``patient_id`` internal) or a
    ``--patient-results`` table (integer counts, ``patient_id`` = the FHIR id).
    """
    out: dict[tuple[str, int], dict[str, int | None]] = {}
    if results.empty:
        return out
    frame = results.copy()
    ids = frame["patient_id"]
    frame["_pid"] = ids.map(lambda v: id_map.get(int(v), str(v)) if id_map is not None else str(v))
    for (pid, group), rows in frame.groupby(["_pid", "group_index"], sort=False):
        counts: dict[str, int | None] = {}
        for pop in POPULATIONS:
            column = rows[pop] if pop in rows.columns else pd.Series([pd.NA] * len(rows))
            present = column.notna() & (column.astype(str) != "")
            counts[pop] = int(pd.to_numeric(column[present]).astype(int).sum()) if present.any() else None
        out[(str(pid), int(group))] = counts
    return out


def compare(measure_id: str, results: pd.DataFrame, id_map: dict[int, str] | None = None,
            folder: Path = ORACLE_DIR) -> list[str]:
    """Mismatches between ``results`` and expected.csv for one measure (empty list = all reproduced).

    A patient without result rows counts as zero in every population. An empty expected cell means the
    measure has no such population: then the result must leave it empty too (where it has rows).
    """
    counts = patient_counts(results, id_map)
    groups_have = _group_populations(measure_id)
    problems: list[str] = []
    for row in expected_for(measure_id, folder):
        test_id, group = row["test_id"], int(row["group_index"])
        got = counts.get((test_id, group))
        for pop in POPULATIONS:
            want_text = (row.get(pop) or "").strip()
            if got is not None:
                value = got.get(pop)
            elif groups_have is not None and group < len(groups_have):
                value = 0 if pop in groups_have[group] else None
            else:
                value = None if not want_text else 0
            want = int(want_text) if want_text else None
            if value != want:
                problems.append(
                    f"{measure_id} {test_id} group {group} {pop}: expected {want_text or 'empty'}, "
                    f"got {'empty' if value is None else value}  ({row.get('description', '')})"
                )
    return problems


def _group_populations(measure_id: str) -> list[set[str]] | None:
    try:
        from tests.measure_catalogue import get_measure

        return [set(g.populations) for g in get_measure(measure_id).groups]
    except Exception:
        return None
