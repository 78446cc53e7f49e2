"""Drilling into one measure rate: its trend, every practice beside it, its equity strata, and the patients
behind the numbers. Qt-free; the desktop's measure detail view draws what these functions return.

Everything is built on the scorecard service and its results cache: the trend is the scorecard table of
each rolling 12-month period (the last one is the scorecard's own period, already computed), the
comparison is the scorecard table itself, and the equity strata and the patient list are cuts of the
cached result rows. Nothing the cache holds is computed again.
"""

from __future__ import annotations

import datetime as dt
import string
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select

from .. import codes
from ..metrics.aggregate import age_band, equity_gaps, summarize
from ..metrics.catalogue import Catalogue, describe_version, resolve
from ..metrics.definition import Measure
from ..metrics.period import Period, rolling_12_months
from ..metrics.statistics import control_limits
from ..models import Patient, Practice
from ..models.changes import store_state
from . import audit
from .context import Progress, ServiceError
from .definitions import definitions_digest
from .measure_data import load_measure_data
from .permissions import require, visible_practice_ids
from .scorecard import STRATA, ScorecardService
from .timeline import mark
from .trend_store import TrendStore

#: points on a trend line: rolling 12-month periods ending each month, the last ending with the period
TREND_POINTS = 12
#: columns kept from each rolling period's scorecard table
TREND_COLUMNS = ("practice_code", "measure", "group_index", "numerator", "rate_base", "rate", "ci_low", "ci_high",
                 "network_numerator", "network_base", "network_rate", "target", "direction")
STRATUM_TITLES = {"payer": "Payer", "race": "Race", "ethnicity": "Ethnicity", "language": "Language", "sex": "Sex",
                  "age_band": "Age band"}
STATUS_ORDER = ("gap", "numerator", "exclusion", "exception")
STATUS_TITLES = {"gap": "Gap", "numerator": "Met", "exclusion": "Excluded", "exception": "Exception"}


def trend_periods(period: Period, count: int = TREND_POINTS, today: dt.date | None = None) -> list[Period]:
    """The rolling 12-month periods ending each month up to the end of ``period`` (oldest first); for a
    period not over yet (the year to date) up to the current month, never into months still to come."""
    return rolling_12_months(min(period.end, today or dt.date.today()), count)


def trend_table(service: ScorecardService, period: Period, progress: Progress | None = None,
                count: int = TREND_POINTS) -> pd.DataFrame:
    """Every practice's rate of every measure for each rolling 12-month period ending up to ``period``'s
    end (``TREND_COLUMNS`` + ``period_end``): the figures of those periods' scorecard tables, built for
    every period at once (``ScorecardService.trend_rows``; ``by_period_table`` is the same table built
    period by period, each period's scorecard table in full).

    Rows of the periods other than ``period`` are dropped from memory once summarised (their result rows
    stay on disk), so twelve periods cost one period's memory.
    """
    progress = progress or Progress()
    periods = trend_periods(period, count)
    # the periods not computed yet: side by side in the worker processes (the period itself first, so that
    # its frames snapshot is there for them), else in this process, reading the store once between them
    service.precompute([period], progress=progress.sub(0, 0.1))
    service.precompute(periods, progress=progress.sub(0.1, 0.9))
    mark("trend periods computed")
    progress = progress.sub(0.9, 1.0)
    with service.cache.sharing_frames():
        rows = service.trend_rows(periods, keep=period, progress=progress)
        table = (by_period_table(service, period, periods, progress) if rows is None else
                 rows.reindex(columns=list(TREND_COLUMNS)).assign(
                     period_end=np.array([p.end for p in periods], dtype=object)[rows["trend_period"].to_numpy()]))
    progress.report(1.0, "Trend ready")
    mark("trend table built")
    return table


def by_period_table(service: ScorecardService, period: Period, periods: Sequence[Period],
                    progress: Progress | None = None) -> pd.DataFrame:
    """The trend table of :func:`trend_table` built period by period from each period's scorecard table
    (``ScorecardService.trend_rows`` builds it in one pass, where it can)."""
    progress = progress or Progress()
    pieces = []
    for i, p in enumerate(periods):
        progress.report(i / len(periods), f"Trend: 12 months to {p.end:%b %Y}")
        table = service.network_table(p, progress=progress.sub(i / len(periods), (i + 1) / len(periods)))
        if p != period:
            service.cache.discard(p)
        pieces.append(table.reindex(columns=list(TREND_COLUMNS)).assign(period_end=p.end))  # empty: no columns
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=[*TREND_COLUMNS, "period_end"])


