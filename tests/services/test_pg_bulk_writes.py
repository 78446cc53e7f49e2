"""Bulk writes on PostgreSQL go through COPY (models.bulk_copy) and give exactly the rows the same imports
give on SQLite: every table compared row by row, awkward text included; a failure mid-COPY leaves the
server as it was; the journal and the ids behave as with INSERTs.

PostgreSQL only (each test compares against a SQLite store it builds itself); skipped without a server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, insert, select, text

from carenet_desktop.models import Base, Patient, Practice, Provider, bulk_copy
from carenet_desktop.models.database import Database, open_database
from carenet_desktop.services import fhir_import, intake, intake_writer
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.fhir_import import import_fhir
from tests.dbtargets import PG_ENV, fresh_database
from tests.interchange.fhir_samples import bundle, encounter, immunization, patient, write

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} not set: no PostgreSQL server")]

TODAY = dt.date(2025, 6, 30)
#: text a COPY stream must escape: its separators, its escape character, its NULL spelling, quotes, unicode
AWKWARD = ["tab\there", "new\nline", "back\\slash", "\\N", "\\.", "quote \"q\" 'q'", "émile ß 漢字 🙂", "a,b;c|d", " "]
#: columns whose value is the clock at the time of writing (differ between any two runs)
CLOCK = {"created_at", "updated_at", "started_at", "finished_at", "at", "imported_at", "registered_at"}
#: tables whose content is per store by design: the audit chain (hashes over clock times), the store's own
#: identity and key; the journal is compared separately (row-level on SQLite, statement-level on PostgreSQL)
#: tables whose rows a re-import deletes and writes anew: their new surrogate ids differ by design (SQLite
#: reuses the freed rowids, a PostgreSQL sequence never does), so they are compared without their ids
REPLACED = {"encounter_diagnosis"}
OWN = {"audit_log", "audit_head", "store_identity", "alembic_version", "signing_key", "data_change", "journal_state"}


def _seed(db: Database) -> None:
    with db.session() as s:
        practice = Practice(code="PEDS1", name="Peds One")
        s.add(practice)
        s.flush()
        s.add(Provider(practice_id=practice.id, npi="1234567893", family_name="Doc"))
        s.add(Patient(practice_id=practice.id, mrn="M001", birth_date=dt.date(2019, 3, 1), given_name="Test",
                      family_name="One"))


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[ServiceContext, ServiceContext]]:
    with fresh_database("postgresql", tmp_path) as pg_url:
        sqlite = open_database(tmp_path / "store.db")
        pg = open_database(pg_url)
        for db in (sqlite, pg):
            _seed(db)
        yield ServiceContext(sqlite, username="tester"), ServiceContext(pg, username="tester")
        sqlite.dispose()
        pg.dispose()


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (clock columns left out), ordered by every column."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in OWN:
                continue
            columns = [c for c in table.c if c.name not in CLOCK and not (table.name in REPLACED and c.name == "id")]
            rows = conn.execute(select(*columns)).all()
            out[table.name] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
    return out


def _plain(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _journal(db: Database) -> set[tuple[int | None, int | None]]:
    with db.engine.connect() as conn:
        return set(tuple(row) for row in conn.execute(text("SELECT practice_id, patient_id FROM data_change")))


def _imports(ctx: ServiceContext, folder: Path) -> None:
    """Spreadsheet imports (new rows, then a re-import with changes: updates and their import_change rows)
    and a FHIR import, with awkward text wherever the importers keep text as given."""
    folder.mkdir(exist_ok=True)
    header = ["MRN", "First Name", "Last Name", "DOB", "Parent/Guardian", "Zip"]
    people = [[f"N{i:03d}", word, f"Fam{i}", f"0{1 + i % 9}/1{i % 9}/2020", word, ""] for i, word in enumerate(AWKWARD)]
    people.append(["N999", "Ann", "NoGuardian", "12/31/2023", "", "02139"])
    assert intake.import_file(ctx, _csv(folder / "p.csv", header, people), "patients", practice_code="PEDS1",
                              today=TODAY).added == len(people)
    enc = [[f"N{i:03d}", f"E{i}", f"2024-0{1 + i % 9}-0{1 + i % 7} 1{i % 9}:3{i % 6}", "99392", "Z00.129"]
           for i in range(len(AWKWARD))]
    enc.append(["M001", "E-old", "2023-12-31", "99213", ""])
    enc_header = ["MRN", "Enc ID", "Visit Date", "CPT", "Dx Code"]
    assert intake.import_file(ctx, _csv(folder / "e.csv", enc_header, enc), "encounters", practice_code="PEDS1",
                              today=TODAY).added == len(enc)
    imms = [[f"N{i:03d}", "03", f"2021-0{1 + i % 9}-15", "", word] for i, word in enumerate(AWKWARD)]
    assert intake.import_file(ctx, _csv(folder / "i.csv", ["MRN", "Vaccine Code", "Date Administered", "Status",
                                                           "Lot Number"], imms),
                              "immunizations", practice_code="PEDS1", today=TODAY).added == len(imms)
    changed = [[*row[:2], row[2].replace(" 1", " 0"), row[3], "J02.0"] for row in enc]
    again = intake.import_file(ctx, _csv(folder / "e2.csv", enc_header, changed), "encounters", practice_code="PEDS1",
                               today=TODAY)
    assert again.updated == len(enc) and again.added == 0
    resources: list[dict[str, Any]] = []
    for i, word in enumerate(AWKWARD):
        pid = f"fhir-{i}"
        person = patient(pid, birth=f"2018-0{1 + i % 9}-02", name=[{"family": word, "given": [word, "Second"]}],
                         identifier=[{"type": {"coding": [{"code": "MR"}]}, "value": f"F{i}"}])
        resources += [person,
                      encounter(f"Enc-{i}", pid, start=f"2025-03-0{1 + i % 9}T10:1{i % 9}:00-05:00",
                                diagnosis=[{"condition": {"reference": f"Condition/C-{i}"}, "rank": 1}]),
                      {"resourceType": "Condition", "id": f"C-{i}", "code": {"coding": [
                          {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J02.0", "display": word}]},
                       "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/Enc-{i}"},
                       "onsetDateTime": "2025-03-01"},
                      immunization(f"Imm-{i}", pid)]
    result = import_fhir(ctx, [write(folder / "bundle.json", bundle(*resources))], practice_code="PEDS1")
    assert result.rejected == 0 and result.added == 4 * len(AWKWARD)
    # the FHIR re-import: every resource again, most of them changed (updates of each kind, the patients'
    # versions moving), two of them unchanged
    again_resources: list[dict[str, Any]] = []
    for i, word in enumerate(AWKWARD):
        pid = f"fhir-{i}"
        same = i < 2
        person = patient(pid, birth=f"2018-0{1 + i % 9}-0{2 if same else 3}",
                         name=[{"family": word if same else f"{word} re", "given": [word, "Second"]}],
                         identifier=[{"type": {"coding": [{"code": "MR"}]}, "value": f"F{i}"}])
        again_resources += [person,
                            encounter(f"Enc-{i}", pid, start=f"2025-0{3 if same else 4}-0{1 + i % 9}T10:1{i % 9}:00-05:00",
                                      diagnosis=[{"condition": {"reference": f"Condition/C-{i}"}, "rank": 1}]),
                            {"resourceType": "Condition", "id": f"C-{i}", "code": {"coding": [
                                {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J02.0" if same else "J03.9",
                                 "display": word}]},
                             "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/Enc-{i}"},
                             "onsetDateTime": "2025-03-01"},
                            immunization(f"Imm-{i}", pid)]
    result = import_fhir(ctx, [write(folder / "bundle2.json", bundle(*again_resources))], practice_code="PEDS1")
    assert result.rejected == 0 and result.added == 0 and result.updated >= 3 * len(AWKWARD)


def test_imports_on_postgresql_give_exactly_the_rows_they_give_on_sqlite(stores, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    sqlite, pg = stores
    copied: list[str] = []
    real = bulk_copy.copy_rows

    def counted(conn, table, columns, rows):  # type: ignore[no-untyped-def]
        copied.append(table.name)
        return real(conn, table, columns, rows)

    updated: list[str] = []
    real_update = bulk_copy.copy_update

    def counted_update(conn, table, *args):  # type: ignore[no-untyped-def]
        updated.append(table.name)
        return real_update(conn, table, *args)

    monkeypatch.setattr(bulk_copy, "copy_rows", counted)
    monkeypatch.setattr(intake_writer, "copy_rows", counted)
    monkeypatch.setattr(intake_writer, "copy_update", counted_update)
    monkeypatch.setattr(fhir_import, "copy_update", counted_update)
    _imports(sqlite, tmp_path / "files")  # the same paths: the import log names them
    assert copied == [] and updated == []  # SQLite keeps its own path
    _imports(pg, tmp_path / "files")
    # the PostgreSQL bulk paths went through COPY: spreadsheet rows, their undo records, FHIR rows; and the
    # re-imports' updates (spreadsheet encounters; FHIR patients, encounters, conditions, immunizations)
    assert {"patient", "encounter", "immunization", "import_change", "condition", "encounter_diagnosis"} <= set(copied)
    assert {"encounter", "patient", "condition", "immunization"} <= set(updated)
    # the journal names the same patients as SQLite's row-level triggers (one statement here, not one per row)
    assert _journal(pg.db) == _journal(sqlite.db)
    left, right = _snapshot(sqlite.db), _snapshot(pg.db)
    assert set(left) == set(right)
    for name in left:
        assert right[name] == left[name], name
    # the awkward text is there, unchanged, on both
    patients = right["patient"]
    assert any("tab\there" in row for row in patients) and any("\\N" in row for row in patients)
    assert _journal(pg.db) >= {(1, pid) for (pid,) in _ids(pg.db, "SELECT id FROM patient WHERE source_id LIKE 'fhir-%'")}


def _ids(db: Database, sql: str) -> list[tuple[int]]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]  # type: ignore[misc]


def _failing_copy(after: int):  # type: ignore[no-untyped-def]
    real = bulk_copy.copy_rows

    def copy(conn, table, columns, rows):  # type: ignore[no-untyped-def]
        def broken() -> Iterator[Any]:
            for i, row in enumerate(rows):
                if i == after:
                    raise RuntimeError("the source went away mid-COPY")
                yield row
        return real(conn, table, columns, broken())
    return copy


@pytest.mark.parametrize("importer", ["spreadsheet", "fhir"])
def test_a_failure_mid_copy_leaves_the_server_as_it_was(stores, tmp_path, monkeypatch, importer):  # type: ignore[no-untyped-def]
    _, pg = stores
    _imports(pg, tmp_path / "first")
    before, journal_before = _snapshot(pg.db), _journal(pg.db)
    failing = _failing_copy(after=3)
    monkeypatch.setattr(intake_writer, "copy_rows", failing)
    monkeypatch.setattr(bulk_copy, "copy_rows", failing)
    if importer == "spreadsheet":
        rows = [[f"Q{i:03d}", "Name", "Fam", "01/01/2020", "", ""] for i in range(10)]
        path = _csv(tmp_path / "p.csv", ["MRN", "First Name", "Last Name", "DOB", "Parent/Guardian", "Zip"], rows)
        with pytest.raises(RuntimeError, match="mid-COPY"):
            intake.import_file(pg, path, "patients", practice_code="PEDS1", today=TODAY)
    else:
        people = [patient(f"late-{i}", identifier=[{"type": {"coding": [{"code": "MR"}]}, "value": f"L{i}"}])
                  for i in range(10)]
        # a failed file is reported and rolled back; the run's log records it with nothing added
        result = import_fhir(pg, [write(tmp_path / "late.json", bundle(*people))], practice_code="PEDS1")
        assert result.failed_files == 1 and "mid-COPY" in result.problems[-1].reason
        logged = _snapshot(pg.db).pop("data_import")
        assert logged[:len(before["data_import"])] == before["data_import"]
        added = [c.name for c in Base.metadata.tables["data_import"].c if c.name not in CLOCK].index("added")
        assert [row[added] for row in logged[len(before["data_import"]):]] == [0]
        before.pop("data_import")
    after = _snapshot(pg.db)
    if importer == "fhir":
        after.pop("data_import")
    # nothing of the failed import remains (the spreadsheet's import record included); the journal did not move
    assert after == before
    assert _journal(pg.db) == journal_before


def test_copy_fires_the_journal_triggers_and_ids_stay_in_step(stores):  # type: ignore[no-untyped-def]
    _, pg = stores
    table: Table = Base.metadata.tables["immunization"]
    with pg.db.engine.begin() as conn:
        pid = conn.execute(text("SELECT id FROM patient")).scalar_one()
        start = conn.execute(text("SELECT coalesce(max(id), 0) FROM data_change")).scalar_one()
        rows = [{"patient_id": pid, "code_system": "cvx", "code": "03", "status": "completed",
                 "occurrence": dt.datetime(2021, 1, 1 + i)} for i in range(5)]
        ids = bulk_copy.copy_dicts_returning_ids(conn, table, rows)
        # no import scope: the statement-level trigger journals the COPY, one row for the one patient
        journaled = conn.execute(text("SELECT practice_id, patient_id FROM data_change WHERE id > :v"),
                                 {"v": start}).all()
    assert [tuple(r) for r in journaled] == [(1, pid)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    with pg.db.engine.begin() as conn:  # an ordinary INSERT afterwards takes the next id, no collision
        next_id = conn.execute(insert(table).values(patient_id=pid, code_system="cvx", code="08", status="completed",
                                                    occurrence=dt.datetime(2022, 1, 1)).returning(table.c.id)).scalar()
        stored = conn.execute(select(table.c.id, table.c.occurrence, table.c.primary_source)
                              .where(table.c.id.in_(ids)).order_by(table.c.id)).all()
    assert next_id == max(ids) + 1
    assert [r.occurrence for r in stored] == [row["occurrence"] for row in rows]
    # a Python-side default is applied as INSERT applies it (a column the rows did not give)
    column_default = table.c.primary_source.default
    if column_default is not None:
        assert all(r.primary_source == column_default.arg for r in stored)  # type: ignore[attr-defined]


def test_copy_keeps_nulls_json_dates_and_awkward_text_as_insert_does(stores):  # type: ignore[no-untyped-def]
    _, pg = stores
    table: Table = Base.metadata.tables["data_import"]
    rows = [{"kind": "csv", "file_name": word, "username": "tester", "status": "done",
             "started_at": dt.datetime(2025, 1, 2, 3, 4, 5, 678901), "detail": detail}
            for word in AWKWARD for detail in ({"note": word, "n": [1, None]}, None)]
    with pg.db.engine.begin() as conn:
        inserted = conn.execute(insert(table).returning(table.c.id), rows).scalars().all()
        copied = bulk_copy.copy_dicts_returning_ids(conn, table, rows)
        columns = [table.c[c] for c in ("kind", "file_name", "username", "status", "started_at", "added")]
        read = {rid: row for rid, *row in conn.execute(select(table.c.id, *columns, table.c.detail,
                                                              text("detail IS NULL")))}
    assert len(inserted) == len(copied) == len(rows)
    for a, b in zip(inserted, copied, strict=True):
        assert read[a] == read[b]


def test_copy_update_sets_the_rows_as_update_does_and_refuses_a_repeated_id(stores):  # type: ignore[no-untyped-def]
    """Each row's values and the extra assignment; the onupdate column (updated_at) moves as SQLAlchemy's
    UPDATE moves it; twice in one transaction (the temporary table is made anew); a repeated id refused."""
    _, pg = stores
    table: Table = Base.metadata.tables["patient"]
    with pg.db.engine.begin() as conn:
        pid = conn.execute(text("SELECT id FROM patient")).scalar_one()
        conn.execute(text("UPDATE patient SET updated_at = '2001-01-01' WHERE id = :p"), {"p": pid})
        for word in AWKWARD[:2]:
            assert bulk_copy.copy_update(conn, table, ["given_name", "guardian"], [(pid, word, None)],
                                         '"version" = t."version" + :step', {"step": 2}) == 1
        with pytest.raises(ValueError, match="twice"):
            bulk_copy.copy_update(conn, table, ["given_name"], [(pid, "a"), (pid, "b")])
        row = conn.execute(text("SELECT given_name, guardian, version, updated_at FROM patient WHERE id = :p"),
                           {"p": pid}).one()
    assert row[:3] == (AWKWARD[1], None, 5) and row[3] > dt.datetime(2020, 1, 1)
