"""Importing EHR exports (CSV/Excel): preview, one-transaction import, matched re-imports, undo.

Reading, mapping and validation are pure (``interchange.tabular``); this module builds what they need
from the store, then writes accepted rows in ONE transaction: a failure, a cancel or a killed process
leaves the database as it was. Re-imports match existing rows (EHR record id, else patient + code +
day) and update changed values, keeping the old ones in ``import_change`` so an import can be undone.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table, bindparam, delete, func, insert, select, update
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
from ..interchange.tabular.fast import as_object, day_numbers, row_hash
from ..interchange.tabular.matching import content_hash, json_ready, natural_hash, prefetch, same, source_hash
from ..interchange.tabular.records import TABLES, TableSpec, prepare
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
from . import audit
from .context import ServiceContext, ServiceError

IN_BATCH = 500


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


# --- store lookups -----------------------------------------------------------------------------------

def _resolve_practice(session: Session, ctx: ServiceContext, code: str | None, *, create: bool) -> Practice:
    if code:
        practice = session.scalar(select(Practice).where(Practice.code == code.strip()))
        if practice is not None:
            return practice
        if not create:
            raise ServiceError(f"No practice with code {code!r}.")
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
    providers = dict(session.execute(select(Provider.npi, Provider.id).where(
        Provider.practice_id == practice_id, Provider.npi.is_not(None))).all())
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
        practice_id = practice.id if practice else -1
        cmap = _mapping_for(s, source, practice_id, kind, profile, mapping, date_formats, code_system)
        ref = build_reference(s, practice_id)
        s.rollback()
    try:
        return preview(source, cmap, ref, max_rows=max_rows)
    except TabularError as exc:
        raise ServiceError(str(exc)) from exc


# --- writing -----------------------------------------------------------------------------------------

class _Writer:
    """Writes the accepted rows of one import kind, matching and updating rows already in the store."""

    def __init__(self, session: Session, kind: str, practice_id: int, import_id: int) -> None:
        self.session = session
        self.kind = kind
        self.spec: TableSpec = TABLES[kind]
        self.table: Table = Base.metadata.tables[self.spec.table]
        self.practice_id = practice_id
        self.import_id = import_id
        self.conn = session.connection()
        self.sqlite = self.conn.dialect.name == "sqlite"
        self.claimed = np.zeros(0, dtype=bool)  # by existing row id: matched once already in this import
        self._content: pd.Series | None = None
        self._compare: list[str] = []
        self._loaded = False
        self.added = self.updated = self.unchanged = 0

    # existing rows in ONE pass: id, natural-key hash, source-id hash (only rows carrying a real source
    # id) and a hash of the values this import compares
    def _load_index(self, frame: pd.DataFrame) -> None:
        self._loaded = True
        self._compare = self._compare_columns(frame)
        t = self.table
        content = [t.c[c].label(f"v_{c}") for c in self._compare]
        if self.kind == "patients":
            query = select(t.c.id, t.c.mrn, *content).where(t.c.practice_id == self.practice_id)
        else:
            code = [t.c[c] for c in self._code_columns]
            pat = Base.metadata.tables["patient"]
            query = (select(t.c.id, t.c.patient_id, t.c.source_id, t.c[self.spec.date_column].label("d"), *code,
                            *content)
                     .join(pat, pat.c.id == t.c.patient_id).where(pat.c.practice_id == self.practice_id)
                     .order_by(t.c.id))
        ids, nks, sids, hashes = [], [], [], []
        for part in self._read(query):
            ids.append(part["id"].to_numpy(dtype=np.int64))
            if self._compare:
                hashes.append(content_hash({c: part[f"v_{c}"] for c in self._compare}, self.spec))
            if self.kind == "patients":
                nks.append(row_hash([part["mrn"].fillna("")]))
                sids.append(np.zeros(len(part), dtype=np.uint64))
                continue
            pid = part["patient_id"].to_numpy(dtype=np.int64)
            nks.append(natural_hash(pid, [part[c].fillna("") for c in self._code_columns], day_numbers(part["d"])))
            src = pd.Series(as_object(part["source_id"]), dtype=object)
            identified = (src.notna() & ~src.fillna("").str.startswith("row ")).to_numpy(dtype=bool)
            sids.append(np.where(identified, source_hash(pid, src.fillna("")), np.uint64(0)))
        ids_a = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        nk_a = np.concatenate(nks) if nks else np.zeros(0, dtype=np.uint64)
        sid_a = np.concatenate(sids) if sids else np.zeros(0, dtype=np.uint64)
        by_nk = pd.Series(ids_a, index=nk_a)
        self.by_nk = by_nk[~by_nk.index.duplicated()]
        unident = sid_a == 0
        by_nk_u = pd.Series(ids_a[unident], index=nk_a[unident])
        self.by_nk_unidentified = by_nk_u[~by_nk_u.index.duplicated()]
        by_sid = pd.Series(ids_a[~unident], index=sid_a[~unident])
        self.by_sid = by_sid[~by_sid.index.duplicated()]
        self.claimed = np.zeros(int(ids_a.max()) + 1 if len(ids_a) else 0, dtype=bool)
        if self._compare:
            self._content = pd.Series(np.concatenate(hashes) if hashes else np.zeros(0, np.uint64), index=ids_a)

    def _read(self, query: Any) -> Iterator[pd.DataFrame]:
        """Frames of a query's rows; on SQLite untyped (dates stay text: parsing a million rows one by
        one in the driver layer costs more than the whole comparison)."""
        if not self.sqlite:
            yield from pd.read_sql(query, self.conn, chunksize=200_000)
            return
        sql = str(query.compile(dialect=self.conn.dialect, compile_kwargs={"literal_binds": True}))
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            while rows := cursor.fetchmany(200_000):
                yield pd.DataFrame.from_records(rows, columns=names)
        finally:
            cursor.close()

    @property
    def _code_columns(self) -> list[str]:
        return list(self.spec.code_columns) if self.spec.code_columns else ["referral_type"]

    def _match(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Existing row id per new row (-1: none), and whether the match gains an EHR record id."""
        if self.kind == "patients":
            found = self.by_nk.reindex(row_hash([frame["mrn"]])).fillna(-1).to_numpy(np.int64)
            return found, np.zeros(len(frame), dtype=bool)
        pid = frame["patient_id"].to_numpy(dtype="float64").astype(np.int64)
        nk = natural_hash(pid, [frame[c].fillna("") for c in self._code_columns], day_numbers(frame["date"]))
        src = frame["source_id"]
        has_sid = ~src.fillna("row ").str.startswith("row ").to_numpy(dtype=bool)
        sid = source_hash(pid, src.fillna(""))
        by_sid = self.by_sid.reindex(sid).to_numpy(dtype=float)
        by_nk_u = self.by_nk_unidentified.reindex(nk).to_numpy(dtype=float)
        by_nk = self.by_nk.reindex(nk).to_numpy(dtype=float)
        match = np.where(has_sid, np.where(np.isnan(by_sid), by_nk_u, by_sid), by_nk)
        # matched by patient + code + day, and the file now gives the EHR id the stored row lacks
        sid_change = has_sid & np.isnan(by_sid) & ~np.isnan(by_nk_u)
        return np.nan_to_num(match, nan=-1).astype(np.int64), sid_change

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        frame = prepare(frame.reset_index(drop=True), self.kind)
        if self.kind != "patients":
            missing = frame["source_id"].isna().to_numpy()
            if missing.any():
                src = np.array(frame["source_id"].to_numpy(dtype=object), dtype=object)
                src[missing] = ["row " + str(r) for r in frame["row"].to_numpy()[missing]]
                frame["source_id"] = pd.Series(src, index=frame.index, dtype=object)
        if not self._loaded:
            self._load_index(frame)
        match, sid_change = self._match(frame)
        # one existing row is matched at most once per import; later claimants become new rows
        hit = match >= 0
        seen = np.array(pd.Series(match).duplicated().to_numpy(), dtype=bool)
        seen[hit] |= self.claimed[match[hit]]
        match[hit & seen] = -1
        self.claimed[match[match >= 0]] = True
        arrays = self.spec.arrays(frame)
        new_rows = match < 0
        self._insert({k: v[new_rows] for k, v in arrays.items()})
        if (~new_rows).any():
            ids = match[~new_rows]
            sub_arrays = {k: v[~new_rows] for k, v in arrays.items()}
            # fast path: rows whose stored content hashes equal to the new values are unchanged
            maybe = self._maybe_changed(ids, sub_arrays) | sid_change[~new_rows]
            self.unchanged += int((~maybe).sum())
            if maybe.any():
                self._update(ids[maybe], {k: v[maybe] for k, v in sub_arrays.items()}, frame[~new_rows][maybe])

    def _maybe_changed(self, ids: np.ndarray, arrays: dict[str, np.ndarray]) -> np.ndarray:
        if self._content is None:
            return np.zeros(len(ids), dtype=bool)
        new = content_hash({c: pd.Series(arrays[c], dtype=object) for c in self._compare}, self.spec)
        pos = self._content.index.get_indexer(ids)
        old = self._content.to_numpy()[np.maximum(pos, 0)] if len(self._content) else np.zeros(len(ids), np.uint64)
        return (pos < 0) | (old != new)

    # inserts ---------------------------------------------------------------------------------------
    def _insert(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(next(iter(arrays.values()))) if arrays else 0
        if n == 0:
            return
        cols = dict(arrays)
        for name, value in self.spec.fixed.items():
            cols[name] = np.full(n, value, dtype=object)
        cols["import_id"] = np.full(n, self.import_id, dtype=object)
        if self.kind == "patients":
            cols["practice_id"] = np.full(n, self.practice_id, dtype=object)
        now = utcnow()
        for stamp in ("created_at", "updated_at"):
            if stamp in self.table.c:
                cols[stamp] = np.full(n, now.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else now, dtype=object)
        if "version" in self.table.c:
            cols["version"] = np.full(n, 1, dtype=object)
        # columns that are NULL in every row need no binding (unless the table has a default for them)
        names = [c for c in cols if self.table.c[c].server_default is not None or any(v is not None for v in cols[c])]
        if self.sqlite:
            sql = (f'INSERT INTO "{self.table.name}" ({", ".join(chr(34) + c + chr(34) for c in names)}) '
                   f'VALUES ({", ".join("?" for _ in names)})')
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.executemany(sql, zip(*(cols[c].tolist() for c in names), strict=True))
            cursor.close()
        else:
            records = [dict(zip(names, row, strict=True)) for row in zip(*(self._py(c, cols[c]) for c in names),
                                                                         strict=True)]
            self.conn.execute(insert(self.table), records)
        self.added += n

    def _py(self, column: str, values: np.ndarray) -> list[Any]:
        """Python values for a non-SQLite driver (date text back to date/datetime objects)."""
        kind = next((k for c, (_, k, _) in self.spec.columns.items() if c == column), None)
        if kind in ("date", "datetime"):
            parsed = pd.to_datetime(pd.Series(values), errors="coerce")
            return [None if pd.isna(v) else (v.date() if kind == "date" else v.to_pydatetime()) for v in parsed]
        return values.tolist()

    # updates ---------------------------------------------------------------------------------------
    def _compare_columns(self, frame: pd.DataFrame) -> list[str]:
        out = []
        for column, (source, _, _) in self.spec.columns.items():
            if column in ("patient_id",) or source is None or source not in frame:
                continue
            if column == "source_id":
                continue  # handled separately: only a real record id replaces another spelling
            out.append(column)
        return out

    def _fetch(self, ids: np.ndarray, columns: list[str]) -> pd.DataFrame:
        t = self.table
        parts = []
        for start in range(0, len(ids), IN_BATCH):
            batch = [int(i) for i in ids[start:start + IN_BATCH]]
            parts.append(pd.read_sql(select(t.c.id, *(t.c[c] for c in columns)).where(t.c.id.in_(batch)), self.conn))
        return pd.concat(parts, ignore_index=True).set_index("id") if parts else pd.DataFrame(columns=columns)

    def _update(self, ids: np.ndarray, arrays: dict[str, np.ndarray], frame: pd.DataFrame) -> None:
        columns = self._compare_columns(frame)
        real_sid = None
        if self.kind != "patients":
            real_sid = ~frame["source_id"].astype(str).str.startswith("row ").to_numpy()
            columns = [*columns, "source_id"]
        old = self._fetch(ids, columns).reindex(ids)
        changed = np.zeros(len(ids), dtype=bool)
        new_vals: dict[str, np.ndarray] = {}
        for column in columns:
            kind = self.spec.columns[column][1]
            new = arrays[column]
            before = old[column]
            if column == "source_id":
                new = np.where(real_sid, new, before.to_numpy(dtype=object))
            diff = ~same(before, new, kind)
            changed |= diff
            new_vals[column] = new
        n_changed = int(changed.sum())
        self.unchanged += len(ids) - n_changed
        if not n_changed:
            return
        ids_c = ids[changed]
        befores = old[changed].copy()
        for column in columns:
            kind = self.spec.columns[column][1]
            befores[column] = json_ready(befores[column], kind)
        params = {c: new_vals[c][changed] for c in columns}
        extra = ""
        if "version" in self.table.c:
            extra += ', "version" = "version" + 1'
        if "updated_at" in self.table.c:
            extra += ", \"updated_at\" = '" + utcnow().strftime("%Y-%m-%d %H:%M:%S.%f") + "'"
        change_rows = [(self.import_id, self.table.name, int(i), json.dumps(b, default=str))
                       for i, b in zip(ids_c, befores.to_dict("records"), strict=True)]
        if self.sqlite:
            sets = ", ".join(f'"{c}" = ?' for c in columns)
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.executemany(f'UPDATE "{self.table.name}" SET {sets}{extra} WHERE id = ?',
                               zip(*(params[c].tolist() for c in columns), ids_c.tolist(), strict=True))
            cursor.executemany("INSERT INTO import_change (import_id, table_name, row_id, before) VALUES (?, ?, ?, ?)",
                               change_rows)
            cursor.close()
        else:
            t = self.table
            values: dict[str, Any] = {c: bindparam("_" + c) for c in columns}
            if "version" in t.c:
                values["version"] = t.c.version + 1
            if "updated_at" in t.c:
                values["updated_at"] = utcnow()
            stmt = update(t).where(t.c.id == bindparam("_id")).values(values)
            py = {c: self._py(c, params[c]) for c in columns}
            self.conn.execute(stmt, [{"_id": int(i), **{"_" + c: py[c][k] for c in columns}}
                                     for k, i in enumerate(ids_c)])
            self.conn.execute(insert(ImportChange.__table__), [
                {"import_id": a, "table_name": b, "row_id": c, "before": json.loads(d)} for a, b, c, d in change_rows])
        self.updated += n_changed


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
        writer = _Writer(s, kind, practice.id, record.id)
        try:
            # reading and validating the next chunk overlaps with SQLite writing this one (it releases the GIL)
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
    with ctx.db.session() as s:
        rows = s.execute(select(DataImport, Practice.code).outerjoin(Practice, Practice.id == DataImport.practice_id)
                         .order_by(DataImport.id.desc()).limit(limit)).all()
        return [ImportSummary(d.id, d.kind, (d.detail or {}).get("records"), d.file_name, code, d.username,
                              d.started_at, d.status, d.added, d.updated, d.rejected) for d, code in rows]


def undo_import(ctx: ServiceContext, import_id: int) -> UndoResult:
    """Undo a whole import: delete the rows it added, restore the values of the rows it updated."""
    with ctx.db.session() as s:
        record = s.get(DataImport, import_id)
        if record is None:
            raise ServiceError(f"No import with id {import_id}.")
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
        deleted = s.execute(delete(table).where(table.c.import_id == import_id)).rowcount or 0
        spec = TABLES[kind]
        for row_id, before in changes:
            values = {k: _restore_value(v, spec.columns.get(k, (None, "text", None))[1], s) for k, v in before.items()}
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
        return UndoResult(import_id, deleted, len(changes))


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
                 "medication_dispense", "service_request", "referral", "care_activity", "coverage"):
        t = Base.metadata.tables[name]
        used = session.scalar(select(func.count()).select_from(t).where(
            t.c.patient_id.in_(patient_ids), (t.c.import_id.is_(None)) | (t.c.import_id != import_id)))
        if used:
            raise ServiceError(f"Patients of import {import_id} have {name.replace('_', ' ')} records from other "
                               "imports or manual entry: undo or remove those first.")
