"""Importing FHIR R4 Bundles and bulk NDJSON into the store.

Parsing is pure (``interchange.fhir``); this module resolves references against the store and writes rows
with set-based statements, one transaction per file (a file that fails leaves the store unchanged).
Re-imports match on (patient, resource type, source FHIR id) and update rows in place, so importing the
same data twice creates no duplicates. Only Patient ids are taken as unique across files: test bundles
re-use ids such as ``Encounter-1`` for different patients.

A Patient's MRN (its ``MR`` identifier) links it to the patient the practice already has under that MRN
from a spreadsheet or manual entry, as the spreadsheet import matches patients by MRN: the same birth date
links the two (no duplicate), a different one rejects the Patient with a message. An MRN already held by
another FHIR Patient (a different FHIR id) is kept apart: FHIR ids identify the records of a FHIR source,
and the published eCQM test bundles give one placeholder MRN, name and birth date to many distinct test
patients. Such a patient is stored under its FHIR id as MRN, and the result says so (``mrn_kept_apart``).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from ..interchange.fhir import KIND_ORDER, Problem, Record, collect_paths
from ..interchange.fhir.mapping import MappingContext
from ..interchange.fhir.reader import iter_parsed, remember_referenced
from ..models import (
    Appointment,
    Condition,
    Coverage,
    DataImport,
    Encounter,
    EncounterDiagnosis,
    Immunization,
    MedicationDispense,
    MedicationRequest,
    Observation,
    Patient,
    Procedure,
    Provider,
    ServiceRequest,
    utcnow,
)
from ..models.bulk_copy import copy_dicts, copy_dicts_returning_ids, copy_update, is_postgresql
from ..models.changes import DataChange, mark_practice_changed
from ..models.database import StoreFull
from . import audit
from .changes import Area, Change, records_change, writes
from .context import ServiceContext, ServiceError
from .fhir_links import CHUNK, chunks, resolve_late_references
from .permissions import require
from .practices import get_or_create_practice

log = logging.getLogger(__name__)

DEFAULT_PRACTICE = "FHIR"
CHUNK_RESOURCES = 50_000  # NDJSON resources mapped and written at a time (within the file's transaction)
_JOURNAL_PATIENTS = 2000  # above this many patients in one file, the whole practice is marked changed

EVENT_TABLES: dict[str, Table] = {
    "coverage": Coverage.__table__,  # type: ignore[dict-item]
    "encounter": Encounter.__table__,  # type: ignore[dict-item]
    "condition": Condition.__table__,  # type: ignore[dict-item]
    "observation": Observation.__table__,  # type: ignore[dict-item]
    "procedure": Procedure.__table__,  # type: ignore[dict-item]
    "immunization": Immunization.__table__,  # type: ignore[dict-item]
    "medication_request": MedicationRequest.__table__,  # type: ignore[dict-item]
    "medication_dispense": MedicationDispense.__table__,  # type: ignore[dict-item]
    "service_request": ServiceRequest.__table__,  # type: ignore[dict-item]
    "appointment": Appointment.__table__,  # type: ignore[dict-item]
}
#: record kinds no measure reads: their rows need no journal entry (``models.journal.UNMEASURED``)
UNJOURNALED = frozenset({"appointment"})
PATIENT: Table = Patient.__table__  # type: ignore[assignment]
PROVIDER: Table = Provider.__table__  # type: ignore[assignment]
DIAGNOSIS: Table = EncounterDiagnosis.__table__  # type: ignore[assignment]


@dataclass
class ImportResult:
    """What an import did: counts per record kind, and every resource or file that was rejected."""

    import_id: int | None = None
    files: int = 0
    added: int = 0
    updated: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # resource types read but not stored
    failed_files: int = 0
    #: FHIR ids of Patients whose MRN another FHIR Patient holds: stored apart, under their FHIR id as MRN
    mrn_kept_apart: list[str] = field(default_factory=list)

    def count(self, kind: str, what: str, n: int = 1) -> None:
        if n:
            self.by_kind.setdefault(kind, {"added": 0, "updated": 0}).setdefault(what, 0)
            self.by_kind[kind][what] += n
            setattr(self, what, getattr(self, what) + n)

    @property
    def change(self) -> Change:
        """The import history, and the kinds of records written (a practice may have been created too)."""
        kinds = [k for k, n in self.by_kind.items() if any(n.values())]
        return records_change([*kinds, "practice"], imported=True)

    @property
    def summary(self) -> str:
        text = (
            f"{self.files} file(s): {self.added} added, {self.updated} updated, {self.rejected} rejected"
        )
        if self.failed_files:
            text += f"; {self.failed_files} file(s) not imported"
        if self.mrn_kept_apart:
            text += (f"; {len(self.mrn_kept_apart)} patient(s) stored under their FHIR id as MRN (their MRN "
                     "belongs to another FHIR patient)")
        return text


@writes(Area.IMPORTS, Area.PATIENTS, Area.PRACTICES, Area.EVENTS, Area.SCHEDULE)
def import_fhir(
    ctx: ServiceContext,
    paths: Sequence[str | Path],
    practice_code: str | None = None,
    strict: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> ImportResult:
    """Import FHIR files (directories recurse over ``*.json`` / ``*.ndjson``) into one practice.

    Malformed resources are reported in ``problems`` and skipped; with ``strict`` every file is checked
    first and nothing is imported when any resource is malformed (``ServiceError``).
    """
    files = collect_paths(paths)
    if not files:
        raise ServiceError("No FHIR files (*.json, *.ndjson) found.")
    prog = ctx.progress

    def report(fraction: float, message: str) -> None:
        prog.report(fraction, message)
        if progress is not None:
            progress(fraction, message)

    result = ImportResult(files=len(files))
    if strict:  # check everything first (streamed: only the problems are kept)
        problems = []
        for i, path in enumerate(files):
            report(0.3 * i / len(files), f"Checking {path.name}")
            for chunk in iter_parsed(path):
                problems.extend(chunk.problems)
        if problems:
            shown = "; ".join(str(p) for p in problems[:5])
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise ServiceError(f"Strict import: {len(problems)} problem(s), nothing imported: {shown}{more}")

    practice_id = get_or_create_practice(ctx, practice_code or DEFAULT_PRACTICE)
    require(ctx, "patients.write", practice_id)
    with ctx.db.session() as s:
        batch = DataImport(kind="fhir", file_name=_files_label(files), practice_id=practice_id,
                           username=ctx.username, status="running")
        s.add(batch)
        s.flush()
        result.import_id = batch.id

    writer = _Writer(practice_id, result.import_id)
    references = MappingContext()  # Medications (and the like) of earlier files, for later files' references
    remember_referenced(files, references)  # and the Medications of every Bundle file, whatever its place
    file_reports: list[dict[str, Any]] = []
    combined = hashlib.sha256()
    start = 0.3 if strict else 0.0
    completed = False
    try:
        for i, path in enumerate(files):
            report(start + (1 - start) * i / len(files), f"Importing {path.name}")
            entry = _import_file(ctx, writer, path, result, strict, references)
            combined.update(entry["sha256"].encode())
            file_reports.append(entry)
        if len(files) > 1:
            with ctx.db.session() as s:
                resolve_late_references(s, result.import_id, EVENT_TABLES, DIAGNOSIS)
        completed = True
    finally:
        try:
            with ctx.db.session() as s:
                batch = s.get_one(DataImport, result.import_id)
                batch.finished_at = utcnow()
                batch.status = "done" if completed and result.failed_files < len(files) else "failed"
                batch.added, batch.updated, batch.rejected = result.added, result.updated, result.rejected
                batch.file_sha256 = file_reports[0]["sha256"] if len(file_reports) == 1 else combined.hexdigest()
                batch.detail = {
                    "files": file_reports,
                    "by_kind": result.by_kind,
                    "skipped_types": result.skipped,
                    "problems": [{"file": p.file, "location": p.location, "reason": p.reason} for p in result.problems[:500]],
                    "mrn_kept_apart": result.mrn_kept_apart[:500],
                }
                audit.record(s, ctx.username, "import", "data_import", batch.id, practice_id=practice_id,
                             summary=f"FHIR import: {result.summary}")
        except StoreFull:
            if completed:
                raise
            # the import already stopped on a full disk (its error says so): the history row stays "running"
    report(1.0, result.summary)
    return result


def _earlier(result: ImportResult) -> str:
    """What the files before the one that hit a full disk wrote (each file is its own transaction)."""
    if not (result.added or result.updated):
        return ""
    return f"; the files before it were imported ({result.added} added, {result.updated} updated)"


def _files_label(files: list[Path]) -> str:
    if len(files) == 1:
        return str(files[0])[:500]
    where = os.path.commonpath([str(p.parent) for p in files])
    return f"{len(files)} files in {where}"[:500]


def _import_file(ctx: ServiceContext, writer: _Writer, path: Path, result: ImportResult,
                 strict: bool, references: MappingContext | None = None) -> dict[str, Any]:
    """One file in one transaction, written chunk by chunk as it is read (bounded memory)."""
    entry: dict[str, Any] = {"file": str(path), "sha256": "", "added": 0, "updated": 0, "rejected": 0}
    file_result = ImportResult()
    read_problems: list[Problem] = []
    skipped: dict[str, int] = {}
    fatal = False
    try:
        with ctx.db.session() as s:
            for parsed in iter_parsed(path, CHUNK_RESOURCES, references):
                read_problems.extend(parsed.problems)
                for rtype, n in parsed.skipped.items():
                    skipped[rtype] = skipped.get(rtype, 0) + n
                entry["sha256"] = parsed.sha256 or entry["sha256"]
                if parsed.fatal:
                    fatal = True
                    break
                writer.write(s, parsed.records, file_result, str(path))
                if strict and (file_result.problems or read_problems):
                    raise ServiceError(f"Strict import stopped: {(read_problems or file_result.problems)[0]}")
    except ServiceError:
        writer.forget()
        raise
    except StoreFull as exc:  # not the file's fault, and every later file would fail alike: stop here
        writer.forget()
        raise ServiceError(f"The disk is full: {path.name} was not imported (nothing of it was written)"
                           f"{_earlier(result)}. Free some space and import again: a re-import updates, "
                           "it never duplicates.") from exc
    except Exception as exc:  # the file's transaction was rolled back: report and go on
        # the type only: database errors quote the values of the failing row, which may be patient data
        log.error("FHIR import of a file failed (%s); the file was rolled back", type(exc).__name__)
        writer.forget()
        result.failed_files += 1
        result.problems.extend(read_problems)
        result.rejected += len(read_problems)
        result.problems.append(Problem(str(path), "", f"not imported: {type(exc).__name__}: {exc}"[:300]))
        entry["rejected"] = len(read_problems)
        return entry
    if fatal:  # nothing of the file was written (an unreadable file: one line saying why, no crash)
        writer.forget()
    else:
        writer.commit()
    for rtype, n in skipped.items():
        result.skipped[rtype] = result.skipped.get(rtype, 0) + n
    result.problems.extend(read_problems)
    result.rejected += len(read_problems)
    if fatal:
        result.failed_files += 1
        entry["rejected"] = len(read_problems)
        return entry
    for kind, counts in file_result.by_kind.items():
        for what, n in counts.items():
            result.count(kind, what, n)
    result.rejected += file_result.rejected
    result.problems.extend(file_result.problems)
    result.mrn_kept_apart.extend(file_result.mrn_kept_apart)
    entry.update(added=file_result.added, updated=file_result.updated,
                 rejected=len(read_problems) + file_result.rejected)
    return entry


class _Writer:
    """Writes the records of one file in the caller's transaction; caches what later files need."""

    def __init__(self, practice_id: int, import_id: int | None) -> None:
        self.practice_id = practice_id
        self.import_id = import_id
        self.patients: dict[str, int] | None = None  # FHIR Patient id -> patient.id (this practice)
        self.providers: dict[str, int] | None = None  # Practitioner id -> provider.id
        self.npis: dict[str, int] = {}
        # MRN -> (patient.id or None while pending, its FHIR id or None, birth date): this practice's MRNs
        self.mrns: dict[str, tuple[int | None, str | None, Any]] = {}
        self.refused: set[str] = set()  # FHIR ids of Patients rejected (their MRN is another child's)
        self._pending_patients: dict[str, int] = {}
        self._pending_providers: dict[str, int] = {}

    # -- caches (committed state + what the current file added) -----------------------------------------
    def _load(self, s: Session) -> None:
        if self.patients is None:
            rows = s.execute(select(PATIENT.c.source_id, PATIENT.c.id, PATIENT.c.mrn, PATIENT.c.birth_date)
                             .where(PATIENT.c.practice_id == self.practice_id)).all()
            self.patients = {sid: pid for sid, pid, _mrn, _born in rows if sid}
            self.mrns = {mrn: (pid, sid, born) for sid, pid, mrn, born in rows}
        if self.providers is None:
            doctors = s.execute(select(PROVIDER.c.source_id, PROVIDER.c.id, PROVIDER.c.npi)
                                .where(PROVIDER.c.practice_id == self.practice_id)).all()
            self.providers = {sid: pid for sid, pid, _npi in doctors if sid}
            self.npis = {npi: pid for _sid, pid, npi in doctors if npi}

    def commit(self) -> None:
        assert self.patients is not None and self.providers is not None
        self.patients.update(self._pending_patients)
        self.providers.update(self._pending_providers)
        self._pending_patients, self._pending_providers = {}, {}

    def forget(self) -> None:
        """The file's transaction rolled back: reload the caches next time."""
        self.patients = self.providers = None
        self._pending_patients, self._pending_providers = {}, {}

    def patient_id(self, ref: str | None) -> int | None:
        if ref is None:
            return None
        assert self.patients is not None
        return self._pending_patients.get(ref) or self.patients.get(ref)

    def provider_id(self, ref: str | None) -> int | None:
        if ref is None:
            return None
        assert self.providers is not None
        return self._pending_providers.get(ref) or self.providers.get(ref)

    # -- writing -----------------------------------------------------------------------------------------
    def write(self, s: Session, records: list[Record], result: ImportResult, file: str) -> None:
        self._load(s)
        by_kind: dict[str, dict[tuple[str | None, str], Record]] = {k: {} for k in KIND_ORDER}
        for record in records:  # a later resource with the same id replaces an earlier one
            by_kind[record.kind][(record.patient_ref, record.source_id)] = record
        self._write_providers(s, list(by_kind["provider"].values()), result)
        self._write_patients(s, list(by_kind["patient"].values()), result, file)
        written: dict[str, dict[tuple[int, str], int]] = {}
        for kind in KIND_ORDER[2:]:
            batch = list(by_kind[kind].values())
            if batch:
                written[kind] = self._write_events(s, kind, batch, written, result, file)
        self._write_diagnoses(s, list(by_kind["encounter"].values()), written, file, result)
        self._update_payers(s, list(by_kind["coverage"].values()))
        self._journal(s, by_kind, written)

    def _journal(self, s: Session, by_kind: dict[str, dict[tuple[str | None, str], Record]],
                 written: dict[str, dict[tuple[int, str], int]]) -> None:
        """Tell the change journal which patients changed (results caches re-evaluate only those)."""
        touched = {self.patient_id(r.source_id) for r in by_kind["patient"].values()}
        touched |= {pid for kind, rows in written.items() if kind not in UNJOURNALED for pid, _sid in rows}
        touched.discard(None)
        if not touched:
            return
        if len(touched) > _JOURNAL_PATIENTS:
            mark_practice_changed(s, [self.practice_id])
        else:
            s.execute(insert(DataChange), [{"practice_id": self.practice_id, "patient_id": pid}
                                           for pid in sorted(touched)])  # type: ignore[type-var]

    def _write_providers(self, s: Session, records: list[Record], result: ImportResult) -> None:
        now = utcnow()
        for record in records:
            values = dict(record.values, source_id=record.source_id, import_id=self.import_id, updated_at=now)
            npi = values.get("npi")
            existing = self.provider_id(record.source_id) or (self.npis.get(npi) if npi else None)
            if existing is not None:
                s.execute(update(PROVIDER).where(PROVIDER.c.id == existing).values(**values))
                result.count("provider", "updated")
            else:
                existing = s.execute(insert(PROVIDER).values(practice_id=self.practice_id, **values)
                                     .returning(PROVIDER.c.id)).scalar_one()
                result.count("provider", "added")
            if npi:
                self.npis[npi] = existing
            self._pending_providers[record.source_id] = existing

    def _write_patients(self, s: Session, records: list[Record], result: ImportResult, file: str) -> None:
        if not records:
            return
        now = utcnow()
        new_rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for record in records:
            values = {k: v for k, v in record.values.items() if k != "mrn"}
            values.update(source_id=record.source_id, import_id=self.import_id, updated_at=now)
            pid = self.patient_id(record.source_id)
            if pid is not None:
                updates.append({"_id": pid, **values})
                continue
            mrn: str | None = record.values.get("mrn")
            holder = self.mrns.get(mrn) if mrn else None
            if holder is not None and holder[1] is None and holder[0] is not None:
                # the practice's patient under this MRN from a spreadsheet or manual entry, as the spreadsheet
                # import matches: the same child when the birth date agrees, else refused (never a duplicate)
                if holder[2] != values.get("birth_date"):
                    self.refused.add(record.source_id)
                    result.rejected += 1
                    result.problems.append(Problem(file, f"{record.location} (Patient/{record.source_id})",
                                                   "not imported: its MRN belongs to another patient of this "
                                                   "practice, with a different birth date (correct the MRN or "
                                                   "the birth date in one of the two sources)"))
                    continue
                self.mrns[str(mrn)] = (holder[0], record.source_id, holder[2])
                self._pending_patients[record.source_id] = holder[0]
                updates.append({"_id": holder[0], **values})
                continue
            if not mrn or mrn in self.mrns:  # held by another FHIR Patient (test bundles share MRNs)
                if mrn:
                    result.mrn_kept_apart.append(record.source_id)
                mrn = record.source_id[:64]
                n = 1
                while mrn in self.mrns:
                    n += 1
                    mrn = f"{record.source_id[:58]}~{n}"
            self.mrns[mrn] = (None, record.source_id, values.get("birth_date"))
            new_rows.append({"practice_id": self.practice_id, "mrn": mrn, **values})
        if updates:
            _update_rows(s, PATIENT, _uniform(updates), version=True)
            result.count("patient", "updated", len(updates))
        if new_rows:
            rows = _uniform(new_rows)
            # returned in any order (batched): matched back on the FHIR id
            for pid, sid in _insert_returning(s, PATIENT, rows, PATIENT.c.id, PATIENT.c.source_id):
                self._pending_patients[sid] = pid
            result.count("patient", "added", len(rows))

    def _existing(self, s: Session, table: Table, patient_ids: set[int]) -> dict[tuple[int, str], int]:
        """(patient_id, source_id) -> row id of the table's rows for these patients."""
        out: dict[tuple[int, str], int] = {}
        if not patient_ids:
            return out
        cols = (table.c.patient_id, table.c.source_id, table.c.id)
        if len(patient_ids) > 20 * CHUNK:
            stmt = (select(*cols).join(PATIENT, PATIENT.c.id == table.c.patient_id)
                    .where(PATIENT.c.practice_id == self.practice_id))
            rows: Iterable[Any] = s.execute(stmt)
        else:
            rows = [row for chunk in chunks(sorted(patient_ids))
                    for row in s.execute(select(*cols).where(table.c.patient_id.in_(chunk)))]
        for pid, sid, rid in rows:
            if sid is not None:
                out[(pid, sid)] = rid
        return out

    def _write_events(self, s: Session, kind: str, records: list[Record],
                      written: dict[str, dict[tuple[int, str], int]], result: ImportResult,
                      file: str) -> dict[tuple[int, str], int]:
        table = EVENT_TABLES[kind]
        has_encounter = "encounter_id" in table.c and kind != "encounter"
        has_provider = "provider_id" in table.c
        resolved: list[tuple[int, Record]] = []
        for record in records:
            pid = self.patient_id(record.patient_ref)
            if pid is None:
                result.rejected += 1
                reason = (f"its patient (Patient/{record.patient_ref}) was not imported"
                          if record.patient_ref in self.refused else "its patient is not in this file or the store")
                result.problems.append(Problem(file, f"{record.location} ({_type_name(kind)}/{record.source_id})",
                                               reason))
                continue
            resolved.append((pid, record))
        if not resolved:
            return {}
        existing = self._existing(s, table, {pid for pid, _ in resolved})
        encounters: dict[tuple[int, str], int] = {}
        if has_encounter:
            refs = {pid for pid, r in resolved if r.encounter_ref}
            encounters = {**self._existing(s, EVENT_TABLES["encounter"], refs), **written.get("encounter", {})}
        now_cols = {"import_id": self.import_id}
        new_rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        out: dict[tuple[int, str], int] = {}
        for pid, record in resolved:
            values = {**record.values, **now_cols, "source_id": record.source_id, "patient_id": pid}
            if has_encounter:
                values["encounter_id"] = encounters.get((pid, record.encounter_ref)) if record.encounter_ref else None
                if record.encounter_ref and values["encounter_id"] is None:
                    values["detail"] = {**(values.get("detail") or {}), "encounter_ref": record.encounter_ref}
            if has_provider:
                values["provider_id"] = self.provider_id(record.provider_ref)
            rid = existing.get((pid, record.source_id))
            if rid is not None:
                updates.append({"_id": rid, **values})
                out[(pid, record.source_id)] = rid
            else:
                new_rows.append(values)
        if updates:
            rows = _uniform(updates)
            _update_rows(s, table, rows)
            result.count(kind, "updated", len(rows))
        if new_rows:
            rows = _uniform(new_rows)
            returned = _insert_returning(s, table, rows, table.c.id, table.c.patient_id, table.c.source_id)
            for rid, pid, sid in returned:  # any order (batched): matched back on (patient, FHIR id)
                out[(pid, sid)] = rid
            result.count(kind, "added", len(rows))
        return out

    def _write_diagnoses(self, s: Session, encounters: list[Record],
                         written: dict[str, dict[tuple[int, str], int]], file: str, result: ImportResult) -> None:
        enc_ids = written.get("encounter", {})
        if not enc_ids:
            return
        for chunk in chunks(sorted(enc_ids.values())):  # replaced in full on re-import
            s.execute(delete(DIAGNOSIS).where(DIAGNOSIS.c.encounter_id.in_(chunk)))
        wanted = [(self.patient_id(r.patient_ref), r) for r in encounters if r.diagnoses]
        if not wanted:
            return
        cond = EVENT_TABLES["condition"]
        pids = {pid for pid, _ in wanted if pid is not None}
        codes: dict[tuple[int | None, str], tuple[int | None, str | None, str | None]] = {}
        for chunk in chunks(sorted(pids)):
            for pid, sid, rid, system, code in s.execute(
                select(cond.c.patient_id, cond.c.source_id, cond.c.id, cond.c.code_system, cond.c.code)
                .where(cond.c.patient_id.in_(chunk))
            ):
                codes[(pid, sid)] = (rid, system, code)
        rows = []
        for pid, record in wanted:
            eid = enc_ids.get((pid, record.source_id)) if pid is not None else None
            if eid is None:
                continue
            for diag in record.diagnoses:
                ref = diag.get("condition_ref")
                rid, system, code = codes.get((pid, ref), (None, None, None)) if ref else (None, None, None)
                rows.append({"encounter_id": eid, "condition_id": rid, "condition_source_id": ref,
                             "code_system": system, "code": code, "use": diag.get("use"), "rank": diag.get("rank")})
        if rows:
            if is_postgresql(s.connection()):
                s.flush()
                copy_dicts(s.connection(), DIAGNOSIS, _uniform(rows))
            else:
                s.execute(insert(DIAGNOSIS), rows)

    def _update_payers(self, s: Session, coverages: list[Record]) -> None:
        """Patient.payer from the most recent coverage of each patient in the file."""
        latest: dict[int, tuple[Any, str]] = {}
        for record in coverages:
            pid = self.patient_id(record.patient_ref)
            if pid is None or record.values.get("payer") in (None, "unknown"):
                continue
            start = record.values.get("start")
            key = (record.values.get("status") == "active", start.isoformat() if start else "")
            if pid not in latest or key >= latest[pid][0]:
                latest[pid] = (key, record.values["payer"])
        if latest:
            _update_rows(s, PATIENT, [{"_id": pid, "payer": payer} for pid, (_key, payer) in latest.items()], version=True)


