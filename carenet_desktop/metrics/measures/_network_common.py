"""Building blocks of the network best-practice measures (W30, WCV, IMA, LSC, DEV, MDS, SDOH, REF, FLV, AMR)
and of the network-defined (custom) measures.

Everything is calendar-day precision: event timestamps are reduced to their day, windows are closed
``[lo, hi]`` day ranges per patient, and birthdays are CQL date arithmetic (``add_months``: Feb 29 + 1 year
is Feb 28; Jan 31 + 1 month is Feb 28/29). The value sets these measures use are defined in
the code catalogue (URLs below).

Vocabulary (all vectorised):
  people(data) -> DataFrame[patient_id, birth, deceased]     birth/deceased as days (datetime64, midnight)
  birthday(birth, years=0, months=0) -> Series              birth + offset (CQL clamping)
  day_in(days, lo, hi) -> mask                              lo <= day <= hi (NaT -> False)
  event_days(data, record, valuesets) -> DataFrame[patient_id, day]   qualifying events of a record kind
  well_visit_days(data, valuesets) -> DataFrame[patient_id, day]      encounters coded (type, reason or
                                                                      diagnosis) with a well-care code
  days_in_windows(events, pids, lo, hi) -> ndarray[int]     distinct event days per row in its window
  standard_exclusions(data, period, pids) -> mask           died on/before the period end, or hospice
  coded_days_in_windows(data, records, keys, pids, lo, hi)  distinct coded days per row window
  condition_in_windows(data, keys, pids, lo, hi) -> mask    a condition overlapping each row's window

Simple measures (the network office's data-defined measures, parsed by ``metrics/custom.py``):
  SimpleDefinition(population, numerator, visit, exclusions ...)  with Bound / Window / Criterion /
  PopulationRule; ``simple_populations(definition, data, period)`` evaluates one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from ..data import MeasureData
from ..libraries import hospice, status
from ..memo import ANY_PERIOD, remember
from ..period import Period
from ..primitives import (
    Iv,
    _isin_codes,
    add_months,
    age_in_months_at,
    age_in_years_at,
    overlaps,
    status_in,
    vs_mask,
)
from ._event_windows import as_days as _as_days
from ._event_windows import days_in_windows as days_in_windows  # (part of the vocabulary above)
from ._event_windows import floor_days, ns_instants, union_days

T = TypeVar("T")
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

# Value sets of the network measures. Most are defined once, in the default code catalogue
# (resources/valuesets/carenet-catalogue.json); those only these measures use are in
# resources/valuesets/network-measures.json (social-needs findings/interventions, persistent asthma,
# asthma exclusions).
NS = "urn:carenet:valueset:"
#: a well visit: a preventive-care CPT type, or a routine-examination diagnosis/reason
WELL_VISITS = (NS + "well-child-visit", NS + "well-visit-reason")
LEAD_TEST = NS + "lead-test"
DEVELOPMENTAL_SCREENING = NS + "developmental-screening"
MATERNAL_DEPRESSION_SCREENING = NS + "maternal-depression-screening"
SOCIAL_NEEDS_SCREENING = NS + "social-needs-screening"
SOCIAL_NEEDS_FINDING = NS + "social-needs-finding"
SOCIAL_NEEDS_INTERVENTION = NS + "social-needs-intervention"
FLUORIDE_VARNISH = NS + "fluoride-varnish"
MENACWY_VACCINE = NS + "meningococcal-vaccine"
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
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.astype("datetime64[ns]").dt.normalize()
    return pd.Series(floor_days(ns_instants(s)), index=s.index, name=s.name)


def _memo(data: MeasureData, name: object, sources: tuple[pd.DataFrame, ...], compute: Callable[[], T]) -> T:
    """``compute()``, remembered in ``data``'s memo for as long as its source frames are the same objects
    (the ten network measures share their well visits, people and coded events within one evaluation,
    and every period of a trend: these answers do not depend on the period)."""
    return data.memo.get(sources, ("network", name), compute, period=ANY_PERIOD)


def people(data: MeasureData) -> pd.DataFrame:
    """One row per patient: ``patient_id``, ``birth`` and ``deceased`` as days."""
    return _memo(data, "people", (data.patients,), lambda: _people(data.patients))


def _people(pts: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": pts["patient_id"].to_numpy(),
        "birth": to_day(pts["birth_date"]).to_numpy(),
        "deceased": to_day(pts["deceased_date"]).to_numpy() if "deceased_date" in pts.columns else pd.NaT,
    })


def birthday(birth: pd.Series | pd.DataFrame, years: int = 0, months: int = 0) -> pd.Series:
    """The day ``years`` years and ``months`` months after birth (CQL date arithmetic). ``birth``: the
    birth days, or a ``people`` frame (its ``birth``; remembered for every period of the evaluation:
    a trend asks the same birthdays of every patient twelve times)."""
    if isinstance(birth, pd.DataFrame):
        frame = birth
        return remember((frame,), ("birthday", years, months), lambda: birthday(frame["birth"], years, months),
                        period=ANY_PERIOD)
    return add_months(birth, 12 * years + months).dt.normalize()


def day_in(days: object, lo: object, hi: object) -> np.ndarray:
    """``lo <= day <= hi`` element-wise (any NaT -> False). ``lo`` and ``hi`` are taken as days (midnight,
    ``_as_days``): an instant's day is on or after ``lo`` when the instant is, and on or before ``hi`` when the
    instant is before the next midnight - naive instants are compared as they are, without cutting each to
    its day first (a trend asks it of every patient's birthdays in every period)."""
    d = _instants(days)
    lo_ = _as_days(lo, len(d))
    hi_ = _as_days(hi, len(d))
    with np.errstate(invalid="ignore"):
        return (d >= lo_) & (d < hi_ + np.timedelta64(1, "D")) & ~np.isnat(d) & ~np.isnat(lo_) & ~np.isnat(hi_)


def _instants(values: object) -> np.ndarray:
    """Naive instants as ``datetime64[ns]`` (other values as ``to_day`` reads them, then their days)."""
    if isinstance(values, (pd.Series, pd.Index, np.ndarray)) and values.dtype == np.dtype("datetime64[ns]"):
        return np.asarray(values)
    return to_day(values).to_numpy()


def turns_during(birth: pd.Series | pd.DataFrame, period: Period, years: int = 0, months: int = 0) -> np.ndarray:
    """The ``years``/``months`` birthday falls within the period (``birth`` as for ``birthday``)."""
    return day_in(birthday(birth, years, months), period.start_ts, pd.Timestamp(period.end))


def age_years_at(birth: pd.Series, at: pd.Timestamp) -> np.ndarray:
    """Whole years at ``at`` (CQL AgeInYearsAt on days)."""
    return age_in_years_at(birth, at)


# ------------------------------------------------------------------------------------------ events


def key_mask(frame: pd.DataFrame, keys: frozenset[str] | set[str], column: str = "key") -> np.ndarray:
    """Rows whose ``column`` code is one of ``keys`` (large frames: the code column is factorised once
    and shared with every other measure, as ``primitives.vs_mask`` does)."""
    if frame.empty or column not in frame.columns or not keys:
        return np.zeros(len(frame), dtype=bool)
    return _isin_codes(frame, column, frozenset(keys))


def done_mask(frame: pd.DataFrame, record: str) -> np.ndarray:
    """Rows of a record frame that count as done/performed (conditions: not entered-in-error)."""
    if frame.empty:
        return np.zeros(0, dtype=bool)
    if record == "conditions":
        return ~status_in(frame, "entered-in-error", "refuted", column="verification_status")
    mask = status_in(frame, *DONE_STATUSES[record])
    if record in ("medication_requests", "service_requests") and "do_not_perform" in frame.columns:
        mask = mask & ~frame["do_not_perform"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return mask


#: the date column ``event_dates`` reads when a record's own date (``RECORD_DATE``) is missing
_FALLBACK_DATE = {"observations": "issued", "service_requests": "occurrence", "medication_dispenses": "when_end",
                  "conditions": "recorded", "procedures": "performed_end", "encounters": "end"}


def dated_rows(frame: pd.DataFrame, mask: np.ndarray, record: str, *more: str) -> pd.DataFrame:
    """The rows of ``frame`` that ``mask`` keeps, with the columns ``event_dates`` reads, ``patient_id`` and
    ``more`` only (taking every column of a large frame costs several times more; the rows are the same)."""
    wanted = ("patient_id", RECORD_DATE[record], _FALLBACK_DATE.get(record), *more)
    return frame.loc[mask, [c for c in dict.fromkeys(wanted) if c is not None and c in frame.columns]]


def event_dates(frame: pd.DataFrame, record: str) -> pd.Series:
    """The day each record happened: its date column, with fallbacks (observation ``issued``, request
    ``occurrence``, dispense ``when_end``, condition ``recorded``)."""
    primary = to_day(frame[RECORD_DATE[record]])
    fallback = _FALLBACK_DATE.get(record)
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
    if extra_mask is None:
        return _memo(data, ("events", record, column, frozenset(keys)), (frame,),
                     lambda: _coded_event_days(data, record, keys, column, None))
    return _coded_event_days(data, record, keys, column, extra_mask)


def _coded_event_days(data: MeasureData, record: str, keys: frozenset[str] | set[str], column: str,
                      extra_mask: np.ndarray | None) -> pd.DataFrame:
    frame: pd.DataFrame = getattr(data, record)
    if frame.empty or column not in frame.columns or not keys:
        return _EMPTY_DAYS.copy()
    mask = key_mask(frame, keys, column) & done_mask(frame, record)
    if extra_mask is not None:
        mask = mask & extra_mask
    if not mask.any():
        return _EMPTY_DAYS.copy()
    sub = dated_rows(frame, mask, record)
    out = pd.DataFrame({"patient_id": sub["patient_id"].to_numpy(), "day": event_dates(sub, record).to_numpy()})
    return out.dropna(subset=["day"]).drop_duplicates(ignore_index=True)


def any_event_days(data: MeasureData, records: Iterable[str], valuesets: Sequence[str]) -> pd.DataFrame:
    """``event_days`` over several record kinds, deduplicated."""
    parts = [event_days(data, r, valuesets) for r in records]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _EMPTY_DAYS.copy()
    return union_days(parts)


def well_visit_days(data: MeasureData, valuesets: Sequence[str]) -> pd.DataFrame:
    """Days of performed encounters whose type, reason or a linked diagnosis is in the value sets
    (EHR exports code a well visit either by its CPT type or by a Z00.x diagnosis)."""
    return coded_visit_days(data, data.valuesets.keys(*valuesets))


def coded_visit_days(data: MeasureData, keys: frozenset[str] | set[str]) -> pd.DataFrame:
    """Days of performed encounters whose type, reason or a linked diagnosis is one of ``keys``."""
    return _memo(data, ("visits", frozenset(keys)), (data.encounters, data.encounter_diagnoses),
                 lambda: _coded_visit_days(data, keys))


def _coded_visit_days(data: MeasureData, keys: frozenset[str] | set[str]) -> pd.DataFrame:
    enc = data.encounters
    if enc.empty or not keys:
        return _EMPTY_DAYS.copy()
    coded = key_mask(enc, keys) | key_mask(enc, keys, "reason_key")
    dx = data.encounter_diagnoses
    if not dx.empty and "key" in dx.columns:
        ids = dx.loc[key_mask(dx, keys), "encounter_id"]
        coded |= enc["event_id"].isin(ids).to_numpy()
    mask = coded & done_mask(enc, "encounters")
    if not mask.any():
        return _EMPTY_DAYS.copy()
    sub = dated_rows(enc, mask, "encounters")
    out = pd.DataFrame({"patient_id": sub["patient_id"].to_numpy(), "day": event_dates(sub, "encounters").to_numpy()})
    return out.dropna(subset=["day"]).drop_duplicates(ignore_index=True)


def day_lists(events: pd.DataFrame, pids: object, lo: object, hi: object) -> pd.DataFrame:
    """Distinct event days in each row's window, as rows ``(row, day)`` sorted by row and day."""
    pid = np.asarray(pids)
    n = len(pid)
    win = pd.DataFrame({"patient_id": pid, "lo": _as_days(lo, n), "hi": _as_days(hi, n), "row": np.arange(n)})
    if events.empty or n == 0:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "day": pd.Series(dtype="datetime64[ns]")})
    ev = remember((events,), ("distinct event days",),  # (the events: remembered ones, the same every period)
                  lambda: events[["patient_id", "day"]].drop_duplicates(), period=ANY_PERIOD)
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
    found = remember((cond,), ("network condition patients", data.valuesets.keys(*valuesets)),
                     lambda: _prevalences(data, valuesets), period=ANY_PERIOD, for_pass=True)
    if found is None:
        return pd.Index([], name="patient_id")
    pids, bounds = found
    hit = overlaps(Iv(*bounds), (pd.Timestamp(lo), pd.Timestamp(hi)), precision="day")
    return pd.Index(pd.unique(pids[hit]), name="patient_id")


