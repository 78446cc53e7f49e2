"""What the import wizard's mapping step needs: a file's headers, the mapping guessed (or saved) for a
kind, each target field, and the first value under each header; plus saving the rejection report.

Nothing is validated or written here; ``intake.preview_file`` and ``intake.import_file`` do that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..interchange.tabular import KIND_FIELDS, TabularError, write_rejections
from .context import ServiceContext, ServiceError
from .intake import _check_kind, _mapping_for, _open_source, _resolve_practice, list_profiles

KIND_LABELS = {"patients": "Patients", "encounters": "Visits (encounters)", "immunizations": "Immunizations",
               "diagnoses": "Diagnoses (problems)", "observations": "Results and screenings (observations)",
               "medications": "Medications", "referrals": "Referrals",
               "appointments": "Appointments (schedule)"}
SAMPLE_ROWS = 50


@dataclass(frozen=True)
class TargetField:
    name: str
    label: str
    type: str
    required: bool


@dataclass(frozen=True)
class FileMapping:
    file_name: str
    kind: str
    headers: list[str]
    mapping: dict[str, str]  # field -> header
    fields: list[TargetField]
    samples: dict[str, str]  # header -> first non-blank value (shown to the user, never logged)
    profiles: list[str]  # saved mapping profiles of the practice for this kind
    is_excel: bool


def inspect_file(ctx: ServiceContext, path: str | Path, kind: str, *, practice_code: str | None,
                 profile: str | None = None) -> FileMapping:
    """The file's headers and the mapping the wizard starts from (a saved profile over the guess)."""
    _check_kind(kind)
    source = _open_source(path, {}, SAMPLE_ROWS)
    with ctx.db.sessions() as s:
        practice = _resolve_practice(s, ctx, practice_code, create=False) if kind != "patients" or practice_code \
            else None
        cmap = _mapping_for(s, source, practice.id if practice else -1, kind, profile, None, None, None)
        s.rollback()
    samples: dict[str, str] = {}
    try:
        first = next(iter(source.chunks()), None)
    except TabularError as exc:
        raise ServiceError(str(exc)) from exc
    if first is not None:
        for header in source.headers:
            if header in first.frame:
                values = first.frame[header]
                filled = values[values.astype(str).str.strip() != ""]
                samples[header] = str(filled.iloc[0]) if len(filled) else ""
    names = [p.name for p in list_profiles(ctx, practice_code=practice_code, kind=kind)] if practice_code else []
    fields = [TargetField(f.name, f.label, f.type, f.required) for f in KIND_FIELDS[kind]]
    return FileMapping(Path(path).name, kind, list(source.headers), dict(cmap.mapping), fields, samples, names,
                       source.is_excel)


def save_rejection_report(problems: pd.DataFrame, path: str | Path) -> Path:
    """The rejection report as CSV (file, row, column, value, reason); a clear message when it cannot be written."""
    try:
        return write_rejections(problems, path)
    except OSError as exc:
        raise ServiceError(f"Cannot write the rejection report: {exc.strerror or exc}") from exc
