"""The trend table built for every period at once (``ScorecardService.trend_rows``) is the one built period by
period from each period's full scorecard table (``measure_detail.by_period_table``), value for value and
dtype for dtype: self-reported entries and submitted totals (suppressed ones too) of some periods only, a
practice without a single patient, a measure only reported on paper, periods across the 2025/2026 measure
versions, a user who sees only some practices."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import AggregateEntry, Practice, Submission, SubmittedAggregate
from carenet_desktop.services import measure_detail
from carenet_desktop.services.context import AuthenticatedUser
from carenet_desktop.services.measure_detail import TREND_COLUMNS, by_period_table, trend_periods, trend_table
from carenet_desktop.services.permissions import CLINICIAN
from carenet_desktop.services.practices import list_practices
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.services.scorecard import ScorecardService

#: rolling periods ending July 2025 .. June 2026: the versions of 2025 and of 2026
PERIOD = Period(dt.date(2025, 7, 1), dt.date(2026, 6, 30))


def _entry(practice_id: int, measure: str, start: dt.date, end: dt.date, denominator: int, numerator: int,
           group: int = 0, exclusions: int = 0) -> AggregateEntry:
    return AggregateEntry(practice_id=practice_id, measure_id=measure, group_index=group, period_start=start,
                          period_end=end, denominator=denominator, numerator=numerator, exclusions=exclusions,
                          entered_by="tester")


def _submission(s, practice_id: int, period: Period, totals, status: str = "current") -> None:  # type: ignore[no-untyped-def]
    sub = Submission(practice_id=practice_id, period_label=period.label, period_start=period.start,
                     period_end=period.end, format_version=1, manifest_sha256="0" * 64, key_fingerprint="f",
                     status=status)
    s.add(sub)
    s.flush()
    for measure, group, counts, suppressed in totals:
        ip, den, excl, exc, num = counts if counts is not None else (None,) * 5
        s.add(SubmittedAggregate(submission_id=sub.id, measure_id=measure, group_index=group, suppressed=suppressed,
                                 initial_population=ip, denominator=den, exclusions=excl, exceptions=exc,
                                 numerator=num))


def _reported_data(ctx) -> None:  # type: ignore[no-untyped-def]
    practices = list_practices(ctx)
    first, second, last = practices[0].id, practices[1].id, practices[-1].id
    periods = trend_periods(PERIOD)
    with ctx.db.session() as s:
        s.add(Practice(code="ZZEMPTY", name="A practice without patients"))
        # monthly entries: in the periods that hold their month only
        for month in (1, 3, 9):
            s.add(_entry(last, "LSC", dt.date(2025, month, 1), dt.date(2025, month, 28), 20, 15))
        s.add(_entry(second, "CMS117", dt.date(2026, 2, 1), dt.date(2026, 2, 28), 30, 12, exclusions=2))
        s.add(_entry(second, "CMS117", dt.date(2025, 6, 1), dt.date(2026, 5, 31), 7, 7))  # a whole year
        # a measure this practice reports only on paper, in one month
        s.add(_entry(first, "W30", dt.date(2025, 11, 1), dt.date(2025, 11, 30), 9, 4, group=1))
        # submitted totals of some trend periods, one suppressed, one replaced by a self-reported entry
        _submission(s, first, periods[3], [("CMS117", 0, (50, 48, 3, 1, 30), False),
                                           ("LSC", 0, None, True)])
        _submission(s, second, periods[-1], [("CMS117", 0, (40, 40, 0, 0, 35), False),
                                             ("W30", 0, (12, 12, 1, 0, 9), False)])
        _submission(s, first, periods[5], [("LSC", 0, (8, 8, 0, 0, 8), False)], status="superseded")
        # another period ending with a trend period's end: of none of them
        _submission(s, last, Period(dt.date(2025, 10, 1), periods[6].end), [("LSC", 0, (5, 5, 0, 0, 5), False)])


def _both_ways(ctx, tmp_path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
    at_once = trend_table(ScorecardService(ctx, ResultsCache(ctx, cache_dir=tmp_path / name)), PERIOD)
    alone = ScorecardService(ctx, ResultsCache(ctx, cache_dir=tmp_path / name))  # (read from the files)
    by_period = by_period_table(alone, PERIOD, trend_periods(PERIOD))
    return at_once, by_period


def test_the_trend_built_at_once_is_the_one_built_period_by_period(demo_ctx, tmp_path, monkeypatch):
    _reported_data(demo_ctx)
    built = []
    monkeypatch.setattr(measure_detail, "by_period_table",
                        lambda *a, f=by_period_table, **k: built.append(1) or f(*a, **k))
    at_once, by_period = _both_ways(demo_ctx, tmp_path, "a")
    assert not built  # the one pass, not the period-by-period fallback
    assert list(at_once.columns) == [*TREND_COLUMNS, "period_end"]
    pd.testing.assert_frame_equal(at_once, by_period, check_exact=True)
    # what the data above puts in it, so the comparison is not of two empty or unchanged tables
    assert len(at_once["period_end"].unique()) == 12
    assert "ZZEMPTY" in set(at_once["practice_code"])
    assert at_once.loc[at_once["practice_code"] == "ZZEMPTY", "rate"].isna().all()
    paper = at_once[(at_once["measure"] == "W30") & (at_once["group_index"] == 1)
                    & (at_once["practice_code"] == list_practices(demo_ctx)[0].code)]
    assert set(paper.loc[paper["numerator"] == 4, "period_end"]) == {p.end for p in trend_periods(PERIOD)[4:]}
    second = list_practices(demo_ctx)[1].code
    last = at_once[(at_once["practice_code"] == second) & (at_once["measure"] == "CMS117")
                   & (at_once["period_end"] == PERIOD.end)]
    assert last["numerator"].tolist() == [12]  # the submitted total (35), replaced by the entry of February
    w30 = at_once[(at_once["practice_code"] == second) & (at_once["measure"] == "W30") & (at_once["group_index"] == 0)]
    assert w30.loc[w30["period_end"] == PERIOD.end, "numerator"].tolist() == [9]  # submitted


def test_a_user_of_some_practices_gets_the_same_trend_both_ways(demo_ctx, tmp_path):
    _reported_data(demo_ctx)
    shown = frozenset(p.id for p in list_practices(demo_ctx)[:2])
    ctx = dataclasses.replace(demo_ctx, user=AuthenticatedUser(1, "tester", CLINICIAN, shown))
    at_once, by_period = _both_ways(ctx, tmp_path, "b")
    pd.testing.assert_frame_equal(at_once, by_period, check_exact=True)
    assert len(set(at_once["practice_code"])) == 2


def test_a_period_without_rows_is_built_period_by_period(demo_ctx, tmp_path, monkeypatch):
    """A period whose summary has no rows (a store without patients then): the table period by period."""
    _reported_data(demo_ctx)
    service = ScorecardService(demo_ctx, ResultsCache(demo_ctx, cache_dir=tmp_path / "c"))
    real = service.results
    empty_end = trend_periods(PERIOD)[2].end

    def results(p, measure_ids=None, progress=None):  # type: ignore[no-untyped-def]
        found = real(p, measure_ids, progress)
        if p.end == empty_end:
            summary = found.summary(["practice_id"])
            found._summaries[("practice_id",)] = summary.iloc[:0]
        return found

    monkeypatch.setattr(service, "results", results)
    assert service.trend_rows(trend_periods(PERIOD)) is None