def sparklines(trend: pd.DataFrame, practice_code: str) -> dict[tuple[str, int], list[float | None]]:
    """(measure, group) -> the practice's rates over the trend periods (None where there is no rate)."""
    ends = sorted(trend["period_end"].unique()) if len(trend) else []
    mine = trend[trend["practice_code"] == practice_code]
    out: dict[tuple[str, int], list[float | None]] = {}
    for (measure, group), part in mine.groupby(["measure", "group_index"], sort=False):
        by_end = dict(zip(part["period_end"], part["rate"], strict=True))
        out[(str(measure), int(group))] = [_float(by_end.get(e)) for e in ends]
    return out


def every_sparkline(trend: pd.DataFrame) -> dict[str, dict[tuple[str, int], list[float | None]]]:
    """practice code -> its :func:`sparklines`, for every practice of ``trend``, in one pass over its rows
    (``sparklines`` per practice filtered and grouped the whole table once for each: ~0.1 s of the window's
    CPU on the 250,000-patient demo's table, on the way to the sparklines). The same lists: practices and
    their (measure, group) in the order they first appear, None for a period without a rate, the last row
    of a period taken where there are two."""
    if not len(trend):
        return {}
    ends = sorted(trend["period_end"].unique())
    column = {end: i for i, end in enumerate(ends)}
    out: dict[str, dict[tuple[str, int], list[float | None]]] = {}
    for code, measure, group, end, rate in zip(trend["practice_code"].tolist(), trend["measure"].tolist(),
                                               trend["group_index"].tolist(), trend["period_end"].tolist(),
                                               trend["rate"].tolist(), strict=True):
        if _missing(code) or _missing(measure) or _missing(group):  # (``groupby`` leaves those out)
            continue
        series = out.setdefault(str(code), {}).setdefault((str(measure), int(group)), [None] * len(ends))
        series[column[end]] = _float(rate)
    return out


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


@dataclass(frozen=True)
class TrendSeries:
    """One practice's rate of one measure group over rolling 12-month periods, with p-chart limits."""

    period_ends: list[dt.date]
    numerator: np.ndarray
    base: np.ndarray
    rate: np.ndarray  # NaN where there is no denominator
    ci_low: np.ndarray
    ci_high: np.ndarray
    network_rate: np.ndarray
    centre: float  # the p-chart centre line: the practice's pooled rate over the points
    lower3: np.ndarray
    upper3: np.ndarray
    lower2: np.ndarray
    upper2: np.ndarray
    target: float | None
    direction: str
    #: the measure version that computed each point (a rolling period takes the version in force on its
    #: last day); the chart marks where it changes
    versions: list[str] = field(default_factory=list)

    @property
    def version_breaks(self) -> list[tuple[int, str]]:
        """(index of the first point, version) wherever the version differs from the point before."""
        return [(i, v) for i, v in enumerate(self.versions) if i > 0 and v != self.versions[i - 1]]

    @property
    def x(self) -> np.ndarray:
        """Point positions on the chart's axis (0, 1, ...)."""
        return np.arange(len(self.period_ends), dtype=float)

    @property
    def labels(self) -> list[str]:
        return [f"{e:%b %Y}" for e in self.period_ends]


