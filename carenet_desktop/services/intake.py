"""Importing EHR exports (CSV/Excel): preview, one-transaction import, matched re-imports, undo.

Reading, mapping and validation are pure (``interchange.tabular``); this module builds what they need
from the store, then writes accepted rows in ONE transaction: a failure, a cancel or a killed process
leaves the database as it was. Re-imports match existing rows (EHR record id, else patient + code +
day) and update changed values, keeping the old ones in ``import_change`` so an import can be undone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from ..interchange.tabular import (
    DEFAULT_CHUNK_ROWS,
    KINDS,
    PROBLEM_COLUMNS,
    ColumnMapping,
    Preview,
    Reference,
    TabularError,
    TabularSource,
    file_sha256,
    iter_validated,
    preview,
    resolve_mapping,
    write_rejections,
)
from ..interchange.tabular.matching import prefetch
from ..interchange.tabular.records import TABLES
from ..models import (
    Base,
    DataImport,
    ImportChange,
    MappingProfile,
    Patient,
    Practice,
    Provider,
    ValueSetCode,
    utcnow,
)
from ..models.journal import practice_scope
from . import audit
from .changes import Area, Change, records_change, writes
from .context import ServiceContext, ServiceError
from .intake_writer import IntakeWriter
from .permissions import require, visible_practice_ids


@dataclass
class ImportResult:
    """What an import did. ``written`` is False when nothing reached the store (rejections, preview)."""

    import_id: int | None
    kind: str
    file_name: str
    file_sha256: str
    rows: int
    added: int
    updated: int
    unchanged: int
    rejected: int  # rows
    problems: pd.DataFrame
    written: bool
    mapping: dict[str, str]
    date_formats: dict[str, str]
    seconds: float = 0.0
    rejections_path: Path | None = None

    @property
    def change(self) -> Change:
        """The import history, and the records when any were written."""
        return records_change([self.kind] if self.written else [], imported=True)


@dataclass(frozen=True)
class ImportSummary:
    id: int
    kind: str
    records: str | None
    file_name: str | None
    practice_code: str | None
    username: str | None
    started_at: dt.datetime
    status: str
    added: int
    updated: int
    rejected: int


@dataclass(frozen=True)
class UndoResult:
    import_id: int
    deleted: int
    restored: int
    #: the import history and the records put back
    change: Change = field(default_factory=lambda: Change.of(Area.IMPORTS))


# --- store lookups -----------------------------------------------------------------------------------

def _resolve_practice(session: Session, ctx: ServiceContext, code: str | None, *, create: bool) -> Practice:
    if code:
        practice = session.scalar(select(Practice).where(Practice.code == code.strip()))
        if practice is not None:
            require(ctx, "patients.write", practice.id)
            return practice
        if not create:
            raise ServiceError(f"No practice with code {code!r}.")
        require(ctx, "practices.manage")
        practice = Practice(code=code.strip(), name=code.strip())
        session.add(practice)
        session.flush()
        audit.record(session, ctx.username, "create", "practice", practice.id, practice_id=practice.id,
                     after=audit.row_snapshot(practice), summary="created by a patient import")
        return practice
    practices = session.scalars(select(Practice).limit(2)).all()
    if len(practices) != 1:
        raise ServiceError("Choose the practice to import into (--practice CODE)." if practices
                           else "There is no practice yet: give --practice CODE when importing patients.")
    require(ctx, "patients.write", practices[0].id)
    return practices[0]


def build_reference(session: Session, practice_id: int, today: dt.date | None = None) -> Reference:
    """Patients (by MRN), the code catalogue (every loaded value set) and providers of one practice."""
    conn = session.connection()
    pats = pd.read_sql(select(Patient.mrn, Patient.id.label("patient_id"), Patient.birth_date)
                       .where(Patient.practice_id == practice_id), conn)
    pats["birth_date"] = pd.to_datetime(pats["birth_date"], errors="coerce")
    patients = pats.set_index("mrn")[["patient_id", "birth_date"]]
    patients = patients[~patients.index.duplicated()]
    codes = pd.read_sql(select(ValueSetCode.code_system, ValueSetCode.code).distinct(), conn)
    known = {str(system): frozenset(group["code"].astype(str)) for system, group in codes.groupby("code_system")}
    providers = {npi: pid for npi, pid in session.execute(select(Provider.npi, Provider.id).where(
        Provider.practice_id == practice_id, Provider.npi.is_not(None))) if npi is not None}
    return Reference(today=today or dt.date.today(), patients=patients, known_codes=known, providers=providers)


def _profile(session: Session, practice_id: int, kind: str, name: str) -> MappingProfile | None:
    return session.scalar(select(MappingProfile).where(
        MappingProfile.practice_id == practice_id, MappingProfile.kind == kind, MappingProfile.name == name))


def save_profile(ctx: ServiceContext, *, practice_code: str | None, kind: str, name: str, mapping: dict[str, str],
                 date_formats: dict[str, str] | None = None, options: dict[str, Any] | None = None) -> int:
    """Create or replace a practice's saved column mapping for one kind (audited)."""
    _check_kind(kind)
    with ctx.db.session() as s:
        practice = _resolve_practice(s, ctx, practice_code, create=False)
        prof = _profile(s, practice.id, kind, name)
        before = audit.row_snapshot(prof) if prof else None
        if prof is None:
            prof = MappingProfile(practice_id=practice.id, kind=kind, name=name, mapping={}, created_by=ctx.username)
            s.add(prof)
        prof.mapping, prof.date_formats, prof.options = dict(mapping), dict(date_formats or {}), dict(options or {})
        s.flush()
        audit.record(s, ctx.username, "update" if before else "create", "mapping_profile", prof.id,
                     practice_id=practice.id, before=before, after=audit.row_snapshot(prof))
        return prof.id


