"""A full disk during an import (issue 22): one clear line, and the store exactly as it was.

The disk fills for real: every connection of the test gets ``PRAGMA max_page_count`` a page or two above the
store's size, so SQLite answers SQLITE_FULL ("database or disk is full") as on a full disk. No mocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from carenet_desktop.cli import main
from carenet_desktop.models import AuditLog, DataImport, Encounter, Immunization, Patient
from carenet_desktop.models.database import DatabaseError, StoreFull, open_database
from carenet_desktop.services import intake
from carenet_desktop.services.context import ServiceContext, ServiceError
from carenet_desktop.services.fhir_import import import_fhir
from tests.interchange.fhir_samples import bundle, immunization, patient, write

from .conftest import TODAY, copy_store, write_csv

HEADER = ["Pat ID", "Enc ID", "Visit Date", "CPT", "Dx Code"]
ROWS = [[f"M00{1 + i % 3}", f"E{i}", "01/15/2024", "99392", "Z00.129"] for i in range(5000)]


def _cap(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    pages = cursor.execute("PRAGMA page_count").fetchone()[0]
    cursor.execute(f"PRAGMA max_page_count = {pages + 2}")
    cursor.close()


@pytest.fixture
def full_disk() -> Iterator[None]:
    """From here on every new SQLite connection (the command line's too) has almost no room left."""
    event.listen(Engine, "connect", _cap)
    yield
    event.remove(Engine, "connect", _cap)


def _counts(path: Path) -> tuple[int, ...]:
    db = open_database(path)
    try:
        with db.session() as s:
            return tuple(s.scalar(select(func.count()).select_from(m)) or 0
                         for m in (Encounter, Patient, Immunization, DataImport, AuditLog))
    finally:
        db.dispose()


def test_a_csv_import_on_a_full_disk_says_so_and_changes_nothing(store_template: Path, tmp_path: Path,
                                                                 full_disk: None) -> None:
    store = copy_store(store_template, tmp_path / "store.db")
    before = _counts(store)
    path = write_csv(tmp_path / "enc.csv", HEADER, ROWS)
    db = open_database(store)
    try:
        with pytest.raises(StoreFull) as caught:
            intake.import_file(ServiceContext(db, username="tester"), path, "encounters", practice_code="PEDS1",
                               today=TODAY)
    finally:
        db.dispose()
    assert isinstance(caught.value, DatabaseError)  # the type the window shows as a message, not a crash
    assert str(caught.value).startswith("The disk is full") and "\n" not in str(caught.value)
    assert _counts(store) == before


def test_the_command_line_gives_one_line_and_the_store_is_unchanged(store_template: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    full_disk: None) -> None:
    store = copy_store(store_template, tmp_path / "cli.db")
    before = _counts(store)
    path = write_csv(tmp_path / "enc.csv", HEADER, ROWS)
    assert main(["--db", str(store), "import", "csv", str(path), "--kind", "encounters"]) == 1
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if line.startswith("carenet:")]  # besides the progress bar
    assert len(said) == 1 and said[0].startswith("carenet: error: The disk is full"), err
    assert "Traceback" not in err and "OperationalError" not in err
    assert _counts(store) == before


def test_a_fhir_import_on_a_full_disk_stops_with_one_line(store_template: Path, tmp_path: Path,
                                                          full_disk: None) -> None:
    store = copy_store(store_template, tmp_path / "fhir.db")
    before = _counts(store)
    folder = tmp_path / "bundles"
    write(folder / "a.json", bundle(*[r for i in range(300) for r in (
        patient(f"p{i}", identifier=[{"type": {"coding": [{"code": "MR"}]}, "value": f"F{i}"}]),
        immunization(f"i{i}", f"p{i}"))]))
    db = open_database(store)
    try:
        with pytest.raises(ServiceError, match=r"^The disk is full: a\.json was not imported"):
            import_fhir(ServiceContext(db, username="tester"), [folder], practice_code="PEDS1")
    finally:
        db.dispose()
    after = _counts(store)
    assert after[:3] == before[:3]  # no patient, no immunization of the file