def measure_trend(catalogue: Catalogue, trend: pd.DataFrame, practice_code: str, measure_id: str,
                  group_index: int) -> TrendSeries:
    ends = sorted(trend["period_end"].unique()) if len(trend) else []
    mine = trend[(trend["practice_code"] == practice_code) & (trend["measure"] == measure_id)
                 & (trend["group_index"] == group_index)].set_index("period_end").reindex(ends)
    network = (trend[(trend["measure"] == measure_id) & (trend["group_index"] == group_index)]
               .groupby("period_end")["network_rate"].first().reindex(ends))

    def col(name: str, fill: float = np.nan) -> np.ndarray:
        return pd.to_numeric(mine[name], errors="coerce").fillna(fill).to_numpy(dtype=float)  # type: ignore[no-any-return]

    numerator, base = col("numerator", 0.0), col("rate_base", 0.0)
    centre = float(numerator.sum() / base.sum()) if base.sum() > 0 else float("nan")
    limits = control_limits(centre, base)
    targets = pd.to_numeric(mine["target"], errors="coerce").dropna()
    direction = next((str(d) for d in mine["direction"].dropna()), catalogue.get(measure_id).improvement)
    return TrendSeries(
        period_ends=[pd.Timestamp(e).date() for e in ends], numerator=numerator, base=base,
        rate=np.where(base > 0, col("rate"), np.nan), ci_low=col("ci_low"), ci_high=col("ci_high"),
        network_rate=pd.to_numeric(network, errors="coerce").to_numpy(dtype=float), centre=centre,
        lower3=limits.lower3, upper3=limits.upper3, lower2=limits.lower2, upper2=limits.upper2,
        target=float(targets.iloc[-1]) if len(targets) else None, direction=direction,
        versions=trend_versions(catalogue, measure_id, [pd.Timestamp(e).date() for e in ends]),
    )


def trend_versions(catalogue: Catalogue, measure_id: str, period_ends: Sequence[dt.date]) -> list[str]:
    """The version of ``measure_id`` that computes the rolling 12-month period ending on each date."""
    try:
        measure = catalogue.get(measure_id)
    except KeyError:
        return ["" for _ in period_ends]
    out = []
    for end in period_ends:
        start = (pd.Timestamp(end) - pd.DateOffset(years=1) + pd.Timedelta(days=1)).date()
        out.append(resolve(measure, Period(start, end)).version)
    return out


# --- every practice ------------------------------------------------------------------------------------


def practice_labels(practices: Sequence[tuple[str, str]], may_see: Callable[[str], bool]) -> dict[str, str]:
    """Display names of practices in a comparison: ``"CODE · Name"`` for those the user may see, the
    others "Practice A", "Practice B" ... in code order. The one place that decides (roles plug in here)."""
    labels: dict[str, str] = {}
    hidden = 0
    for code, name in sorted(practices):
        if may_see(code):
            labels[code] = f"{code} · {name}"
        else:
            labels[code] = f"Practice {_letters(hidden)}"
            hidden += 1
    return labels


