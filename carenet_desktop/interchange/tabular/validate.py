"""Mapping, normalising and validating one chunk of rows (pure: frames in, frames out, no database).

``normalise_chunk`` turns the text cells of a chunk into typed canonical columns for one import kind
and lists every row-level problem (file, row, column, value, reason). A row with any problem is
rejected as a whole. What the checks need to know about the store (patients of the practice, the code
catalogue, providers) comes in a ``Reference`` built by the service layer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import coding, dates, vocab
from .fast import as_object, day_numbers, per_unique, per_unique_pairs, row_hash
from .fields import CODE_CANDIDATES, REASON_CANDIDATES, FieldSpec, field_specs
from .instruments import BY_KEY, instrument_key
from .reading import Chunk

PROBLEM_COLUMNS = ["file", "row", "column", "value", "reason"]
MAX_REPORTED_VALUE = 200
#: fields that are days of the calendar, not moments: "2020-01-01T23:00:00-05:00" is born on January 1st
CALENDAR_DATES = frozenset({"birth_date", "deceased_date"})
#: characters no text field may hold (NUL and the other C0 controls but tab, line feed and carriage return,
#: and DEL): stored, they broke the Excel care-gap export of the whole practice
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
REFERRAL_STEPS = ("date", "scheduled_on", "seen_on", "report_received_on", "closed_on")
#: kinds whose dates may lie ahead (a schedule), and kinds that carry no clinical code
FUTURE_KINDS = frozenset({"appointments"})
UNCODED_KINDS = frozenset({"referrals", "appointments"})
#: a time of day as schedules write it: 14:30, 2:30 PM, 2:30:00 pm, 1430
_TIME = r"^(?P<h>\d{1,2}):?(?P<m>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[ap])?\.?\s*(m\.?)?$"
_Text = Callable[[str], pd.Series]  # a field's stripped text, "" where empty
_Col = Callable[[str], str]  # a field's column as the file names it


@dataclass
class Reference:
    """What validation needs to know about the store."""

    today: dt.date = field(default_factory=dt.date.today)
    # index: MRN; columns: patient_id (int64), birth_date (datetime64[ns])
    patients: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"patient_id": pd.Series([], dtype="int64"), "birth_date": pd.Series([], dtype="datetime64[ns]")},
        index=pd.Index([], dtype=object, name="mrn")))
    known_codes: dict[str, frozenset[str]] = field(default_factory=dict)  # system -> catalogue codes
    providers: dict[str, int] = field(default_factory=dict)  # NPI -> provider id


@dataclass
class ColumnMapping:
    """How a file maps onto a kind: ``{field: header}``, ``{field: date format key}``, a fixed system."""

    kind: str
    mapping: dict[str, str]
    date_formats: dict[str, str] = field(default_factory=dict)
    code_system: str | None = None  # used when no code-system column is mapped

    def missing_required(self) -> list[str]:
        return [s.label for s in field_specs(self.kind) if s.required and s.name not in self.mapping
                and not (self.kind == "observations" and s.name == "code" and "instrument" in self.mapping)]


@dataclass
class DedupState:
    """Identity hashes of the rows accepted so far (duplicates within a file span chunks)."""

    hashes: pd.Series = field(default_factory=lambda: pd.Series([], dtype="int64", index=pd.Index([], dtype="uint64")))


@dataclass
class ChunkResult:
    frame: pd.DataFrame  # canonical columns, every mapped row (rejected ones too), column 'row'
    rejected: np.ndarray  # bool per frame row
    problems: pd.DataFrame  # PROBLEM_COLUMNS


class _Problems:
    def __init__(self, file: str, rows: np.ndarray) -> None:
        self.file = file
        self.rows = rows
        self.parts: list[pd.DataFrame] = []
        self.bad = np.zeros(len(rows), dtype=bool)

    def add(self, mask: np.ndarray | pd.Series, column: str, values: pd.Series | None, reason: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.bad |= mask
        vals = (values[mask].astype(str) if values is not None else pd.Series([""] * int(mask.sum())))
        vals = vals.str.slice(0, MAX_REPORTED_VALUE).to_numpy()
        reasons = reason[mask].to_numpy() if isinstance(reason, pd.Series) else reason
        self.parts.append(pd.DataFrame({"file": self.file, "row": self.rows[mask], "column": column,
                                        "value": vals, "reason": reasons}))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series([], dtype="int64" if c == "row" else object) for c in PROBLEM_COLUMNS})
        return pd.concat(self.parts, ignore_index=True)


def bad_rows_frame(file: str, bad: list[tuple[int, str]]) -> pd.DataFrame:
    return pd.DataFrame({"file": file, "row": pd.Series([r for r, _ in bad], dtype="int64"), "column": "",
                         "value": "", "reason": [m for _, m in bad]}, columns=PROBLEM_COLUMNS)


def normalise_chunk(chunk: Chunk, cmap: ColumnMapping, ref: Reference, state: DedupState,
                    file: str) -> ChunkResult:
    """Typed canonical columns for every row of the chunk, and the problems of each rejected row."""
    specs = {s.name: s for s in field_specs(cmap.kind)}
    raw = chunk.frame.reset_index(drop=True)
    n = len(raw)
    idx = raw.index
    probs = _Problems(file, chunk.rows)
    empty = pd.Series(np.full(n, "", dtype=object), index=idx, dtype=object)
    cache: dict[str, pd.Series] = {}

    def text(name: str) -> pd.Series:
        header = cmap.mapping.get(name)
        if header is None or header not in raw.columns:
            return empty
        if name not in cache:
            cache[name] = per_unique(raw[header], lambda u: u.map(lambda v: "" if v is None else str(v).strip()))
        return cache[name]

    def col(name: str) -> str:
        return cmap.mapping.get(name) or specs[name].label

    out = pd.DataFrame({"row": chunk.rows}, index=idx)
    # length, required and type checks field by field
    for name, spec in specs.items():
        if name not in cmap.mapping and not spec.required:
            continue
        values = text(name)
        control = per_unique(values, lambda u: u.str.contains(CONTROL_CHARACTERS, regex=True)).to_numpy(dtype=bool)
        probs.add(control, col(name), values, "holds a control character (NUL or similar)")
        if spec.max_len is not None:
            too_long = per_unique(values, lambda u, m=spec.max_len: u.map(len) > m).to_numpy(dtype=bool)  # type: ignore[misc]
            probs.add(too_long, col(name), values, f"longer than {spec.max_len} characters")
        if spec.type == "date":
            out[name] = _dates(values, name, spec, cmap, probs, col(name), out)
        elif spec.type in ("number", "int"):
            nums = pd.to_numeric(values.where(values != "", None), errors="coerce")
            bad = (values != "") & (nums.isna() | (nums < 0) | np.isinf(nums.astype(float)))  # "inf" is no count
            if spec.type == "int":
                bad |= nums.notna() & (nums % 1 != 0)
            probs.add(bad, col(name), values, "not a non-negative number" if spec.type == "number"
                      else "not a non-negative whole number")
            out[name] = nums
        else:
            out[name] = values
        if spec.required and spec.type != "date":
            missing = values == ""
            if cmap.kind == "observations" and name == "code" and "instrument" in cmap.mapping:
                missing &= text("instrument").map(lambda t: instrument_key(t) is None)
            probs.add(missing, col(name), values, "missing value")

    today = pd.Timestamp(ref.today)
    if cmap.kind == "patients":
        _patients(out, text, ref, probs, col, today)
    else:
        _patient_link(out, text, ref, probs, col, today, future_ok=cmap.kind in FUTURE_KINDS)
        _kind_specific(out, text, cmap, ref, probs, col)
    if "provider_npi" in cmap.mapping:
        out["provider_id"] = text("provider_npi").map(ref.providers)
    _dedup(out, cmap, probs, state, col)
    return ChunkResult(out, probs.bad.copy(), probs.frame())


def _dates(values: pd.Series, name: str, spec: FieldSpec, cmap: ColumnMapping, probs: _Problems,
           column: str, out: pd.DataFrame | None = None) -> pd.Series:
    fmt = cmap.date_formats.get(name) or dates.detect_format(values)
    if fmt is None:
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    else:
        cmap.date_formats.setdefault(name, fmt)  # the first chunk fixes the format for the file
        parsed = per_unique(values, lambda u: dates.parse_dates(u, fmt)).astype("datetime64[ns]")
        if name in CALENDAR_DATES:  # a day of the calendar as written: an offset never moves it
            local = per_unique(values, dates.written_day)
            parsed = parsed.where(local.isna() | parsed.isna(), local)
    blank = values == ""
    if spec.required:
        probs.add(blank, column, values, "missing date")
    expected = f" (expected {dates.format_label(fmt)})" if fmt else ""
    probs.add(~blank & parsed.isna(), column, values, f"invalid or impossible date{expected}")
    if out is not None:  # a date written without a time of day is uncertain within its day (CQL)
        out[f"{name}__date_only"] = (~blank & ~per_unique(values, dates.has_time).astype(bool)).to_numpy(dtype=bool)
    return parsed


def _patients(out: pd.DataFrame, text: _Text, ref: Reference, probs: _Problems, col: _Col, today: pd.Timestamp) -> None:
    birth = out["birth_date"]
    probs.add(birth.notna() & (birth > today), col("birth_date"), text("birth_date"), "birth date in the future")
    if "deceased_date" in out:
        dead = out["deceased_date"]
        probs.add(dead.notna() & birth.notna() & (dead < birth), col("deceased_date"), text("deceased_date"),
                  "date of death before birth")
        probs.add(dead.notna() & (dead > today), col("deceased_date"), text("deceased_date"),
                  "date of death in the future")
    for name, fn in (("sex", vocab.sex), ("race", vocab.race), ("ethnicity", vocab.ethnicity),
                     ("language", vocab.language), ("payer", vocab.payer)):
        out[name] = per_unique(text(name), fn)
    zips = text("zip_code")
    bad_zip = per_unique(zips, lambda u: u.str.fullmatch(r"(\d{5}(-?\d{4})?)?").fillna(False) == False)  # noqa: E712
    probs.add(bad_zip.to_numpy(dtype=bool), col("zip_code"), zips, "not a ZIP code")
    out["zip_code"] = zips.str.slice(0, 5).where(zips != "", None)
    phones = text("phone")
    digits = phones.str.count(r"\d")
    bad_phone = (phones != "") & ((digits < 7) | (digits > 15) | ~phones.str.fullmatch(r"[\d\s()+.\-/x#ext]*"))
    probs.add(bad_phone.to_numpy(dtype=bool), col("phone"), phones, "not a phone number")
    out["phone"] = phones.str.slice(0, 40).where(phones != "", None)
    guardian = text("guardian")
    out["guardian"] = guardian.str.slice(0, 200).where(guardian != "", None)
    methods = text("contact_method")
    method = per_unique(methods, vocab.contact_method)
    probs.add(((methods != "") & method.isna()).to_numpy(dtype=bool), col("contact_method"), methods,
              "not a contact method (call, text, letter, portal or in person)")
    out["contact_method"] = method.astype(object).where(method.notna(), None)


def _patient_link(out: pd.DataFrame, text: _Text, ref: Reference, probs: _Problems, col: _Col, today: pd.Timestamp,
                  *, future_ok: bool = False) -> None:
    mrn = text("mrn")
    known = ref.patients.reindex(mrn.to_numpy())
    out["patient_id"] = known["patient_id"].to_numpy()
    birth = pd.Series(known["birth_date"].to_numpy(), index=out.index)
    probs.add((mrn != "") & out["patient_id"].isna(), col("mrn"), mrn, "unknown patient (no such MRN in this practice)")
    for name in ("date", "end_date", "scheduled_on", "seen_on", "report_received_on", "closed_on", "lost_on"):
        if name not in out:
            continue
        when = out[name]
        probs.add(when.notna() & birth.notna() & (when.dt.normalize() < birth), col(name), text(name),
                  "event before the patient's birth")
        if not future_ok:
            probs.add(when.notna() & (when.dt.normalize() > today), col(name), text(name), "event in the future")
    if "end_date" in out:
        probs.add(out["end_date"].notna() & out["date"].notna() & (out["end_date"] < out["date"]),
                  col("end_date"), text("end_date"), "ends before it starts")


def _codes(out: pd.DataFrame, name: str, values: pd.Series, systems: pd.Series, ref: Reference,
           probs: _Problems, column: str) -> None:
    present = values != ""
    codes = per_unique_pairs(values, systems, coding.normalise).where(present, "")
    ok = per_unique_pairs(codes, systems, coding.format_ok).astype(bool) | ~present
    labels = per_unique(systems, lambda u: u.map(lambda s: coding.SYSTEM_LABELS.get(s, str(s))))
    probs.add(~ok, column, values, "not a valid " + labels + " code")
    unknown = pd.Series(False, index=values.index)
    for system, known in ref.known_codes.items():
        if known:
            sel = present & ok & (systems == system)
            unknown |= sel & ~codes.isin(known)
    probs.add(unknown, column, values, "unknown code: in no loaded value set or code catalogue")
    out[name] = codes.where(present, None)


def _second_code(out: pd.DataFrame, text: _Text, cmap: ColumnMapping, probs: _Problems, col: _Col) -> None:
    """A second coding of the row (``code_2``, system from ``code_system_2`` or inferred): checked for its
    format, not against the code catalogues (a local code is welcome: the first code is the standard one)."""
    values = text("code_2")
    present = values != ""
    inferred = per_unique(values, lambda u: coding.infer_system(u, CODE_CANDIDATES[cmap.kind]))
    if "code_system_2" in cmap.mapping:
        systems = per_unique(text("code_system_2"), coding.system_from_text)
        probs.add((text("code_system_2") != "") & systems.isna(), col("code_system_2"), text("code_system_2"),
                  "unknown code system")
        systems = systems.where(systems.notna(), inferred)
    else:
        systems = inferred
    codes = per_unique_pairs(values, systems, coding.normalise).where(present, "")
    ok = per_unique_pairs(codes, systems, coding.format_ok).astype(bool) | ~present
    labels = per_unique(systems, lambda u: u.map(lambda s: coding.SYSTEM_LABELS.get(s, str(s))))
    probs.add(~ok, col("code_2"), values, "not a valid " + labels + " code")
    out["code_2"] = codes.where(present, None)
    out["code_system_2"] = systems.where(present, None)


def _kind_specific(out: pd.DataFrame, text: _Text, cmap: ColumnMapping, ref: Reference, probs: _Problems, col: _Col) -> None:
    kind = cmap.kind
    out["source_id"] = text("record_id").replace("", None)
    if kind == "observations" and "instrument" in cmap.mapping:
        inst = text("instrument").map(instrument_key)
        loinc = inst.map(lambda k: BY_KEY[k].loinc if k else "")
        out["instrument"] = inst
        if "code" not in cmap.mapping:
            out["code"] = loinc
        else:
            out["code"] = out["code"].where(out["code"] != "", loinc)
    if kind not in UNCODED_KINDS:
        codes = pd.Series(as_object(out["code"].fillna("")), index=out.index)
        inferred = per_unique(codes, lambda u: coding.infer_system(u, CODE_CANDIDATES[kind]))
        if "code_system" in cmap.mapping:
            systems = per_unique(text("code_system"), coding.system_from_text)
            probs.add((text("code_system") != "") & systems.isna(), col("code_system"), text("code_system"),
                      "unknown code system")
            systems = systems.where(systems.notna(), inferred)
        elif cmap.code_system:
            systems = pd.Series(np.full(len(out), cmap.code_system, dtype=object), index=out.index)
        else:
            systems = inferred
        out["code_system"] = systems
        _codes(out, "code", codes, systems, ref, probs, col("code"))
        if "code_2" in cmap.mapping:
            _second_code(out, text, cmap, probs, col)
    if "reason_code" in cmap.mapping:
        reason = text("reason_code")
        rsys = per_unique(reason, lambda u: coding.infer_system(u, REASON_CANDIDATES))
        _codes(out, "reason_code", reason, rsys, ref, probs, col("reason_code"))
        out["reason_system"] = rsys.where(reason != "", None)
    if kind == "immunizations":
        status = per_unique(text("status"), vocab.immunization_status)
        reason = per_unique(text("reason"), vocab.not_given_reason)
        status = status.where(~((text("status") == "") & (text("reason") != "")), "not-done")
        probs.add(status.isna(), col("status"), text("status"), "unknown status (expected given / not given)")
        probs.add((status == "not-done") & (text("reason") != "") & reason.isna(), col("reason"), text("reason"),
                  "unknown not-given reason (refusal, contraindication, immunity, out of stock ...)")
        out["status"], out["reason"] = status, reason
    elif kind == "diagnoses":
        out["clinical_status"] = per_unique(text("clinical_status"), vocab.condition_status)
    elif kind == "observations":
        value = text("value")
        num = pd.to_numeric(value.where(value != "", None), errors="coerce")
        out["value_num"] = num
        out["value_text"] = value.where(num.isna() & (value != ""), None)
        interp = per_unique(text("interpretation"), vocab.interpretation)
        if "interpretation" not in cmap.mapping:  # a result written as 'positive' / 'pass' says it too
            from_value = per_unique(value.where(num.isna(), ""), vocab.interpretation)
            interp = from_value.where(from_value.isin(["positive", "negative", "normal", "abnormal"]), None)
        out["interpretation"] = interp
    elif kind == "appointments":
        _appointment(out, text, cmap, probs, col)
    elif kind == "referrals":
        rtype = per_unique(text("referral_type"), vocab.referral_type)
        probs.add((text("referral_type") != "") & rtype.isna(), col("referral_type"), text("referral_type"),
                  "unknown referral type (Help Me Grow, early intervention, behavioral health, specialist, "
                  "community service, dental, other)")
        out["referral_type"] = rtype
        _referral_steps(out, text, cmap, probs, col)


def _appointment(out: pd.DataFrame, text: _Text, cmap: ColumnMapping, probs: _Problems, col: _Col) -> None:
    """An appointment's time of day (from its own column when the schedule splits date and time), its
    status in FHIR's words, provider and visit type as written."""
    if "time" in cmap.mapping:
        times = text("time")
        offset = per_unique(times, lambda u: u.map(time_of_day))
        probs.add(((times != "") & offset.isna()).to_numpy(dtype=bool), col("time"), times,
                  "not a time of day (expected 14:30 or 2:30 PM)")
        has = offset.notna() & out["date"].notna()
        moved = out["date"].dt.normalize() + pd.to_timedelta(offset.where(has, 0).astype(float), unit="s")
        out["date"] = out["date"].where(~has, moved)
        out["date__date_only"] = out["date__date_only"] & ~has.to_numpy(dtype=bool)
    status = per_unique(text("status"), vocab.appointment_status)
    probs.add(status.isna(), col("status"), text("status"),
              "unknown appointment status (booked, arrived, checked in, fulfilled, cancelled, no show ...)")
    out["status"] = status
    for name in ("provider_name", "visit_type"):
        out[name] = text(name).replace("", None)