def _prevalences(data: MeasureData, valuesets: Sequence[str]) -> tuple[np.ndarray, tuple[Any, ...]] | None:
    """The patient and the prevalence period (``Iv``'s fields, in order) of each done condition of ``valuesets``,
    of any date (None: there is none): the same in every period, kept for a pass (``condition_patients``)."""
    cond = data.conditions
    mask = vs_mask(data, cond, *valuesets) & done_mask(cond, "conditions")
    if not mask.any():
        return None
    sub = cond[mask]
    iv = status.prevalence_interval(sub)
    return sub["patient_id"].to_numpy(), tuple(getattr(iv, f.name) for f in fields(Iv))


def in_index(pids: object, index: pd.Index) -> np.ndarray:
    return pd.Series(np.asarray(pids)).isin(index).to_numpy()


def coded_days_in_windows(data: MeasureData, records: Iterable[str], keys: frozenset[str], pids: pd.Series,
                          lo: pd.Series, hi: pd.Series) -> np.ndarray:
    """For each row (patient, window ``[lo, hi]``): distinct days with a done record of ``records`` coded
    with one of ``keys`` (``visits``: encounters by type, reason or diagnosis). A matching condition
    whose onset..abatement overlaps the window counts as many days as ``records`` could need."""
    parts = []
    out = np.zeros(len(pids), dtype=np.int64)
    for record in records:
        if record == "visits":
            parts.append(coded_visit_days(data, keys))
        elif record == "conditions":
            out = np.where(condition_in_windows(data, keys, pids, lo, hi), 1_000_000, out)
        else:
            parts.append(coded_event_days(data, record, keys))
    parts = [x for x in parts if not x.empty]
    if parts:
        out = out + days_in_windows(union_days(parts), pids, lo, hi)
    return out


