"""From per-patient (or per-episode) result rows to counts and rates by practice, provider, network
and stratum, with Wilson intervals and equity gaps. Pure pandas.

Result rows are those of ``Measure.evaluate`` (``definition.RESULT_COLUMNS``); grouping columns such as
``practice_id``, ``provider_id``, ``payer`` or ``race`` are joined from the patients frame first with
``attach_patient_columns``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .definition import POPULATIONS
from .statistics import SMALL_CELL_MAX, Direction, is_better, wilson_interval

COUNT_COLUMNS = {
    "initial-population": "initial_population",
    "denominator": "denominator",
    "denominator-exclusion": "exclusions",
    "denominator-exception": "exceptions",
    "numerator": "numerator",
}

AGE_BANDS = ((0, 2, "0-2"), (3, 5, "3-5"), (6, 11, "6-11"), (12, 17, "12-17"), (18, 21, "18-21"), (22, 200, "22+"))


def attach_patient_columns(rows: pd.DataFrame, patients: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Add patient attributes (practice, provider, demographics) to result rows."""
    wanted = [c for c in columns if c not in rows.columns]
    if not wanted:
        return rows
    return rows.merge(patients[["patient_id", *wanted]], on="patient_id", how="left")


def age_band(birth_dates: pd.Series, at: pd.Timestamp) -> pd.Series:
    """Age band labels (whole years at ``at``) for the equity panel."""
    birth = pd.to_datetime(birth_dates)
    years = at.year - birth.dt.year - ((birth.dt.month > at.month) | ((birth.dt.month == at.month) & (birth.dt.day > at.day)))
    labels = pd.Series("unknown", index=birth_dates.index, dtype=object)
    for low, high, label in AGE_BANDS:
        labels[(years >= low) & (years <= high)] = label
    return labels


