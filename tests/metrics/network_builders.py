"""Hand-made patients for the network-measure tests: a tiny builder of ``MeasureData`` frames.

Dates are ISO strings or ``datetime.date``; codes are ``(system key, code)`` pairs. The value sets are
read from the shipped ``resources/valuesets/*.json`` (the files the application loads), so a test
also checks that the shipped codes are the ones the measure expects; ``extra`` adds codes to a value
set where a test exercises a record path the shipped codes do not cover yet.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from carenet_desktop.metrics.data import COLUMNS, MeasureData
from carenet_desktop.metrics.valuesets import ValueSetIndex
from carenet_desktop.services.valuesets import iter_valuesets, parse_valueset

ROOT = Path(__file__).resolve().parents[2]
#: the shipped code catalogue: the default catalogue (shared with the demo) and the network measures' own sets
VALUESET_FILES = (ROOT / "resources" / "valuesets" / "carenet-catalogue.json",
                  ROOT / "resources" / "valuesets" / "network-measures.json")

WELL = ("cpt", "99392")
DATE_COLUMNS = {
    "patients": ("birth_date", "deceased_date"),
    "encounters": ("start", "end"),
    "conditions": ("onset", "abatement", "recorded"),
    "observations": ("effective_start", "effective_end", "issued"),
    "procedures": ("performed_start", "performed_end", "recorded"),
    "immunizations": ("occurrence", "recorded"),
    "medication_requests": ("authored_on", "boundary_start", "boundary_end", "validity_start"),
    "medication_dispenses": ("when_start", "when_end"),
    "service_requests": ("authored_on", "occurrence"),
    "coverages": ("start", "end"),
    "referrals": ("placed_on", "scheduled_on", "seen_on", "report_received_on", "closed_on", "lost_on"),
}


def network_valueset_index(extra: dict[str, list[tuple[str, str]]] | None = None) -> ValueSetIndex:
    index = ValueSetIndex()
    for path in VALUESET_FILES:
        for vs in iter_valuesets(json.loads(path.read_text(encoding="utf-8"))):
            parsed = parse_valueset(vs)
            index.add(parsed.url, [(s, c) for s, c, _ in parsed.codes])
    for url, pairs in (extra or {}).items():
        index.add(url, pairs)
    return index


def _ts(value: Any) -> Any:
    if value is None:
        return pd.NaT
    return pd.Timestamp(value)


class Builder:
    """Collects rows per frame; ``data()`` returns the ``MeasureData``."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in COLUMNS}
        self._next_id = 1
        self._next_event = 1000

    def _event(self) -> int:
        self._next_event += 1
        return self._next_event

    def patient(self, birth: str | dt.date, *, deceased: str | None = None, sex: str = "female",
                payer: str = "medicaid", practice_id: int = 1, race: str = "white") -> int:
        pid = self._next_id
        self._next_id += 1
        self.rows["patients"].append({
            "patient_id": pid, "subject_id": f"p{pid}", "practice_id": practice_id, "provider_id": 1,
            "birth_date": birth, "sex": sex, "race": race, "ethnicity": "not-hispanic", "language": "en",
            "payer": payer, "zip_code": "00000", "deceased_date": deceased,
        })
        return pid

    def visit(self, pid: int, day: str, code: tuple[str, str] = WELL, *, status: str = "finished",
              reason: tuple[str, str] | None = None, diagnosis: tuple[str, str] | None = None,
              condition_id: int | None = None, start: str | None = None, end: str | None = None) -> int:
        eid = self._event()
        self.rows["encounters"].append({
            "patient_id": pid, "event_id": eid, "status": status, "code_system": code[0], "code": code[1],
            "key": f"{code[0]}|{code[1]}", "class_code": "AMB", "start": start or f"{day} 09:00", "end": end or f"{day} 09:30",
            "provider_id": 1, "reason_key": f"{reason[0]}|{reason[1]}" if reason else None, "discharge_key": None,
        })
        if diagnosis or condition_id is not None:
            self.rows["encounter_diagnoses"].append({
                "encounter_id": eid, "condition_id": condition_id,
                "key": f"{diagnosis[0]}|{diagnosis[1]}" if diagnosis else None, "use": None, "rank": 1,
            })
        return eid

    def observation(self, pid: int, day: str, code: tuple[str, str], *, status: str = "final",
                    value_key: tuple[str, str] | None = None, interpretation: str | None = None,
                    value_num: float | None = None, category: str | None = "survey", at: str = "10:00",
                    issued: str | None = None, status_reason: tuple[str, str] | None = None) -> int:
        eid = self._event()
        self.rows["observations"].append({
            "patient_id": pid, "event_id": eid, "status": status, "code_system": code[0], "code": code[1],
            "key": f"{code[0]}|{code[1]}", "category": category, "effective_start": f"{day} {at}",
            "effective_end": f"{day} {at}", "issued": issued, "value_num": value_num, "value_unit": None,
            "value_key": f"{value_key[0]}|{value_key[1]}" if value_key else None, "value_text": None,
            "interpretation": interpretation, "encounter_id": None,
            "status_reason_key": f"{status_reason[0]}|{status_reason[1]}" if status_reason else None,
        })
        return eid

    def procedure(self, pid: int, day: str, code: tuple[str, str], *, status: str = "completed") -> int:
        eid = self._event()
        self.rows["procedures"].append({
            "patient_id": pid, "event_id": eid, "status": status, "code_system": code[0], "code": code[1],
            "key": f"{code[0]}|{code[1]}", "performed_start": f"{day} 11:00", "performed_end": f"{day} 11:00",
            "status_reason_key": None, "encounter_id": None, "recorded": None,
        })
        return eid

    def immunization(self, pid: int, day: str, cvx: str, *, status: str = "completed") -> int:
        eid = self._event()
        self.rows["immunizations"].append({
            "patient_id": pid, "event_id": eid, "status": status, "code_system": "cvx", "code": cvx,
            "key": f"cvx|{cvx}", "occurrence": f"{day} 10:15", "recorded": None, "status_reason_key": None,
        })
        return eid

    def condition(self, pid: int, onset: str | None, code: tuple[str, str], *, abatement: str | None = None,
                  clinical_status: str = "active", verification_status: str | None = "confirmed",
                  category: str | None = "problem-list-item", profile_kind: str | None = None) -> int:
        eid = self._event()
        self.rows["conditions"].append({
            "patient_id": pid, "event_id": eid, "status": None, "code_system": code[0], "code": code[1],
            "key": f"{code[0]}|{code[1]}", "category": category, "clinical_status": clinical_status,
            "verification_status": verification_status, "onset": onset, "abatement": abatement, "recorded": None,
            "encounter_id": None, "profile_kind": profile_kind,
        })
        return eid

    def dispense(self, pid: int, day: str, rxnorm: str, *, days_supply: float | None = 30,
                 status: str = "completed") -> int:
        eid = self._event()
        self.rows["medication_dispenses"].append({
            "patient_id": pid, "event_id": eid, "status": status, "code_system": "rxnorm", "code": rxnorm,
            "key": f"rxnorm|{rxnorm}", "kind": None, "when_start": day, "when_end": None, "quantity": 1,
            "quantity_unit": None, "days_supply": days_supply,
        })
        return eid

    def order(self, pid: int, day: str, rxnorm: str, *, supply_days: float | None = 30, status: str = "active",
              intent: str = "order", **fields: Any) -> int:
        eid = self._event()
        row = dict.fromkeys(COLUMNS["medication_requests"])
        row.update({"patient_id": pid, "event_id": eid, "status": status, "code_system": "rxnorm", "code": rxnorm,
                    "key": f"rxnorm|{rxnorm}", "intent": intent, "authored_on": day, "do_not_perform": False,
                    "supply_days": supply_days, **fields})
        self.rows["medication_requests"].append(row)
        return eid

    def service_request(self, pid: int, day: str, code: tuple[str, str], *, status: str = "completed",
                        intent: str = "order") -> int:
        eid = self._event()
        row = dict.fromkeys(COLUMNS["service_requests"])
        row.update({"patient_id": pid, "event_id": eid, "status": status, "code_system": code[0], "code": code[1],
                    "key": f"{code[0]}|{code[1]}", "intent": intent, "authored_on": day, "do_not_perform": False})
        self.rows["service_requests"].append(row)
        return eid

    def referral(self, pid: int, placed: str, *, referral_type: str = "help-me-grow", status: str = "placed",
                 **dates: str | None) -> int:
        eid = self._event()
        row: dict[str, Any] = dict.fromkeys(COLUMNS["referrals"])
        row.update({"patient_id": pid, "event_id": eid, "referral_type": referral_type, "status": status,
                    "placed_on": placed})
        for name, value in dates.items():
            if name not in row:
                raise KeyError(name)
            row[name] = value
        self.rows["referrals"].append(row)
        return eid

    def data(self, extra_valuesets: dict[str, list[tuple[str, str]]] | None = None) -> MeasureData:
        frames: dict[str, pd.DataFrame] = {}
        for name, cols in COLUMNS.items():
            frame = pd.DataFrame(self.rows[name], columns=list(cols))
            for col in DATE_COLUMNS.get(name, ()):
                frame[col] = pd.to_datetime(frame[col].map(_ts)).astype("datetime64[ns]")
            for col in ("patient_id", "event_id"):
                if col in frame.columns:
                    frame[col] = frame[col].astype("int64")
            frames[name] = frame
        return MeasureData(**frames, valuesets=network_valueset_index(extra_valuesets))