def condition_in_windows(data: MeasureData, keys: frozenset[str], pids: pd.Series, lo: pd.Series,
                         hi: pd.Series) -> np.ndarray:
    """For each row: a condition coded with one of ``keys`` whose onset..abatement overlaps the window
    (days; no onset = since ever, no abatement = still present)."""
    cond = data.conditions
    out = np.zeros(len(pids), dtype=bool)
    if cond.empty or not keys:
        return out
    mask = key_mask(cond, keys) & done_mask(cond, "conditions")
    c = pd.DataFrame({"patient_id": cond["patient_id"].to_numpy()[mask],
                      "onset": to_day(cond["onset"]).to_numpy()[mask],
                      "abatement": to_day(cond["abatement"]).to_numpy()[mask]})
    win = pd.DataFrame({"patient_id": np.asarray(pids), "lo": _as_days(lo, len(pids)), "hi": _as_days(hi, len(pids)),
                        "row": np.arange(len(pids))})
    j = win.merge(c, on="patient_id")
    hit = (j["onset"].isna() | (j["onset"] <= j["hi"])) & (j["abatement"].isna() | (j["abatement"] >= j["lo"]))
    out[j.loc[hit, "row"].to_numpy()] = True
    return out


_RECORD_WORDS = {
    "visits": "performed visit (encounter type, reason or diagnosis)", "encounters": "performed encounter",
    "observations": "final observation", "procedures": "completed procedure", "immunizations": "given immunization",
    "conditions": "condition (active at some time in the window)", "medication_requests": "medication order",
    "medication_dispenses": "medication dispensing", "service_requests": "service request",
}


