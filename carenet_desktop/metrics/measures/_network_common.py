"""Building blocks of the network best-practice measures (W30, WCV, IMA, LSC, DEV, MDS, SDOH, REF, FLV, AMR)
and of the network-defined (custom) measures.

Everything is calendar-day precision: event timestamps are reduced to their day, windows are closed
``[lo, hi]`` day ranges per patient, and birthdays are CQL date arithmetic (``add_months``: Feb 29 + 1 year
is Feb 28; Jan 31 + 1 month is Feb 28/29). The value sets these measures use are defined in
``resources/valuesets/network-measures.json`` (URLs below).

Vocabulary (all vectorised):
  people(data) -> DataFrame[patient_id, birth, deceased]     birth/deceased as days (datetime64, midnight)
  birthday(birth, years=0, months=0) -> Series              birth + offset (CQL clamping)
  day_in(days, lo, hi) -> mask                              lo <= day <= hi (NaT -> False)
  event_days(data, record, valuesets) -> DataFrame[patient_id, day]   qualifying events of a record kind
  well_visit_days(data, valuesets) -> DataFrame[patient_id, day]      encounters coded (type, reason or
                                                                      diagnosis) with a well-care code
  days_in_windows(events, pids, lo, hi) -> ndarray[int]     distinct event days per row in its window
  standard_exclusions(data, period, pids) -> mask           died on/before the period end, or hospice
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ..data import MeasureData
from ..libraries import hospice, status
from ..period import Period
from ..primitives import add_months, age_in_years_at, overlaps, status_in, vs_mask

Record = Literal[
    "encounters", "observations", "procedures", "immunizations", "conditions", "medication_requests",
    "medication_dispenses", "service_requests",
]

#: the date each record kind is placed on, and the statuses that make it count
RECORD_DATE: dict[str, str] = {
    "encounters": "start",
    "observations": "effective_start",
    "procedures": "performed_start",
    "immunizations": "occurrence",
    "conditions": "onset",
    "medication_requests": "authored_on",
    "medication_dispenses": "when_start",
    "service_requests": "authored_on",
}
RECORDS: tuple[str, ...] = tuple(RECORD_DATE)

#: what counts as "done" for each record kind (case-insensitive statuses; conditions: any but entered-in-error)
DONE_STATUSES: dict[str, tuple[str, ...]] = {
    "encounters": status.ENCOUNTER_PERFORMED,
    "observations": (*status.OBSERVATION_FINAL, "preliminary"),
    "procedures": ("completed",),
    "immunizations": ("completed",),
    "medication_requests": ("active", "completed"),
    "medication_dispenses": ("completed",),
    "service_requests": ("active", "completed"),
}

# value sets of the network measures (resources/valuesets/network-measures.json)
NS = "urn:carenet:valueset:"
WELL_CARE = NS + "well-care"
LEAD_TEST = NS + "lead-test"
DEVELOPMENTAL_SCREENING = NS + "developmental-screening"
MATERNAL_DEPRESSION_SCREENING = NS + "maternal-depression-screening"
SOCIAL_NEEDS_SCREENING = NS + "social-needs-screening"
SOCIAL_NEEDS_FINDING = NS + "social-needs-finding"
SOCIAL_NEEDS_INTERVENTION = NS + "social-needs-intervention"
FLUORIDE_VARNISH = NS + "fluoride-varnish"
MENACWY_VACCINE = NS + "menacwy-vaccine"
TDAP_VACCINE = NS + "tdap-vaccine"
HPV_VACCINE = NS + "hpv-vaccine"
ASTHMA = NS + "asthma"
PERSISTENT_ASTHMA = NS + "persistent-asthma"
ASTHMA_EXCLUSIONS = NS + "asthma-exclusion-conditions"
ASTHMA_CONTROLLER = NS + "asthma-controller-medications"
ASTHMA_RELIEVER = NS + "asthma-reliever-medications"

_EMPTY_DAYS = pd.DataFrame({"patient_id": pd.Series(dtype="int64"), "day": pd.Series(dtype="datetime64[ns]")})


def to_day(values: object) -> pd.Series:
    """Timestamps (or dates) as calendar days (datetime64[ns] at midnight), NaT where missing."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, errors="coerce", format="mixed")
    return s.astype("datetime64[ns]").dt.normalize()