def _insert_returning(s: Session, table: Table, rows: list[dict[str, Any]], *returning: Column[Any]
                      ) -> Iterable[Sequence[Any]]:
    """Insert ``rows`` (same keys) and give back the ``returning`` columns of each new row: on PostgreSQL
    with COPY (ids drawn from the table's sequence first), elsewhere with INSERT ... RETURNING."""
    if not is_postgresql(s.connection()):
        return s.execute(insert(table).returning(*returning), rows)
    s.flush()  # pending ORM rows (the import's record) first: COPY goes straight to the connection
    ids = copy_dicts_returning_ids(s.connection(), table, rows)
    return [tuple(rid if c.name == "id" else row[c.name] for c in returning) for rid, row in zip(ids, rows, strict=True)]


def _update_rows(s: Session, table: Table, rows: list[dict[str, Any]], version: bool = False) -> None:
    """Update each row (same keys, its id under ``_id``; ``version``: add one to the row's version): on
    PostgreSQL one ``UPDATE ... FROM`` a COPYed temporary table (ids distinct), elsewhere an executemany."""
    conn = s.connection()
    cols = [k for k in rows[0] if k != "_id"]
    if is_postgresql(conn) and len({row["_id"] for row in rows}) == len(rows):
        copy_update(conn, table, cols, [(row["_id"], *(row[c] for c in cols)) for row in rows],
                    '"version" = t."version" + 1' if version else "")
        return
    values: dict[str, Any] = {k: bindparam(k) for k in cols}
    if version:
        values["version"] = table.c.version + 1
    conn.execute(update(table).where(table.c.id == bindparam("_id")).values(**values), rows)


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with the same keys (executemany needs it); missing values become NULL."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return [{k: row.get(k) for k in keys} for row in rows]


def _type_name(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("_"))