def outcome(result: pd.DataFrame, pid: int, group: int = 0, episode: int | None = None) -> dict[str, Any]:
    """The populations of one patient (or episode) in one group; {} when not in the initial population."""
    rows = result[(result["patient_id"] == pid) & (result["group_index"] == group)]
    if episode is not None:
        rows = rows[rows["episode_id"] == episode]
    if rows.empty:
        return {}
    assert len(rows) == 1, rows
    row = rows.iloc[0]
    return {k: (None if pd.isna(row[k]) else bool(row[k])) for k in
            ("initial-population", "denominator", "denominator-exclusion", "numerator")}


def numer(result: pd.DataFrame, pid: int, group: int = 0, episode: int | None = None) -> bool | None:
    """True/False: in the denominator and in the numerator or not; None: not in the denominator."""
    o = outcome(result, pid, group, episode)
    if not o or not o["denominator"] or o["denominator-exclusion"]:
        return None
    return o["numerator"]


def evaluate(measure_id: str, builder: Builder, period: str = "2025",
             extra: dict[str, list[tuple[str, str]]] | None = None) -> pd.DataFrame:
    from carenet_desktop.metrics.period import Period
    from tests.measure_catalogue import get_measure

    return get_measure(measure_id).evaluate(builder.data(extra), Period.parse(period))
