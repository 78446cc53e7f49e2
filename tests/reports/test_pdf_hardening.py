"""Issue 22: stored text with control characters or reportlab markup never fails a PDF (items 10 and 12),
and a report that cannot be written whole (no room on the disk) leaves no file behind."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from carenet_desktop.cli import main
from carenet_desktop.models import Practice
from carenet_desktop.models.database import open_database
from tests.stores import demo_store

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")

#: a NUL and a bell from an import, markup that failed the report, and a tag that read a file from the disk
HOSTILE = "River\x00side <b>Peds & Co\x07 <img src='/nonexistent.png'/>"


def _text(path: Path) -> str:
    return " ".join(subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                                   text=True).stdout.split())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = demo_store(tmp_path_factory, seed=3)
    db = open_database(path)
    with db.session() as s:
        s.execute(update(Practice).where(Practice.code == "P001").values(name=HOSTILE))
    db.dispose()
    return path


def test_scorecard_and_network_report_show_hostile_names_as_text(store: Path, tmp_path: Path) -> None:
    scorecard, network = tmp_path / "scorecard.pdf", tmp_path / "network.pdf"
    assert main(["report", "scorecard", "--db", str(store), "--practice", "P001", "--period", "2025", "--no-trends",
                 "--out", str(scorecard)]) == 0
    assert main(["report", "network", "--db", str(store), "--period", "2025", "--named", "--no-trends",
                 "--out", str(network)]) == 0
    shown = "River?side <b>Peds & Co? <img src='/nonexistent.png'/>"
    assert f"{shown} (P001)" in _text(scorecard)  # the cover; the running header draws it too
    assert "Network quality report" in _text(network)  # it names practices by code: the name is not shown
    assert sorted(p.name for p in tmp_path.iterdir()) == ["network.pdf", "scorecard.pdf"]  # no partial left


#: bytes a file may grow to in the child: above the store's shared-memory index (32 KiB), below the PDF
LIMIT = 40_000


def _no_room(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:  # in the child: writes past ``limit`` bytes fail (EFBIG) as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return apply


def test_a_report_without_room_on_the_disk_leaves_no_file_and_says_so(store: Path, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "carenet_desktop.cli", "report", "network", "--db", str(store), "--period",
               "2025", "--no-trends"]
    warm = subprocess.run([*command, "--out", str(tmp_path / "warm.pdf")], env=env, capture_output=True, text=True)
    assert warm.returncode == 0, warm.stderr  # the figures are cached: the next run only writes the PDF
    assert (tmp_path / "warm.pdf").stat().st_size > LIMIT + 10_000
    out = tmp_path / "reports"
    out.mkdir()
    run = subprocess.run([*command, "--out", str(out / "network.pdf")], env=env, capture_output=True, text=True,
                         preexec_fn=_no_room(LIMIT))
    assert run.returncode == 1, run.stderr
    said = [line for line in run.stderr.splitlines() if line.startswith("carenet:")]
    assert len(said) == 1 and said[0].startswith("carenet: error: There is no room to write the file"), run.stderr
    assert list(out.iterdir()) == []  # neither a half-written PDF nor a partial one
