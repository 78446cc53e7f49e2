"""Measure years in tests: the same patient evaluated for 2025 and for 2026, over one store that holds both
years' value sets side by side (the published expansions of ``../shared/oracle`` and ``oracle-2026``).

Not a test module. ``both_years_index()`` is the two-year ``ValueSetIndex`` (each measure version reads its
own year's expansion through its manifest); ``by_year(builder, measure_id)`` evaluates a builder's patients
at 2025 and at 2026 with the catalogue's measure (so each period by the version in force for it).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pandas as pd
import pytest

from carenet_desktop.metrics.period import Period
from carenet_desktop.metrics.valuesets import ValueSetIndex
from carenet_desktop.services.valuesets import iter_valuesets, parse_valueset
from tests.measure_catalogue import get_measure
from tests.metrics.network_builders import Builder
from tests.oracle_support import ORACLE_2026_DIR, ORACLE_DIR, oracle_available, valueset_files

YEARS = (2025, 2026)

needs_both_oracles = pytest.mark.skipif(
    not (oracle_available(ORACLE_DIR) and oracle_available(ORACLE_2026_DIR)),
    reason="the published value sets of both years (../shared/oracle, ../shared/oracle-2026) are needed")


@cache
def both_years_index() -> ValueSetIndex:
    index = ValueSetIndex()
    for folder in (ORACLE_DIR, ORACLE_2026_DIR):
        for path in valueset_files(folder):
            for vs in iter_valuesets(json.loads(path.read_text(encoding="utf-8"))):
                parsed = parse_valueset(vs)
                index.add(parsed.url, [(s, c) for s, c, _ in parsed.codes], version=parsed.version or "",
                          expansion=parsed.expansion)
    return index


def by_year(builder: Builder, measure_id: str) -> dict[int, pd.DataFrame]:
    """{year: result rows} of ``measure_id`` for the measurement years 2025 and 2026."""
    data = builder.data()
    data.valuesets = both_years_index()
    measure = get_measure(measure_id)
    return {year: measure.evaluate(data, Period.year(year)) for year in YEARS}


def state(result: pd.DataFrame, pid: int, group: int = 0) -> dict[str, Any]:
    """The populations of a patient in one group, episodes summed ({} when not in the initial population)."""
    rows = result[(result["patient_id"] == pid) & (result["group_index"] == group)]
    if rows.empty:
        return {}
    out: dict[str, Any] = {}
    for pop in ("initial-population", "denominator", "denominator-exclusion", "denominator-exception", "numerator"):
        column = rows[pop]
        out[pop] = None if column.isna().all() else int(column.fillna(False).astype(bool).sum())
    return out


def flags(result: pd.DataFrame, pid: int, group: int = 0) -> tuple[int, int, int]:
    """(initial population, exclusion or exception, numerator) counts of a patient: a compact answer."""
    s = state(result, pid, group)
    if not s:
        return (0, 0, 0)
    return (s["initial-population"], (s["denominator-exclusion"] or 0) + (s["denominator-exception"] or 0),
            s["numerator"])


def codes(year: int, url: str) -> frozenset[str]:
    """The codes of a value set in ``year``'s manifest (to check a test's codes are where it says)."""
    from carenet_desktop.metrics import manifests

    return both_years_index().pinned(manifests.MANIFESTS[year]).keys(url)