def _letters(n: int) -> str:
    letters = string.ascii_uppercase
    return letters[n] if n < 26 else _letters(n // 26 - 1) + letters[n % 26]


@dataclass(frozen=True)
class PracticeComparison:
    """Every practice's rate of one measure group with the funnel-plot limits around the network rate."""

    table: pd.DataFrame  # label, practice_code, numerator, rate_base, rate, ci_low, ci_high, position, named
    network_rate: float
    funnel_n: np.ndarray  # denominators at which the funnel limits are drawn
    lower2: np.ndarray
    upper2: np.ndarray
    lower3: np.ndarray
    upper3: np.ndarray
    direction: str
    target: float | None


def practice_comparison(catalogue: Catalogue, table: pd.DataFrame, measure_id: str, group_index: int,
                        may_see: Callable[[str], bool]) -> PracticeComparison:
    """From the scorecard's network table: the practices of one rate, ranked best first, with a position
    against the funnel (``"above 3σ"``, ``"above 2σ"``, ``"within"``, ``"below 2σ"``, ``"below 3σ"``, in
    rate terms; the chart colours it in the measure's direction)."""
    part = table[(table["measure"] == measure_id) & (table["group_index"] == group_index)].copy()
    direction = str(part["direction"].iloc[0]) if len(part) else catalogue.get(measure_id).improvement
    centre = _float(part["network_rate"].iloc[0]) if len(part) else None
    centre = float("nan") if centre is None else centre
    labels = practice_labels(list(zip(part["practice_code"], part["practice_name"], strict=True)), may_see)
    part["label"] = part["practice_code"].map(labels)
    part["named"] = part["practice_code"].map(lambda c: bool(may_see(c)))
    base = part["rate_base"].to_numpy(dtype=float)
    limits = control_limits(centre, base)
    rate = part["rate"].to_numpy(dtype=float)
    part["position"] = np.select(
        [rate > limits.upper3, rate > limits.upper2, rate < limits.lower3, rate < limits.lower2, np.isnan(rate)],
        ["above 3σ", "above 2σ", "below 3σ", "below 2σ", "no rate"], "within")
    ascending = direction == "decrease"
    part = part.sort_values(["rate", "rate_base"], ascending=[ascending, False], na_position="last", kind="stable")
    top = max(float(base.max()) if len(base) else 1.0, 10.0) * 1.15
    funnel_n = np.unique(np.geomspace(1.0, top, 160))
    funnel = control_limits(centre, funnel_n)
    targets = pd.to_numeric(part["target"], errors="coerce").dropna()
    columns = ["label", "practice_code", "numerator", "rate_base", "rate", "ci_low", "ci_high", "position", "named"]
    return PracticeComparison(part[columns].reset_index(drop=True), centre, funnel_n, funnel.lower2, funnel.upper2,
                              funnel.lower3, funnel.upper3, direction,
                              float(targets.iloc[0]) if len(targets) else None)


# --- equity -------------------------------------------------------------------------------------------------


def equity_table(service: ScorecardService, period: Period, measure_id: str, group_index: int,
                 practice_code: str | None, strata: Sequence[str] = STRATA,
                 progress: Progress | None = None) -> pd.DataFrame:
    """One row per stratum value (payer, race, ethnicity, language, sex, age band) of one measure group,
    for one practice (or the network): counts, rate, Wilson interval, the gap to the best-served value
    of the same stratum and whether it is beyond chance (``aggregate.equity_gaps``)."""
    results = service.results(period, progress=progress)
    rows = results.rows
    rows = rows[(rows["measure"] == measure_id) & (rows["group_index"] == group_index)]
    practice_id = _practice_id(service, practice_code) if practice_code is not None else None
    if practice_id is not None:
        rows = rows[rows["practice_id"] == practice_id]
    attrs = _attributes(service, practice_id, period)
    rows = rows.merge(attrs, on="patient_id", how="left")
    direction = service.ctx.catalogue.get(measure_id).improvement
    pieces = []
    for stratum in strata:
        labels = _stratum_labels(stratum)
        summary = summarize(rows.assign(value=rows[stratum].fillna("unknown")), by=["value"])
        gaps = equity_gaps(summary, "value", direction)
        if gaps.empty:
            continue
        gaps.insert(0, "stratum", stratum)
        gaps["stratum_title"] = STRATUM_TITLES[stratum]
        gaps["value_title"] = gaps["value"].map(lambda v, lab=labels: lab.get(str(v), str(v)))
        gaps["best_title"] = gaps["best"].map(lambda v, lab=labels: None if v is None or v != v else lab.get(str(v), str(v)))
        pieces.append(gaps)
    columns = ["stratum", "stratum_title", "value", "value_title", "numerator", "rate_base", "rate", "ci_low",
               "ci_high", "best", "best_title", "gap", "significant", "small"]
    if not pieces:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = pd.concat(pieces, ignore_index=True)[columns]
    return out.sort_values(["stratum", "gap", "value"], key=lambda s: s.map(STRATA.index) if s.name == "stratum" else s,
                           kind="stable").reset_index(drop=True)


def _stratum_labels(stratum: str) -> dict[str, str]:
    return {"payer": codes.PAYER_LABELS, "race": codes.RACE_LABELS, "ethnicity": codes.ETHNICITY_LABELS,
            "sex": codes.SEX_LABELS, "language": codes.LANGUAGE_LABELS}.get(stratum, {})


def _attributes(service: ScorecardService, practice_id: int | None, period: Period) -> pd.DataFrame:
    stmt = select(Patient.id, Patient.payer, Patient.race, Patient.ethnicity, Patient.language, Patient.sex,
                  Patient.birth_date)
    if practice_id is not None:
        stmt = stmt.where(Patient.practice_id == practice_id)
    with service.ctx.db.session() as s:
        found = s.execute(stmt).all()
    frame = pd.DataFrame(found, columns=["patient_id", "payer", "race", "ethnicity", "language", "sex", "birth_date"])
    frame["age_band"] = age_band(pd.to_datetime(frame["birth_date"]), period.end_ts.normalize())
    return frame.drop(columns="birth_date")


def _practice_id(service: ScorecardService, practice_code: str) -> int:
    with service.ctx.db.session() as s:
        found = s.scalar(select(Practice.id).where(Practice.code == practice_code))
    if found is None:
        raise ServiceError(f"Unknown practice code: {practice_code}")
    return int(found)


# --- the patients behind the numbers ------------------------------------------------------------------------

PATIENT_COLUMNS = ("patient_id", "episode_id", "status", "status_title", "why", "due_date", "mrn", "patient_name",
                   "birth_date", "sex", "payer")


@dataclass(frozen=True)
class MeasurePatients:
    table: pd.DataFrame  # PATIENT_COLUMNS, gaps first
    counts: dict[str, int] = field(default_factory=dict)  # status -> rows
    version: str = ""  # the measure version that computed the rate, e.g. "CMS117 0.3.000 (2026 onward; ...)"


def measure_patients(service: ScorecardService, period: Period, measure_id: str, group_index: int,
                     practice_code: str, progress: Progress | None = None) -> MeasurePatients:
    """The patients (or episodes) of one practice's rate: in the numerator, a gap, excluded, or an exception,
    each with why (what a gap misses and by when; the specification's words for the others).

    Patient names are shown to the practice's own staff (like the care-gap worklist) and never logged;
    the view is recorded in the audit trail without naming patients.
    """
    progress = progress or Progress()
    measure = service.ctx.catalogue.get(measure_id)
    if not 0 <= group_index < len(measure.groups):
        raise ServiceError(f"{measure_id} has no rate {group_index + 1}")
    practice_id = _practice_id(service, practice_code)
    require(service.ctx, "patients.read", practice_id)  # names and MRNs: the practice's own staff only
    results = service.results(period, progress=progress.sub(0, 0.3))
    rows = results.rows
    rows = rows[(rows["measure"] == measure_id) & (rows["group_index"] == group_index)
                & (rows["practice_id"] == practice_id)].reset_index(drop=True)

    def flag(name: str) -> np.ndarray:
        return rows[name].astype("boolean").fillna(False).to_numpy(dtype=bool)  # type: ignore[no-any-return]

    denominator = flag("denominator")
    status = np.select(
        [flag("denominator-exclusion"), flag("numerator"), flag("denominator-exception"), denominator],
        ["exclusion", "numerator", "exception", "gap"], "")
    rows = rows.assign(status=status)[status != ""].reset_index(drop=True)
    used = resolve(measure, period)  # the version in force for the period: its words for each status
    rows["why"] = rows["status"].map(_spec_reasons(used, group_index))
    rows["due_date"] = None
    gaps = rows[rows["status"] == "gap"]
    if len(gaps):
        progress.report(0.4, "What each gap misses")
        missing = _gap_reasons(service, measure, period, gaps)
        if len(missing):
            keys = ["patient_id", "episode_id"]
            merged = rows[keys].astype(str).merge(missing.astype({k: str for k in keys}), on=keys, how="left")
            has = merged["missing"].notna().to_numpy()
            rows.loc[has, "why"] = merged.loc[has, "missing"].to_numpy()
            rows.loc[has, "due_date"] = merged.loc[has, "due_date"].to_numpy()
    progress.report(0.8, "Patient details")
    people = _people(service, practice_id)
    table = rows.merge(people, on="patient_id", how="left")
    table["status_title"] = table["status"].map(STATUS_TITLES)
    table["_order"] = table["status"].map(STATUS_ORDER.index)
    table = table.sort_values(["_order", "patient_name", "episode_id"], kind="stable", na_position="last")
    table = table.reset_index(drop=True)[list(PATIENT_COLUMNS)]
    counts = {s: int((table["status"] == s).sum()) for s in STATUS_ORDER}
    with service.ctx.db.session() as s:
        audit.record(s, service.ctx.username, "view", "measure_patients", practice_code, practice_id=practice_id,
                     summary=f"Viewed {len(table)} patients of {measure_id} rate {group_index + 1}, period {period.label}")
    progress.report(1.0, f"{len(table)} patients")
    return MeasurePatients(table, counts, describe_version(used))


def _spec_reasons(measure: Measure, group_index: int) -> dict[str, str]:
    spec = {k.lower(): str(v) for k, v in (getattr(measure, "specification", {}) or {}).items()}
    numerator = spec.get(f"numerator {group_index + 1}") or spec.get("numerator") or measure.groups[group_index].title
    exclusion = spec.get("denominator exclusions") or spec.get("exclusions") or "A denominator exclusion applies"
    exception = spec.get("denominator exceptions") or "A denominator exception applies"
    return {"numerator": f"Met: {numerator}", "exclusion": f"Excluded: {exclusion}",
            "exception": f"Exception: {exception}", "gap": f"Not met: {numerator}"}


def _gap_reasons(service: ScorecardService, measure: Measure, period: Period, gaps: pd.DataFrame) -> pd.DataFrame:
    """What each gap misses and by when (``Measure.gaps``), reading only the gap patients' records."""
    data = load_measure_data(service.ctx.db, patient_id_list=sorted(int(p) for p in gaps["patient_id"].unique()))
    try:
        found = measure.gaps(data, period, gaps)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError):
        return pd.DataFrame(columns=["patient_id", "episode_id", "missing", "due_date"])
    return found[["patient_id", "episode_id", "missing", "due_date"]].drop_duplicates(["patient_id", "episode_id"])