def summarize(rows: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Counts per measure, group and ``by`` columns, with the performance rate and its Wilson interval.

    The rate's base is the denominator minus exclusions and exceptions (the eCQM performance rate).
    Populations a measure does not have (all <NA>) sum to 0.
    """
    keys = ["measure", "group_index", *by]
    counts = rows[keys].copy()
    for pop, name in COUNT_COLUMNS.items():
        counts[name] = rows[pop].fillna(False).astype(int) if pop in rows.columns else 0
    return with_rates(counts.groupby(keys, dropna=False, sort=True, observed=True).sum().reset_index())


def with_rates(out: pd.DataFrame) -> pd.DataFrame:
    """``out`` (the keys and ``COUNT_COLUMNS`` counts of :func:`summarize`) with the rate base, the rate and
    its Wilson interval added: the columns :func:`summarize` ends with."""
    base = out["denominator"] - out["exclusions"] - out["exceptions"]
    out["rate_base"] = base
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate"] = np.where(base > 0, out["numerator"] / base.where(base > 0, 1), np.nan)
    out["ci_low"], out["ci_high"] = wilson_interval(out["numerator"], base)
    return out


def equity_gaps(summary: pd.DataFrame, stratum: str, direction: Direction = "increase", min_base: int = 1,
                rank_min: int = SMALL_CELL_MAX + 1) -> pd.DataFrame:
    """For each measure/group, the gap between every stratum and the best-served one.

    ``gap`` is how far a stratum is from the best rate (positive = worse, for either direction);
    ``significant`` is True when the two Wilson intervals do not overlap, a conservative sign that the
    difference is real. Groups with a rate base under ``rank_min`` (the small-cell threshold: fewer than
    11) are kept but never ranked: ``small`` is True, they cannot be the best, and their gap is NaN.
    """
    frame = summary[summary["rate_base"] >= min_base].copy()
    if frame.empty:
        return frame.assign(best=pd.Series(dtype=object), gap=pd.Series(dtype=float),
                            significant=pd.Series(dtype=bool), small=pd.Series(dtype=bool))
    pieces = []
    for _, part in frame.groupby(["measure", "group_index"], sort=True):
        part = part.copy()
        small = (part["rate_base"] < rank_min).to_numpy()
        part["small"] = small
        ranked = part[~small]
        if ranked.empty:
            part["best"], part["gap"], part["significant"] = None, np.nan, False
            pieces.append(part)
            continue
        best_pos = ranked["rate"].idxmax() if direction == "increase" else ranked["rate"].idxmin()
        best = part.loc[best_pos]
        part["best"] = best[stratum]
        gap = (best["rate"] - part["rate"]) if direction == "increase" else (part["rate"] - best["rate"])
        part["gap"] = gap.where(~small)
        worse = is_better(best["rate"], part["rate"], direction)
        no_overlap = (part["ci_high"] < best["ci_low"]) if direction == "increase" else (part["ci_low"] > best["ci_high"])
        part["significant"] = worse & no_overlap.to_numpy() & ~small
        pieces.append(part)
    return pd.concat(pieces, ignore_index=True)


def episodes_per_patient(rows: pd.DataFrame) -> pd.DataFrame:
    """Per patient x measure x group counts (episodes counted), for patient-level output."""
    keys = ["measure", "group_index", "patient_id"]
    present = [p for p in POPULATIONS if p in rows.columns]
    has = rows.groupby(["measure", "group_index"])[present].agg(lambda s: s.notna().any())
    counts = rows[keys].copy()
    for pop in present:
        counts[pop] = rows[pop].fillna(False).astype(int)
    out = counts.groupby(keys, sort=True).sum().reset_index()
    for pop in present:
        flags = has[pop].reindex(pd.MultiIndex.from_frame(out[["measure", "group_index"]])).to_numpy()
        out[pop] = out[pop].astype("Int64").where(flags, pd.NA)
    return out


def apply_self_reported(summary: pd.DataFrame, entries: pd.DataFrame, source: str = "self-reported",
                        by: Sequence[str] = ()) -> pd.DataFrame:
    """Put a practice's self-reported counts (aggregate entries, already summed over the period) in place
    of the computed counts for the same practice, measure and group, and mark every row's ``source``.

    ``entries`` has measure, group_index, practice_id, denominator, numerator, exclusions, exceptions
    (and initial_population, else the denominator stands for it). A practice that reports a measure only
    on paper has nothing computed for it, so the entry adds a row. ``source`` marks the rows replaced:
    "self-reported", or "submitted" for the counts of a practice's submission package at the office.
    Rows already marked by an earlier call keep their mark. ``by``: columns (e.g. a trend's period) that
    key both frames besides the practice, measure and group: several summaries put in place at once, each
    as alone (for rows sorted by them and the keys, as a summary's are).
    """
    out = summary.copy()
    if "source" not in out.columns:
        out["source"] = "computed"
    if entries.empty:
        return out
    keys = [*by, "measure", "group_index", "practice_id"]
    counts = ["denominator", "numerator", "exclusions", "exceptions"]
    if "initial_population" in entries.columns:
        counts.append("initial_population")
    reported = entries.groupby(keys, sort=True)[counts].sum().reset_index()
    if "initial_population" not in reported.columns:
        reported["initial_population"] = reported["denominator"]
    reported["source"] = source
    merged = out.merge(reported[keys], on=keys, how="left", indicator=True)
    kept = out[(merged["_merge"] == "left_only").to_numpy()]
    combined = pd.concat([kept, reported], ignore_index=True)
    base = combined["denominator"] - combined["exclusions"] - combined["exceptions"]
    combined["rate_base"] = base
    with np.errstate(divide="ignore", invalid="ignore"):
        combined["rate"] = np.where(base > 0, combined["numerator"] / base.where(base > 0, 1), np.nan)
    combined["ci_low"], combined["ci_high"] = wilson_interval(combined["numerator"], base)
    return combined.sort_values(keys, kind="stable").reset_index(drop=True)


def every_rate(by_practice: pd.DataFrame, practice_ids: Sequence[int], by: Sequence[str] = ()) -> pd.DataFrame:
    """``by_practice`` (counts per measure, group and practice) with a row for every practice of
    ``practice_ids`` in every rate the table has: a practice without a single child (or episode) in a rate
    gets zero counts and no rate, so a scorecard shows that rate as too few to say instead of leaving it
    out (its headline then counts every rate the network reports). ``by``: as ``apply_self_reported``'s
    (the rates of each value of ``by``: a trend's periods filled at once)."""
    keys = [*by, "measure", "group_index", "practice_id"]
    if by_practice.empty or not len(practice_ids):
        return by_practice
    rates = by_practice[[*by, "measure", "group_index"]].drop_duplicates()
    practices = pd.Series(list(practice_ids), dtype=by_practice["practice_id"].dtype)
    # every rate x every practice (rate by rate), less the rows there are
    grid = rates.iloc[np.repeat(np.arange(len(rates)), len(practices))].reset_index(drop=True)
    grid["practice_id"] = np.tile(practices.to_numpy(), len(rates))
    held = pd.MultiIndex.from_frame(by_practice[keys]).unique()
    missing = grid[held.get_indexer(pd.MultiIndex.from_frame(grid)) < 0].reset_index(drop=True)
    if missing.empty:
        return by_practice
    for column in by_practice.columns:
        if column in keys:
            continue
        if column in (*COUNT_COLUMNS.values(), "rate_base"):
            missing[column] = 0
        elif column == "source":
            missing[column] = "computed"
        else:
            missing[column] = np.nan
    filled = pd.concat([by_practice, missing[list(by_practice.columns)]], ignore_index=True)
    return filled.sort_values(keys, kind="stable").reset_index(drop=True)
