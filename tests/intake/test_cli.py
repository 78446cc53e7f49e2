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
    assert "date\tDOS\tus" in out and "1 rows, 0 would be rejected" in out
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
