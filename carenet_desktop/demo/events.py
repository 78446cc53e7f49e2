"""Row builders shared by the event generators: encounters, conditions, observations, procedures ..."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .frames import DAY, SECOND, Columns, Tables, code_columns, one_code
from .people import Cohort, PracticeProfile
from .vocab import Code


@dataclass
class Ctx:
    """What every generator of one chunk needs."""

    rng: np.random.Generator
    tables: Tables
    practice: PracticeProfile
    cohort: Cohort
    as_of: np.datetime64  # datetime64[D], the last day with data
    stamp: dt.datetime
    import_id: int
    referrals: list[Columns] = field(default_factory=list)  # triggers: patient index, date, type, reason ...
    event_source_ids: bool = False

    @property
    def n(self) -> int:
        return len(self.cohort)

    def in_window(self, pidx: np.ndarray, dates: np.ndarray) -> np.ndarray:
        d = dates.astype("datetime64[D]")
        return (d >= self.cohort.start[pidx]) & (d <= self.as_of) & ~np.isnat(d)

    def source_ids(self, prefix: str, ids: np.ndarray) -> np.ndarray | None:
        """Demo events are traced by ``import_id`` alone (no per-row source id: faster, smaller)."""
        if not self.event_source_ids:
            return None
        return np.char.add(prefix, ids.astype(str)).astype(object)

    def provider(self, pidx: np.ndarray, p_pcp: float = 0.75) -> np.ndarray:
        """The attributed PCP most of the time, otherwise any clinician of the practice."""
        other = self.practice.provider_ids[self.rng.integers(0, len(self.practice.provider_ids), len(pidx))]
        return np.where(self.rng.random(len(pidx)) < p_pcp, self.cohort.pcp[pidx], other)


def clinic_times(rng: np.random.Generator, dates: np.ndarray, minutes: tuple[int, int] = (15, 40),
                 hours: tuple[int, int] = (8, 17)) -> tuple[np.ndarray, np.ndarray]:
    """Start and end timestamps on the given days, on the half hour within opening hours."""
    n = len(dates)
    slots = rng.integers(hours[0] * 2, hours[1] * 2, n)
    start = dates.astype("datetime64[D]").astype("datetime64[s]") + (slots * 1800) * SECOND
    end = start + rng.integers(minutes[0], minutes[1] + 1, n) * 60 * SECOND
    return start, end


def add_encounters(ctx: Ctx, pidx: np.ndarray, start: np.ndarray, end: np.ndarray, codes: Sequence[Code],
                   code_idx: np.ndarray, *, class_code: str = "AMB", provider: np.ndarray | None = None,
                   reason: Columns | None = None) -> np.ndarray:
    ids = ctx.tables.ids("encounter", len(pidx))
    cols: Columns = {
        "id": ids, "patient_id": ctx.cohort.ids[pidx], "status": "finished", "class_code": class_code,
        "start": start, "end": end, "provider_id": provider if provider is not None else ctx.provider(pidx),
        "import_id": ctx.import_id, "source_id": ctx.source_ids("enc-", ids),
    } | code_columns(codes, code_idx)
    ctx.tables.add("encounter", cols | (reason or {}))
    return ids


def add_conditions(ctx: Ctx, pidx: np.ndarray, enc_ids: np.ndarray | None, onset: np.ndarray,
                   codes: Sequence[Code], code_idx: np.ndarray, *, category: str = "encounter-diagnosis",
                   abatement: np.ndarray | None = None, rank: int = 1) -> np.ndarray:
    """Conditions (confirmed), linked to their encounters through ``encounter_diagnosis`` rows."""
    n = len(pidx)
    ids = ctx.tables.ids("condition", n)
    if abatement is None:
        abatement = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    resolved = ~np.isnat(abatement) & (abatement.astype("datetime64[D]") <= ctx.as_of)
    abatement = np.where(resolved, abatement, np.datetime64("NaT"))
    cols: Columns = {
        "id": ids, "patient_id": ctx.cohort.ids[pidx], "category": category,
        "clinical_status": np.where(resolved, "resolved", "active").astype(object),
        "verification_status": "confirmed", "onset": onset, "abatement": abatement,
        "import_id": ctx.import_id, "source_id": ctx.source_ids("cond-", ids),
    } | code_columns(codes, code_idx)
    if enc_ids is not None:
        cols["encounter_id"] = enc_ids
    ctx.tables.add("condition", cols)
    if enc_ids is not None:
        systems = np.array([c.system for c in codes], dtype=object)[code_idx]
        values = np.array([c.code for c in codes], dtype=object)[code_idx]
        ctx.tables.add("encounter_diagnosis", {
            "id": ctx.tables.ids("encounter_diagnosis", n), "encounter_id": enc_ids, "condition_id": ids,
            "condition_source_id": cols["source_id"], "code_system": systems, "code": values, "use": "billing",
            "rank": rank,
        })
    return ids


def add_observations(ctx: Ctx, pidx: np.ndarray, enc_ids: np.ndarray | None, when: np.ndarray, code: Code,
                     *, category: str, values: Columns | None = None, status: str | np.ndarray = "final",
                     provider: np.ndarray | None = None) -> np.ndarray:
    ids = ctx.tables.ids("observation", len(pidx))
    cols: Columns = {
        "id": ids, "patient_id": ctx.cohort.ids[pidx], "status": status, "category": category,
        "effective_start": when, "effective_end": when, "import_id": ctx.import_id, "source_id": ctx.source_ids("obs-", ids),
    } | one_code(code) | (values or {})
    if enc_ids is not None:
        cols["encounter_id"] = enc_ids
    if provider is not None:
        cols["provider_id"] = provider
    ctx.tables.add("observation", cols)
    return ids


def add_procedures(ctx: Ctx, pidx: np.ndarray, enc_ids: np.ndarray | None, when: np.ndarray,
                   codes: Sequence[Code], code_idx: np.ndarray, provider: np.ndarray | None = None) -> np.ndarray:
    ids = ctx.tables.ids("procedure", len(pidx))
    cols: Columns = {
        "id": ids, "patient_id": ctx.cohort.ids[pidx], "status": "completed", "performed_start": when, "performed_end": when, "import_id": ctx.import_id, "source_id": ctx.source_ids("proc-", ids),
    } | code_columns(codes, code_idx)
    if enc_ids is not None:
        cols["encounter_id"] = enc_ids
    if provider is not None:
        cols["provider_id"] = provider
    ctx.tables.add("procedure", cols)
    return ids


def add_prescriptions(ctx: Ctx, pidx: np.ndarray, when: np.ndarray, codes: Sequence[Code], code_idx: np.ndarray,
                      *, supply_days: np.ndarray | float, quantity: np.ndarray | float, unit: str,
                      dose: float = 1.0, frequency: int = 1, provider: np.ndarray | None = None,
                      dispense: float = 0.0) -> np.ndarray:
    """Community prescriptions (intent 'order'); completed once their supply has run out, else active.

    ``dispense``: the share of prescriptions also recorded as picked up at a pharmacy (MedicationDispense).
    """
    n = len(pidx)
    ids = ctx.tables.ids("medication_request", n)
    supply = np.broadcast_to(np.asarray(supply_days, dtype=float), (n,))
    ends = when.astype("datetime64[D]") + supply.astype(np.int64) * DAY
    cols: Columns = {
        "id": ids, "patient_id": ctx.cohort.ids[pidx],
        "status": np.where(ends < ctx.as_of, "completed", "active").astype(object), "intent": "order",
        "category": "community", "authored_on": when, "dose_quantity": dose, "dose_unit": unit,
        "timing_frequency": frequency, "timing_period": 1.0, "timing_period_unit": "d",
        "dispense_quantity": np.broadcast_to(np.asarray(quantity, dtype=float), (n,)).copy(),
        "dispense_unit": unit, "supply_days": supply.copy(), "repeats_allowed": 0,
        "provider_id": provider if provider is not None else ctx.provider(pidx),
        "import_id": ctx.import_id, "source_id": ctx.source_ids("rx-", ids),
    } | code_columns(codes, code_idx)
    ctx.tables.add("medication_request", cols)
    if dispense > 0:
        picked = np.flatnonzero(ctx.rng.random(n) < dispense)
        picked_at = when[picked] + ctx.rng.integers(0, 3, len(picked)) * 86400 * SECOND + 3 * 3600 * SECOND
        ok = picked_at.astype("datetime64[D]") <= ctx.as_of
        picked, picked_at = picked[ok], picked_at[ok]
        dids = ctx.tables.ids("medication_dispense", len(picked))
        ctx.tables.add("medication_dispense", {
            "id": dids, "patient_id": ctx.cohort.ids[pidx[picked]], "status": "completed", "kind": "dispense",
            "when_start": picked_at, "when_end": picked_at, "quantity": cols["dispense_quantity"][picked],
            "quantity_unit": unit, "days_supply": supply[picked], "import_id": ctx.import_id,
            "source_id": ctx.source_ids("disp-", dids),
        } | code_columns(codes, code_idx[picked]))
    return ids


def refer(ctx: Ctx, pidx: np.ndarray, when: np.ndarray, kind: str, reason: Code | None, provider: np.ndarray,
          reason_text: str) -> None:
    """Queue referral triggers; ``coordination.add_referrals`` turns them into referral loops."""
    if len(pidx) == 0:
        return
    ctx.referrals.append({
        "pidx": pidx, "placed": when.astype("datetime64[D]"), "type": kind,
        "reason_system": reason.system if reason else None, "reason_code": reason.code if reason else None,
        "reason_text": reason_text, "provider": provider,
    })