@dataclass(frozen=True)
class ProfileSummary:
    id: int
    practice_code: str | None
    kind: str
    name: str
    mapping: dict[str, str]
    date_formats: dict[str, str]


def list_profiles(ctx: ServiceContext, *, practice_code: str | None = None, kind: str | None = None
                  ) -> list[ProfileSummary]:
    """Saved column-mapping profiles, by practice, kind and name."""
    query = (select(MappingProfile, Practice.code).outerjoin(Practice, Practice.id == MappingProfile.practice_id)
             .order_by(Practice.code, MappingProfile.kind, MappingProfile.name))
    if practice_code:
        query = query.where(Practice.code == practice_code)
    if kind:
        query = query.where(MappingProfile.kind == kind)
    with ctx.db.session() as s:
        return [ProfileSummary(p.id, code, p.kind, p.name, dict(p.mapping or {}), dict(p.date_formats or {}))
                for p, code in s.execute(query).all()]


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ServiceError(f"Unknown import kind {kind!r}; choose one of: {', '.join(KINDS)}.")


def _open_source(path: str | Path, options: dict[str, Any], chunk_rows: int) -> TabularSource:
    try:
        return TabularSource(path, encoding=options.get("encoding"), delimiter=options.get("delimiter"),
                             sheet=options.get("sheet"), chunk_rows=chunk_rows)
    except TabularError as exc:
        raise ServiceError(str(exc)) from exc
    except LookupError as exc:  # unknown encoding name
        raise ServiceError(f"Unknown text encoding: {exc}") from exc


def _mapping_for(session: Session, source: TabularSource, practice_id: int, kind: str, profile: str | None,
                 mapping: dict[str, str] | None, date_formats: dict[str, str] | None,
                 code_system: str | None) -> ColumnMapping:
    saved: dict[str, str] = {}
    formats: dict[str, str] = {}
    if profile:
        prof = _profile(session, practice_id, kind, profile)
        if prof is None:
            raise ServiceError(f"No saved mapping profile {profile!r} for {kind} in this practice.")
        saved, formats = dict(prof.mapping or {}), dict(prof.date_formats or {})
        code_system = code_system or (prof.options or {}).get("code_system")
    saved.update(mapping or {})
    formats.update(date_formats or {})
    return resolve_mapping(source, kind, saved, formats, code_system)


