"""dev.py test's runner: a test process that hangs after its session finished is ended, its status kept."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import test_runner  # noqa: E402


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "fake_pytest.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_a_process_that_ends_gives_its_own_status(tmp_path: Path) -> None:
    command = _script(tmp_path, "import sys; sys.exit(3)")
    assert test_runner.run_pytest(command, cwd=tmp_path, env={}, grace_s=30) == 3


def test_a_process_hanging_after_its_session_is_ended_with_the_recorded_status(tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    # as tests/exit_watchdog.py does at the session's end, then a hang on the way out (with a child process
    # that would keep it company)
    command = _script(tmp_path, """
        import os, subprocess, sys, time
        with open(os.environ["CARENET_PYTEST_STATUS_FILE"], "w") as f:
            f.write("0")
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        time.sleep(600)
    """)
    assert test_runner.run_pytest(command, cwd=tmp_path, env={}, grace_s=1) == 0
    err = capfd.readouterr().err
    assert "still running" in err and "child process" in err


def test_a_failed_session_keeps_its_failure_when_ended(tmp_path: Path) -> None:
    command = _script(tmp_path, """
        import os, time
        with open(os.environ["CARENET_PYTEST_STATUS_FILE"], "w") as f:
            f.write("1")
        time.sleep(600)
    """)
    assert test_runner.run_pytest(command, cwd=tmp_path, env={}, grace_s=1) == 1
