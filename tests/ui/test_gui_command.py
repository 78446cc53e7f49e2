"""``carenet gui``: the screenshot path end to end in a subprocess, error handling, Qt-free start-up."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from carenet_desktop.models.database import open_database


def run_carenet(*args: str, env_extra: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("CARENET_DB", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "carenet_desktop.cli", *args],
        capture_output=True, text=True, env=env, timeout=timeout,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def isolated_home(tmp_path: Path) -> dict[str, str]:
    """User-data and config folders inside tmp_path (the demo database and settings land there)."""
    return {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "HOME": str(tmp_path / "home")}


def test_screenshot_writes_a_png_of_the_window(tmp_path, db_path):
    out = tmp_path / "window.png"
    result = run_carenet("gui", "--db", str(db_path), "--screenshot", str(out), env_extra=isolated_home(tmp_path))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000  # a real picture, not a blank few bytes
    assert png_size(out) == (1280, 800)
    assert not (tmp_path / "config" / "CareNet").exists()  # a screenshot leaves the user's settings alone


def test_screenshot_shows_the_practice_table(qapp, tmp_path, db_path):
    """The PNG is not blank: many distinct colours (text, table stripes, tiles)."""
    from PySide6.QtGui import QImage

    out = tmp_path / "window.png"
    assert run_carenet("gui", "--db", str(db_path), "--screenshot", str(out),
                       env_extra=isolated_home(tmp_path)).returncode == 0
    image = QImage(str(out))
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 30


def test_screenshot_of_another_page(tmp_path, db_path):
    out = tmp_path / "settings.png"
    result = run_carenet("gui", "--db", str(db_path), "--screenshot", str(out), "--page", "settings",
                         env_extra=isolated_home(tmp_path))
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (1280, 800)


def test_unknown_page_is_one_clear_error(tmp_path, db_path):
    result = run_carenet("gui", "--db", str(db_path), "--screenshot", str(tmp_path / "x.png"), "--page", "nowhere",
                         env_extra=isolated_home(tmp_path))
    assert result.returncode != 0
    assert result.stderr.startswith("carenet: error: Unknown page 'nowhere'")
    assert "Traceback" not in result.stderr


def test_database_that_cannot_be_opened_is_one_clear_line(tmp_path):
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("this is not a database\n" * 100)
    out = tmp_path / "window.png"
    result = run_carenet("gui", "--db", str(not_a_db), "--screenshot", str(out), env_extra=isolated_home(tmp_path))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("carenet: error:"), result.stderr
    assert not out.exists()


def test_demo_and_db_together_are_refused(tmp_path, db_path):
    result = run_carenet("gui", "--demo", "--db", str(db_path), "--screenshot", str(tmp_path / "x.png"),
                         env_extra=isolated_home(tmp_path))
    assert result.returncode == 2
    assert "--demo or --db" in result.stderr


def test_screenshot_must_be_png(tmp_path, db_path):
    result = run_carenet("gui", "--db", str(db_path), "--screenshot", str(tmp_path / "x.jpg"))
    assert result.returncode == 2
    assert ".png" in result.stderr


def test_version_and_other_commands_do_not_load_qt(db_path):
    code = (
        "import sys, contextlib, io\n"
        "from carenet_desktop.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['practices', '--db', {str(db_path)!r}])\n"
        "print(any(m.split('.')[0] in ('PySide6', 'shiboken6') for m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_demo_screenshot_builds_the_demo_database_on_first_run(tmp_path):
    demo = pytest.importorskip("carenet_desktop.demo")
    if not hasattr(demo, "ensure_demo_database"):
        pytest.skip("carenet_desktop.demo.ensure_demo_database is not written yet")
    env = isolated_home(tmp_path)
    out = tmp_path / "demo.png"
    result = run_carenet("gui", "--demo", "--screenshot", str(out), env_extra=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert png_size(out) == (1280, 800)
    demo_dbs = list((tmp_path / "data").rglob("demo.db"))
    assert len(demo_dbs) == 1
    db = open_database(demo_dbs[0])
    try:
        from carenet_desktop.services.context import ServiceContext
        from carenet_desktop.services.practices import list_practices

        assert list_practices(ServiceContext(db))
    finally:
        db.dispose()