def preview_file(ctx: ServiceContext, path: str | Path, kind: str, *, practice_code: str | None = None,
                 profile: str | None = None, mapping: dict[str, str] | None = None,
                 date_formats: dict[str, str] | None = None, code_system: str | None = None,
                 options: dict[str, Any] | None = None, max_rows: int = 200) -> Preview:
    """The mapped rows and every row-level problem of a file; nothing is written."""
    _check_kind(kind)
    source = _open_source(path, options or {}, DEFAULT_CHUNK_ROWS)
    with ctx.db.sessions() as s:
        practice = _resolve_practice(s, ctx, practice_code, create=False) if kind != "patients" or practice_code \
            else None
        if practice is None:
            require(ctx, "patients.write")
        practice_id = practice.id if practice else -1
        cmap = _mapping_for(s, source, practice_id, kind, profile, mapping, date_formats, code_system)
        ref = build_reference(s, practice_id)
        s.rollback()
    try:
        return preview(source, cmap, ref, max_rows=max_rows, progress=ctx.progress.report)
    except TabularError as exc:
        raise ServiceError(str(exc)) from exc


# --- writing -----------------------------------------------------------------------------------------

@writes(Area.IMPORTS, Area.PATIENTS, Area.EVENTS, Area.REFERRALS, Area.SCHEDULE)
def import_file(ctx: ServiceContext, path: str | Path, kind: str, *, practice_code: str | None = None,
                profile: str | None = None, mapping: dict[str, str] | None = None,
                date_formats: dict[str, str] | None = None, code_system: str | None = None,
                valid_rows_only: bool = False, rejections: str | Path | None = None,
                options: dict[str, Any] | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                save_profile_as: str | None = None, today: dt.date | None = None) -> ImportResult:
    """Import one export file in one transaction.

    All-or-nothing by default: any rejected row and nothing is written (the problems come back, and
    go to ``rejections`` as CSV). With ``valid_rows_only`` the accepted rows are written and the
    rejected ones reported. Either way a failure, a cancel or a kill leaves the store as it was.
    """
    _check_kind(kind)
    started = time.perf_counter()
    path = Path(path)
    options = dict(options or {})
    source = _open_source(path, options, chunk_rows)
    digest = file_sha256(path)
    added = updated = unchanged = 0
    try:
        result_id, added, updated, unchanged, cmap, all_problems, rows, rejected = _run_import(
            ctx, source, path, kind, digest, practice_code, profile, mapping, date_formats, code_system,
            valid_rows_only, options, save_profile_as, today)
        written = True
    except _Rejected as rej:
        written = False
        cmap, all_problems, rows, rejected = rej.cmap, rej.problems, rej.rows, rej.rejected
        result_id = _record_rejected(ctx, source, path, kind, digest, practice_code, rej)
    ctx.progress.report(1.0, "done")
    out = ImportResult(result_id, kind, path.name, digest, rows, added, updated, unchanged, rejected,
                       all_problems, written, dict(cmap.mapping), dict(cmap.date_formats),
                       time.perf_counter() - started)
    if rejections is not None:  # always written when asked for, so no stale report survives
        out.rejections_path = write_rejections(all_problems, rejections)
    return out


def _record_rejected(ctx: ServiceContext, source: TabularSource, path: Path, kind: str, digest: str,
                     practice_code: str | None, rej: _Rejected) -> int:
    """Log an all-or-nothing import that wrote nothing, so the import history shows every attempt."""
    with ctx.db.session() as s:
        try:  # a practice an all-or-nothing patient import would have created does not exist
            practice: Practice | None = _resolve_practice(s, ctx, practice_code, create=False)
        except ServiceError:
            practice = None
        record = DataImport(kind="xlsx" if source.is_excel else "csv", file_name=path.name, file_sha256=digest,
                            practice_id=practice.id if practice else None, username=ctx.username,
                            started_at=utcnow(), finished_at=utcnow(), status="rejected", rejected=rej.rejected,
                            detail={"records": kind, "rows": rej.rows, "written": False,
                                    "problems": rej.problems.head(100)[["row", "column", "reason"]].to_dict("records")})
        s.add(record)
        s.flush()
        audit.record(s, ctx.username, "import", "data_import", record.id,
                     practice_id=practice.id if practice else None,
                     after={"kind": kind, "file_sha256": digest, "added": 0, "rejected": rej.rejected},
                     summary=f"{kind} import rejected: {rej.rejected} of {rej.rows} rows invalid, nothing written")
        return record.id


class _Rejected(Exception):
    """All-or-nothing import with rejected rows: raised inside the transaction so it rolls back."""

    def __init__(self, cmap: ColumnMapping, problems: pd.DataFrame, rows: int, rejected: int) -> None:
        super().__init__("rows rejected")
        self.cmap, self.problems, self.rows, self.rejected = cmap, problems, rows, rejected