def time_of_day(value: str) -> float | None:
    """Seconds after midnight of a written time of day (None when it is not one)."""
    match = re.match(_TIME, value.strip().lower())
    if match is None:
        return None
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["ampm"] == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return float(hour * 3600 + minute * 60 + second)


def _referral_steps(out: pd.DataFrame, text: _Text, cmap: ColumnMapping, probs: _Problems, col: _Col) -> None:
    latest = out["date"].copy()
    derived = pd.Series("placed", index=out.index, dtype=object)
    for name in REFERRAL_STEPS[1:]:
        if name not in out:
            continue
        step = out[name]
        probs.add(step.notna() & latest.notna() & (step < latest), col(name), text(name),
                  "before the previous step of the referral")
        latest = latest.where(step.isna(), step)
        derived = derived.where(step.isna(), name.removesuffix("_on").replace("_", "-"))
    if "lost_on" in out:
        lost = out["lost_on"]
        probs.add(lost.notna() & out["date"].notna() & (lost < out["date"]), col("lost_on"), text("lost_on"),
                  "lost to follow-up before the referral was placed")
        probs.add(lost.notna() & out.get("closed_on", pd.Series(pd.NaT, index=out.index)).notna(),
                  col("lost_on"), text("lost_on"), "a referral cannot be both closed and lost to follow-up")
        derived = derived.where(lost.isna(), "lost")
    if "status" in cmap.mapping:
        status = per_unique(text("status"), vocab.referral_status)
        probs.add((text("status") != "") & status.isna(), col("status"), text("status"), "unknown referral status")
        out["status"] = status.fillna(derived)
    else:
        out["status"] = derived


