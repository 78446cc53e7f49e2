"""One judgement of a practice's rate, used by the window, both PDFs and the spreadsheets.

Every rate gets exactly one status, decided in this order:

1. **too few to say** — no rate, or a rate base under ``MIN_BASE`` (11: the small-cell threshold; 5 of 6
   is 83% but says nothing);
2. **meets target** — there is a network target and the rate is at or beyond it in the measure's
   direction (at or below it for lower-is-better measures);
3. **better / worse than the network** — the network rate lies outside the practice's Wilson 95% interval.
   This is the same test as the 95% funnel limits around the network rate (the Wilson interval is exactly
   the set of rates p0 for which |rate − p0| ≤ 1.96·√(p0(1−p0)/n)), so the interval in the table and the
   funnel in the network report can never disagree;
4. **no difference** — otherwise: the practice and the network differ by no more than chance.

Pure: numpy/pandas over plain counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from .statistics import SMALL_CELL_MAX, Z95, wilson_interval

#: the smallest rate base judged at all
MIN_BASE = SMALL_CELL_MAX + 1


class Status(StrEnum):
    """The judgement of one rate; the value is the word shown everywhere."""

    MEETS_TARGET = "Meets target"
    BETTER = "Better than network"
    NO_DIFFERENCE = "No difference"
    WORSE = "Worse than network"
    TOO_FEW = "Too few to say"

    @property
    def tone(self) -> str:
        """"good", "bad" or "neutral": how the status is coloured."""
        if self in (Status.MEETS_TARGET, Status.BETTER):
            return "good"
        return "bad" if self is Status.WORSE else "neutral"


#: the order of the headline counts (and of a legend)
ORDER: tuple[Status, ...] = (Status.MEETS_TARGET, Status.BETTER, Status.NO_DIFFERENCE, Status.WORSE,
                             Status.TOO_FEW)

#: one sentence per status, for footnotes and tooltips
MEANING: dict[Status, str] = {
    Status.MEETS_TARGET: "at or beyond the network's target (in the measure's direction)",
    Status.BETTER: "better than the network rate beyond chance (95% interval); no target, or not met",
    Status.NO_DIFFERENCE: "within chance of the network rate (95% interval); no target, or not met",
    Status.WORSE: "worse than the network rate beyond chance (95% interval); no target, or not met",
    Status.TOO_FEW: f"fewer than {MIN_BASE} children or episodes in the rate: too few to judge",
}

LEGEND = ("Status: " + "; ".join(f"{s.value}: {MEANING[s]}" for s in ORDER)
          + ". The 95% interval test is the same as the 95% funnel limits around the network rate.")


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def judge_one(numerator: Any, rate_base: Any, network_rate: Any, target: Any = None,
              direction: str = "increase") -> Status:
    """The status of one rate (plain values; None/NaN = missing)."""
    frame = pd.DataFrame({"numerator": [numerator], "rate_base": [rate_base], "network_rate": [network_rate],
                          "target": [target], "direction": [direction]})
    return Status(judge(frame).iloc[0])


def judge(rows: pd.DataFrame) -> pd.Series:
    """The status (its word) of every row of ``rows``: columns ``numerator``, ``rate_base``,
    ``network_rate``, ``target`` (optional) and ``direction`` ("increase"/"decrease", optional)."""
    if rows.empty:
        return pd.Series([], index=rows.index, dtype=object)
    x = pd.to_numeric(rows["numerator"], errors="coerce").astype(float).to_numpy()
    n = pd.to_numeric(rows["rate_base"], errors="coerce").astype(float).to_numpy()
    network = pd.to_numeric(rows["network_rate"], errors="coerce").astype(float).to_numpy()
    target = (pd.to_numeric(rows["target"], errors="coerce").astype(float).to_numpy() if "target" in rows
              else np.full(len(rows), np.nan))
    down = (rows["direction"] == "decrease").to_numpy() if "direction" in rows else np.zeros(len(rows), bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
        low, high = wilson_interval(np.nan_to_num(x), np.nan_to_num(n), Z95)
        meets = ~np.isnan(target) & np.where(down, rate <= target, rate >= target)
        # the network rate outside the practice's interval: the practice is above (or below) the network
        above, below = network < low, network > high
    better = np.where(down, below, above)
    worse = np.where(down, above, below)
    too_few = np.isnan(rate) | np.isnan(n) | (n < MIN_BASE)
    status = np.select(
        [too_few, meets, ~np.isnan(network) & better, ~np.isnan(network) & worse],
        [Status.TOO_FEW.value, Status.MEETS_TARGET.value, Status.BETTER.value, Status.WORSE.value],
        default=Status.NO_DIFFERENCE.value,
    )
    return pd.Series(status, index=rows.index, dtype=object)


def counts(statuses: Iterable[Any]) -> dict[Status, int]:
    """How many rates have each status (every status present, in ``ORDER``)."""
    seen = [Status(s) for s in statuses if not _missing(s)]
    return {s: seen.count(s) for s in ORDER}


def headline(statuses: Iterable[Any]) -> str:
    """The headline, the same in the window and the PDF: "24 rates — Meets target: 9 · Better than …"."""
    tally = counts(statuses)
    total = sum(tally.values())
    return f"{total} rates — " + " · ".join(f"{s.value}: {tally[s]}" for s in ORDER)


def explain(row: Mapping[str, Any]) -> str:
    """One sentence saying why a row got its status (for tooltips)."""
    status = Status(row["status"]) if not _missing(row.get("status")) else Status.TOO_FEW
    base: Any = row.get("rate_base")
    rate: Any = row.get("rate")
    network: Any = row.get("network_rate")
    target: Any = row.get("target")
    if status is Status.TOO_FEW:
        return f"{status.value}: {MEANING[status]}."
    lines = [f"{status.value}: {MEANING[status]}."]
    if not _missing(rate) and not _missing(base):
        low, high = wilson_interval([float(row.get("numerator") or 0)], [float(base)], Z95)
        lines.append(f"Rate {float(rate) * 100:.1f}% (95% interval {low[0] * 100:.1f}–{high[0] * 100:.1f}%)"
                     + (f", network {float(network) * 100:.1f}%" if not _missing(network) else "")
                     + (f", target {float(target) * 100:.1f}%" if not _missing(target) else ", no target") + ".")
    return " ".join(lines)