def _run_import(ctx: ServiceContext, source: TabularSource, path: Path, kind: str, digest: str,
                practice_code: str | None, profile: str | None, mapping: dict[str, str] | None,
                date_formats: dict[str, str] | None, code_system: str | None, valid_rows_only: bool,
                options: dict[str, Any], save_profile_as: str | None, today: dt.date | None,
                ) -> tuple[int, int, int, int, ColumnMapping, pd.DataFrame, int, int]:
    problems: list[pd.DataFrame] = []
    rows = rejected = 0
    writing = True
    with ctx.db.session() as s:
        practice = _resolve_practice(s, ctx, practice_code, create=kind == "patients")
        cmap = _mapping_for(s, source, practice.id, kind, profile, mapping, date_formats, code_system)
        ref = build_reference(s, practice.id, today)
        record = DataImport(kind="xlsx" if source.is_excel else "csv", file_name=path.name, file_sha256=digest,
                            practice_id=practice.id, username=ctx.username, started_at=utcnow(), status="running")
        s.add(record)
        s.flush()
        writer = IntakeWriter(s, kind, practice.id, record.id)
        try:  # every row written belongs to this practice: the journal names it once (models.journal)
            # reading and validating the next chunk overlaps with SQLite writing this one (it releases the GIL)
            with practice_scope(s.connection(), [practice.id]):
                for result in prefetch(iter_validated(source, cmap, ref)):
                    ctx.progress.report(min(0.99, source.fraction()), f"{rows + len(result.frame):,} rows read")
                    n_bad_split = int((result.problems["column"] == "").sum()) if len(result.problems) else 0
                    rows += len(result.frame) + n_bad_split
                    rejected += int(result.rejected.sum()) + n_bad_split
                    if len(result.problems):
                        problems.append(result.problems)
                    if rejected and not valid_rows_only:
                        writing = False  # keep validating for a complete report, write no more
                    if writing:
                        writer.write(result.frame[~result.rejected])
        except TabularError as exc:
            raise ServiceError(str(exc)) from exc
        all_problems = (pd.concat(problems, ignore_index=True) if problems
                        else pd.DataFrame({c: [] for c in PROBLEM_COLUMNS}))
        all_problems = all_problems.sort_values("row", kind="stable", ignore_index=True)
        if not writing:
            raise _Rejected(cmap, all_problems, rows, rejected)  # not one row of this file reaches the store
        record.finished_at = utcnow()
        record.status = "done"
        record.added, record.updated, record.rejected = writer.added, writer.updated, rejected
        record.detail = {
            "records": kind, "rows": rows, "unchanged": writer.unchanged, "mapping": cmap.mapping,
            "date_formats": cmap.date_formats, "profile": profile, "valid_rows_only": valid_rows_only,
            "encoding": source.encoding, "delimiter": source.delimiter,
            # where and why, without the values (they may be patient data)
            "problems": all_problems.head(100)[["row", "column", "reason"]].to_dict("records"),
        }
        audit.record(s, ctx.username, "import", "data_import", record.id, practice_id=practice.id,
                     after={"kind": kind, "file_sha256": digest, "added": writer.added,
                            "updated": writer.updated, "rejected": rejected},
                     summary=f"{kind} import: {writer.added} added, {writer.updated} updated, {rejected} rejected")
        if save_profile_as:
            prof = _profile(s, practice.id, kind, save_profile_as) or MappingProfile(
                practice_id=practice.id, kind=kind, name=save_profile_as, mapping={}, created_by=ctx.username)
            prof.mapping, prof.date_formats = dict(cmap.mapping), dict(cmap.date_formats)
            prof.options = {k: v for k, v in {"encoding": options.get("encoding"),
                                              "delimiter": options.get("delimiter"),
                                              "code_system": cmap.code_system}.items() if v}
            s.add(prof)
        s.flush()
        return (record.id, writer.added, writer.updated, writer.unchanged, cmap, all_problems, rows, rejected)


def list_imports(ctx: ServiceContext, limit: int = 50) -> list[ImportSummary]:
    require(ctx, "aggregates.read")
    query = select(DataImport, Practice.code).outerjoin(Practice, Practice.id == DataImport.practice_id)
    visible = visible_practice_ids(ctx)
    if visible is not None:
        query = query.where(DataImport.practice_id.in_(visible))
    with ctx.db.session() as s:
        rows = s.execute(query.order_by(DataImport.id.desc()).limit(limit)).all()
        return [ImportSummary(d.id, d.kind, (d.detail or {}).get("records"), d.file_name, code, d.username,
                              d.started_at, d.status, d.added, d.updated, d.rejected) for d, code in rows]


