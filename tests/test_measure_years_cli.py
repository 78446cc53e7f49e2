"""``carenet measures list`` shows every version with its periods; ``measures evaluate`` prints the version
used per measure and takes ``--measure-version`` to force one."""

from __future__ import annotations

import pytest

from carenet_desktop.cli import main


def test_list_shows_each_version_and_the_periods_it_applies_to(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measures", "list"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert lines[0][:3] == ["id", "version", "periods"]
    rows = {(r[0], r[1]): r for r in lines[1:]}
    assert rows[("CMS117", "0.1.000")][2] == "2025 and before"
    assert rows[("CMS117", "0.3.000")][2] == "2026 onward"
    assert rows[("CMS117", "0.3.000")][-1].startswith("QI-Core 6.0.0: QICoreCommon 4.0.000, Status 1.15.000")
    assert rows[("CMS2", "0.4.001")][2] == "2026 onward"
    assert rows[("CMS154", "0.1.001")][2] == "all periods"
    assert ("CMS154", "0.3.000") not in rows


def test_evaluate_prints_the_version_in_force_and_a_forced_one(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "empty.db")
    assert main(["measures", "evaluate", "--db", db, "--period", "2026", "--measure", "CMS117",
                 "--measure", "CMS154"]) == 0
    out = capsys.readouterr().out
    assert "  CMS117 version 0.3.000 (in force for 2026; 2026 onward)" in out
    assert "  CMS154 version 0.1.001 (in force for 2026; all periods)" in out
    assert main(["measures", "evaluate", "--db", db, "--period", "2026", "--measure", "CMS117",
                 "--measure", "CMS2", "--measure-version", "CMS117=0.1.000"]) == 0
    out = capsys.readouterr().out
    assert "  CMS117 version 0.1.000 (forced; 2025 and before)" in out
    assert "  CMS2 version 0.4.001 (in force for 2026" in out
    assert main(["measures", "evaluate", "--db", db, "--period", "2026", "--measure", "CMS2",
                 "--measure-version", "2025"]) == 0
    assert "  CMS2 version 0.2.000 (forced; 2025 and before)" in capsys.readouterr().out


def test_evaluate_refuses_a_version_no_selected_measure_has(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "empty.db")
    assert main(["measures", "evaluate", "--db", db, "--period", "2026", "--measure", "CMS117",
                 "--measure-version", "9.9.9"]) != 0
    assert "no selected measure has that version" in capsys.readouterr().err
    assert main(["measures", "evaluate", "--db", db, "--period", "2026", "--measure", "CMS117",
                 "--measure-version", "CMS117=0.4.001"]) != 0
    assert "CMS117 has no version '0.4.001'" in capsys.readouterr().err
