"""The care-gap worklist service on the small demo network: membership, joins, window, audit, export."""

from __future__ import annotations

import csv
import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from carenet_desktop.metrics import gaps as gapkit
from carenet_desktop.metrics.engine import evaluate_measures
from carenet_desktop.metrics.measures import cms117
from carenet_desktop.metrics.period import Period
from carenet_desktop.models import AuditLog, Patient, Practice
from carenet_desktop.services.context import ServiceError
from carenet_desktop.services.gaps import (
    WORKLIST_COLUMNS,
    care_gaps,
    export_care_gaps,
    neutralise,
    write_worklist,
)
from carenet_desktop.services.measure_data import load_measure_data
from tests.measure_catalogue import get_measure

AS_OF = dt.date(2026, 6, 30)  # the demo's data end
P2026 = Period.year(2026)
KEY = ["measure", "group_index", "patient_id", "episode_id"]


def _practice(ctx) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        row = s.execute(select(Practice.id, Practice.code).order_by(Practice.code)).first()
    assert row is not None
    return int(row[0]), str(row[1])


def _audits(ctx) -> list[AuditLog]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.entity == "care_gaps").order_by(AuditLog.id)))
        s.expunge_all()
    return rows


def _keys(frame: pd.DataFrame) -> set[tuple[str, int, int, str]]:
    return {(m, int(gi), int(p), str(e)) for m, gi, p, e in frame[KEY].itertuples(index=False, name=None)}


