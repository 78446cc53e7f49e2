"""The benchmarks' timeline: moments recorded only when asked for, one whole line each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from carenet_desktop.services import timeline


def test_nothing_is_written_unless_a_timeline_is_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(timeline.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    timeline.mark("frames ready")
    assert list(tmp_path.iterdir()) == []


def test_each_mark_is_one_line_with_time_process_and_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "timeline.tsv"
    monkeypatch.setenv(timeline.ENV, str(target))
    timeline.mark("job started")
    timeline.mark("period 2025 evaluated")
    lines = target.read_text().splitlines()
    assert [line.split("\t")[3] for line in lines] == ["job started", "period 2025 evaluated"]
    at, pid, cpu, _ = lines[0].split("\t")
    assert float(at) > 0 and int(pid) == os.getpid() and float(cpu) >= 0
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o600
