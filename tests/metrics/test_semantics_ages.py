"""Issue 21, classes 4 and 5: ages on leap-day (and month-end) birthdays, and the prevalence period of a
condition that is not active and has no abatement (the shared primitives every measure year uses)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carenet_desktop.metrics.libraries import status
from carenet_desktop.metrics.period import Period
from carenet_desktop.metrics.primitives import (
    Iv,
    add_years,
    age_in_months_at,
    age_in_years_at,
    overlaps,
    starts_before,
)

Y2025 = Period.year(2025)


# --- class 4: leap-day birthdays -----------------------------------------------------------------------


@pytest.mark.parametrize(("born", "on", "years"), [
    ("2012-02-29", "2025-02-28", 13),  # the anniversary of Feb 29 in a non-leap year is Feb 28 (CQL)
    ("2012-02-29", "2025-02-27", 12),
    ("2012-02-29", "2024-02-28", 11),  # a leap year has its Feb 29
    ("2012-02-29", "2024-02-29", 12),
    ("2012-03-01", "2025-02-28", 12),
    ("2012-03-01", "2025-03-01", 13),
])
def test_age_in_years_on_a_leap_day_birthday(born: str, on: str, years: int) -> None:
    assert age_in_years_at(pd.Series(pd.to_datetime([born])), on).tolist() == [years]


def test_age_agrees_with_date_arithmetic() -> None:
    """birth date + n years is the day the child turns n (both clamp Feb 29 to Feb 28)."""
    born = pd.Series(pd.to_datetime(["2012-02-29", "2020-02-29", "2011-08-31", "2016-01-31"]))
    for n in (1, 2, 3, 13):
        birthday = add_years(born, n)
        assert age_in_years_at(born, birthday).tolist() == [n] * 4
        assert age_in_years_at(born, birthday - pd.Timedelta(days=1)).tolist() == [n - 1] * 4


@pytest.mark.parametrize(("born", "on", "months"), [
    ("2025-01-31", "2025-02-28", 1),  # a month after Jan 31 is Feb 28
    ("2025-01-31", "2025-02-27", 0),
    ("2024-01-31", "2024-02-29", 1),
    ("2023-12-31", "2024-04-30", 4),
    ("2023-12-31", "2024-04-29", 3),
])
def test_age_in_months_clamps_the_monthly_anniversary(born: str, on: str, months: int) -> None:
    assert age_in_months_at(pd.Series(pd.to_datetime([born])), on).tolist() == [months]


# --- class 5: conditions that are not active and have no abatement -------------------------------------


def _conditions(rows: list[tuple[str | None, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": np.arange(len(rows)),
        "clinical_status": [r[0] for r in rows],
        "onset": pd.to_datetime([r[1] for r in rows]),
        "abatement": pd.to_datetime([r[2] for r in rows]),
    })


def test_prevalence_of_inactive_conditions_without_abatement_is_null() -> None:
    cond = _conditions([
        ("active", "2025-03-01", None),  # ongoing: counts
        ("resolved", "2025-03-01", None),  # NULL prevalence (reference engine): never counts
        ("inactive", "2025-03-01", None),
        ("remission", "2024-03-01", None),
        (None, "2025-03-01", None),  # no clinical status at all
        ("resolved", "2025-03-01", "2025-04-01"),  # an abatement: [onset, abatement]
        ("inactive", "2024-01-01", "2024-06-01"),  # ended before the period
        ("relapse", None, None),  # active without onset or abatement: all of time
    ])
    iv = status.prevalence_interval(cond)
    assert overlaps(iv, Y2025).tolist() == [True, False, False, False, False, True, False, True]
    assert iv.is_null().tolist() == [False, True, True, True, True, False, False, False]
    assert overlaps(iv, Y2025, precision="day").tolist() == [True, False, False, False, False, True, False, True]
    # and so no onset either: "starts before" / "start of" see nothing
    assert starts_before(iv, Iv.points(pd.Series(pd.to_datetime(["2026-01-01"] * 8)))).tolist() == [
        True, False, False, False, False, True, True, True]