# ------------------------------------------------------------------- simple (data-defined) measures
# The vocabulary of a network-defined measure (metrics/custom.py parses files into these).


@dataclass(frozen=True)
class Bound:
    anchor: str
    years: int = 0
    months: int = 0
    days: int = 0

    def describe(self) -> str:
        parts = [f"{abs(v)} {u}{'' if abs(v) == 1 else 's'}" for v, u in
                 ((self.years, "year"), (self.months, "month"), (self.days, "day")) if v]
        name = {"period-start": "the first day of the period", "period-end": "the last day of the period",
                "birth": "the date of birth", "birthday": "the birthday"}[self.anchor]
        if not parts:
            return name
        sign = "after" if (self.years, self.months, self.days) > (0, 0, 0) else "before"
        if self.anchor == "birth" and sign == "after" and not self.days:
            return f"the {' '.join(parts)} birthday (birth + {' '.join(parts)})"
        return f"{' '.join(parts)} {sign} {name}"


@dataclass(frozen=True)
class Window:
    start: Bound = Bound("period-start")
    end: Bound = Bound("period-end")


@dataclass(frozen=True)
class Criterion:
    valuesets: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # "system|code" keys (short system keys)
    records: tuple[str, ...] = ()
    window: Window = Window()
    min_count: int = 1

    def describe(self) -> str:
        what = ", ".join([*(f"value set {v}" for v in self.valuesets), *self.codes])
        kinds = " or ".join(_RECORD_WORDS.get(r, r) for r in self.records)
        count = "at least one" if self.min_count == 1 else f"on at least {self.min_count} different days, a"
        return (f"{count} {kinds} coded {what}, from {self.window.start.describe()} "
                f"through {self.window.end.describe()} (both days included)")