def people(data: MeasureData) -> pd.DataFrame:
    """One row per patient: ``patient_id``, ``birth`` and ``deceased`` as days."""
    pts = data.patients
    return pd.DataFrame({
        "patient_id": pts["patient_id"].to_numpy(),
        "birth": to_day(pts["birth_date"]).to_numpy(),
        "deceased": to_day(pts["deceased_date"]).to_numpy() if "deceased_date" in pts.columns else pd.NaT,
    })


def birthday(birth: pd.Series, years: int = 0, months: int = 0) -> pd.Series:
    """The day ``years`` years and ``months`` months after birth (CQL date arithmetic)."""
    return add_months(birth, 12 * years + months).dt.normalize()


def day_in(days: object, lo: object, hi: object) -> np.ndarray:
    """``lo <= day <= hi`` element-wise (any NaT -> False)."""
    d = to_day(days).to_numpy()
    lo_ = _as_days(lo, len(d))
    hi_ = _as_days(hi, len(d))
    with np.errstate(invalid="ignore"):
        return (d >= lo_) & (d <= hi_) & ~np.isnat(d) & ~np.isnat(lo_) & ~np.isnat(hi_)


def _as_days(values: object, n: int) -> np.ndarray:
    if isinstance(values, (pd.Timestamp, np.datetime64)) or hasattr(values, "isoformat"):
        return np.full(n, np.datetime64(pd.Timestamp(values).normalize(), "ns"))
    return to_day(pd.Series(np.asarray(values))).to_numpy()


def turns_during(birth: pd.Series, period: Period, years: int = 0, months: int = 0) -> np.ndarray:
    """The ``years``/``months`` birthday falls within the period."""
    return day_in(birthday(birth, years, months), period.start_ts, pd.Timestamp(period.end))


def age_years_at(birth: pd.Series, at: pd.Timestamp) -> np.ndarray:
    """Whole years at ``at`` (CQL AgeInYearsAt on days)."""
    return age_in_years_at(birth, at)


# ------------------------------------------------------------------------------------------ events


