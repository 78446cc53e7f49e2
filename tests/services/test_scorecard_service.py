"""Scorecard tables: every practice beside the network, consistent with the raw counts; equity strata."""

from __future__ import annotations

import pandas as pd
import pytest

from carenet_desktop.metrics.period import Period
from carenet_desktop.services.context import ServiceError
from carenet_desktop.services.practices import list_practices
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.services.scorecard import ScorecardService
from tests.measure_catalogue import CATALOGUE

PERIOD = Period.year(2025)
MEASURES = ["CMS117", "LSC", "W30"]


@pytest.fixture
def service(demo_ctx, tmp_path):
    return ScorecardService(demo_ctx, ResultsCache(demo_ctx, cache_dir=tmp_path / "cache"))


def test_network_table_has_every_practice_and_consistent_network_rate(service, demo_ctx):
    table = service.network_table(PERIOD, MEASURES)
    codes = {p.code for p in list_practices(demo_ctx)}
    assert set(table["practice_code"]) == codes
    for (_measure, _group), part in table.groupby(["measure", "group_index"]):
        pooled = part["numerator"].sum() / part["rate_base"].sum()
        assert part["network_rate"].iloc[0] == pytest.approx(pooled)
        assert (part["rate_base"] == part["denominator"] - part["exclusions"] - part["exceptions"]).all()
    assert set(table.loc[table["measure"] == "W30", "group_title"]) and "" not in set(table["group_title"])


def test_practice_scorecard_and_unknown_practice(service, demo_ctx):
    code = list_practices(demo_ctx)[0].code
    card = service.practice_scorecard(code, PERIOD, MEASURES)
    assert set(card["measure"]) == set(MEASURES) and (card["practice_code"] == code).all()
    assert (card["target"].notna()).any()  # network targets are attached
    with pytest.raises(ServiceError, match="Unknown practice"):
        service.practice_scorecard("NOPE", PERIOD, MEASURES)


def test_strata_add_up_to_the_total(service):
    total = service.network_table(PERIOD, MEASURES).groupby(["measure", "group_index"])["numerator"].sum()
    for stratum in ("payer", "race", "age_band"):
        strata = service.strata(PERIOD, stratum, measure_ids=MEASURES)
        assert strata.groupby(["measure", "group_index"])["numerator"].sum().equals(total)
        assert {"best", "gap", "significant"} <= set(strata.columns)
    with pytest.raises(ServiceError, match="Cannot stratify"):
        service.strata(PERIOD, "shoe_size", measure_ids=MEASURES)


def test_aggregate_entries_flow_into_the_scorecard(service, demo_ctx):
    import datetime as dt

    from carenet_desktop.models import AggregateEntry
    from carenet_desktop.services.practices import list_practices

    practice = list_practices(demo_ctx)[-1]
    with demo_ctx.db.session() as s:
        s.query(AggregateEntry).delete()
        for month in (1, 2):
            s.add(AggregateEntry(practice_id=practice.id, measure_id="LSC", group_index=0,
                                 period_start=dt.date(2025, month, 1), period_end=dt.date(2025, month, 28),
                                 denominator=20, numerator=15, entered_by="tester"))
    card = service.practice_scorecard(practice.code, PERIOD, MEASURES).set_index("measure")
    assert card.loc["LSC", "source"] == "self-reported"
    assert (card.loc["LSC", "denominator"], card.loc["LSC", "numerator"]) == (40, 30)
    assert card.loc["CMS117", "source"] == "computed"


def test_a_store_without_value_sets_gets_the_shipped_catalogue(demo_ctx, tmp_path):
    from sqlalchemy import delete, func, select

    from carenet_desktop.models import ValueSet

    with demo_ctx.db.session() as s:
        s.execute(delete(ValueSet))
    service = ScorecardService(demo_ctx, ResultsCache(demo_ctx, cache_dir=tmp_path / "c2"))
    table = service.network_table(PERIOD, ["LSC"])
    assert table["numerator"].sum() > 0
    with demo_ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ValueSet)) > 100


