"""Small-cell suppression for anything that leaves the practice. Pure pandas.

A cell (one measure x group x stratum row of counts) is suppressed when any count it publishes (initial
population, denominator, exclusions, exceptions, numerator) or a complement of them (denominator minus
numerator: the children who miss; initial population minus denominator; the rate's base minus the numerator)
is between 1 and 10: every count and the rate are blanked. A suppressed cell must not be recoverable by
subtraction either, so within each stratification (e.g. the payer strata of one measure and group),
if exactly one stratum is suppressed the next smallest stratum is suppressed too ("complementary"
suppression): a stratification then has none or at least two hidden cells, and the total minus the
published strata no longer pins any one of them down. This is also safe when the total itself is hidden,
because a hidden total can be rebuilt from another stratification that was published in full.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SMALL_CELL_MIN = 1
SMALL_CELL_MAX = 10

#: count columns blanked in a suppressed cell (those present in the frame)
SUPPRESSED_COLUMNS = ("initial_population", "denominator", "exclusions", "exceptions", "numerator", "rate_base",
                      "rate", "ci_low", "ci_high")

#: why a cell is blank: "" (published), "small cell", "complementary"
PRIMARY = "small cell"
COMPLEMENTARY = "complementary"


def is_small(counts: pd.Series, low: int = SMALL_CELL_MIN, high: int = SMALL_CELL_MAX) -> pd.Series:
    values = pd.to_numeric(counts, errors="coerce")
    return ((values >= low) & (values <= high)).fillna(False).astype(bool)


#: counts a cell publishes
COUNT_COLUMNS = ("initial_population", "denominator", "exclusions", "exceptions", "numerator")
#: differences of published counts that are counts of people too: (larger, smaller...)
COMPLEMENTS = (("denominator", ("numerator",)), ("initial_population", ("denominator",)),
               ("denominator", ("exclusions", "exceptions")), ("denominator", ("exclusions", "exceptions", "numerator")))


def small_anywhere(cells: pd.DataFrame, low: int = SMALL_CELL_MIN, high: int = SMALL_CELL_MAX) -> pd.Series:
    """Rows publishing a count of ``low``..``high`` people: any count column, or a difference of them (the
    denominator minus the numerator — those who miss — and the other complements in ``COMPLEMENTS``)."""
    small = pd.Series(False, index=cells.index)
    for col in COUNT_COLUMNS:
        if col in cells.columns:
            small |= is_small(cells[col], low, high)
    for larger, smaller in COMPLEMENTS:
        if larger in cells.columns and all(c in cells.columns for c in smaller):
            rest = pd.to_numeric(cells[larger], errors="coerce")
            for c in smaller:
                rest = rest - pd.to_numeric(cells[c], errors="coerce").fillna(0)
            small |= is_small(rest, low, high)
    return small


def suppress_small_cells(
    cells: pd.DataFrame,
    keys: Sequence[str] = ("measure", "group_index"),
    *,
    stratifier: str = "stratifier",
    low: int = SMALL_CELL_MIN,
    high: int = SMALL_CELL_MAX,
) -> pd.DataFrame:
    """``cells`` with a ``suppression`` column ("", "small cell", "complementary") and the counts of
    every suppressed row blanked (<NA>; rates NaN).

    ``cells`` holds ``numerator`` and ``denominator`` per row; ``keys`` name one table (a measure and
    group, and the period if several are mixed) and ``stratifier`` the column that says which
    stratification a row belongs to: "" for the total row, else e.g. "payer" (rows of one
    stratification together cover the total).
    """
    out = cells.copy().reset_index(drop=True)
    primary = small_anywhere(out, low, high)
    reason = np.where(primary, PRIMARY, "").astype(object)
    strata = out[out[stratifier].fillna("") != ""]
    for _, part in strata.groupby([*keys, stratifier], sort=False, dropna=False):
        hidden = reason[part.index] != ""
        if hidden.sum() != 1:
            continue
        candidates = part[~hidden]
        if candidates.empty:  # the lone stratum is the total: hide the total rows of this table too
            total = _total_rows(out, part.iloc[0], keys, stratifier)
            reason[total[reason[total] == ""]] = COMPLEMENTARY
            continue
        nonzero = candidates[pd.to_numeric(candidates["denominator"], errors="coerce").fillna(0) > 0]
        pool = nonzero if not nonzero.empty else candidates
        order = pool.assign(
            _d=pd.to_numeric(pool["denominator"], errors="coerce").fillna(0),
            _n=pd.to_numeric(pool["numerator"], errors="coerce").fillna(0),
        ).sort_values(["_d", "_n"], kind="stable")
        reason[order.index[0]] = COMPLEMENTARY
    out["suppression"] = reason
    return blank_suppressed(out)


def _total_rows(frame: pd.DataFrame, row: pd.Series, keys: Sequence[str], stratifier: str) -> np.ndarray:
    mask = frame[stratifier].fillna("") == ""
    for key in keys:
        mask &= frame[key] == row[key]
    return np.flatnonzero(mask.to_numpy())


def blank_suppressed(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts of rows whose ``suppression`` is not empty set to <NA> (integers) or NaN (rates)."""
    out = frame.copy()
    hidden = out["suppression"].fillna("") != ""
    for col in SUPPRESSED_COLUMNS:
        if col not in out.columns:
            continue
        if col in ("rate", "ci_low", "ci_high"):
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float).mask(hidden)
        else:
            out[col] = pd.array(pd.to_numeric(out[col], errors="coerce"), dtype="Int64")
            out.loc[hidden, col] = pd.NA
    return out
