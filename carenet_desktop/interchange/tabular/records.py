"""How the canonical columns of each import kind become table rows (pure data: names, not models).

``TableSpec.rows(frame)`` gives, for the accepted rows of a chunk, one array per table column in the
form the store keeps (datetimes and dates as ISO text for SQLite, codes as text, ints, None).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .dates import to_storage_text
from .vocab import ACT_REASON


@dataclass(frozen=True)
class TableSpec:
    table: str
    # table column -> (canonical column or None, kind: text|datetime|date|int|float|bool, default)
    columns: dict[str, tuple[str | None, str, object]]
    date_column: str  # table column whose day is part of the natural key
    code_columns: tuple[str, ...] | None = ("code_system", "code")  # natural key columns; None: referral_type
    fixed: dict[str, object] = field(default_factory=dict)  # constant values on insert only

    @property
    def data_columns(self) -> list[str]:
        return list(self.columns)

    def arrays(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Column arrays (object dtype, None for missing) for the rows of ``frame``."""
        out: dict[str, np.ndarray] = {}
        n = len(frame)
        for column, (source, kind, default) in self.columns.items():
            if source is None or source not in frame:
                arr = np.full(n, default, dtype=object)
            else:
                arr = _convert(frame[source], kind)
                if default is not None:
                    arr[pd.isna(arr)] = default
            out[column] = arr
        return out


def _convert(values: pd.Series, kind: str) -> np.ndarray:
    if kind == "datetime":
        return to_storage_text(values)
    if kind == "date":
        return to_storage_text(values, date_only=True)
    if kind in ("int", "float"):
        nums = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        mask = np.isnan(nums)
        arr = np.full(len(nums), None, dtype=object)
        good = nums[~mask]
        # Python ints/floats: DB drivers do not take numpy scalars
        arr[~mask] = np.rint(good).astype(np.int64).tolist() if kind == "int" else good.tolist()
        return arr
    arr = np.array(values.to_numpy(dtype=object), dtype=object)  # a writable copy
    missing = pd.isna(arr)
    arr[missing] = None
    if kind == "text" and len(arr):
        arr[arr == ""] = None
    return arr


def _event(date_column: str, columns: dict[str, tuple[str | None, str, object]], **kw: object) -> dict:
    base: dict[str, tuple[str | None, str, object]] = {
        "patient_id": ("patient_id", "int", None),
        "source_id": ("source_id", "text", None),
        "code_system": ("code_system", "text", None),
        "code": ("code", "text", None),
        "display": ("display", "text", None),
        "codings": ("codings", "text", None),  # the second code column, if any (see ``prepare``)
        "date_only": ("date_only", "text", None),  # the time columns given as dates only
    }
    return {"columns": base | columns, "date_column": date_column, **kw}


TABLES: dict[str, TableSpec] = {
    "patients": TableSpec("patient", {
        "mrn": ("mrn", "text", None), "given_name": ("given_name", "text", None),
        "family_name": ("family_name", "text", None), "birth_date": ("birth_date", "date", None),
        "sex": ("sex", "text", "unknown"), "race": ("race", "text", "unknown"),
        "ethnicity": ("ethnicity", "text", "unknown"), "language": ("language", "text", "unknown"),
        "payer": ("payer", "text", "unknown"), "zip_code": ("zip_code", "text", None),
        "phone": ("phone", "text", None), "guardian": ("guardian", "text", None),
        "contact_method": ("contact_method", "text", None),
        "deceased_date": ("deceased_date", "date", None), "pcp_provider_id": ("provider_id", "int", None),
    }, date_column="birth_date", code_columns=None, fixed={"active": True}),
    "encounters": TableSpec("encounter", **_event("start", {
        "status": ("status", "text", "finished"), "class_code": ("class_code", "text", "AMB"),
        "start": ("date", "datetime", None), "end": ("end_date", "datetime", None),
        "provider_id": ("provider_id", "int", None), "reason_system": ("reason_system", "text", None),
        "reason_code": ("reason_code", "text", None),
    })),
    "immunizations": TableSpec("immunization", **_event("occurrence", {
        "status": ("status", "text", "completed"), "occurrence": ("date", "datetime", None),
        "status_reason_system": ("reason_system", "text", None), "status_reason_code": ("reason", "text", None),
        "lot_number": ("lot_number", "text", None), "provider_id": ("provider_id", "int", None),
    }), fixed={"primary_source": True}),
    "diagnoses": TableSpec("condition", **_event("onset", {
        "onset": ("date", "datetime", None), "abatement": ("end_date", "datetime", None),
        "clinical_status": ("clinical_status", "text", "active"), "category": ("category", "text", "encounter-diagnosis"),
    }), fixed={"verification_status": "confirmed"}),
    "observations": TableSpec("observation", **_event("effective_start", {
        "status": ("status", "text", "final"), "effective_start": ("date", "datetime", None),
        "effective_end": ("date", "datetime", None),  # a dated result is a point in time
        "value_num": ("value_num", "float", None), "value_unit": ("unit", "text", None),
        "value_text": ("value_text", "text", None), "interpretation": ("interpretation", "text", None),
        "category": ("category", "text", None),
    })),
    "medications": TableSpec("medication_request", **_event("authored_on", {
        "status": ("status", "text", "active"), "authored_on": ("date", "datetime", None),
        "validity_start": ("date", "datetime", None), "validity_end": ("end_date", "datetime", None),
        "dispense_quantity": ("quantity", "float", None), "supply_days": ("supply_days", "float", None),
        "repeats_allowed": ("refills", "int", None), "provider_id": ("provider_id", "int", None),
    }), fixed={"intent": "order", "category": "community"}),
    "referrals": TableSpec("referral", {
        "patient_id": ("patient_id", "int", None), "source_id": ("source_id", "text", None),
        "provider_id": ("provider_id", "int", None), "referral_type": ("referral_type", "text", "other"),
        "reason_system": ("reason_system", "text", None), "reason_code": ("reason_code", "text", None),
        "reason_text": ("reason_text", "text", None), "destination": ("destination", "text", None),
        "status": ("status", "text", "placed"), "placed_on": ("date", "date", None),
        "scheduled_on": ("scheduled_on", "date", None), "seen_on": ("seen_on", "date", None),
        "report_received_on": ("report_received_on", "date", None), "closed_on": ("closed_on", "date", None),
        "lost_on": ("lost_on", "date", None), "lost_reason": ("lost_reason", "text", None),
    }, date_column="placed_on", code_columns=None),
    # an appointment is the patient's visit of one type on one day (or the schedule's own appointment id)
    "appointments": TableSpec("appointment", {
        "patient_id": ("patient_id", "int", None), "source_id": ("source_id", "text", None),
        "provider_id": ("provider_id", "int", None), "provider_name": ("provider_name", "text", None),
        "start": ("date", "datetime", None), "minutes": ("minutes", "int", None),
        "visit_type": ("visit_type", "text", None), "status": ("status", "text", "booked"),
        "date_only": ("date_only", "text", None),
    }, date_column="start", code_columns=("visit_type",)),
}