@dataclass(frozen=True)
class PopulationRule:
    age_at: str | None = None  # period-start | period-end
    min_age: int | None = None
    max_age: int | None = None
    age_unit: str = "years"
    turns: Bound | None = None  # birth + offset falls within the period


@dataclass(frozen=True)
class SimpleDefinition:
    id: str
    title: str
    population: PopulationRule
    numerator: Criterion
    visit: Criterion | None = None
    exclusions: tuple[Criterion, ...] = ()
    standard_exclusions: bool = True
    direction: str = "increase"
    target: float | None = None
    description: str = ""
    steward: str = "CareNet network office"
    version: str = ""
    group_title: str = ""
    path: str = ""


def simple_populations(d: SimpleDefinition, data: MeasureData, period: Period) -> pd.DataFrame:
    """The population frame of a simple (data-defined) measure: age window or birthday in the period,
    optional visit requirement (denominator), numerator and exclusion criteria."""
    p = people(data)
    sub = p[_in_population(d.population, p, period)]
    pids = sub["patient_id"]
    numer = _criterion_met(data, d.numerator, sub, period, d.population)
    denom = np.ones(len(sub), dtype=bool) if d.visit is None else _criterion_met(data, d.visit, sub, period, d.population)
    excluded = np.zeros(len(sub), dtype=bool)
    for crit in d.exclusions:
        excluded |= _criterion_met(data, crit, sub, period, d.population)
    if d.standard_exclusions:
        excluded |= standard_exclusions(data, period, pids, sub["deceased"])
    return population_frame(pids, initial_population=True, denominator=denom, denominator_exclusion=excluded,
                            numerator=numer)


def _in_population(rule: PopulationRule, birth: pd.Series | pd.DataFrame, period: Period) -> np.ndarray:
    """``birth``: the birth days, or a ``people`` frame (its birthdays then remembered for every period)."""
    if rule.turns is not None:
        t = rule.turns
        return day_in(birthday(birth, t.years, t.months) + pd.Timedelta(days=t.days), period.start_ts,
                         pd.Timestamp(period.end))
    if isinstance(birth, pd.DataFrame):
        birth = birth["birth"]
    at = pd.Timestamp(period.start if rule.age_at == "period-start" else period.end)
    age = (age_in_months_at if rule.age_unit == "months" else age_in_years_at)(birth, at)
    ok = ~np.isnan(age)
    if rule.min_age is not None:
        ok &= age >= rule.min_age
    if rule.max_age is not None:
        ok &= age <= rule.max_age
    return ok


def _bound_days(bound: Bound, birth: pd.Series, period: Period, population: PopulationRule) -> pd.Series:
    months = 12 * bound.years + bound.months
    if bound.anchor in ("birth", "birthday"):
        base = birth
        if bound.anchor == "birthday" and population.turns is not None:
            t = population.turns
            base = add_months(birth, 12 * t.years + t.months) + pd.Timedelta(days=t.days)
    else:
        day = pd.Timestamp(period.start if bound.anchor == "period-start" else period.end)
        base = pd.Series(np.full(len(birth), np.datetime64(day, "ns")), index=birth.index)
    return (add_months(base, months) + pd.Timedelta(days=bound.days)).dt.normalize()


def _criterion_met(data: MeasureData, crit: Criterion, sub: pd.DataFrame, period: Period,
                   population: PopulationRule) -> np.ndarray:
    keys = data.valuesets.keys(*crit.valuesets) | frozenset(crit.codes)
    lo = _bound_days(crit.window.start, sub["birth"], period, population)
    hi = _bound_days(crit.window.end, sub["birth"], period, population)
    return coded_days_in_windows(data, crit.records, keys, sub["patient_id"], lo, hi) >= crit.min_count