def test_a_trend_reads_the_store_once_and_gives_the_periods_own_results(demo_ctx, tmp_path, monkeypatch):
    """The twelve rolling periods share one load of the frames; each period's figures are the same as when
    it is computed alone."""
    import pandas as pd

    from carenet_desktop.services import frames_cache
    from carenet_desktop.services.measure_detail import trend_periods, trend_table

    loads = []
    real = frames_cache.load_measure_data_cached
    monkeypatch.setattr(frames_cache, "load_measure_data_cached",
                        lambda db, folder=None, **kw: loads.append(1) or real(db, folder, **kw))
    period = Period.year(2025)
    measures = ["CMS117", "LSC"]
    shared = ScorecardService(demo_ctx, ResultsCache(demo_ctx, cache_dir=tmp_path / "a"))
    table = trend_table(shared, period, count=4)  # (every measure's: those compared below among them)
    assert len(loads) == 1  # four periods computed, the store read once
    for p in trend_periods(period, 4):
        alone = ScorecardService(demo_ctx, ResultsCache(demo_ctx, cache_dir=tmp_path / f"b{p.end}"))
        expected = alone.network_table(p, measures)[["practice_code", "measure", "group_index", "numerator",
                                                     "rate_base"]].reset_index(drop=True)
        got = table[(table["period_end"] == p.end) & table["measure"].isin(measures)][list(expected.columns)]
        got = got.reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert len(loads) == 5  # sharing ended with the trend: each lone period read the store itself


@pytest.mark.parametrize(("period", "version"), [(Period.year(2025), "0.1.000"), (Period.year(2026), "0.3.000")])
def test_the_scorecard_says_which_version_made_each_figure(service, period, version):
    table = service.network_table(period, ["CMS117", "W30"])
    cms117 = table[table["measure"] == "CMS117"]
    assert set(cms117["measure_version"]) == {version}
    assert all(label.startswith(f"CMS117 {version} (") for label in cms117["version_label"])
    assert set(table.loc[table["measure"] == "W30", "measure_version"]) == {"2026.1"}


def test_a_trend_across_the_version_boundary_marks_the_break():
    import datetime as dt

    import pandas as pd

    from carenet_desktop.services.measure_detail import measure_trend

    ends = [dt.date(2025, 11, 30), dt.date(2025, 12, 31), dt.date(2026, 1, 31), dt.date(2026, 2, 28)]
    trend = pd.DataFrame({"practice_code": "P1", "measure": "CMS117", "group_index": 0, "period_end": ends,
                          "numerator": 5, "rate_base": 10, "rate": 0.5, "ci_low": 0.2, "ci_high": 0.8,
                          "target": None, "direction": "increase", "network_rate": 0.5})
    series = measure_trend(CATALOGUE, trend, "P1", "CMS117", 0)
    assert series.versions == ["0.1.000", "0.1.000", "0.3.000", "0.3.000"]
    assert series.version_breaks == [(2, "0.3.000")]
    assert measure_trend(CATALOGUE, trend.assign(measure="CMS154"), "P1", "CMS154", 0).version_breaks == []


@pytest.mark.parametrize(("period", "version"), [(Period.year(2025), "0.1.000"), (Period.year(2026), "0.3.000")])
def test_the_drill_down_names_the_version_that_computed_the_rate(service, demo_ctx, period, version):
    """The patient list behind a rate says which version made it (the window shows it beside the counts)."""
    from carenet_desktop.services.measure_detail import measure_patients

    practice = list_practices(demo_ctx)[0].code
    found = measure_patients(service, period, "CMS117", 0, practice)
    assert found.version.startswith(f"CMS117 {version} ("), found.version


