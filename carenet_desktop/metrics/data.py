"""The input of an evaluation: one DataFrame per kind of record, with fixed column names.

The loader (``carenet_desktop.services.measure_data``) builds these from the store; tests may build them
directly. Conventions:

* ``patient_id`` (int) links every frame to ``patients``; ``event_id`` (int) is the row id in its table.
* timestamps are ``datetime64``, the clock time as the source wrote it (an offset is not applied),
  missing as ``NaT``; numbers are float, missing as NaN.
* coded frames have ``key`` (= ``system|code`` of the primary coding; the stored ``code_system`` and ``code``
  are read only to build it) for value-set matching with ``ValueSetIndex.mask``. Secondary codes have their own key column
  (``value_key``, ``reason_key``, ``discharge_key``, ``status_reason_key``). A key cell may hold several
  codings joined by ``valuesets.MULTI_SEP``: match with ``primitives.vs_mask``/``code_mask`` (any coding).
* ``OPTIONAL_COLUMNS`` may follow a frame's own: ``date_only`` (the time columns of the row that were given
  without a time of day; see ``primitives.date_only_mask``), present when some row has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

import pandas as pd

from .memo import FrameMemo
from .valuesets import ValueSetIndex

#: Column names of each frame (the loader produces exactly these; evaluation may rely on them). Only what
#: some reader of the frames reads (the measures and their libraries, the care gaps, the equity splits, the
#: reports): a stored column nobody reads here costs the cold read of the store its SQL, parse and ``str``
#: column for every row (``NOT_FRAMED``: the patient's record and the exports read those from the store).
COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": (
        "patient_id", "subject_id", "practice_id", "provider_id", "birth_date", "sex", "race",
        "ethnicity", "language", "payer", "deceased_date",
    ),
    "encounters": (
        "patient_id", "event_id", "status", "key", "start", "end",
        "provider_id", "reason_key", "discharge_key", "location_key",
    ),
    "encounter_diagnoses": ("encounter_id", "condition_id", "key", "rank"),
    "conditions": (
        "patient_id", "event_id", "status", "key", "category", "clinical_status",
        "verification_status", "onset", "abatement", "recorded", "encounter_id",
        "profile_kind",  # the QI-Core 6 kind the condition's profile fixes (see ``libraries.condition_kind``)
    ),
    "observations": (
        "patient_id", "event_id", "status", "key", "category", "effective_start",
        "effective_end", "issued", "value_num", "value_key", "value_text", "interpretation",
        "encounter_id", "status_reason_key",
    ),
    "procedures": (
        "patient_id", "event_id", "status", "key", "performed_start", "performed_end",
        "status_reason_key", "encounter_id", "recorded",
    ),
    "immunizations": (
        "patient_id", "event_id", "status", "key", "occurrence", "recorded",
        "status_reason_key",
    ),
    "medication_requests": (
        "patient_id", "event_id", "status", "key", "intent", "category", "authored_on",
        "do_not_perform", "dose_quantity", "timing_frequency", "timing_period",
        "timing_period_unit", "boundary_start", "boundary_end", "dispense_quantity",
        "supply_days", "repeats_allowed", "validity_start", "status_reason_key",
    ),
    "medication_dispenses": (
        "patient_id", "event_id", "status", "key", "kind", "when_start", "when_end",
        "days_supply",
    ),
    "service_requests": (
        "patient_id", "event_id", "status", "key", "intent", "authored_on",
        "occurrence", "do_not_perform", "reason_key", "encounter_id", "status_reason_key",
    ),
    "coverages": ("patient_id", "event_id", "payer", "status", "start", "end"),
    "referrals": (
        "patient_id", "event_id", "referral_type", "reason_key", "status", "placed_on", "scheduled_on",
        "seen_on", "report_received_on", "closed_on", "lost_on",
    ),
}

#: stored columns (frame names: ``type_key`` = its system and code) the frames leave out, as nobody reading
#: the frames reads them (``tests/metrics/test_frame_columns_read.py`` scans the readers for them); and
#: ``KEY_PARTS``, the primary coding's parts, read to build ``key`` and left out of the frames after
NOT_FRAMED: dict[str, tuple[str, ...]] = {
    "patients": ("zip_code",),
    "encounters": ("class_code",),
    "encounter_diagnoses": ("use",),
    "observations": ("value_unit",),
    "medication_requests": ("dose_unit", "dispense_unit", "validity_end"),
    "medication_dispenses": ("quantity", "quantity_unit"),
    "coverages": ("type_key",),
}
KEY_PARTS: tuple[str, ...] = ("code_system", "code")


#: columns an event frame may carry after its own (the loader adds them only when some row has a value)
OPTIONAL_COLUMNS: tuple[str, ...] = ("date_only",)

#: an empty frame of each kind, built once at import and only ever copied (pandas makes them slowly)
_EMPTY: Mapping[str, pd.DataFrame] = MappingProxyType(
    {name: pd.DataFrame({c: pd.Series(dtype="object") for c in columns}) for name, columns in COLUMNS.items()})


def empty_frame(name: str) -> pd.DataFrame:
    """A frame with the columns of ``name`` and no rows (a copy: the caller may change it)."""
    return _EMPTY[name].copy()


_NOT_FRAMES = frozenset({"valuesets", "memo"})


@dataclass
class MeasureData:
    """All records an evaluation may read, plus the value sets to match codes against."""

    patients: pd.DataFrame = field(default_factory=lambda: empty_frame("patients"))
    encounters: pd.DataFrame = field(default_factory=lambda: empty_frame("encounters"))
    encounter_diagnoses: pd.DataFrame = field(default_factory=lambda: empty_frame("encounter_diagnoses"))
    conditions: pd.DataFrame = field(default_factory=lambda: empty_frame("conditions"))
    observations: pd.DataFrame = field(default_factory=lambda: empty_frame("observations"))
    procedures: pd.DataFrame = field(default_factory=lambda: empty_frame("procedures"))
    immunizations: pd.DataFrame = field(default_factory=lambda: empty_frame("immunizations"))
    medication_requests: pd.DataFrame = field(default_factory=lambda: empty_frame("medication_requests"))
    medication_dispenses: pd.DataFrame = field(default_factory=lambda: empty_frame("medication_dispenses"))
    service_requests: pd.DataFrame = field(default_factory=lambda: empty_frame("service_requests"))
    coverages: pd.DataFrame = field(default_factory=lambda: empty_frame("coverages"))
    referrals: pd.DataFrame = field(default_factory=lambda: empty_frame("referrals"))
    valuesets: ValueSetIndex = field(default_factory=ValueSetIndex)
    #: answers derived from these frames during evaluations (see ``metrics.memo``)
    memo: FrameMemo = field(default_factory=FrameMemo, compare=False, repr=False)

    def frames(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_FRAMES}

    def subset(self, patient_ids: pd.Index | list[int]) -> MeasureData:
        """The same data restricted to some patients (for incremental re-evaluation)."""
        ids = pd.Index(patient_ids)
        out = MeasureData(valuesets=self.valuesets)
        enc_ids: pd.Index | None = None
        for name, frame in self.frames().items():
            if "patient_id" in frame.columns:
                sub = frame[frame["patient_id"].isin(ids)]
                setattr(out, name, sub)
                if name == "encounters":
                    enc_ids = pd.Index(sub["event_id"])
        if enc_ids is not None:
            out.encounter_diagnoses = self.encounter_diagnoses[self.encounter_diagnoses["encounter_id"].isin(enc_ids)]
        return out