def prepare(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Canonical columns derived for storage (e.g. the not-given reason's code system).

    A visit exported with its date only is a point in time: its end is its start (an open end would
    mean an encounter still in progress, which no measure counts as finished within a period).
    """
    if kind == "encounters" and "date" in frame:
        end = frame["end_date"] if "end_date" in frame else pd.Series(None, index=frame.index, dtype=object)
        frame = frame.assign(end_date=end.where(end.notna(), frame["date"]))
        if "date__date_only" in frame:
            given = frame["end_date__date_only"] if "end_date__date_only" in frame else frame["date__date_only"]
            frame = frame.assign(end_date__date_only=np.where(end.notna(), given, frame["date__date_only"]))
    if kind in DATE_ONLY_COLUMNS:
        frame = frame.assign(date_only=_date_only_tokens(frame, DATE_ONLY_COLUMNS[kind]))
    if "code_2" in frame and "code" in frame:
        frame = frame.assign(codings=_second_codings(frame))
    if kind == "immunizations" and "reason" in frame:
        frame = frame.assign(reason_system=np.where(frame["reason"].notna(), ACT_REASON, None))  # type: ignore[call-overload]
    if kind == "observations" and "instrument" in frame:
        frame = frame.assign(category=frame.get("category", pd.Series(None, index=frame.index)).where(
            frame["instrument"].isna(), "survey"))
    return frame


#: per import kind: canonical date field -> the table columns it fills (for ``date_only``)
DATE_ONLY_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "encounters": {"date": ("start",), "end_date": ("end",)},
    "immunizations": {"date": ("occurrence",)},
    "diagnoses": {"date": ("onset",), "end_date": ("abatement",)},
    "observations": {"date": ("effective_start", "effective_end")},
    "medications": {"date": ("authored_on", "validity_start"), "end_date": ("validity_end",)},
    "appointments": {"date": ("start",)},
}


def _date_only_tokens(frame: pd.DataFrame, columns: dict[str, tuple[str, ...]]) -> np.ndarray:
    """The ``date_only`` column: the table columns whose cell had a date and no time of day (the flags
    combined into a bit mask per row, spelled once per distinct mask)."""
    bits = np.zeros(len(frame), dtype=np.int64)
    names: list[str] = []
    for source, targets in columns.items():
        flag = f"{source}__date_only"
        if flag in frame:
            bits |= frame[flag].fillna(False).to_numpy(dtype=bool).astype(np.int64) << len(names)
            names.append(",".join(targets))
    table = np.array([",".join(n for j, n in enumerate(names) if mask >> j & 1) or None
                      for mask in range(1 << len(names))], dtype=object)
    return table[bits]


def _second_codings(frame: pd.DataFrame) -> np.ndarray:
    """The ``codings`` column from the second code: ``code<TAB>system|code`` where it differs from the first."""
    second = frame["code_2"].astype(object).where(frame["code_2"].notna(), "").astype(str)
    blank = pd.Series(None, index=frame.index, dtype=object)
    system2 = frame.get("code_system_2", blank).astype(object).where(lambda v: v.notna(), "").astype(str)
    system1 = frame.get("code_system", blank).astype(object).where(lambda v: v.notna(), "").astype(str)
    first = frame["code"].astype(object).where(frame["code"].notna(), "").astype(str)
    keep = (second != "") & ((second != first) | (system2 != system1))
    text = "code\t" + system2 + "|" + second
    return text.where(keep, None).to_numpy(dtype=object)