def done_mask(frame: pd.DataFrame, record: str) -> np.ndarray:
    """Rows of a record frame that count as done/performed (conditions: not entered-in-error)."""
    if frame.empty:
        return np.zeros(0, dtype=bool)
    if record == "conditions":
        ver = frame["verification_status"].astype("string").str.lower() if "verification_status" in frame else None
        bad = ver.isin(["entered-in-error", "refuted"]).fillna(False).to_numpy(dtype=bool) if ver is not None else False
        return ~np.asarray(bad, dtype=bool) & np.ones(len(frame), dtype=bool)
    mask = status_in(frame, *DONE_STATUSES[record])
    if record in ("medication_requests", "service_requests") and "do_not_perform" in frame.columns:
        mask = mask & ~frame["do_not_perform"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return mask


def event_dates(frame: pd.DataFrame, record: str) -> pd.Series:
    """The day each record happened: its date column, with fallbacks (observation ``issued``, request
    ``occurrence``, dispense ``when_end``, condition ``recorded``)."""
    primary = to_day(frame[RECORD_DATE[record]])
    fallback = {"observations": "issued", "service_requests": "occurrence", "medication_dispenses": "when_end",
                "conditions": "recorded", "procedures": "performed_end", "encounters": "end"}.get(record)
    if fallback and fallback in frame.columns:
        primary = primary.fillna(to_day(frame[fallback]))
    return primary


def event_days(data: MeasureData, record: str, valuesets: Sequence[str], *, column: str = "key",
               extra_mask: np.ndarray | None = None) -> pd.DataFrame:
    """Distinct ``(patient_id, day)`` of done records of ``record`` whose ``column`` is in the value sets."""
    return coded_event_days(data, record, data.valuesets.keys(*valuesets), column=column, extra_mask=extra_mask)


def coded_event_days(data: MeasureData, record: str, keys: frozenset[str] | set[str], *, column: str = "key",
                     extra_mask: np.ndarray | None = None) -> pd.DataFrame:
    """Distinct ``(patient_id, day)`` of done records of ``record`` whose ``column`` is one of ``keys``."""
    frame: pd.DataFrame = getattr(data, record)
    if frame.empty or column not in frame.columns or not keys:
        return _EMPTY_DAYS.copy()
    mask = frame[column].isin(keys).to_numpy() & done_mask(frame, record)
    if extra_mask is not None:
        mask = mask & extra_mask
    if not mask.any():
        return _EMPTY_DAYS.copy()
    sub = frame[mask]
    out = pd.DataFrame({"patient_id": sub["patient_id"].to_numpy(), "day": event_dates(sub, record).to_numpy()})
    return out.dropna(subset=["day"]).drop_duplicates(ignore_index=True)


def any_event_days(data: MeasureData, records: Iterable[str], valuesets: Sequence[str]) -> pd.DataFrame:
    """``event_days`` over several record kinds, deduplicated."""
    parts = [event_days(data, r, valuesets) for r in records]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _EMPTY_DAYS.copy()
    return pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)


def well_visit_days(data: MeasureData, valuesets: Sequence[str]) -> pd.DataFrame:
    """Days of performed encounters whose type, reason or a linked diagnosis is in the value sets
    (EHR exports code a well visit either by its CPT type or by a Z00.x diagnosis)."""
    return coded_visit_days(data, data.valuesets.keys(*valuesets))


def coded_visit_days(data: MeasureData, keys: frozenset[str] | set[str]) -> pd.DataFrame:
    """Days of performed encounters whose type, reason or a linked diagnosis is one of ``keys``."""
    enc = data.encounters
    if enc.empty or not keys:
        return _EMPTY_DAYS.copy()
    coded = enc["key"].isin(keys).to_numpy().copy()
    if "reason_key" in enc.columns:
        coded |= enc["reason_key"].isin(keys).to_numpy()
    dx = data.encounter_diagnoses
    if not dx.empty and "key" in dx.columns:
        ids = dx.loc[dx["key"].isin(keys), "encounter_id"]
        coded |= enc["event_id"].isin(ids).to_numpy()
    mask = coded & done_mask(enc, "encounters")
    if not mask.any():
        return _EMPTY_DAYS.copy()
    sub = enc[mask]
    out = pd.DataFrame({"patient_id": sub["patient_id"].to_numpy(), "day": event_dates(sub, "encounters").to_numpy()})
    return out.dropna(subset=["day"]).drop_duplicates(ignore_index=True)


def days_in_windows(events: pd.DataFrame, pids: object, lo: object, hi: object) -> np.ndarray:
    """For each row (patient, window ``[lo, hi]``): the number of distinct event days in the window."""
    pid = np.asarray(pids)
    n = len(pid)
    out = np.zeros(n, dtype=np.int64)
    if n == 0 or events.empty:
        return out
    win = pd.DataFrame({"patient_id": pid, "lo": _as_days(lo, n), "hi": _as_days(hi, n), "row": np.arange(n)})
    win = win[win["lo"].notna() & win["hi"].notna()]
    ev = events[["patient_id", "day"]].drop_duplicates()
    if ev["patient_id"].dtype != win["patient_id"].dtype:
        ev = ev.astype({"patient_id": win["patient_id"].dtype})
    joined = win.merge(ev, on="patient_id", how="inner")
    joined = joined[(joined["day"] >= joined["lo"]) & (joined["day"] <= joined["hi"])]
    counts = joined.groupby("row")["day"].nunique()
    out[counts.index.to_numpy()] = counts.to_numpy()
    return out