@writes(Area.IMPORTS, Area.PATIENTS, Area.EVENTS, Area.REFERRALS, Area.SCHEDULE)
def undo_import(ctx: ServiceContext, import_id: int) -> UndoResult:
    """Undo a whole import: delete the rows it added, restore the values of the rows it updated."""
    with ctx.db.session() as s:
        record = s.get(DataImport, import_id)
        if record is None:
            raise ServiceError(f"No import with id {import_id}.")
        require(ctx, "patients.write", record.practice_id)
        kind = (record.detail or {}).get("records")
        if record.status != "done" or kind not in TABLES:
            raise ServiceError(f"Import {import_id} cannot be undone (status {record.status}).")
        table = Base.metadata.tables[TABLES[kind].table]
        added_ids = select(table.c.id).where(table.c.import_id == import_id)
        changed_ids = select(ImportChange.row_id).where(ImportChange.import_id == import_id,
                                                        ImportChange.table_name == table.name)
        later = s.scalar(select(func.min(ImportChange.import_id)).join(DataImport, DataImport.id == ImportChange.import_id)
                         .where(DataImport.status == "done", ImportChange.import_id > import_id,
                                ImportChange.table_name == table.name,
                                ImportChange.row_id.in_(added_ids) | ImportChange.row_id.in_(changed_ids)))
        if later is not None:
            raise ServiceError(f"Import {later} changed rows of this import: undo import {later} first.")
        if kind == "patients":
            _check_patients_unused(s, import_id)
        changes = s.execute(select(ImportChange.row_id, ImportChange.before)
                            .where(ImportChange.import_id == import_id, ImportChange.table_name == table.name)
                            .order_by(ImportChange.id.desc())).all()
        spec = TABLES[kind]
        scope = (practice_scope(s.connection(), [record.practice_id]) if record.practice_id is not None
                 else contextlib.nullcontext())  # the import's rows are all its practice's: journaled once
        with scope:
            deleted = cast("CursorResult[Any]", s.execute(delete(table).where(table.c.import_id == import_id))).rowcount or 0
            for row_id, before in changes:
                values = {k: _restore_value(v, spec.columns.get(k, (None, "text", None))[1], s)
                          for k, v in before.items()}
                if "version" in table.c:
                    values["version"] = table.c.version + 1
                s.execute(update(table).where(table.c.id == row_id).values(values))
        record.status = "undone"
        record.detail = {**(record.detail or {}), "undone_at": utcnow().isoformat(), "undone_by": ctx.username,
                         "undo_deleted": deleted, "undo_restored": len(changes)}
        audit.record(s, ctx.username, "undo", "data_import", import_id, practice_id=record.practice_id,
                     before={"status": "done"}, after={"status": "undone", "deleted": deleted,
                                                       "restored": len(changes)},
                     summary=f"undid {kind} import {import_id}")
        return UndoResult(import_id, deleted, len(changes),
                          records_change([kind], imported=True, practices=[record.practice_id]))


def _restore_value(value: Any, kind: str, session: Session) -> Any:
    if value is None:
        return value
    if kind == "date":
        return dt.date.fromisoformat(str(value)[:10])
    if kind == "datetime":
        return dt.datetime.fromisoformat(str(value))
    return value


def _check_patients_unused(session: Session, import_id: int) -> None:
    """Patients an import added may be deleted only while no other source gave them records."""
    patient_ids = select(Patient.id).where(Patient.import_id == import_id)
    for name in ("encounter", "condition", "observation", "procedure", "immunization", "medication_request",
                 "medication_dispense", "service_request", "referral", "care_activity", "coverage", "appointment"):
        t = Base.metadata.tables[name]
        used = session.scalar(select(func.count()).select_from(t).where(
            t.c.patient_id.in_(patient_ids), (t.c.import_id.is_(None)) | (t.c.import_id != import_id)))
        if used:
            raise ServiceError(f"Patients of import {import_id} have {name.replace('_', ' ')} records from other "
                               "imports or manual entry: undo or remove those first.")