def identity_hashes(out: pd.DataFrame, kind: str) -> np.ndarray:
    """A hash of what identifies a record: MRN for patients; else the EHR record id when there is one,
    otherwise patient + code (referral type) + day."""
    if kind == "patients":
        return row_hash([out["mrn"]])
    pid = out["patient_id"].to_numpy(dtype="float64").astype(np.int64)
    if kind == "referrals":
        natural = row_hash([np.zeros(len(out), np.int64), pid, out["referral_type"], day_numbers(out["date"])])
    elif kind == "appointments":
        natural = row_hash([np.zeros(len(out), np.int64), pid, out["visit_type"].fillna(""), day_numbers(out["date"])])
    else:
        natural = row_hash([np.zeros(len(out), np.int64), pid, out["code_system"].fillna(""), out["code"].fillna(""),
                            day_numbers(out["date"])])
    has_sid = out["source_id"].notna().to_numpy()
    if not has_sid.any():
        return natural
    sid = row_hash([np.ones(len(out), np.int64), pid, out["source_id"].fillna("")])
    return np.where(has_sid, sid, natural)


def _dedup(out: pd.DataFrame, cmap: ColumnMapping, probs: _Problems, state: DedupState, col: _Col) -> None:
    """Later rows with the identity of an earlier accepted row are rejected as duplicates."""
    ok = ~probs.bad
    if not ok.any():
        return
    hashes = identity_hashes(out[ok], cmap.kind)
    rows = out["row"].to_numpy()[ok]
    first_in_chunk = pd.Series(rows, index=hashes).groupby(level=0).transform("first").to_numpy()
    earlier = state.hashes.reindex(hashes).to_numpy()
    first = np.where(np.isnan(earlier), first_in_chunk, earlier)
    dup_local = first != rows
    dup = np.zeros(len(out), dtype=bool)
    dup[np.flatnonzero(ok)[dup_local]] = True
    firsts = np.zeros(len(out))
    firsts[np.flatnonzero(ok)] = first
    reason = pd.Series("", index=out.index, dtype=object)
    if dup.any():
        reason[dup] = [f"duplicate of row {int(r)}" for r in firsts[dup]]
    column = col("record_id") if cmap.kind != "patients" and "record_id" in cmap.mapping else col("mrn")
    value = out["source_id"] if cmap.kind != "patients" and "record_id" in cmap.mapping else out["mrn"]
    probs.add(dup, column, value.fillna(out["mrn"]).astype(str), reason)
    keep = ~dup_local
    new = pd.Series(rows[keep], index=pd.Index(hashes[keep]), dtype="int64")
    new = new[~new.index.duplicated()]
    state.hashes = pd.concat([state.hashes, new[~new.index.isin(state.hashes.index)]])