def day_lists(events: pd.DataFrame, pids: object, lo: object, hi: object) -> pd.DataFrame:
    """Distinct event days in each row's window, as rows ``(row, day)`` sorted by row and day."""
    pid = np.asarray(pids)
    n = len(pid)
    win = pd.DataFrame({"patient_id": pid, "lo": _as_days(lo, n), "hi": _as_days(hi, n), "row": np.arange(n)})
    if events.empty or n == 0:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "day": pd.Series(dtype="datetime64[ns]")})
    ev = events[["patient_id", "day"]].drop_duplicates()
    if ev["patient_id"].dtype != win["patient_id"].dtype:
        ev = ev.astype({"patient_id": win["patient_id"].dtype})
    joined = win.merge(ev, on="patient_id", how="inner")
    joined = joined[(joined["day"] >= joined["lo"]) & (joined["day"] <= joined["hi"])]
    return joined[["row", "day"]].drop_duplicates().sort_values(["row", "day"], ignore_index=True)


def standard_exclusions(data: MeasureData, period: Period, pids: object,
                        deceased: object | None = None) -> np.ndarray:
    """Network standard exclusions: died on or before the end of the period, or hospice services in it."""
    pid = np.asarray(pids)
    if len(pid) == 0:
        return np.zeros(0, dtype=bool)
    out = np.zeros(len(pid), dtype=bool)
    if deceased is not None:
        d = to_day(pd.Series(np.asarray(deceased))).to_numpy()
        with np.errstate(invalid="ignore"):
            out |= ~np.isnat(d) & (d <= np.datetime64(pd.Timestamp(period.end), "ns"))
    out |= pd.Series(pid).isin(hospice.has_hospice_services(data, period)).to_numpy()
    return out


def population_frame(pids: object, **columns: object) -> pd.DataFrame:
    """A group's population frame: ``patient_id`` and boolean population columns."""
    frame = pd.DataFrame({"patient_id": np.asarray(pids)})
    for name, values in columns.items():
        frame[name.replace("_", "-")] = np.asarray(values, dtype=bool)
    return frame


def spec(source: str, ages: str, anchor: str, denominator: str, numerator: str, exclusions: str,
         direction: str = "Higher is better.", **more: str) -> dict[str, str]:
    """The written specification of a measure (the catalogue's plain-language fields)."""
    out = {"source": source, "age window": ages, "anchor date": anchor, "denominator": denominator,
           "numerator": numerator, "exclusions": exclusions, "direction": direction}
    out.update({k.replace("_", " "): v for k, v in more.items()})
    return out


STANDARD_EXCLUSIONS_TEXT = (
    "Patients who died on or before the end of the measurement period, and patients with hospice services "
    "in the period (the eCQM Hospice library)."
)


def condition_patients(data: MeasureData, valuesets: Sequence[str], lo: object, hi: object) -> pd.Index:
    """Patients with a condition of the value sets (not refuted / entered in error) whose prevalence
    period (onset .. abatement, QICoreCommon) overlaps the days ``[lo, hi]``."""
    cond = data.conditions
    if cond.empty:
        return pd.Index([], name="patient_id")
    mask = vs_mask(data, cond, *valuesets) & done_mask(cond, "conditions")
    if not mask.any():
        return pd.Index([], name="patient_id")
    sub = cond[mask]
    hit = overlaps(status.prevalence_interval(sub), (pd.Timestamp(lo), pd.Timestamp(hi)), precision="day")
    return pd.Index(pd.unique(sub["patient_id"].to_numpy()[hit]), name="patient_id")


def in_index(pids: object, index: pd.Index) -> np.ndarray:
    return pd.Series(np.asarray(pids)).isin(index).to_numpy()
