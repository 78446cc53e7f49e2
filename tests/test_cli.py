"""The `carenet` command: version, practices listing, one-line errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from carenet_desktop import __version__
from carenet_desktop.cli import main
from carenet_desktop.models.database import open_database
from carenet_desktop.services import ServiceContext
from carenet_desktop.services.practices import get_or_create_practice


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out


def test_practices_is_tab_separated_code_first(tmp_path, capsys):
    db = tmp_path / "c.db"
    ctx = ServiceContext(open_database(db))
    get_or_create_practice(ctx, "B2", "Bayside Pediatrics")
    get_or_create_practice(ctx, "A1", "Alder Street Kids")
    ctx.db.dispose()
    assert main(["practices", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["code\tname\tpatients", "A1\tAlder Street Kids\t0", "B2\tBayside Pediatrics\t0"]


def test_db_option_before_the_subcommand(tmp_path, capsys):
    db = tmp_path / "c.db"
    assert main(["--db", str(db), "practices"]) == 0
    assert capsys.readouterr().out.splitlines() == ["code\tname\tpatients"]


def test_user_error_is_one_line_without_traceback(tmp_path):
    not_ours = tmp_path / "other.db"
    import sqlite3

    con = sqlite3.connect(not_ours)
    con.execute("CREATE TABLE x (a)")
    con.commit()
    con.close()
    result = subprocess.run([sys.executable, "-m", "carenet_desktop", "practices", "--db", str(not_ours)],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("carenet: error:")


def test_demo_command_loads_the_code_catalogue(tmp_path, capsys):
    from sqlalchemy import func, select

    from carenet_desktop.models import ValueSet

    db = tmp_path / "d.db"
    assert main(["demo", "--db", str(db), "--patients", "300", "--practices", "2", "--as-of", "2026-06-30"]) == 0
    store = open_database(db)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(ValueSet)) > 100
    store.dispose()
    assert "300 patients" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "modules"), [
    ([], ("gui_cmd",)), (["gui"], ("gui_cmd",)), (["--db", "x.db"], ("gui_cmd",)), (["--db", "gui", "demo"], ("demo_cmd",)),
    (["--version"], ("gui_cmd",)), (["-v", "--db", "x.db", "gui", "--demo"], ("gui_cmd",)), (["demo"], ("demo_cmd",)),
    (["--help"], None), (["-h", "gui"], None), (["gui", "--help"], ("gui_cmd",)), (["nonsense"], None),
    (["--user", "ana", "report", "network"], ("report_cmd",)),
    (["--db", "x.db", "measures", "evaluate", "--period", "2025"], ("measures_cmd",)),
    (["backups", "--db", "x.db"], ("store_cmd",)), (["export", "gaps"], ("exchange_cmd",)),
])
def test_only_the_named_command_is_loaded(argv, modules):
    """The icon's double-click (no command) must not wait for every other command's imports, nor a command
    for the others'; help before the command word and an unknown word get the whole parser (``None``)."""
    from carenet_desktop.cli import COMMAND_MODULES, _modules_for

    assert _modules_for(argv) == (COMMAND_MODULES if modules is None else modules)
