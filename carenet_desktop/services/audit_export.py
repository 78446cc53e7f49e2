"""Reading the audit trail out: verification of the hash chain and export for the administrator.

The export holds who did what and when; before/after images of patient rows are patient data, so the
export is itself audited and allowed only to those who may read the audit trail.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from ..models import AuditLog
from ..models.full_disk import whole_file
from ..reports.spreadsheets import neutralise
from . import audit
from .context import ServiceContext, ServiceError
from .permissions import require

EXPORT_COLUMNS = ("id", "at", "username", "action", "entity", "entity_id", "practice_id", "summary", "before",
                  "after", "prev_hash", "entry_hash")


@dataclass(frozen=True)
class ChainReport:
    entries: int
    broken: list[int]
    end_problem: str | None = None  # the head does not vouch for the trail (entries removed, head edited, no key)
    head_hash: str | None = None  # the last hash the head records: compare with a backup manifest or package

    @property
    def intact(self) -> bool:
        return not self.broken and self.end_problem is None


def verify_audit(ctx: ServiceContext) -> ChainReport:
    """Recompute every entry's hash and its link to the previous one."""
    require(ctx, "audit.read")
    with ctx.db.session() as s:
        count = int(s.scalar(select(func.count()).select_from(AuditLog)) or 0)
        broken = audit.verify_chain(s)
        end_problem = audit.head_problem(s)
        head_hash = audit.head_anchor(s)["last_hash"]
    return ChainReport(count, broken, end_problem, head_hash)


def export_audit(ctx: ServiceContext, path: Path, since: dt.date | None = None) -> int:
    """Write the trail (oldest first) to ``.csv`` or ``.jsonl``; returns the number of entries written."""
    require(ctx, "audit.read")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise ServiceError(f"Cannot write {path.name}: use a .csv or .jsonl file name")
    stmt = select(AuditLog).order_by(AuditLog.id)
    if since is not None:
        stmt = stmt.where(AuditLog.at >= dt.datetime.combine(since, dt.time()))
    written = 0
    try:
        with ctx.db.session() as s, whole_file(path) as partial, partial.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh) if suffix == ".csv" else None
            if writer is not None:
                writer.writerow(EXPORT_COLUMNS)
            for entry in s.scalars(stmt):
                row = {c: getattr(entry, c) for c in EXPORT_COLUMNS}
                row["at"] = entry.at.isoformat()
                if writer is not None:
                    writer.writerow([neutralise(json.dumps(v) if isinstance(v, dict) else ("" if v is None else v))
                                     for v in row.values()])
                else:
                    fh.write(json.dumps(row, default=str) + "\n")
                written += 1
    except OSError as exc:  # nothing half-written is left (whole_file)
        raise ServiceError(f"Cannot write {path.name}: {exc.strerror or exc}") from None
    with ctx.db.session() as s:
        audit.record(s, ctx.username, "export", "audit", None,
                     summary=f"Exported {written} audit entries to {path.name}")
    return written


def recent_audit(ctx: ServiceContext, *, limit: int = 500, username: str | None = None, action: str | None = None,
                 since: dt.date | None = None) -> list[dict[str, object]]:
    """The newest entries for the viewer: who, when, what (no before/after images, which hold patient data)."""
    require(ctx, "audit.read")
    stmt = select(AuditLog.id, AuditLog.at, AuditLog.username, AuditLog.action, AuditLog.entity, AuditLog.entity_id,
                  AuditLog.practice_id, AuditLog.summary).order_by(AuditLog.id.desc()).limit(max(1, min(limit, 10_000)))
    if username:
        stmt = stmt.where(AuditLog.username == username.strip().lower())
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if since is not None:
        stmt = stmt.where(AuditLog.at >= dt.datetime.combine(since, dt.time()))
    with ctx.db.session() as s:
        return [dict(row._mapping) for row in s.execute(stmt)]