def test_every_gap_is_an_open_denominator_member_and_nothing_else(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    practice_id, code = _practice(demo_ctx)
    table = care_gaps(demo_ctx, P2026, code, as_of=AS_OF, closable_only=False)
    assert list(table.columns) == list(WORKLIST_COLUMNS)
    assert not table.attrs["failures"]
    data = load_measure_data(demo_ctx.db, practice_id_list=[practice_id])
    measures = demo_ctx.catalogue.all()
    rows = evaluate_measures(data, P2026, measures).rows
    expected = gapkit.open_members(rows)
    expected = expected[~expected["measure"].map(lambda m: get_measure(m).improvement == "decrease")]
    assert len(table) > 100
    in_period = table[[k in _keys(expected) for k in
                       ((m, int(g), int(p), str(e)) for m, g, p, e in table[KEY].itertuples(index=False))]]
    assert _keys(in_period) == _keys(expected)
    assert len(in_period) == len(expected)  # one row per gap
    ahead = table.drop(in_period.index)  # children whose deadline is near but not in the period's denominator
    assert (ahead["status"] == "upcoming").all()
    assert ahead["measure"].map(lambda m: hasattr(get_measure(m), "upcoming_gaps")).all()
    assert set(table["practice_code"]) == {code}
    assert table["patient_name"].str.len().gt(0).all() and table["mrn"].notna().all()
    due = pd.to_datetime(table["due_date"])
    assert due.is_monotonic_increasing
    assert (table["status"] == "overdue").eq(due < pd.Timestamp(AS_OF)).all()
    assert (table["days_left"] == (due - pd.Timestamp(AS_OF)).dt.days).all()


def test_closed_episodes_are_not_listed(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    """Gaps no outreach can close are left out: past-encounter measures (pharyngitis testing, URI
    treatment, MDD-visit assessment) always, referral and ADHD follow-up windows once they are over."""
    _, code = _practice(demo_ctx)
    everything = care_gaps(demo_ctx, P2026, code, as_of=AS_OF, closable_only=False)
    table = care_gaps(demo_ctx, P2026, code, as_of=AS_OF)
    assert {"CMS146", "CMS154"} <= set(everything["measure"])  # the demo has such episodes
    assert not {"CMS146", "CMS154", "CMS177"} & set(table["measure"])
    past = pd.to_datetime(everything["due_date"]) < pd.Timestamp(AS_OF)
    expired = everything[past.to_numpy() & everything["measure"].isin(["REF", "CMS136"]).to_numpy()]
    assert len(expired) > 0
    assert _keys(expired).isdisjoint(_keys(table))
    still_open = everything[~past.to_numpy() & everything["measure"].isin(["REF"]).to_numpy()]
    assert _keys(still_open) <= _keys(table)
    kept = everything[~everything["measure"].isin(["CMS146", "CMS154", "CMS177", "REF", "CMS136"])]
    assert _keys(kept) <= _keys(table)  # overdue vaccines and screenings stay: catch-up is still care


def test_status_marks_gaps_due_soon_as_upcoming(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    """"Upcoming" = due within the window (30 days without one), before it is overdue."""
    _, code = _practice(demo_ctx)
    table = care_gaps(demo_ctx, P2026, code, as_of=AS_OF)
    due = pd.to_datetime(table["due_date"])
    soon = (due >= pd.Timestamp(AS_OF)) & (due <= pd.Timestamp(AS_OF + dt.timedelta(days=30)))
    assert soon.any()
    assert (table["status"] == "upcoming").eq(soon).all()
    assert (table.loc[~soon & (due >= pd.Timestamp(AS_OF)), "status"] == "open").all()


def test_worklist_joins_the_patients_own_details(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    _, code = _practice(demo_ctx)
    table = care_gaps(demo_ctx, P2026, code, ["LSC"], as_of=AS_OF)
    assert not table.empty
    row = table.iloc[0]
    with demo_ctx.db.session() as s:
        patient = s.get(Patient, int(row["patient_id"]))
        assert patient is not None
        assert row["mrn"] == patient.mrn
        assert row["patient_name"] == f"{patient.family_name}, {patient.given_name}"
        assert row["birth_date"] == patient.birth_date
        assert row["payer"] == patient.payer
    assert row["missing"] == "Blood lead test" and row["measure_title"] == get_measure("LSC").title


def test_due_within_keeps_the_window_and_adds_upcoming(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    _, code = _practice(demo_ctx)
    n = 60
    table = care_gaps(demo_ctx, P2026, code, due_within=n, as_of=AS_OF)
    due = pd.to_datetime(table["due_date"])
    assert not table.empty
    assert (due >= pd.Timestamp(AS_OF)).all() and (due <= pd.Timestamp(AS_OF + dt.timedelta(days=n))).all()
    assert not table.duplicated(KEY).any()
    everything = care_gaps(demo_ctx, P2026, code, as_of=AS_OF)
    in_window = gapkit.within(everything, gapkit.window(AS_OF, n))
    assert _keys(in_window) <= _keys(table)
    # every gap of the window is due soon: "upcoming", whether already a gap of the period or not
    assert set(table["status"]) == {"upcoming"}


def test_upcoming_cms117_children_are_in_the_next_period(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    # late December: children turning 2 in early January are not in the 2026 denominator yet
    _, code = _practice(demo_ctx)
    as_of = dt.date(2026, 12, 20)
    table = care_gaps(demo_ctx, P2026, code, ["CMS117", "LSC"], due_within=40, as_of=as_of)
    upcoming = table[table["status"] == "upcoming"]
    assert set(upcoming["measure"]) == {"CMS117", "LSC"}
    assert (pd.to_datetime(upcoming["due_date"]) > pd.Timestamp(P2026.end)).any()


def test_view_and_export_are_audited_without_patient_data(demo_ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    practice_id, code = _practice(demo_ctx)
    table = care_gaps(demo_ctx, P2026, code, ["CMS117", "W30"], as_of=AS_OF)
    export_care_gaps(demo_ctx, tmp_path / "gaps.csv", P2026, code, ["W30"], as_of=AS_OF)
    entries = _audits(demo_ctx)
    assert [e.action for e in entries] == ["view", "export"]
    assert all(e.username == "tester" and e.entity_id == code and e.practice_id == practice_id for e in entries)
    assert f"{len(table)} care gaps" in (entries[0].summary or "")
    assert "gaps.csv" in (entries[1].summary or "")
    for entry in entries:
        text = entry.summary or ""
        for name in table["patient_name"]:
            assert name not in text
        for mrn in table["mrn"]:
            assert mrn not in text


def test_unknown_practice_or_measure_is_a_user_error(demo_ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError, match="practice"):
        care_gaps(demo_ctx, P2026, "NOPE", as_of=AS_OF)
    with pytest.raises(ServiceError, match="Unknown measure"):
        care_gaps(demo_ctx, P2026, None, ["NOPE"], as_of=AS_OF)
    with pytest.raises(ServiceError, match=r"\.csv or \.xlsx"):
        export_care_gaps(demo_ctx, tmp_path / "gaps.pdf", P2026, as_of=AS_OF)
    assert not (tmp_path / "gaps.pdf").exists()


def test_cms117_gap_text_agrees_with_its_numerator(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    """The per-vaccine rules of the gap text are the numerator's: no shortfall exactly when in it."""
    data = load_measure_data(demo_ctx.db)
    measure = get_measure("CMS117")
    rows = measure.evaluate(data, P2026)
    assert len(rows) > 20
    ids = pd.Index(rows["patient_id"].to_numpy(), name="patient_id")
    win = cms117._windows(data.patients[data.patients["patient_id"].isin(ids)]).reindex(ids)
    text = cms117._shortfall_text(data, ids, win)
    assert ((text == "") == rows["numerator"].to_numpy(dtype=bool)).all()


# ---------------------------------------------------------------------------------------- export


def _worklist(*missing: str) -> pd.DataFrame:
    n = len(missing)
    return pd.DataFrame({
        "practice_code": ["P1"] * n, "measure": ["LSC"] * n, "measure_title": ["Lead"] * n, "group_index": [0] * n,
        "group_title": ["Blood lead test"] * n, "patient_id": list(range(1, n + 1)), "episode_id": [pd.NA] * n,
        "mrn": ["-42"] + ["M1"] * (n - 1), "patient_name": ["=HYPERLINK(\"x\")"] + ["Doe, Jane"] * (n - 1),
        "birth_date": [dt.date(2024, 2, 29)] * n, "provider": ["@SUM(A1)"] + ["Dr A"] * (n - 1),
        "payer": ["+medicaid"] + ["medicaid"] * (n - 1), "missing": list(missing),
        "due_date": [dt.date(2026, 2, 28)] * n, "days_left": pd.array([-3] * n, dtype="Int64"),
        "status": ["overdue"] * n,
    })


@pytest.mark.parametrize(("value", "safe"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("Blood lead test", "Blood lead test"),
    (5, 5), (None, None),
])
def test_neutralise(value, safe) -> None:  # type: ignore[no-untyped-def]
    assert neutralise(value) == safe


def test_csv_neutralises_formulas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "g.csv"
    write_worklist(_worklist("=cmd|' /C calc'!A0", "Blood lead test"), path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["Missing"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["Patient"] == "'=HYPERLINK(\"x\")"
    assert rows[0]["MRN"] == "'-42" and rows[0]["Provider"] == "'@SUM(A1)" and rows[0]["Payer"] == "'+medicaid"
    assert rows[0]["Days left"] == "-3"  # numbers are not text: left alone
    assert rows[1]["Missing"] == "Blood lead test" and rows[1]["Due by"] == "2026-02-28"
    assert "patient_id" not in rows[0]


def test_xlsx_bold_frozen_header_dates_and_neutralised_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    path = tmp_path / "g.xlsx"
    write_worklist(_worklist("-1 dose", "Blood lead test"), path)
    ws = load_workbook(path).active
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Practice", "Measure", "Rate"] and "Due by" in header
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    due = ws.cell(row=2, column=header.index("Due by") + 1)
    assert due.value.date() == dt.date(2026, 2, 28) and due.number_format == "yyyy-mm-dd"
    born = ws.cell(row=2, column=header.index("Birth date") + 1)
    assert born.number_format == "yyyy-mm-dd"
    assert ws.cell(row=2, column=header.index("Missing") + 1).value == "'-1 dose"
    assert ws.cell(row=2, column=header.index("Patient") + 1).value == "'=HYPERLINK(\"x\")"
    assert ws.cell(row=2, column=header.index("Days left") + 1).value == -3
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_adhd_follow_up_gaps_are_due_at_the_end_of_their_phase(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.metrics.measures import cms136

    data = load_measure_data(demo_ctx.db)
    measure = get_measure("CMS136")
    rows = measure.evaluate(data, P2026)
    gaps = measure.gaps(data, P2026, rows)
    assert len(gaps) > 0
    ipsd = cms136.index_prescriptions(data, P2026)
    missed_first = set(gaps.loc[gaps["group_index"] == 0, "patient_id"])
    for gap in gaps.itertuples():
        start = ipsd.loc[gap.patient_id]
        days = cms136.CONTINUATION_DAYS if gap.group_index == 1 and gap.patient_id not in missed_first \
            else cms136.INITIATION_DAYS
        assert gap.due_date == (start + pd.Timedelta(days=days)).date()
        assert gap.missing.startswith("ADHD follow-up visit")
