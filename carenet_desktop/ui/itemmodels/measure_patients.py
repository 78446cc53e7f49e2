"""The patients (or episodes) behind one practice's rate: met, gap, excluded or exception, and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtGui import QColor

from .records import RecordColumn, RecordTableModel

STATUS_COLOURS = {"gap": QColor("#a12622"), "numerator": QColor("#1f6f3a"), "exclusion": QColor("#52606d"),
                  "exception": QColor("#52606d")}


def _date(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, dt.date) else str(value)


PATIENT_COLUMNS: tuple[RecordColumn, ...] = (
    RecordColumn("Status", "Met the numerator, a gap (in the denominator, not met), excluded, or an exception",
                 lambda r: str(r.get("status_title") or ""), lambda r: str(r.get("status") or ""),
                 foreground=lambda r: STATUS_COLOURS.get(str(r.get("status")))),
    RecordColumn("Patient", "Family name, given name (double-click to open the patient)",
                 lambda r: str(r.get("patient_name") or "")),
    RecordColumn("MRN", "Medical record number at the practice", lambda r: str(r.get("mrn") or "")),
    RecordColumn("Born", "Birth date", lambda r: _date(r.get("birth_date"))),
    RecordColumn("Payer", "The patient's payer", lambda r: str(r.get("payer") or "")),
    RecordColumn("Episode", "The episode (visit or illness) counted, for episode-based measures",
                 lambda r: "" if r.get("episode_id") is None else str(r["episode_id"]),
                 lambda r: -1 if r.get("episode_id") is None else int(r["episode_id"]), align_right=True),
    RecordColumn("Due by", "The last day a gap can still be closed", lambda r: _date(r.get("due_date"))),
    RecordColumn("Why", "What a gap misses (and by when); the specification's words for the others",
                 lambda r: str(r.get("why") or ""), row_tooltip=lambda r: str(r.get("why") or "") or None),
)


EPISODE_COLUMN = 5


class MeasurePatientsModel(RecordTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(PATIENT_COLUMNS, parent)

    def patient_id(self, row: int) -> int:
        return int(self.record(row)["patient_id"])