def _people(service: ScorecardService, practice_id: int) -> pd.DataFrame:
    stmt = (select(Patient.id, Patient.mrn, Patient.family_name, Patient.given_name, Patient.birth_date, Patient.sex,
                   Patient.payer).where(Patient.practice_id == practice_id))
    with service.ctx.db.session() as s:
        found = s.execute(stmt).all()
    frame = pd.DataFrame(found, columns=["patient_id", "mrn", "family", "given", "birth_date", "sex", "payer"])
    family, given = frame["family"].fillna("").astype(str), frame["given"].fillna("").astype(str)
    frame["patient_name"] = (family + np.where((family != "") & (given != ""), ", ", "") + given).astype(object)
    frame["sex"] = frame["sex"].map(lambda v: codes.SEX_LABELS.get(v, v))
    frame["payer"] = frame["payer"].map(lambda v: codes.PAYER_LABELS.get(v, v))
    return frame[["patient_id", "mrn", "patient_name", "birth_date", "sex", "payer"]]


def _float(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def visible_only(codes_shown: Collection[str]) -> Callable[[str], bool]:
    """The default visibility rule: practices the window is showing are named, the others anonymised."""
    shown = frozenset(codes_shown)
    return lambda code: code in shown


class TrendTables:
    """Trend tables by period, kept while the data is unchanged (the change journal's version), shared by
    the scorecard's sparklines and the measure detail's trend chart so neither computes them twice."""

    def __init__(self, service: ScorecardService) -> None:
        self.service = service
        self._tables: dict[tuple[Period, tuple[str, int, str]], pd.DataFrame] = {}
        self._lock = threading.Lock()

    def get(self, period: Period, progress: Progress | None = None) -> pd.DataFrame:
        """The trend table of ``period``: kept here, or saved on disk at the journal's version (a warm
        start), or built from the periods' results and saved."""
        with self.service.ctx.db.session() as s:
            history, version = store_state(s)
        stamp = (history, version, definitions_digest(self.service.ctx.catalogue))
        with self._lock:  # a second caller waits for the first instead of computing the same periods
            key = (period, stamp)
            if key not in self._tables:
                store = TrendStore(self.service.cache)
                ids = tuple(m.id for m in self.service.ctx.catalogue.select(None))
                path = store.path(period, trend_periods(period), ids, visible_practice_ids(self.service.ctx))
                table = store.read(path, version)
                if table is None:
                    table = trend_table(self.service, period, progress)
                    with self.service.ctx.db.session() as s:
                        if store_state(s) == (history, version):  # no write landed while it was built
                            store.write(path, version, table)
                self._tables = {k: v for k, v in self._tables.items() if k[0] != period}
                self._tables[key] = table
            return self._tables[key]

    def cached(self, period: Period) -> pd.DataFrame | None:
        """The latest table computed for ``period``, if any (without checking for newer data)."""
        found = [v for k, v in self._tables.items() if k[0] == period]
        return found[-1] if found else None