def test_a_rate_without_children_at_a_practice_is_kept_as_too_few_to_say(service, demo_ctx):
    """Issue 23: a rate is never dropped from a practice's scorecard. A practice with no child in it (here a
    new practice with no patients at all) lists every rate the network reports, 0 of 0, too few to say;
    the network's figures are unchanged by it."""
    from carenet_desktop.metrics.judgement import Status
    from carenet_desktop.models import Practice

    before = service.network_table(PERIOD, MEASURES)
    with demo_ctx.db.session() as s:
        s.add(Practice(code="P900", name="New Practice"))
    fresh = ScorecardService(demo_ctx, ResultsCache(demo_ctx))
    table = fresh.network_table(PERIOD, MEASURES)
    rates = {(m, int(g)) for m, g in zip(before["measure"], before["group_index"], strict=True)}
    for _code, part in table.groupby("practice_code"):
        assert {(m, int(g)) for m, g in zip(part["measure"], part["group_index"], strict=True)} == rates
    new = fresh.practice_scorecard("P900", PERIOD, MEASURES)
    assert len(new) == len(rates)
    assert (new["numerator"] == 0).all() and (new["rate_base"] == 0).all() and new["rate"].isna().all()
    assert set(new["status"]) == {Status.TOO_FEW.value}
    old = before.set_index(["practice_code", "measure", "group_index"])
    kept = table[table["practice_code"] != "P900"].set_index(["practice_code", "measure", "group_index"])
    for column in ("numerator", "rate_base", "network_rate", "benchmark", "status"):
        assert kept.loc[old.index, column].equals(old[column]), column


def _well_visit_measure(min_age: int) -> dict[str, object]:
    """A network measure defined as data: children of ``min_age``-17 with a well-care visit in the period."""
    return {
        "format": "carenet-measure/1", "id": "TSTAMP", "title": "Stamp test: well visit",
        "version": f"test.{min_age}", "direction": "increase",
        "population": {"age": {"at": "period-end", "min_years": min_age, "max_years": 17}},
        "numerator": {"codes": ["cpt|99393", "cpt|99392"], "records": ["encounters"], "window": "period"},
        "exclusions": [],
    }


def test_an_edited_measure_and_a_new_history_still_change_the_table(demo_ctx, tmp_path, monkeypatch):
    """The results cache keeps the definitions' digest for the catalogue it was taken of: a measure file
    edited (the session reloads the catalogue) gives another stamp and the edited measure's figures, and a
    new store history another stamp."""
    import json

    from carenet_desktop.models.changes import renew_history
    from carenet_desktop.services import catalogue_source

    folder = tmp_path / "measures"
    folder.mkdir()
    monkeypatch.setenv("CARENET_MEASURES", str(folder))
    (folder / "stamp.json").write_text(json.dumps(_well_visit_measure(2)), encoding="utf-8")
    catalogue_source.reload(demo_ctx)
    service = ScorecardService(demo_ctx, ResultsCache(demo_ctx, cache_dir=tmp_path / "cache"))
    columns = ["practice_code", "group_index", "numerator", "rate_base"]
    before = service.network_table(PERIOD, ["TSTAMP"])[columns]
    stamp = service.cache.stamp(("TSTAMP",))
    assert service.cache.stamp(("TSTAMP",)) == stamp

    (folder / "stamp.json").write_text(json.dumps(_well_visit_measure(12)), encoding="utf-8")
    catalogue_source.reload(demo_ctx)
    edited = service.cache.stamp(("TSTAMP",))
    assert edited != stamp
    after = service.network_table(PERIOD, ["TSTAMP"])[columns]
    assert after["rate_base"].sum() < before["rate_base"].sum()  # fewer children of 12-17 than of 2-17
    fresh = ScorecardService(demo_ctx, ResultsCache(demo_ctx, cache_dir=tmp_path / "fresh"))
    pd.testing.assert_frame_equal(after, fresh.network_table(PERIOD, ["TSTAMP"])[columns])

    with demo_ctx.db.session() as s:
        renew_history(s)
    assert service.cache.stamp(("TSTAMP",)) not in (stamp, edited)
