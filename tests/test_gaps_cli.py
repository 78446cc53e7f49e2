"""`carenet gaps`: writes the worklist as CSV and Excel, filters by measure and due window, one-line errors."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import shutil
import sys

import pytest

from carenet_desktop.cli import UserError, build_parser, gaps_cmd
from carenet_desktop.cli import main as cli_main
from carenet_desktop.cli.common import TerminalProgress
from tests.stores import demo_store


def run(argv: list[str]) -> int:
    """``carenet gaps ...`` through the real entry point."""
    return cli_main(argv)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A 600-patient demo network with the default code catalogue (as tests/services/conftest.py)."""
    return demo_store(tmp_path_factory)


@pytest.fixture
def demo_db(demo_file, tmp_path):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    return copy


def _code(db) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from carenet_desktop.models import Practice
    from carenet_desktop.models.database import open_database

    database = open_database(db)
    with database.session() as s:
        code = s.scalars(select(Practice.code).order_by(Practice.code)).first()
    database.dispose()
    assert code is not None
    return code


def test_writes_one_row_per_child_by_default_and_one_per_gap_with_detail(demo_db, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "gaps.csv"
    code = _code(demo_db)
    rc = run(["gaps", "--db", str(demo_db), "--practice", code, "--measure", "LSC", "--measure", "w30",
              "--period", "2026", "--as-of", "2026-06-30", "--out", str(out)])
    assert rc == 0
    children = _rows(out)
    assert children and {r["Practice"] for r in children} == {code}
    assert len({r["MRN"] for r in children}) == len(children)  # one row per child
    assert all(r["Patient"] and r["MRN"] and r["Gaps"] for r in children)
    assert {g for r in children for g in r["Gaps"].split("; ")} <= {"blood lead test", "well-child visit"}
    assert all(int(r["Gap count"]) == len(r["Gaps"].split("; ")) for r in children)
    dues = [dt.date.fromisoformat(r["Soonest due"]) for r in children]
    assert dues == sorted(dues)
    assert f"Wrote {len(children)} {'child' if len(children) == 1 else 'children'} with" in capsys.readouterr().out

    detail = tmp_path / "detail.csv"
    rc = run(["gaps", "--db", str(demo_db), "--practice", code, "--measure", "LSC", "--measure", "w30",
              "--period", "2026", "--as-of", "2026-06-30", "--out", str(detail), "--detail"])
    assert rc == 0
    rows = _rows(detail)
    assert {r["Measure"] for r in rows} <= {"LSC", "W30"} and len(rows) >= len(children)
    assert {r["MRN"] for r in rows} == {r["MRN"] for r in children}
    assert all(r["Patient"] and r["Missing"] and r["Gap"] for r in rows)
    dues = [dt.date.fromisoformat(r["Due by"]) for r in rows]
    assert dues == sorted(dues)
    assert f"Wrote {len(rows)} care gap {'row' if len(rows) == 1 else 'rows'} for" in capsys.readouterr().out


def _rows(path):  # type: ignore[no-untyped-def]
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_writes_xlsx_due_within(demo_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    out = tmp_path / "sub" / "gaps.xlsx"
    code = _code(demo_db)
    rc = run(["gaps", "--db", str(demo_db), "--practice", code, "--due-within", "45", "--as-of", "2026-06-30",
              "--out", str(out)])
    assert rc == 0
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert ws.freeze_panes == "A2" and ws["A1"].font.b
    col = header.index("Soonest due") + 1
    dues = [ws.cell(row=r, column=col).value.date() for r in range(2, ws.max_row + 1)]
    assert dues and all(dt.date(2026, 6, 30) <= d <= dt.date(2026, 8, 14) for d in dues)
    status = header.index("Status") + 1
    assert {ws.cell(row=r, column=status).value for r in range(2, ws.max_row + 1)} == {"upcoming"}


def test_bad_out_suffix_and_unknown_practice_are_one_line_errors(demo_db, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(["gaps", "--db", str(demo_db), "--practice", "P001", "--out", str(tmp_path / "g.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("carenet: error:") and ".csv or .xlsx" in err
    assert run(["gaps", "--db", str(demo_db), "--practice", "NOPE", "--as-of", "2026-06-30",
                "--out", str(tmp_path / "g.csv")]) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "NOPE" in err
    assert not (tmp_path / "g.csv").exists()


def test_argument_validation() -> None:
    parser = argparse.ArgumentParser()
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--db")
    gaps_cmd.register(parser.add_subparsers(dest="command"), parent)
    with pytest.raises(SystemExit):
        parser.parse_args(["gaps", "--practice", "P1", "--due-within", "-1", "--out", "g.csv"])
    with pytest.raises(SystemExit):
        parser.parse_args(["gaps", "--practice", "P1", "--as-of", "June", "--out", "g.csv"])
    with pytest.raises(SystemExit):
        parser.parse_args(["gaps", "--out", "g.csv"])  # --practice is required
    args = parser.parse_args(["gaps", "--practice", "P1", "--due-within", "30", "--as-of", "2026-01-02",
                              "--out", "g.xlsx"])
    assert (args.due_within, args.as_of, args.out.suffix) == (30, dt.date(2026, 1, 2), ".xlsx")


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal: the progress bar draws on one line with carriage returns."""

    def isatty(self) -> bool:
        return True


def test_progress_reaches_100_percent_and_wrote_starts_its_own_line(demo_db, tmp_path, capsys,
                                                                      monkeypatch) -> None:  # type: ignore[no-untyped-def]
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    rc = run(["gaps", "--db", str(demo_db), "--practice", _code(demo_db), "--measure", "LSC", "W30",
              "--period", "2026", "--as-of", "2026-06-30", "--out", str(tmp_path / "gaps.csv")])
    assert rc == 0
    drawn = terminal.getvalue()
    assert drawn.endswith("\n")  # the bar's line is ended before anything else is printed
    last = drawn.rstrip("\n").split("\r")[-1]
    assert "100.0%" in last and "#" * 30 in last
    assert capsys.readouterr().out.startswith("Wrote ")


def test_a_bar_left_short_of_100_percent_is_finished(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    terminal = _Terminal()
    bar = TerminalProgress("Scorecard", stream=terminal)
    bar(0.76, "Drawing the charts")
    assert not terminal.getvalue().endswith("\n")  # the bar line is open ...
    bar.finish()
    assert terminal.getvalue().endswith("\n") and "100.0% Done" in terminal.getvalue().split("\r")[-1]
    bar.finish()
    bar(1.0, "again")
    assert terminal.getvalue().count("100.0%") == 1  # ... and ended once
    quiet = io.StringIO()  # not a terminal, nothing reported: finishing prints nothing either
    TerminalProgress("Scorecard", stream=quiet).finish()
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("command", [
    ["gaps", "--practice", "P1", "--out", "g.csv"],
    ["measures", "evaluate", "--period", "2025"],
    ["export", "results", "--period", "2025", "--out", "r.csv"],
])
def test_measure_takes_several_ids_or_is_repeated(command: list[str]) -> None:
    parser = build_parser()
    several = parser.parse_args([*command, "--measure", "CMS117", "LSC", "W30"])
    repeated = parser.parse_args([*command, "--measure", "CMS117", "--measure", "LSC", "--measure", "W30"])
    mixed = parser.parse_args([*command, "--measure", "CMS117", "LSC", "--measure", "W30"])
    assert several.measure == repeated.measure == mixed.measure == ["CMS117", "LSC", "W30"]


def test_an_error_after_a_bar_starts_on_a_line_of_its_own(demo_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    def failing(args: argparse.Namespace) -> int:
        TerminalProgress("Scorecard")(0.4, "Computing")
        raise UserError("the period has no data")

    monkeypatch.setattr(gaps_cmd, "run_gaps", failing)
    assert run(["gaps", "--db", str(demo_db), "--practice", "P1", "--out", "g.csv"]) == 2
    assert terminal.getvalue().splitlines()[-1] == "carenet: error: the period has no data"
