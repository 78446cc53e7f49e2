"""AMR Asthma medication ratio, ages 5-18 (CareNet network, after HEDIS AMR)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..catalogue import register
from ..data import MeasureData
from ..definition import Group, Measure
from ..libraries import hospice
from ..memo import ANY_PERIOD, remember
from ..period import Period
from ..primitives import MIN_TS, _by_uniques
from . import _network_common as nc

RATIO_THRESHOLD = 0.50
UNIT_DAYS = 30  # one unit of medication per started 30 days of supply
MIN_MEDICATION_DAYS_FOR_ASTHMA = 4


def medication_units(data: MeasureData) -> pd.DataFrame:
    """Asthma medication events as ``(patient_id, day, controller, units, dispensed)``: completed dispenses and
    active/completed medication orders of the controller or reliever value sets. Of every patient and date:
    the same in every period, so derived once for all the periods of an evaluation (``ANY_PERIOD``)."""
    controller = data.valuesets.keys(nc.ASTHMA_CONTROLLER)
    reliever = data.valuesets.keys(nc.ASTHMA_RELIEVER)
    return remember((data.medication_dispenses, data.medication_requests), ("AMR medication units", controller, reliever),
                    lambda: _medication_units(data, controller, reliever), period=ANY_PERIOD, for_pass=True)


def _medication_units(data: MeasureData, controller: frozenset[str], reliever: frozenset[str]) -> pd.DataFrame:
    parts = []
    for record, supply in (("medication_dispenses", "days_supply"), ("medication_requests", "supply_days")):
        frame: pd.DataFrame = getattr(data, record)
        if frame.empty:
            continue
        mask = nc.done_mask(frame, record)
        if record == "medication_requests":
            mask = mask & _intent_order(frame)
        is_ctrl = nc.key_mask(frame, controller)
        mask = mask & (is_ctrl | nc.key_mask(frame, reliever))
        sub = nc.dated_rows(frame, mask, record, supply)
        days = pd.to_numeric(sub[supply], errors="coerce").to_numpy(dtype=float)
        units = np.where(np.isfinite(days) & (days > 0), np.ceil(days / UNIT_DAYS), 1.0)
        parts.append(pd.DataFrame({
            "patient_id": sub["patient_id"].to_numpy(), "day": nc.event_dates(sub, record).to_numpy(),
            "controller": is_ctrl[mask], "units": units, "dispensed": record == "medication_dispenses",
        }))
    if not parts:
        return pd.DataFrame({"patient_id": pd.Series(dtype="int64"), "day": pd.Series(dtype="datetime64[ns]"),
                             "controller": pd.Series(dtype=bool), "units": pd.Series(dtype=float),
                             "dispensed": pd.Series(dtype=bool)})
    out = pd.concat(parts, ignore_index=True)
    return out.dropna(subset=["day"])


def _intent_order(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose ``intent`` is "order" in any case (missing: not): tested on the column's distinct values (its
    codes factorised once), not row by row as the strings."""
    return _by_uniques(frame["intent"], lambda value: str(value).lower() == "order", frame, "intent")


@register
class AMR(Measure):
    id = "AMR"
    title = "Asthma Medication Ratio (5-18)"
    version = "2026.1"
    steward = "CareNet network, after HEDIS/AAP Bright Futures"
    description = ("Patients aged 5 to 18 with persistent asthma whose controller medications were at least half "
                   "of their asthma medications in the period.")
    source = "network"
    groups = (Group("Controller / total asthma medication ratio of 0.50 or more", code="AMR"),)
    valuesets = (nc.ASTHMA, nc.PERSISTENT_ASTHMA, nc.ASTHMA_EXCLUSIONS, nc.ASTHMA_CONTROLLER, nc.ASTHMA_RELIEVER,
                 *hospice.VALUESETS)
    specification = nc.spec(
        source="CareNet network measure after NCQA HEDIS AMR (ages narrowed to the network's 5-18).",
        ages="5 through 18 years (whole years) on the last day of the period.",
        anchor="The measurement period and the year before it (the look-back for persistent asthma).",
        denominator="Patients in the age window with persistent asthma - a persistent-asthma diagnosis (ICD-10 "
                    "J45.3x/J45.4x/J45.5x or SNOMED mild/moderate/severe persistent asthma) active at any time in the "
                    "period or the year before, or any asthma diagnosis then together with asthma medications on at "
                    "least 4 different days in that time - and at least one asthma medication in the period.",
        numerator="Units of controller medication divided by units of all asthma medication (controllers + "
                  "relievers) in the period is 0.50 or more. A dispensing or order is one unit per started 30 days of "
                  "supply (one unit when the supply is unknown). Dispensings are used when the patient has any asthma "
                  "dispensing in the period; otherwise medication orders (active/completed, intent order).",
        exclusions="An emphysema, COPD, cystic fibrosis or bronchopulmonary dysplasia diagnosis active on or before "
                   "the end of the period; " + nc.STANDARD_EXCLUSIONS_TEXT,
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        p = nc.people(data)
        start, end = period.start_ts, pd.Timestamp(period.end)
        lookback = start - pd.DateOffset(years=1)
        age = nc.age_years_at(p["birth"], end)
        p = p[(age >= 5) & (age <= 18)]
        meds = medication_units(data)
        meds = meds[meds["patient_id"].isin(p["patient_id"])]
        in_lookback = meds[nc.day_in(meds["day"], lookback, end)]
        med_days = in_lookback.groupby("patient_id")["day"].nunique()
        persistent = nc.condition_patients(data, [nc.PERSISTENT_ASTHMA], lookback, end)
        asthma = nc.condition_patients(data, [nc.ASTHMA], lookback, end)
        by_meds = asthma.intersection(med_days.index[med_days >= MIN_MEDICATION_DAYS_FOR_ASTHMA])
        in_period = meds[nc.day_in(meds["day"], start, end)]
        eligible = persistent.union(by_meds).intersection(pd.Index(pd.unique(in_period["patient_id"])))
        sub = p[p["patient_id"].isin(eligible)]

        # ratio over the period: dispensings where the patient has any, else orders
        has_dispense = in_period.groupby("patient_id")["dispensed"].any()
        use = in_period["dispensed"].to_numpy() == has_dispense.reindex(in_period["patient_id"]).to_numpy()
        counted = in_period[use]
        total = counted.groupby("patient_id")["units"].sum()
        ctrl = counted[counted["controller"]].groupby("patient_id")["units"].sum().reindex(total.index, fill_value=0)
        ratio = (ctrl / total).reindex(sub["patient_id"]).to_numpy(dtype=float)

        excluded = nc.in_index(sub["patient_id"], nc.condition_patients(data, [nc.ASTHMA_EXCLUSIONS], MIN_TS, end))
        excluded = excluded | nc.standard_exclusions(data, period, sub["patient_id"], sub["deceased"])
        with np.errstate(invalid="ignore"):
            met = np.nan_to_num(ratio, nan=0.0) >= RATIO_THRESHOLD
        return [nc.population_frame(sub["patient_id"], initial_population=True, denominator=True,
                                    denominator_exclusion=excluded, numerator=met)]
