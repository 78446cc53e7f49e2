"""Issue 22, item 12: a backup or export that finds no room on the disk says so in one line and leaves no
file behind, neither half-written nor partial. The child process gets a real file-size limit (RLIMIT_FSIZE):
its writes past ``LIMIT`` bytes fail as on a full disk."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stores import demo_store

LIMIT = 40_000  # above a store's shared-memory index (32 KiB), far below the demo store (megabytes)


def _no_room() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_store(tmp_path_factory, seed=3)


def _carenet(store: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "carenet_desktop.cli", *args, "--db", str(store)], env=env,
                          capture_output=True, text=True, preexec_fn=_no_room)


@pytest.mark.parametrize("where", ["--out", "backups/"])
def test_no_room_for_a_backup_is_one_line_and_no_file(store: Path, tmp_path: Path, where: str) -> None:
    """(The PDF reports' case: tests/reports/test_pdf_hardening.py.)"""
    assert store.stat().st_size > 20 * LIMIT
    out = tmp_path / "out" if where == "--out" else store.parent / "backups"
    out.mkdir(exist_ok=True)
    before = sorted(out.iterdir())
    run = _carenet(store, tmp_path, "backup", *(["--out", str(out / "copy.db")] if where == "--out" else []))
    said = [line for line in run.stderr.splitlines() if line.startswith("carenet:")]
    assert run.returncode == 1 and len(said) == 1, run.stderr
    assert "no room" in said[0] or "disk is full" in said[0], run.stderr
    assert sorted(out.iterdir()) == before  # neither the copy, a partial copy nor a manifest
