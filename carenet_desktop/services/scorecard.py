"""Scorecards: each practice's rates beside the network, benchmarks and targets; equity strata.

Built on the results cache, so a scorecard for any practice and period is served from memory once the
period was computed, and refreshed incrementally after edits.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select

from ..metrics.aggregate import age_band, apply_self_reported, equity_gaps, every_rate, summarize
from ..metrics.catalogue import Catalogue, describe_version, resolve
from ..metrics.custom import Targets
from ..metrics.period import Period
from ..metrics.scorecard import MeasureInfo, scorecard_rows, trend_rows
from ..models import AggregateEntry, Patient, Practice
from ..models.write_guard import is_reader
from .catalogue_source import load_targets
from .context import Progress, ServiceContext, ServiceError
from .permissions import require, visible_practice_ids
from .results import CachedResults, ResultsCache
from .submitted import submitted_totals, submitted_totals_of
from .valuesets import ensure_default_catalogue

STRATA = ("payer", "race", "ethnicity", "language", "sex", "age_band")


def measure_infos(catalogue: Catalogue, targets: Targets | None = None) -> dict[str, MeasureInfo]:
    targets = targets if targets is not None else load_targets(catalogue)
    infos: dict[str, MeasureInfo] = {}
    for m in catalogue.all():
        group_targets = {i: t for i in range(len(m.groups)) if (t := targets.get(m.id, i)) is not None}
        infos[m.id] = MeasureInfo(m.id, m.title, tuple(g.title for g in m.groups), m.improvement, group_targets)
    return infos


def version_labels(catalogue: Catalogue, period: Period, measure_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """{measure id: (version, label)} of the versions that compute ``period``, e.g. ("0.3.000", "CMS117
    0.3.000 (2026 onward; QI-Core 6.0.0)"); what a scorecard and its reports say made each figure."""
    out: dict[str, tuple[str, str]] = {}
    for measure_id in measure_ids:
        try:
            used = resolve(catalogue.get(str(measure_id)), period)
        except KeyError:
            continue
        out[str(measure_id)] = (used.version, describe_version(used))
    return out


class ScorecardService:
    """Scorecard tables for the desktop, the reports and the CLI, over one results cache."""

    def __init__(self, ctx: ServiceContext, cache: ResultsCache | None = None) -> None:
        self.ctx = ctx
        self.cache = cache or ResultsCache(ctx)
        self._infos = measure_infos(ctx.catalogue)
        self._tables: dict[tuple[Period, tuple[str, ...], int, str], pd.DataFrame] = {}
        self._catalogue_checked = False
        self._catalogue_lock = threading.Lock()

    def results(self, period: Period, measure_ids: Sequence[str] | None = None,
                progress: Progress | None = None) -> CachedResults:
        self._check_catalogue()
        return self.cache.results(period, measure_ids, progress)

    def precompute(self, periods: Sequence[Period], measure_ids: Sequence[str] | None = None,
                   progress: Progress | None = None, *, early: bool = False) -> None:
        """Compute the periods not cached yet side by side in the worker processes, if there are any
        (``early``: beside a compute in flight, see ``ResultsCache.precompute``)."""
        require(self.ctx, "aggregates.read")
        self._check_catalogue()
        self.cache.precompute(periods, measure_ids, progress, early=early)

    def _check_catalogue(self) -> None:
        """A store without the shipped code catalogue would score nothing: load it first. Not from a reader
        thread (one writer): the window's ``Session`` loads it when it opens, before any read."""
        if is_reader():
            return
        with self._catalogue_lock:
            if not self._catalogue_checked:
                ensure_default_catalogue(self.ctx)
                self._catalogue_checked = True

    def network_table(self, period: Period, measure_ids: Sequence[str] | None = None,
                      progress: Progress | None = None) -> pd.DataFrame:
        """Every practice x measure x group with network rate, benchmark, target and flags.

        Network figures and benchmarks cover every practice; the rows are only the user's practices."""
        require(self.ctx, "aggregates.read")
        table = self._network_table(period, measure_ids, progress)
        visible = visible_practice_ids(self.ctx)
        return table if visible is None else table[table["practice_id"].isin(visible)].reset_index(drop=True)

    def _network_table(self, period: Period, measure_ids: Sequence[str] | None = None,
                       progress: Progress | None = None) -> pd.DataFrame:
        results = self.results(period, measure_ids, progress)
        # the rows' journal version, and the store's history and definitions: a restored store or another
        # measure version may come back to the same journal version (services/results.py)
        key = (period, results.measure_ids, results.version, self.cache.stamp(results.measure_ids))
        if key not in self._tables:
            computed = results.summary(["practice_id"])
            # a practice's submission package replaces what the office computed for it; its own aggregate
            # entries come last (a manual figure is the most deliberate one). A total the package suppressed
            # (1-10) stays as a row marked suppressed, never dropped nor taken for 0 of 0
            reported, small = submitted_totals(self.ctx, period, results.measure_ids)
            submitted = apply_self_reported(computed, pd.concat([reported, small], ignore_index=True),
                                            source="submitted")
            by_practice = apply_self_reported(submitted, self._aggregate_entries(period, results.measure_ids))
            practices = self._practices()
            # a practice without a child in a rate keeps the rate (too few to say): never silently dropped
            by_practice = every_rate(by_practice, practices["practice_id"].tolist())
            table = scorecard_rows(by_practice, self._infos)
            keys = ["measure", "group_index", "practice_id"]
            marked = table[keys].merge(small[keys].drop_duplicates(), how="left", indicator=True)["_merge"]
            table["suppressed"] = (marked == "both").to_numpy() & (table["source"] == "submitted").to_numpy()
            table = table.merge(practices, on="practice_id", how="left")
            table["measure_title"] = table["measure"].map(lambda m: self._infos[m].title if m in self._infos else m)
            table["group_title"] = [
                self._infos[m].group_titles[int(g)] if m in self._infos and int(g) < len(self._infos[m].group_titles) else ""
                for m, g in zip(table["measure"], table["group_index"], strict=True)
            ]
            versions = version_labels(self.ctx.catalogue, period, pd.unique(table["measure"]))
            table["measure_version"] = table["measure"].map(lambda m: versions.get(m, ("", ""))[0])
            table["version_label"] = table["measure"].map(lambda m: versions.get(m, ("", ""))[1])
            self._tables = {k: v for k, v in self._tables.items() if k[:2] != key[:2]}
            self._tables[key] = table
        return self._tables[key]

    def trend_rows(self, periods: Sequence[Period], keep: Period | None = None,
                   progress: Progress | None = None) -> pd.DataFrame | None:
        """The figures a trend keeps of :meth:`network_table` (counts, rate and interval, the network's
        numerator, base and rate, target and direction, ``practice_code``) of every period of ``periods``
        at once, ``trend_period`` its position: one pass over the periods' practice summaries, the store's
        submitted totals, aggregate entries and practices read once, not for each period. The rows of the
        periods other than ``keep`` are dropped from memory once summarised (their files stay on disk).
        None where a period has no summary rows, or rows in an order other than a summary's (sorted by
        measure, group and practice): the caller builds those period by period."""
        require(self.ctx, "aggregates.read")
        progress = progress or Progress()
        summaries, ids = [], None
        for i, p in enumerate(periods):
            results = self.results(p, None, progress.sub(i / len(periods), (i + 1) / len(periods)))
            summaries.append(results.summary(["practice_id"]).assign(trend_period=i))
            ids = results.measure_ids
            if p != keep:
                self.cache.discard(p)
        keys = ["trend_period", "measure", "group_index", "practice_id"]
        if ids is None or any(part.empty for part in summaries):
            return None
        computed = pd.concat(summaries, ignore_index=True)
        if not computed.sort_values(keys, kind="stable").index.equals(computed.index):
            return None
        reported, small = submitted_totals_of(self.ctx, periods, ids)
        by = ["trend_period"]
        submitted = apply_self_reported(computed, pd.concat([reported, small], ignore_index=True), source="submitted",
                                        by=by)
        by_practice = apply_self_reported(submitted, self._aggregate_entries_of(periods, ids), by=by)
        practices = self._practices()
        by_practice = every_rate(by_practice, practices["practice_id"].tolist(), by=by)
        table = trend_rows(by_practice, self._infos, by=by).merge(practices, on="practice_id", how="left")
        visible = visible_practice_ids(self.ctx)
        return table if visible is None else table[table["practice_id"].isin(visible)].reset_index(drop=True)

    def practice_scorecard(self, practice_code: str, period: Period, measure_ids: Sequence[str] | None = None,
                           progress: Progress | None = None) -> pd.DataFrame:
        table = self._network_table(period, measure_ids, progress)
        rows = table[table["practice_code"] == practice_code]
        if not rows.empty:
            require(self.ctx, "aggregates.read", int(rows["practice_id"].iloc[0]))
        if rows.empty and practice_code not in set(self._practices()["practice_code"]):
            raise ServiceError(f"Unknown practice code: {practice_code}")
        return rows.reset_index(drop=True)

    def strata(self, period: Period, stratum: str, practice_code: str | None = None,
               measure_ids: Sequence[str] | None = None, progress: Progress | None = None) -> pd.DataFrame:
        """Counts and rates by ``stratum`` (payer, race, ethnicity, language, sex, age_band), with the gap
        to the best-served group and whether the difference is beyond chance."""
        if stratum not in STRATA:
            raise ServiceError(f"Cannot stratify by {stratum!r}; choose one of {', '.join(STRATA)}")
        require(self.ctx, "aggregates.read")
        results = self.results(period, measure_ids, progress)
        rows = results.rows
        visible = visible_practice_ids(self.ctx)
        if visible is not None and practice_code is None:
            rows = rows[rows["practice_id"].isin(visible)]
        if practice_code is not None:
            practices = self._practices()
            ids = practices.loc[practices["practice_code"] == practice_code, "practice_id"]
            if ids.empty:
                raise ServiceError(f"Unknown practice code: {practice_code}")
            require(self.ctx, "aggregates.read", int(ids.iloc[0]))
            rows = rows[rows["practice_id"] == int(ids.iloc[0])]
        attrs = self._patient_attributes(period)
        rows = rows.merge(attrs[["patient_id", stratum]], on="patient_id", how="left")
        summary = summarize(rows, by=[stratum])
        pieces = []
        for measure_id, part in summary.groupby("measure", sort=True):
            direction = self.ctx.catalogue.get(str(measure_id)).improvement
            pieces.append(equity_gaps(part, stratum, direction))
        return pd.concat(pieces, ignore_index=True) if pieces else summary

    # --- lookups ----------------------------------------------------------------------------------------

    def practice_codes(self) -> list[str]:
        return [str(c) for c in self._practices()["practice_code"]]

    def _practices(self) -> pd.DataFrame:
        with self.ctx.db.session() as s:
            rows = s.execute(select(Practice.id, Practice.code, Practice.name).order_by(Practice.code)).all()
        return pd.DataFrame(rows, columns=["practice_id", "practice_code", "practice_name"])

    def _aggregate_entries(self, period: Period, measure_ids: Sequence[str]) -> pd.DataFrame:
        """Self-reported counts whose reporting period lies within ``period``, summed per practice."""
        with self.ctx.db.session() as s:
            rows = s.execute(
                select(AggregateEntry.measure_id, AggregateEntry.group_index, AggregateEntry.practice_id,
                       AggregateEntry.denominator, AggregateEntry.numerator, AggregateEntry.exclusions,
                       AggregateEntry.exceptions)
                .where(AggregateEntry.period_start >= period.start, AggregateEntry.period_end <= period.end,
                       AggregateEntry.measure_id.in_(list(measure_ids)))
            ).all()
        return pd.DataFrame(rows, columns=["measure", "group_index", "practice_id", "denominator", "numerator",
                                           "exclusions", "exceptions"])

    def _aggregate_entries_of(self, periods: Sequence[Period], measure_ids: Sequence[str]) -> pd.DataFrame:
        """:meth:`_aggregate_entries` of each of ``periods`` (``trend_period``: its position), read at once."""
        with self.ctx.db.session() as s:
            rows = s.execute(
                select(AggregateEntry.measure_id, AggregateEntry.group_index, AggregateEntry.practice_id,
                       AggregateEntry.denominator, AggregateEntry.numerator, AggregateEntry.exclusions,
                       AggregateEntry.exceptions, AggregateEntry.period_start, AggregateEntry.period_end)
                .where(AggregateEntry.measure_id.in_(list(measure_ids)))
            ).all()
        every = pd.DataFrame(rows, columns=["measure", "group_index", "practice_id", "denominator", "numerator",
                                            "exclusions", "exceptions", "start", "end"])
        pieces = [every[((every["start"] >= p.start) & (every["end"] <= p.end)).to_numpy(dtype=bool)]
                  .drop(columns=["start", "end"]).assign(trend_period=i) for i, p in enumerate(periods)]
        return pd.concat(pieces, ignore_index=True)

    def _patient_attributes(self, period: Period) -> pd.DataFrame:
        with self.ctx.db.session() as s:
            rows = s.execute(
                select(Patient.id, Patient.payer, Patient.race, Patient.ethnicity, Patient.language, Patient.sex,
                       Patient.birth_date)
            ).all()
        frame = pd.DataFrame(rows, columns=["patient_id", "payer", "race", "ethnicity", "language", "sex", "birth_date"])
        frame["age_band"] = age_band(pd.to_datetime(frame["birth_date"]), period.end_ts.normalize())
        return frame
